# Toy-shapes real data (python tools/make_toy_data.py --out data/toy_shapes): the base of every
# toy detector config. Train on `train`, validate on `val` (choose recipes and thresholds there),
# report on the held-out `test` split (the test dataloader / evaluator).
#   data/toy_shapes/annotations/instances_{train,val,test}.json, images in train/ val/ test/
dataset_type = 'CocoDataset'
data_root = 'data/toy_shapes/'
backend_args = None
toy_shapes_classes = ('circle', 'square', 'triangle', 'star', 'hexagon', 'cross')
metainfo = dict(classes=toy_shapes_classes)
image_scale = (128, 128)

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]

real_train_dataset = dict(
    type=dataset_type, data_root=data_root, metainfo=metainfo,
    ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
    filter_cfg=dict(filter_empty_gt=False), pipeline=train_pipeline, backend_args=backend_args)
train_batch_size = 4
train_dataloader = dict(
    batch_size=train_batch_size, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=real_train_dataset)
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        ann_file='annotations/instances_val.json', data_prefix=dict(img='val/'),
        test_mode=True, pipeline=test_pipeline, backend_args=backend_args))
test_dataloader = dict(val_dataloader, dataset=dict(  # the held-out test split
    val_dataloader['dataset'], ann_file='annotations/instances_test.json',
    data_prefix=dict(img='test/')))
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json',
                     metric='bbox', format_only=False, backend_args=backend_args)
test_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_test.json',
                      metric='bbox', format_only=False, backend_args=backend_args)
