# Real-only baseline of configs/de_dino_r50.py: the same DINO-R50 4-scale, batch 32, lr 2e-4,
# 270k iterations, trained on COCO train2017 only (equal iterations).
_base_ = '../../de_dino_r50.py'

train_dataloader = dict(
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(_delete_=True, type='AspectRatioBatchSampler'),
    dataset=dict(_delete_=True, **_base_.real_train_dataset))
