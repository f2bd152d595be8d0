# DiffusionEngine downstream: stock mmdet Faster R-CNN R50-FPN trained on COCO train2017,
# evaluated on COCO val2017: mmdet's 1x schedule; faster-rcnn_r50_fpn_270k_coco.py is the
# DiffusionEngine paper's (Table 6) and its -de variant adds COCO-DE.
#
# | hyper-parameter            | value                            | source                     |
# | -------------------------- | -------------------------------- | -------------------------- |
# | detector                   | Faster R-CNN, ResNet-50 + FPN    | DiffusionEngine paper      |
# | training data              | COCO train2017                   | DiffusionEngine paper      |
# | schedule                   | 90k iterations, x0.1 at 60k, 80k | ours (mmdet's 90k = 1x)    |
# | total batch size           | 16 (8 GPUs x 2)                  | ours (mmdet default)       |
# | optimizer, lr              | SGD, 0.02, momentum 0.9, wd 1e-4 | mmdet Faster R-CNN default |
# | warm-up                    | linear, 500 iterations           | mmdet default              |
#
# Data: data/coco/ (mmdet layout).
# Train: bash tools/dist_train.sh \
#     configs/diffusion_engine/downstream/faster-rcnn_r50_fpn_90k_coco.py 8
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../../_base_/datasets/coco_detection.py',
    '../../_base_/schedules/sgd_90k.py',  # with mmdet's default runtime
]
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)
