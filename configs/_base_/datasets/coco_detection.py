# COCO train2017 (real only), evaluation on COCO val2017: mmdet's coco_detection.py with the
# training set named `real_train_dataset` and its batch size `train_batch_size`, so that a
# `-de` config adds the synthetic source next to it (coco_de_detection.py's layout).
_base_ = ['mmdet::_base_/datasets/coco_detection.py', './de_synthetic_common.py']

metainfo = _base_.coco_metainfo
real_train_dataset = dict(
    type=_base_.dataset_type, data_root=_base_.data_root, metainfo=metainfo,
    ann_file='annotations/instances_train2017.json', data_prefix=dict(img='train2017/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=_base_.train_pipeline,
    backend_args=_base_.backend_args)
train_batch_size = 2
train_dataloader = dict(batch_size=train_batch_size,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(_delete_=True, **real_train_dataset))
val_dataloader = dict(dataset=dict(metainfo=metainfo))
test_dataloader = val_dataloader
