# The L2I row at toy scale: the embedded toy LDM fine-tuned to draw toy-shapes layouts written
# with 16 x 16 location tokens, as detdiffusion-l2i_sd15_60e_coco.py does for SD 1.5.
#   python tools/train.py configs/detdiffusion/detdiffusion-l2i_toy-ldm_2000it_toy-shapes.py
#
# | hyper-parameter | value                                                    |
# | LDM             | embedded:toy (UNet 64-96-128-128, text encoder width 128) |
# | location tokens | 16 x 16 bins (256 tokens) on 128 x 128 images (8 px bins) |
# | optimizer       | AdamW 2e-4, 100 warm-up iterations, cosine, 2000 it, batch 16 |
_base_ = './detdiffusion-l2i_sd15_60e_coco.py'

data_root = 'data/toy_shapes/'
grid = (16, 16)
ldm = dict(pretrained='embedded:toy')
model = dict(ldm=ldm, grid=grid, latent_cache_size=10000)
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, ann_file='annotations/instances_train.json',
                 img_dir='train/', image_size=(128, 128), grid=grid, tokenizer=ldm))

max_iters = 2000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(type='OptimWrapper', _delete_=True,
                     optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-2),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, eta_min=1e-6)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=500), logger=dict(interval=50))
log_processor = dict(by_epoch=False)
