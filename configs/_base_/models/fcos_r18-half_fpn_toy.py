# mmdet's FCOS (fcos_r50-caffe_fpn_gn-head_1x_coco.py) at toy width, from random init: the
# judge's and the toy downstream detectors' model. 128 px images, objects 28-54 px: every
# object falls in FCOS's P3 range (stride 8, 16x16 locations).
#
# | part     | value                                                       |
# | backbone | ResNet-18 at half width (base 32 ch), BN trained, random init |
# | neck     | FPN on C3-C5, 128 channels, P3-P7                           |
# | head     | FCOS, GN, 2 stacked convs of 128 ch; focal + GIoU + centerness |
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
        type='FCOSHead', num_classes=6, in_channels=128,
        stacked_convs=2, feat_channels=128, strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        center_sampling=True, conv_bias=True, centerness_on_reg=True, norm_on_bbox=True,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=50))
