# The toy world's judge: a stock mmdet FCOS trained on 100 % of toy-shapes real train, used to
# grade generated images (tools/benchmark.py fidelity) and as the "off-the-shelf detector".
# Its weights ship in the package (diffdet_plugin/assets/judge/), cached by config + data hash
# (diffdet_plugin.evaluation.judge); `python tools/train.py` on this file rebuilds it.
# It is the toy downstream detector (downstream/fcos_r18-half_fpn_1500it_toy-shapes.py) with
# robustness augmentation and a longer schedule.
#
# | hyper-parameter   | value                                                    | source        |
# | ----------------- | -------------------------------------------------------- | ------------- |
# | detector          | FCOS, GN head (2 stacked convs, 128 ch), GIoU + centerness | mmdet FCOS    |
# | backbone          | ResNet-18 at half width (base 32 ch), BN, random init     | ours (size)   |
# | neck              | FPN P3-P7, 128 channels                                   | ours (size)   |
# | image scale       | 128 x 128, random flip                                    | toy domain    |
# | robustness aug.   | down-up resize (64-128 px: blur of random strength),      | ours (grades  |
# |                   | PhotoMetricDistortion (colour, contrast)                  | generated img)|
# | optimizer         | AdamW lr 1e-3, wd 0.05, grad clip 35                      | ours (scratch)|
# | batch, iterations | 16, 3000 (12 epochs of 4000 images)                       | ours (CPU time)|
# | lr schedule       | linear warm-up 200 it, cosine to 1e-5                     | ours          |
_base_ = '../diffusion_engine/downstream/fcos_r18-half_fpn_1500it_toy-shapes.py'

# A judge grades *generated* images: an LDM's decoder renders shapes softer and shifts
# colours. Blur of random strength (resize down to 64-128 px, then back to 128) and
# photometric jitter teach it to grade the shapes, not the rendering (docs/toy_ldm.md).
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=[(64, 64), (128, 128)], keep_ratio=True),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='PhotoMetricDistortion', brightness_delta=20, contrast_range=(0.8, 1.2),
         saturation_range=(0.7, 1.3), hue_delta=8),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(num_workers=2, persistent_workers=True,
                        dataset=dict(pipeline=train_pipeline))

max_iters = 3000
train_cfg = dict(max_iters=max_iters, val_interval=1000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=200, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(interval=1000, max_keep_ckpts=2))
