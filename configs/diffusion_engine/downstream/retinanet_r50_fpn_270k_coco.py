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
_base_ = './retinanet_r50_fpn_90k_coco.py'

max_iters = 270000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[210000, 250000], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.02))
train_batch_size = 4  # per GPU; 8 GPUs -> 32
train_dataloader = dict(batch_size=train_batch_size)
auto_scale_lr = dict(base_batch_size=32)
