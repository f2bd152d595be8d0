# The DiffusionEngine adapter on the embedded, trained toy LDM (diffdet_plugin/assets/toy_ldm,
# docs/toy_ldm.md): the tiny adapter's structure (DINO, 4 levels, 100 queries, 2+2 layers) on
# real features. This is what `make demo` trains.
#
# | hyper-parameter | value                                         |
# | LDM             | embedded:toy, frozen, t = 1, empty prompt     |
# | taps            | every UNet block, strides 8-64, 160/192/224/384 |
# | optimizer       | AdamW, lr 2e-4 (x0.1 at 8/9), batch 4         |
# | iterations      | 1500 (about 8 min on 2 CPU cores)             |
_base_ = './de_adapter_dino-4scale_tiny_300it_toy-shapes.py'

ldm = dict(preset=None, pretrained='embedded:toy', dtype='fp32')
ldm_channels = [160, 192, 224, 384]  # toy preset taps, strides 8-64

model = dict(backbone=dict(ldm=ldm), neck=dict(in_channels=ldm_channels))

max_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 8 / 9)], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1),
                     logger=dict(interval=50))
