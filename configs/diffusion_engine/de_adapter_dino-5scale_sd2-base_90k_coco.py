# DiffusionEngine Detection-Adapter (arXiv 2309.03893, Sec. 3.2 / 4.1):
# a stock mmdet DINO (5 scales, 900 queries) on frozen Stable Diffusion 2 (base) UNet features.
#
# | hyper-parameter          | value                          | source          |
# | LDM                      | SD 2 base, frozen              | paper           |
# | features                 | every UNet block, t = 1, ""    | paper           |
# | detector                 | DINO, 5 scales, 900 queries    | paper           |
# | optimizer                | AdamW, lr 2e-4, wd 1e-4        | paper (lr)      |
# | schedule                 | 90k iters, lr x0.1 at 80k      | paper           |
# | total batch              | 64 (8 GPUs x 8)                | paper           |
# | input scales             | short side 384-640, long 1024  | ours (SD res.)  |
#
# Real weights: ldm = dict(pretrained='stabilityai/stable-diffusion-2-base', dtype='fp16')
# (or a local diffusers folder, or dict(pretrained='x.safetensors', preset='sd2-base')).
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

ldm = dict(preset='sd2-base', dtype='fp32')
num_levels = 5
# Channels of the tapped pyramid (strides 8, 16, 32, 64); see diffdet_plugin/ldm/unet_taps.py.
ldm_channels = [960, 1600, 1920, 3840]

model = dict(
    num_feature_levels=num_levels,
    # The VAE expects RGB in [-1, 1]; the UNet needs sizes divisible by 64.
    data_preprocessor=dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
                           bgr_to_rgb=True, pad_size_divisor=64),
    backbone=dict(_delete_=True, type='LDMBackbone', ldm=ldm, timestep=1, noise='fixed',
                  prompt=''),
    neck=dict(in_channels=ldm_channels, num_outs=num_levels),
    encoder=dict(layer_cfg=dict(self_attn_cfg=dict(num_levels=num_levels))),
    decoder=dict(layer_cfg=dict(cross_attn_cfg=dict(num_levels=num_levels))))

scales = [(1024, 384), (1024, 448), (1024, 512), (1024, 576), (1024, 640)]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomChoiceResize', scales=scales, keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=8, num_workers=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=2e-4, weight_decay=1e-4))

max_iters = 90000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=10000)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=[80000],
         gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
# 8 GPUs x 8 images; mmdet rescales lr for other totals with --auto-scale-lr.
auto_scale_lr = dict(base_batch_size=64)
