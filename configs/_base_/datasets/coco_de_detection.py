# COCO train2017 (real) + COCO-DE (DiffusionEngine synthetic), mixed per batch; evaluation
# on COCO val2017. Everything else is mmdet's coco_detection.py.
#   real:      data/coco/annotations/instances_train2017.json, data/coco/train2017/
#   synthetic: data/coco_de/annotations.json, data/coco_de/images/  (tools/synthesize.py)
# Both sources share one `metainfo` (mmengine's ConcatDataset requires equal metainfo, and
# SyntheticCocoDataset checks the names against the synthesized file's categories).
_base_ = ['mmdet::_base_/datasets/coco_detection.py', './de_synthetic_common.py']

synthetic_dataset_type = 'SyntheticCocoDataset'
synthetic_data_root = 'data/coco_de/'
metainfo = _base_.coco_metainfo
synthetic_meta_keys = _base_.synthetic_meta_keys

train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='PackDetInputs', meta_keys=synthetic_meta_keys)
]

real_train_dataset = dict(
    type=_base_.dataset_type, data_root=_base_.data_root, metainfo=metainfo,
    ann_file='annotations/instances_train2017.json', data_prefix=dict(img='train2017/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline,
    backend_args=_base_.backend_args)
synthetic_train_dataset = dict(
    type=synthetic_dataset_type, data_root=synthetic_data_root, metainfo=metainfo,
    ann_file='annotations.json', data_prefix=dict(img='images/'),
    min_score=0.3,              # the adapter's box threshold (DiffusionEngine paper)
    encode_ratio_range=None,    # e.g. (0.3, 1.0): keep images by encode ratio
    max_images=None,            # e.g. 100000: the first N synthetic images by id
    keep_negatives=True,        # keep images the adapter found nothing in
    filter_cfg=dict(filter_empty_gt=False, min_size=32), pipeline=train_pipeline,
    backend_args=_base_.backend_args)

# per-batch real : synthetic (both > 0: mmdet's MultiSourceSampler cannot fill a source
# with 0 samples per batch). The sampler's batch_size must equal the dataloader's.
source_ratio = [1, 1]
train_batch_size = 2
train_dataloader = dict(
    batch_size=train_batch_size,
    sampler=dict(_delete_=True, type='MultiSourceSampler', batch_size=train_batch_size,
                 source_ratio=source_ratio),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='ConcatDataset',
                 datasets=[real_train_dataset, synthetic_train_dataset]))
val_dataloader = dict(dataset=dict(metainfo=metainfo))
test_dataloader = val_dataloader
