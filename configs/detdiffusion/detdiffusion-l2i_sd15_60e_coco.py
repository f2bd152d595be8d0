# DetDiffusion's layout-to-image (L2I) model without its two perception-aware parts: SD 1.5
# fine-tuned to draw a layout written with location tokens (GeoDiffusion-style), the first
# row of the paper's ablation. The variants add P.A. Attr (-pa-attr), P.A. loss (-pa-loss) or
# both (detdiffusion_sd15_60e_coco.py, the paper's model).
#   python tools/train.py configs/detdiffusion/detdiffusion-l2i_sd15_60e_coco.py
# Output: work_dirs/<config>/diffusers, loadable by FrozenLDM (with its location tokens).
#
# | hyper-parameter   | value                                                   | source     |
# | LDM               | SD 1.5 (runwayml/stable-diffusion-v1-5)                 | paper      |
# | trainable         | UNet + text encoder (location-token embeddings new)     | paper      |
# | prompt            | "An image with {c <l_tl><l_br> [attr]} and ..."; object  | paper /    |
# |                   | order shuffled; empty prompt with p = 0.1              | GeoDiff.   |
# | location tokens   | 32 x 32 bins (1024 tokens), 2D sin-cos initialised, rows | ours /     |
# |                   | at CLIP's word-row norm (scale 'auto', ~0.39)           | GeoDiff.   |
# | attributes        | [easy] / [hard] / [background]: single added tokens      | paper      |
# | data              | COCO train2017, no crowd, no object < 2 % of the image, | paper      |
# |                   | 256 x 256 (fidelity; 800 x 456 for trainability),       |            |
# |                   | horizontal flip 0.5                                     | GeoDiff.   |
# | optimizer         | AdamW 1e-4, cosine, 3000 warm-up steps, 60 epochs        | paper      |
# | batch             | 32 (4 x 8 GPUs), fp16                                    | paper      |
_base_ = ['../_base_/schedules/adamw_generative.py']

data_root = 'data/coco/'
grid = (32, 32)
ldm = dict(pretrained='runwayml/stable-diffusion-v1-5')
model = dict(type='LayoutLDM', ldm=ldm,
             grid=grid, location_token_scale='auto', attribute_tokens=True,
             seg_head=None, pa_loss_weight=0.01,
             trainable=('unet', 'text_encoder'), empty_prompt_prob=0.1,
             data_preprocessor=dict(type='BaseDataPreprocessor'))
train_dataloader = dict(
    batch_size=4, num_workers=4, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='LayoutCaptionDataset', data_root=data_root,
                 ann_file='annotations/instances_train2017.json', img_dir='train2017/',
                 image_size=(256, 256), grid=grid, tokenizer=ldm, attributes_file=None,
                 min_area_frac=0.02, shuffle_objects=True, hflip_prob=0.5))

max_epochs = 60
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(type='AmpOptimWrapper', dtype='float16', optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=3000),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True, eta_min=0.0)
]
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=5, max_keep_ckpts=1))
custom_hooks = [dict(type='SaveDiffusersHook', interval=0)]
