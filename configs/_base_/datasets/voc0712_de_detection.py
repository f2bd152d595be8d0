# VOC07+12 trainval (real) + VOC-DE (DiffusionEngine synthetic), mixed per batch; evaluation
# on VOC2007 test. Everything else is mmdet's voc0712.py.
#   real:      data/VOCdevkit/VOC2007/, data/VOCdevkit/VOC2012/ (VOCDataset, as in mmdet)
#   synthetic: data/voc_de/annotations.json, data/voc_de/images/  (tools/synthesize.py)
# mmdet's voc0712.py wraps VOC2007 + VOC2012 in RepeatDataset(times=3, ConcatDataset(...)):
# with an infinite sampler the repeat is meaningless, so the real source here is the
# ConcatDataset of VOC2007 and VOC2012, and the training set is
# ConcatDataset([ConcatDataset([VOC2007, VOC2012]), SyntheticCocoDataset]).
# All share one `metainfo` (classes *and* palette: VOCDataset has its own palette, and
# mmengine's ConcatDataset requires equal metainfo; VOCDataset's per-year `dataset_type`
# key is ignored, as in mmdet's voc0712.py).
_base_ = ['mmdet::_base_/datasets/voc0712.py', './de_synthetic_common.py']

synthetic_dataset_type = 'SyntheticCocoDataset'
synthetic_data_root = 'data/voc_de/'
metainfo = _base_.voc_metainfo
synthetic_meta_keys = _base_.synthetic_meta_keys

train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='PackDetInputs', meta_keys=synthetic_meta_keys)
]

real_train_dataset = dict(
    type='ConcatDataset',
    ignore_keys=['dataset_type'],
    datasets=[
        dict(type=_base_.dataset_type, data_root=_base_.data_root, metainfo=metainfo,
             ann_file='VOC2007/ImageSets/Main/trainval.txt',
             data_prefix=dict(sub_data_root='VOC2007/'),
             filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
             pipeline=train_pipeline, backend_args=_base_.backend_args),
        dict(type=_base_.dataset_type, data_root=_base_.data_root, metainfo=metainfo,
             ann_file='VOC2012/ImageSets/Main/trainval.txt',
             data_prefix=dict(sub_data_root='VOC2012/'),
             filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
             pipeline=train_pipeline, backend_args=_base_.backend_args),
    ])
synthetic_train_dataset = dict(
    type=synthetic_dataset_type, data_root=synthetic_data_root, metainfo=metainfo,
    ann_file='annotations.json', data_prefix=dict(img='images/'),
    min_score=0.3,              # the adapter's box threshold (DiffusionEngine paper)
    encode_ratio_range=None,    # e.g. (0.3, 1.0): keep images by encode ratio
    max_images=None,            # e.g. 20000: the first N synthetic images by id
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
    dataset=dict(_delete_=True, type='ConcatDataset', ignore_keys=['dataset_type'],
                 datasets=[real_train_dataset, synthetic_train_dataset]))
val_dataloader = dict(dataset=dict(metainfo=metainfo))
test_dataloader = val_dataloader
