# DiffusionEngine cross-domain: Faster R-CNN R50-FPN trained on VOC07+12 trainval (real) +
# clipart-domain synthetic data, evaluated on Clipart1k test (20 VOC classes):
# faster-rcnn_r50_fpn_18k_voc0712-to-clipart1k.py (detector, data layout, table) plus the
# synthetic source, concatenated (each image equally likely, as the official code), equal
# iterations. The synthetic images are synthesized by tools/synthesize.py from VOC reference
# images with the domain tag `clipart` (prompt=dict(domain='clipart') in the synthesis
# config), --out data/clipart_de.
_base_ = './faster-rcnn_r50_fpn_18k_voc0712-to-clipart1k.py'

synthetic_data_root = 'data/clipart_de/'

# concatenated, as the official code: every real and synthetic image equally likely (the
# base's InfiniteSampler); the synthetic source takes the real one's classes and train pipeline
# (RealSyntheticDataset); per-batch ratios are the -de-1to1 / -de-3to1 variants (toy)
train_dataloader = dict(
    dataset=dict(_delete_=True, type='RealSyntheticDataset', real=_base_.real_train_dataset,
                 synthetic=dict(_base_.synthetic_dataset_defaults, data_root=synthetic_data_root)))
