# InstaGen phase 1 on COCO (paper setting): the grounding head on the original SD 1.4's features
# (official; the images come from SD 1.4 fine-tuned on COCO-base crops,
# instagen-finetune_sd14_10k-it_coco-base.py) trained on base triplets, 1000 synthetic
# images per base category per epoch (48k), 6 epochs at batch 64 = 4500 iterations; validated
# on COCO val2017 with the 65 OV-COCO names as text (base / novel AP50).
#   bash tools/dist_train.sh configs/instagen/instagen_sd14_4500it_coco-base-triplets.py 8
#
# | hyper-parameter | value                                             | source   |
# | data            | base triplets (alpha 0.8), 1000 per category      | paper    |
# | epochs          | 6 supervised (4500 it x 64 images)                | paper    |
# | optimizer       | AdamW 1e-4, wd 1e-4, grad clip 0.1, batch 64      | paper (clip:   |
# |                 |                                                   | GroundingDINO) |
_base_ = [
    '../_base_/models/instagen_sd14.py', 'mmdet::_base_/datasets/coco_detection.py',
    '../_base_/datasets/coco_ov_split.py', 'mmdet::_base_/default_runtime.py'
]

finetuned_ldm = 'work_dirs/instagen-finetune_sd14_10k-it_coco-base/diffusers'
# the head reads the original SD 1.4 (the base model's ldm); the fine-tuned one only draws
model = dict(bbox_head=dict(num_classes=len(_base_.coco_base_classes)))

grounding_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                       'flip_direction', 'text', 'custom_entities', 'category_names',
                       'prompt')  # a synthesized image's prompt (InstaGen feature_prompt)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PromptClassesText'),  # text = the prompt's classes (official)
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=grounding_meta_keys)
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='FixScaleResize', scale=(512, 512), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor', 'text', 'custom_entities'))
]
base_triplets = dict(type='SyntheticCocoDataset', data_root='data/coco_base_triplets/',
                     ann_file='annotations.json', data_prefix=dict(img='images/'),
                     filter_cfg=dict(filter_empty_gt=True), return_classes=True,
                     pipeline=train_pipeline)
train_dataloader = dict(batch_size=8, num_workers=4,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(_delete_=True, **base_triplets))
# the 65 names in COCO id order (the labels mmdet's CocoDataset gives; coco_ov_split.py)
val_dataloader = dict(dataset=dict(metainfo=_base_.coco_ov_metainfo, pipeline=test_pipeline,
                                   return_classes=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='OVCocoMetric')
test_evaluator = val_evaluator

max_iters = 4500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=750)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4),
                     clip_grad=dict(max_norm=0.1, norm_type=2))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=max_iters)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=750, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=64)
# the base / novel lists must not overlap (checked before anything trains)
custom_hooks = [dict(type='CheckOpenVocabularySplitHook', base_classes=_base_.coco_base_classes,
                     novel_classes=_base_.coco_novel_classes)]
