# Tiny downstream detector for tests and CPU runs: stock mmdet RetinaNet-R18-FPN (random
# init, no download) trained on toy-shapes real + toy-shapes DiffusionEngine synthetic data.
# Real-only baseline at equal iterations: retinanet_r18_fpn_300it_toy-shapes.py.
#
# | hyper-parameter            | value                      | source                  |
# | -------------------------- | -------------------------- | ----------------------- |
# | detector                   | RetinaNet, R18 + FPN       | ours (toy scale)        |
# | backbone init              | random (init_cfg=None)     | ours (no download)      |
# | image scale                | 128 x 128                  | ours (toy images)       |
# | data                       | toy-shapes + toy-shapes-DE | ours (toy domain)       |
# | synthetic box score >=     | 0.3                        | DiffusionEngine paper   |
# | real : synthetic per batch | 1 : 1 (MultiSourceSampler) | ours                    |
# | batch size                 | 4                          | ours                    |
# | optimizer, lr              | SGD 0.01, momentum 0.9     | mmdet RetinaNet default |
# | gradient clipping          | max norm 35 (from scratch) | mmdet (e.g. FCOS, ATSS) |
# | iterations, lr steps       | 300, x0.1 at 200 and 267   | ours                    |
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../../_base_/datasets/toy_shapes_de_detection.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]),
    bbox_head=dict(num_classes=6))

max_iters = 300
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[200, 267], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1),
                     logger=dict(interval=10))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=4)
