# InstaGen step 1 at toy scale: the embedded toy LDM's UNet fine-tuned on random crops of toy
# train images captioned with their base categories ("a photo of a circle and a star"; the
# toy captions' own words), as instagen-finetune_sd14_10k-it_coco-base.py does for SD 1.4.
#   python tools/train.py configs/instagen/instagen-finetune_toy-ldm_500it_toy-shapes-base.py
_base_ = ['./instagen-finetune_sd14_10k-it_coco-base.py',
          '../_base_/datasets/toy_shapes_ov_split.py']

data_root = 'data/toy_shapes/'
model = dict(ldm=dict(pretrained='embedded:toy'))
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/instances_train.json',
                 img_dir='train/', classes=_base_.toy_base_classes, image_size=128,
                 crop_scale=(0.5, 1.0), **_base_.toy_prompt))

max_iters = 500
train_cfg = dict(max_iters=max_iters)
optim_wrapper = dict(type='OptimWrapper', _delete_=True,
                     optimizer=dict(type='AdamW', lr=5e-5, weight_decay=1e-2),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=max_iters)]
default_hooks = dict(checkpoint=dict(interval=max_iters))
custom_hooks = [dict(type='SaveDiffusersHook', interval=max_iters)]
