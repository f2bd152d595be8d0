# Toy-shapes real + toy-shapes DiffusionEngine synthetic data, mixed per batch.
#   real:      data/toy_shapes/     (python tools/make_toy_data.py --out data/toy_shapes)
#              annotations/instances_{train,val}.json, images in train/ and val/
#   synthetic: data/toy_shapes_de/  (tools/synthesize.py output: annotations.json + images/)
# Both training sources share one `metainfo` (mmengine's ConcatDataset requires equal
# metainfo). Evaluation is on the real toy-shapes val split.
_base_ = './de_synthetic_common.py'

dataset_type = 'CocoDataset'
synthetic_dataset_type = 'SyntheticCocoDataset'
data_root = 'data/toy_shapes/'
synthetic_data_root = 'data/toy_shapes_de/'
backend_args = None
metainfo = _base_.toy_shapes_metainfo
image_scale = (128, 128)

synthetic_meta_keys = _base_.synthetic_meta_keys

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=synthetic_meta_keys)
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
synthetic_train_dataset = dict(
    type=synthetic_dataset_type, data_root=synthetic_data_root, metainfo=metainfo,
    ann_file='annotations.json', data_prefix=dict(img='images/'),
    min_score=0.3,              # the adapter's box threshold (DiffusionEngine paper)
    encode_ratio_range=None,    # e.g. (0.3, 1.0): keep images by encode ratio
    max_images=None,            # e.g. 1000: the first N synthetic images by id
    keep_negatives=True,        # keep images the adapter found nothing in
    filter_cfg=dict(filter_empty_gt=False), pipeline=train_pipeline, backend_args=backend_args)

# per-batch real : synthetic. Both entries must be > 0 (mmdet's MultiSourceSampler never
# fills a batch slot of a source with 0 samples); for synthetic only, use the synthetic
# dataset alone with an InfiniteSampler.
source_ratio = [1, 1]
train_batch_size = 4
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='MultiSourceSampler', batch_size=train_batch_size,
                 source_ratio=source_ratio),
    batch_sampler=None,
    dataset=dict(type='ConcatDataset', datasets=[real_train_dataset, synthetic_train_dataset]))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        ann_file='annotations/instances_val.json', data_prefix=dict(img='val/'),
        test_mode=True, pipeline=test_pipeline, backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json',
                     metric='bbox', format_only=False, backend_args=backend_args)
test_evaluator = val_evaluator
