# The toy world's judge: a stock mmdet FCOS trained on 100 % of toy-shapes real train, used to
# grade generated images (tools/benchmark.py fidelity) and as the "off-the-shelf detector".
# Its weights ship in the package (diffdet_plugin/assets/judge/), cached by config + data hash
# (diffdet_plugin.evaluation.judge); `python tools/train.py` on this file rebuilds it.
#
# | hyper-parameter   | value                                                    | source        |
# | ----------------- | -------------------------------------------------------- | ------------- |
# | detector          | FCOS, GN head (2 stacked convs, 128 ch), GIoU + centerness | mmdet FCOS    |
# | backbone          | ResNet-18 at half width (base 32 ch), BN, random init     | ours (size)   |
# | neck              | FPN P3-P7, 128 channels                                   | ours (size)   |
# | image scale       | 128 x 128, random flip                                    | toy domain    |
# | optimizer         | AdamW lr 1e-3, wd 0.05, grad clip 35                      | ours (scratch)|
# | batch, iterations | 16, 6000 (24 epochs of 4000 images)                       | ours (CPU time)|
# | lr schedule       | linear warm-up 200 it, cosine to 1e-5                     | ours          |
_base_ = [
    '../_base_/datasets/toy_shapes_detection.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

# mmdet's FCOS (fcos_r50-caffe_fpn_gn-head_1x_coco.py) at toy width, from scratch
model = dict(
    type='FCOS',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=18, base_channels=32, stem_channels=32,
                  num_stages=4, out_indices=(1, 2, 3), style='pytorch', frozen_stages=-1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                  init_cfg=None),
    neck=dict(type='FPN', in_channels=[64, 128, 256], out_channels=128, start_level=0,
              add_extra_convs='on_output', num_outs=5, relu_before_extra_convs=True),
    bbox_head=dict(
        type='FCOSHead', num_classes=len(_base_.toy_shapes_classes), in_channels=128,
        stacked_convs=2, feat_channels=128, strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        center_sampling=True, conv_bias=True, centerness_on_reg=True, norm_on_bbox=True,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=50))

train_batch_size = 16
train_dataloader = dict(batch_size=train_batch_size,
                        num_workers=2, persistent_workers=True)

max_iters = 6000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                     clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=200, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1000, max_keep_ckpts=1),
                     logger=dict(interval=50))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=train_batch_size)
