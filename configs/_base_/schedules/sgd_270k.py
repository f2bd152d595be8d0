# The DiffusionEngine paper's downstream schedule (Table 6; detectron2's 6x): 270k iterations,
# x0.1 at 210k and 250k; everything else is sgd_90k.py's (the leaf sets lr and batch).
_base_ = './sgd_90k.py'

max_iters = 270000
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[210000, 250000], gamma=0.1)
]
