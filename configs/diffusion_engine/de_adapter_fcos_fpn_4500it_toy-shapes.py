# The toy FCOS Detection-Adapter with a 3x longer schedule: the one that meets the toy world's
# adapter target (test bbox mAP >= 0.8 x the judge's 0.978). Everything else is the 1500-
# iteration config's (mmengine replaces lists, so the scheduler is restated); the quality
# benchmark's full protocol trains this config and the demo keeps the short one.
#
# | hyper-parameter   | value                                 | source          |
# | ----------------- | ------------------------------------- | --------------- |
# | batch, iterations | 16, 4500, warm-up 100, cosine to 1e-5 | ours (CPU time) |
_base_ = ['./de_adapter_fcos_fpn_1500it_toy-shapes.py']

max_iters = 4500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(interval=500))  # resumable (make adapter: --resume)
