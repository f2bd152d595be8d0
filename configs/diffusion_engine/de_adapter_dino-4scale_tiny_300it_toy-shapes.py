# The DiffusionEngine adapter at toy scale: the same structure as
# de_adapter_dino-5scale_sd2-base_90k_coco.py on the `tiny` LDM preset and the
# procedural toy-shapes data (make it with: python tools/make_toy_data.py).
# Fits 2 CPU cores: 4 pyramid levels, 100 queries, 2 encoder/decoder layers.
_base_ = './de_adapter_dino-5scale_sd2-base_90k_coco.py'

ldm = dict(preset='tiny', dtype='fp32')
num_levels = 4
ldm_channels = [64, 96, 96, 192]  # tiny preset, strides 8-64

model = dict(
    num_queries=100,
    num_feature_levels=num_levels,
    backbone=dict(ldm=ldm),
    neck=dict(in_channels=ldm_channels, num_outs=num_levels),
    encoder=dict(num_layers=2, layer_cfg=dict(
        self_attn_cfg=dict(num_levels=num_levels), ffn_cfg=dict(feedforward_channels=512))),
    decoder=dict(num_layers=2, layer_cfg=dict(
        cross_attn_cfg=dict(num_levels=num_levels), ffn_cfg=dict(feedforward_channels=512))),
    bbox_head=dict(num_classes=6),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=20)),
    test_cfg=dict(max_per_img=50))

# ---------------------------------------------------------------- toy-shapes data
dataset_type = 'CocoDataset'
data_root = 'data/toy_shapes/'
metainfo = dict(classes=('circle', 'square', 'triangle', 'star', 'hexagon', 'cross'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    _delete_=True, batch_size=4, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
                 filter_cfg=dict(filter_empty_gt=False), pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True, batch_size=4, num_workers=0, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/instances_val.json', data_prefix=dict(img='val/'),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric',
                     ann_file=data_root + 'annotations/instances_val.json', metric='bbox')
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule
optim_wrapper = dict(optimizer=dict(lr=2e-4))
max_iters = 300
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 8 / 9)], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1),
                     logger=dict(interval=10))
auto_scale_lr = dict(base_batch_size=4)
