# The embedded toy LDM, stage 1 of 2: its autoencoder (VAE, latent stride 8, 4 channels)
# on the procedural toy-shapes domain (python tools/make_toy_data.py --out data/toy_shapes).
#   python tools/train.py configs/toy_ldm/vae_toy_2500it_toy-shapes.py
# Output: work_dirs/vae_toy_2500it_toy-shapes/diffusers (a full diffusers folder: the trained VAE
# plus the `toy` preset's untrained UNet / text encoder, which stage 2 trains).
#
# | hyper-parameter | value                                  |
# | architecture    | `toy` preset (diffdet_plugin/ldm/presets.py), VAE widths 32-64-96-96 |
# | loss            | L1 reconstruction + 1e-6 KL            |
# | optimizer       | AdamW, lr 1e-3, cosine to 1e-5         |
# | batch, iters    | 16 random 64 px crops of the 128 px scenes, 2500 |
_base_ = '../_base_/schedules/adamw_generative.py'

data_root = 'data/toy_shapes/'
model = dict(type='AutoencoderTrainer', ldm=dict(preset='toy', seed=0), kl_weight=1e-6,
             data_preprocessor=dict(type='BaseDataPreprocessor'))

train_dataloader = dict(
    batch_size=16, num_workers=2, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CaptionImageDataset', data_root=data_root,
                 ann_file='annotations/instances_train.json', img_dir='train/',
                 caption_file='annotations/captions_train.json', image_size=128,
                 hflip_prob=0.5, crop_size=64))

max_iters = 2500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=500, max_keep_ckpts=1))
custom_hooks = [dict(type='SaveDiffusersHook', interval=500)]
log_processor = dict(by_epoch=False)
