# Faster R-CNN R50-FPN on VOC07+12 trainval + VOC-DE (synthesized by tools/synthesize.py from
# VOC references): faster-rcnn_r50_fpn_18k_voc0712.py (detector, schedule, batch: see its
# table) plus the synthetic source,
# concatenated (each image equally likely, as the official code), equal iterations; VOC2007 test.
# Data: data/VOCdevkit/VOC{2007,2012}/ (mmdet layout), data/voc_de/{annotations.json,images/}.
_base_ = './faster-rcnn_r50_fpn_18k_voc0712.py'

synthetic_data_root = 'data/voc_de/'

# concatenated, as the official code: every real and synthetic image equally likely (the
# base's InfiniteSampler); the synthetic source takes the real one's classes and train pipeline
# (RealSyntheticDataset); per-batch ratios are the -de-1to1 / -de-3to1 variants (toy)
train_dataloader = dict(
    dataset=dict(_delete_=True, type='RealSyntheticDataset', real=_base_.real_train_dataset,
                 synthetic=dict(_base_.synthetic_dataset_defaults, data_root=synthetic_data_root)))
