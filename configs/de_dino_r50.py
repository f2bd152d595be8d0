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

# concatenated, as the official code: every real and synthetic image equally likely (the
# base's InfiniteSampler); the synthetic source takes the real one's classes and train pipeline
# (RealSyntheticDataset); per-batch ratios are the -de-1to1 / -de-3to1 variants (toy)
train_dataloader = dict(
    dataset=dict(_delete_=True, type='RealSyntheticDataset', real=_base_.real_train_dataset,
                 synthetic=dict(_base_.synthetic_dataset_defaults, data_root=synthetic_data_root)))
