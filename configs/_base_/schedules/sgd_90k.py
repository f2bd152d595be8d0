# mmdet's 1x schedule counted in iterations (90k at total batch 16, about 12 COCO epochs):
# SGD (momentum 0.9, weight decay 1e-4), linear warm-up over 500 iterations, x0.1 at 60k and
# 80k; validation and a checkpoint every 10k. lr 0.02 is mmdet's Faster R-CNN default
# (RetinaNet sets 0.01). It carries mmdet's default runtime (hooks, logging), whose checkpoint
# and log settings it turns to iterations.
_base_ = 'mmdet::_base_/default_runtime.py'

max_iters = 90000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[60000, 80000], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)
