# A deliberately weak toy detector: the judge recipe stopped at 300 iterations. DetDiffusion's
# P.A. Attr needs a detector that misses some objects; the full judge finds every toy object
# (all "easy", docs/detdiffusion.md), this one leaves a share of them "hard". Built and cached
# like the judge (diffdet_plugin.evaluation.load_judge).
_base_ = './fcos_r18-half_fpn_3000it_toy-shapes.py'

max_iters = 300
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
