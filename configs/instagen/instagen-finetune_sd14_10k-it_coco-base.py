# InstaGen step 1 (Sec. 3.1): fine-tune Stable Diffusion 1.4 on random crops of COCO-base
# images, each captioned "a photograph of [c1] and [c2] ..." with the base categories it
# holds, so that the LDM draws the detection domain by name. The VAE and the CLIP text encoder
# stay frozen; the UNet learns. The saved diffusers folder (work_dirs/<config>/diffusers) is the
# `ldm` of the later steps.
#   python tools/train.py configs/instagen/instagen-finetune_sd14_10k-it_coco-base.py
#
# | hyper-parameter | value                                                | source       |
# | LDM             | SD 1.4 (CompVis/stable-diffusion-v1-4)               | paper        |
# | data            | COCO train2017, boxes of the 48 base classes          | paper (OV)   |
# | crops           | random square crops, side U(0.3, 1.0) x short side,   | paper: 512^2 |
# |                 | resized to 512^2; a category is named if >= 50 % of   | crops; the   |
# |                 | one of its boxes is inside                            | rest ours    |
# | prompt          | "a photograph of [c1] and [c2] ..."                   | paper        |
# | trainable       | UNet                                                  | ours         |
# | optimizer       | AdamW 1e-5, batch 8 x 8 GPUs, 10k iterations, fp16    | ours (docs)  |
_base_ = ['../_base_/schedules/adamw_generative.py', '../_base_/datasets/coco_ov_split.py']

data_root = 'data/coco/'
model = dict(type='LatentDiffusionTrainer',
             ldm=dict(pretrained='CompVis/stable-diffusion-v1-4'),
             trainable=('unet', ), empty_prompt_prob=0.1,
             data_preprocessor=dict(type='BaseDataPreprocessor'))
train_dataloader = dict(
    batch_size=8, num_workers=4, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CropCaptionDataset', data_root=data_root,
                 ann_file='annotations/instances_train2017.json', img_dir='train2017/',
                 classes=_base_.coco_base_classes, image_size=512, crop_scale=(0.3, 1.0),
                 min_visible=0.5, prompt_template='a photograph of {}', name_format='{}',
                 name_joiner=' and ', hflip_prob=0.5))

max_iters = 10000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
optim_wrapper = dict(type='AmpOptimWrapper', dtype='float16', optimizer=dict(lr=1e-5))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=max_iters)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2000, max_keep_ckpts=1))
custom_hooks = [dict(type='SaveDiffusersHook', interval=2000)]
log_processor = dict(by_epoch=False)
