# The L2I row at toy scale: the embedded toy LDM fine-tuned to draw toy-shapes layouts written
# with 16 x 16 location tokens, as detdiffusion-l2i_sd15_60e_coco.py does for SD 1.5.
#   python tools/train.py configs/detdiffusion/detdiffusion-l2i_toy-ldm_12000it_toy-shapes.py
# Gate a run on the pipeline probes first (docs/detdiffusion.md):
#   python tools/benchmark.py quality --protocols detdiffusion --dd-probes-only
#
# | hyper-parameter | value (toy)                                 | paper (SD 1.5, COCO) |
# | LDM             | embedded:toy (UNet 64-96-128-128, text 128) | SD 1.5               |
# | trainable       | UNet + text encoder, VAE frozen             | same                 |
# | location tokens | 16 x 16 bins (8 px) on 128 x 128; 2D sin-cos | 2D sin-cos           |
# |                 | rows at the word rows' mean norm ('auto')   |                      |
# | attributes      | [easy] / [hard] / [background], one token   | special tokens       |
# | data            | toy train (4000), flip 0.5, objects shuffled | COCO (GeoDiff. flip) |
# | optimizer       | AdamW 2e-4, wd 0.01, clip 1.0               | AdamW 1e-4, bs 32    |
# | schedule        | 500 warm-up, cosine to 1e-6,                | 3000 warm-up, cosine,|
# |                 | 12000 it x 16 = 48 epochs                   | 60 epochs            |
# | EMA             | 0.999, exported to work_dirs/<cfg>/diffusers | (GeoDiff. optional) |
# | probe C         | held-out gap + layout mAP50 / 1000 it        | ours                 |
# Options measured against the defaults (docs/detdiffusion.md): GeoDiffusion's foreground
# re-weighting (model.foreground_weight=2.0), the text encoder at 0.75x lr
# (optim_wrapper.paramwise_cfg.custom_keys={'ldm.text_encoder': dict(lr_mult=0.75)}).
_base_ = './detdiffusion-l2i_sd15_60e_coco.py'

data_root = 'data/toy_shapes/'
grid = (16, 16)
ldm = dict(pretrained='embedded:toy')
model = dict(ldm=ldm, grid=grid, latent_cache_size=10000)
layouts = dict(type='LayoutCaptionDataset', data_root=data_root, image_size=(128, 128),
               grid=grid, tokenizer=ldm)
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(layouts, ann_file='annotations/instances_train.json', img_dir='train/',
                 hflip_prob=0.5))

max_iters = 12000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(type='OptimWrapper', _delete_=True,
                     optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-2),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=500, end=max_iters, eta_min=1e-6)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1000, max_keep_ckpts=2),
                     logger=dict(interval=50))
log_processor = dict(by_epoch=False)
custom_hooks = [
    dict(type='EMAHook', momentum=1e-3, priority='ABOVE_NORMAL'),
    dict(type='SaveDiffusersHook', interval=1000),  # EMA weights, every 1000 and at the end
    # probe C: held-out layouts (toy val), every 1000 iterations
    dict(type='LayoutProbeHook', interval=1000, num_layouts=32, judge='default',
         judge_data_root=data_root, num_generate=32,
         dataset=dict(layouts, ann_file='annotations/instances_val.json', img_dir='val/')),
]
