# DiffusionEngine downstream: stock mmdet Faster R-CNN R50-FPN on COCO train2017 at the paper's
# schedule (Table 6; the official detectron2 config faster_rcnn_R_50_FPN-BYOL_9x.yaml),
# evaluated on COCO val2017: the real-only baseline that -de.py extends with COCO-DE at equal
# iterations. Everything else is faster-rcnn_r50_fpn_90k_coco.py's.
#
# | hyper-parameter  | value                               | source                |
# | ---------------- | ----------------------------------- | --------------------- |
# | schedule         | 270k iterations, x0.1 at 210k, 250k | DE paper Table 6 (9x) |
# | total batch size | 48 (8 GPUs x 6)                     | DE paper Table 6      |
# | learning rate    | SGD 0.04                            | DE paper Table 6      |
#
# Not the paper's: its backbone is BYOL self-supervised R50 with SyncBN; this keeps mmdet's
# ImageNet R50 (set model.backbone.init_cfg and norm_cfg=dict(type='SyncBN') to follow it).
#
# Train: bash tools/dist_train.sh \
#     configs/diffusion_engine/downstream/faster-rcnn_r50_fpn_270k_coco.py 8
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../../_base_/datasets/coco_detection.py',
    '../../_base_/schedules/sgd_270k.py',  # with mmdet's default runtime
]
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

optim_wrapper = dict(optimizer=dict(lr=0.04))
train_batch_size = 6  # per GPU; 8 GPUs -> 48
train_dataloader = dict(batch_size=train_batch_size)
auto_scale_lr = dict(base_batch_size=48)
