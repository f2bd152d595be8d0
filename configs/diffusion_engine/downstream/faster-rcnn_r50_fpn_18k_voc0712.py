# DiffusionEngine downstream: stock mmdet Faster R-CNN R50-FPN trained on VOC07+12 trainval,
# evaluated on VOC2007 test (VOCMetric, 11-point mAP, as mmdet): the real-only baseline that
# faster-rcnn_r50_fpn_18k_voc0712-de.py extends with VOC-DE (synthetic) data at equal
# iterations.
#
# | hyper-parameter          | value                             | source                         |
# | ------------------------ | --------------------------------- | ------------------------------ |
# | detector                 | Faster R-CNN, ResNet-50 + FPN     | DiffusionEngine paper          |
# | training data            | VOC07+12 trainval (+ VOC-DE: -de) | DiffusionEngine paper          |
# | synthetic box score >=   | 0.3                               | DiffusionEngine paper          |
# | schedule                 | 18k iterations, x0.1 at 12k, 16k  | ours (mmdet VOC 18k)           |
# | total batch size         | 16 (8 GPUs x 2)                   | ours (mmdet default)           |
# | optimizer, lr            | SGD, 0.01, momentum 0.9, wd 1e-4  | mmdet Faster R-CNN VOC default |
# | warm-up                  | linear, 100 iterations            | mmdet VOC 18k default          |
# | image scale              | 1000 x 600                        | mmdet VOC default              |
# | real + synthetic         | concatenated                      | DE code                        |
# | keep synthetic negatives | no                                | DE code                        |
#
# Data: data/VOCdevkit/VOC{2007,2012}/ (mmdet layout).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../../_base_/datasets/voc0712_detection.py',
    '../../_base_/schedules/sgd_90k.py',
]
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))

# mmdet's VOC 18k schedule on the 90k base: shorter, lr 0.01, 100 warm-up iterations
max_iters = 18000
train_cfg = dict(max_iters=max_iters, val_interval=3000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[12000, 16000], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.01))
default_hooks = dict(checkpoint=dict(interval=3000))
