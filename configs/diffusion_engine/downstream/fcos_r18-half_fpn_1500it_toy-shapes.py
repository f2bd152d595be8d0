# Toy downstream detector, real data only (the baseline): a stock mmdet FCOS (R18 at half
# width, FPN, random init; configs/_base_/models/fcos_r18-half_fpn_toy.py) on toy-shapes train.
# fcos_r18-half_fpn_1500it_toy-shapes-de.py adds the DiffusionEngine synthetic data at equal
# iterations. Validation on toy val; `tools/test.py` reports on the held-out toy test split.
#
# | hyper-parameter | value                                | source          |
# | --------------- | ------------------------------------ | --------------- |
# | detector        | FCOS, R18-half + FPN, GN head        | mmdet FCOS      |
# | image scale     | 128 x 128, random flip               | toy domain      |
# | batch size      | 16                                   | ours            |
# | optimizer       | AdamW lr 1e-3, wd 0.05, grad clip 35 | ours (scratch)  |
# | iterations      | 1500, warm-up 100, cosine to 1e-5    | ours (CPU time) |
_base_ = [
    '../../_base_/models/fcos_r18-half_fpn_toy.py',
    '../../_base_/datasets/toy_shapes_detection.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

model = dict(bbox_head=dict(num_classes=len(_base_.toy_shapes_classes)))

train_batch_size = 16
train_dataloader = dict(batch_size=train_batch_size)

max_iters = 1500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                     clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1),
                     logger=dict(interval=50))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=train_batch_size)
