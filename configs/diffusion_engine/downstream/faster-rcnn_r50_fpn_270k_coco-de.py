# Faster R-CNN R50-FPN on COCO train2017 + COCO-DE (images and boxes synthesized by
# tools/synthesize.py with a trained Detection-Adapter): faster-rcnn_r50_fpn_270k_coco.py (detector,
# schedule, batch: see its table) plus the synthetic source, concatenated (each image equally
# likely, as the official code), equal iterations.
# Data: data/coco/ (mmdet layout), data/coco_de/{annotations.json,images/}.
# Train: bash tools/dist_train.sh \
#     configs/diffusion_engine/downstream/faster-rcnn_r50_fpn_270k_coco-de.py 8
_base_ = './faster-rcnn_r50_fpn_270k_coco.py'

synthetic_data_root = 'data/coco_de/'

synthetic_train_dataset = dict(
    **_base_.synthetic_dataset_defaults, data_root=synthetic_data_root, metainfo=_base_.metainfo,
    pipeline=_base_.train_pipeline[:-1] + [
        dict(type='PackDetInputs', meta_keys=_base_.synthetic_meta_keys)],
    backend_args=_base_.backend_args)
# concatenated, as the official code: every real and synthetic image equally likely (the
# base's InfiniteSampler); per-batch ratios are the -de-1to1 / -de-3to1 variants (toy)
train_dataloader = dict(
    dataset=dict(_delete_=True, type='ConcatDataset',
                 datasets=[_base_.real_train_dataset, synthetic_train_dataset]))
