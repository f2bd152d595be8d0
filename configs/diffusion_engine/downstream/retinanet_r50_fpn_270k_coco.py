# DiffusionEngine downstream: stock mmdet RetinaNet R50-FPN on COCO train2017 at the paper's
# schedule (Table 6; the official detectron2 config retinanet_R_50_FPN_6x.yaml),
# evaluated on COCO val2017: the real-only baseline that -de.py extends with COCO-DE at equal
# iterations. Everything else is retinanet_r50_fpn_90k_coco.py's.
#
# | hyper-parameter  | value                               | source                |
# | ---------------- | ----------------------------------- | --------------------- |
# | schedule         | 270k iterations, x0.1 at 210k, 250k | DE paper Table 6 (6x) |
# | total batch size | 32 (8 GPUs x 4)                     | DE paper Table 6      |
# | learning rate    | SGD 0.02                            | DE paper Table 6      |
#
# Train: bash tools/dist_train.sh \
#     configs/diffusion_engine/downstream/retinanet_r50_fpn_270k_coco.py 8
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../../_base_/datasets/coco_detection.py',
    '../../_base_/schedules/sgd_270k.py',  # with mmdet's default runtime
]
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

optim_wrapper = dict(optimizer=dict(lr=0.02))
train_batch_size = 4  # per GPU; 8 GPUs -> 32
train_dataloader = dict(batch_size=train_batch_size)
auto_scale_lr = dict(base_batch_size=32)
