# The DiffusionEngine paper's downstream detector: stock DINO-R50 4-scale (mmdet) trained on
# COCO train2017 + COCO-DE (images and boxes synthesized by tools/synthesize.py with a trained
# Detection-Adapter), evaluated on COCO val2017: the real-only
# diffusion_engine/downstream/dino-4scale_r50_270k_coco.py (detector, schedule, batch 32,
# lr 2e-4: see its table) plus the synthetic source, concatenated (each image equally
# likely, as the official code), equal iterations.
# Data: data/coco/ (mmdet layout), data/coco_de/{annotations.json,images/}.
# Train: bash tools/dist_train.sh configs/de_dino_r50.py 8
_base_ = './diffusion_engine/downstream/dino-4scale_r50_270k_coco.py'

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
