# DiffusionEngine downstream detector: stock DINO-R50 4-scale (mmdet) trained on COCO
# train2017, evaluated on COCO val2017: the real-only baseline that configs/de_dino_r50.py
# (the paper's setting) extends with COCO-DE (images and boxes synthesized by
# tools/synthesize.py with a trained Detection-Adapter) at equal iterations.
#
# | hyper-parameter               | value                              | source                    |
# | ----------------------------- | ---------------------------------- | ------------------------- |
# | detector                      | DINO 4-scale, ResNet-50 (ImageNet) | DiffusionEngine paper     |
# | training data                 | COCO train2017 (+ COCO-DE: -de)    | DiffusionEngine paper     |
# | schedule                      | 6x = 270k iterations               | DiffusionEngine paper     |
# | total batch size              | 32 (8 GPUs x 4)                    | DiffusionEngine paper     |
# | learning rate                 | 2e-4 (AdamW)                       | DiffusionEngine paper     |
# | lr step                       | x0.1 at 240k                       | ours (paper gives none)   |
# | synthetic box score >=        | 0.3                                | DiffusionEngine paper (*) |
# | real + synthetic              | concatenated                       | DE code                   |
# | keep synthetic negatives      | no                                 | DE code                   |
# | weight decay                  | 1e-4                               | mmdet DINO config         |
# | gradient clipping             | max norm 0.1                       | mmdet DINO config         |
# | backbone lr multiplier        | 0.1                                | mmdet DINO config         |
# | queries, augmentation         | 900, multi-scale resize + crop     | mmdet DINO config         |
# | validation / checkpoint every | 10k iterations                     | ours                      |
# (*) the adapter's score threshold at synthesis time; the -de config only re-applies it
#     (raise it to filter more).
#
# Data layout (mmdet's): data/coco/{annotations,train2017,val2017}/.
# Train: bash tools/dist_train.sh configs/diffusion_engine/downstream/dino-4scale_r50_270k_coco.py 8
_base_ = [
    'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
    '../../_base_/datasets/de_synthetic_common.py',
]
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

# ---------------------------------------------------------------- data
metainfo = _base_.coco_metainfo
# DINO's augmentation (mmdet config)
real_train_dataset = dict(
    type='CocoDataset', data_root=_base_.data_root, metainfo=metainfo,
    ann_file='annotations/instances_train2017.json', data_prefix=dict(img='train2017/'),
    filter_cfg=dict(filter_empty_gt=False), pipeline=_base_.train_pipeline,
    backend_args=_base_.backend_args)
train_batch_size = 4   # per GPU; 8 GPUs -> 32
train_dataloader = dict(batch_size=train_batch_size,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(_delete_=True, **real_train_dataset))
val_dataloader = dict(dataset=dict(metainfo=metainfo))
test_dataloader = val_dataloader

# ---------------------------------------------------------------- schedule
optim_wrapper = dict(optimizer=dict(lr=2e-4))
max_iters = 270000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=10000)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=[240000],
         gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=32)
