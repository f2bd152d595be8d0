# A single-stage Detection-Adapter at toy scale: the toy downstream detector's FCOS neck and
# head (configs/_base_/models/fcos_r18-half_fpn_toy.py) on the frozen embedded toy LDM
# (LDMBackbone: t = 1, empty prompt, every UNet block grouped by stride) instead of a ResNet.
# DiffusionEngine labels synthetic images with the head of any mmdet detector run on the
# final denoising step's features (diffdet_plugin/models/detectors/predict_from_feats.py);
# FCOS converges in a fraction of DINO's iterations on a CPU. The paper's adapter is DINO:
# de_adapter_dino-4scale_toy_1500it_toy-shapes.py on the same LDM.
#
# | hyper-parameter   | value                                           | source         |
# | ----------------- | ----------------------------------------------- | -------------- |
# | LDM               | embedded:toy, frozen, t = 1, empty prompt       | DiffusionEngine|
# | taps              | every UNet block, strides 8-64, 160/192/224/384 | DiffusionEngine|
# | neck, head        | FPN 128 ch (4 levels), FCOS GN head, 2 convs    | mmdet FCOS     |
# | optimizer         | AdamW lr 1e-3, wd 0.05, grad clip 35            | ours (toy)     |
# | batch, iterations | 16, 1500, warm-up 100, cosine to 1e-5           | ours (CPU time)|
_base_ = ['./downstream/fcos_r18-half_fpn_1500it_toy-shapes.py']

ldm = dict(pretrained='embedded:toy', dtype='fp32')
ldm_channels = [160, 192, 224, 384]  # toy preset taps, strides 8-64

model = dict(
    # The VAE expects RGB in [-1, 1]; the UNet needs sizes divisible by 64.
    data_preprocessor=dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
                           bgr_to_rgb=True, pad_size_divisor=64),
    backbone=dict(_delete_=True, type='LDMBackbone', ldm=ldm, timestep=1, noise='fixed',
                  prompt=''),
    neck=dict(in_channels=ldm_channels, start_level=0, num_outs=4,
              add_extra_convs=False),
    bbox_head=dict(strides=[8, 16, 32, 64],
                   regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 1e8))))

max_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters, eta_min=1e-5)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
