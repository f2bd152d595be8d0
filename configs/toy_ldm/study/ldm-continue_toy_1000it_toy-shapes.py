# Toy LDM v3 convergence study (issue #21), arm 0: today's recipe, continued.
# Every arm continues the v2 LDM (stage 2's EMA weights at iteration 6000: from scratch, 1500
# iterations draw shapeless blobs whatever the recipe, a budget that cannot tell arms apart)
# for the same short second cosine, then `tools/benchmark.py fidelity --split val` grades it.
#   python tools/train.py configs/toy_ldm/study/ldm-continue_toy_1000it_toy-shapes.py
#   (tools/toy_ldm_study.sh runs every arm and its fidelity)
#
# | hyper-parameter | value                                                   |
# | start           | v2: work_dirs/ldm_toy_6000it_toy-shapes/diffusers (make toy-ldm) |
# | loss            | ||eps - UNet(z_t, t, tau(c))||^2, uniform over t         |
# | data            | toy-shapes train (4000 scenes), coloured counted captions, hflip 0.5 |
# | optimizer       | AdamW, lr 3e-4 (100 it warm-up), cosine to 1e-5          |
# | EMA             | momentum 0.005 (time constant 200 it, so 1000 it can show) |
# | batch, iters    | 32 x 128 px, 1000                                        |
_base_ = '../ldm_toy_6000it_toy-shapes.py'

model = dict(ldm=dict(pretrained='work_dirs/ldm_toy_6000it_toy-shapes/diffusers'),
             auto_scaling_factor=False, latent_cache_size=50000)

max_iters = 1000
train_cfg = dict(max_iters=max_iters)
optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(interval=500, max_keep_ckpts=1))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExponentialMovingAverage', momentum=0.005, priority=49),
    dict(type='SaveDiffusersHook', interval=500),
]
