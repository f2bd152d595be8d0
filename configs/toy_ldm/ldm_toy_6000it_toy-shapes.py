# The embedded toy LDM, stage 2 of 2: UNet + text encoder with the LDM loss and empty-prompt
# dropout (for classifier-free guidance), on the frozen stage-1 VAE.
#   python tools/train.py configs/toy_ldm/ldm_toy_6000it_toy-shapes.py
# Output: work_dirs/ldm_toy_6000it_toy-shapes/diffusers (EMA weights), loadable by
# FrozenLDM.from_pretrained.
#
# | hyper-parameter      | value                                        |
# | loss                 | ||eps - UNet(z_t, t, tau(c))||^2, t ~ U{0..999} |
# | empty-prompt dropout | 0.1                                          |
# | trainable            | UNet (widths 64-96-128-128), text encoder (4 layers, width 128, |
# |                      | word tokens); VAE frozen                     |
# | optimizer            | AdamW, lr 6e-4 (300 it warm-up), cosine to 1e-5 |
# | EMA                  | momentum 0.001 (mmengine EMAHook); the exported weights are the EMA |
# | batch, iters         | 32 x 128 px (16x16x4 latents), 6000          |
# | latent cache         | each image (and flip) VAE-encoded once       |
_base_ = './vae_toy_2500it_toy-shapes.py'

model = dict(_delete_=True, type='LatentDiffusionTrainer',
             ldm=dict(pretrained='work_dirs/vae_toy_2500it_toy-shapes/diffusers'),
             trainable=('unet', 'text_encoder'), empty_prompt_prob=0.1,
             auto_scaling_factor=True, latent_cache_size=10000,
             data_preprocessor=dict(type='BaseDataPreprocessor'))
train_dataloader = dict(batch_size=32, dataset=dict(crop_size=None))

max_iters = 6000
train_cfg = dict(max_iters=max_iters)
optim_wrapper = dict(optimizer=dict(lr=6e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=300),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=300, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(interval=1000))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExponentialMovingAverage', momentum=0.001, priority=49),
    dict(type='SaveDiffusersHook', interval=1000),
]
