# InstaGen phase 1 at toy scale: the grounding head trained on base triplets (generated images
# of the 4 base classes labelled by the base-class judge, score > 0.8; make them with
# base-triplets_judge-base4_toy-shapes.py). Validation/test on the *real* toy images with all
# 6 class names as text: the novel classes' AP is open-vocabulary transfer.
#   python tools/train.py configs/instagen/instagen_toy-ldm_2000it_toy-shapes-base-triplets.py
#
# | hyper-parameter | paper (COCO, SD 1.4)          | toy                                  |
# | data            | base triplets, alpha 0.8      | base triplets, alpha 0.8             |
# | text            | the prompt's classes          | the prompt's classes                 |
# | optimizer       | AdamW 1e-4, batch 64          | AdamW 1e-4, batch 8, grad clip 0.1   |
# | schedule        | 6 epochs (supervised phase)   | 2000 iterations, x0.1 at 1800         |
_base_ = [
    './instagen-head_toy_toy-shapes.py', '../_base_/datasets/toy_shapes_detection.py',
    '../_base_/datasets/toy_shapes_ov_split.py', 'mmdet::_base_/default_runtime.py'
]

triplets_root = 'data/toy_shapes_base_triplets/'
grounding_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                       'flip_direction', 'text', 'custom_entities', 'category_names',
                       'prompt')  # a synthesized image's prompt (InstaGen feature_prompt)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PromptClassesText'),  # text = the prompt's classes (official)
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=grounding_meta_keys)
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                          'scale_factor', 'text', 'custom_entities'))
]
base_triplets = dict(type='SyntheticCocoDataset', data_root=triplets_root,
                     ann_file='annotations.json', data_prefix=dict(img='images/'),
                     filter_cfg=dict(filter_empty_gt=True), return_classes=True,
                     pipeline=train_pipeline)
train_dataloader = dict(batch_size=8, dataset=dict(_delete_=True, **base_triplets))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline, return_classes=True))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline, return_classes=True))

max_iters = 2000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4),
                     clip_grad=dict(max_norm=0.1, norm_type=2))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.9)], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500,
                                     max_keep_ckpts=2),
                     logger=dict(type='LoggerHook', interval=50))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=8)
# the base / novel lists must not overlap (checked before anything trains)
custom_hooks = [dict(type='CheckOpenVocabularySplitHook', base_classes=_base_.toy_base_classes,
                     novel_classes=_base_.toy_novel_classes)]
