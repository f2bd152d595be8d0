# VOC07+12 trainval (real only), evaluation on VOC2007 test: mmdet's voc0712.py with the
# training set named `real_train_dataset` and its batch size `train_batch_size`, so that a
# `-de` config adds the synthetic source next to it.
# mmdet's voc0712.py wraps VOC2007 + VOC2012 in RepeatDataset(times=3, ConcatDataset(...)):
# with an infinite sampler the repeat is meaningless, so the real source here is the
# ConcatDataset of VOC2007 and VOC2012 (and with DE data the training set is
# ConcatDataset([ConcatDataset([VOC2007, VOC2012]), SyntheticCocoDataset])).
# All share one `metainfo` (classes *and* palette: VOCDataset has its own palette, and
# mmengine's ConcatDataset requires equal metainfo; VOCDataset's per-year `dataset_type`
# key is ignored, as in mmdet's voc0712.py).
_base_ = ['mmdet::_base_/datasets/voc0712.py', './de_synthetic_common.py']

metainfo = _base_.voc_metainfo
real_train_dataset = dict(
    type='ConcatDataset',
    ignore_keys=['dataset_type'],
    datasets=[
        dict(type=_base_.dataset_type, data_root=_base_.data_root, metainfo=metainfo,
             ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
             data_prefix=dict(sub_data_root=f'VOC{year}/'),
             filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
             pipeline=_base_.train_pipeline, backend_args=_base_.backend_args)
        for year in (2007, 2012)
    ])
train_batch_size = 2
train_dataloader = dict(batch_size=train_batch_size,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(_delete_=True, **real_train_dataset))
val_dataloader = dict(dataset=dict(metainfo=metainfo))
test_dataloader = val_dataloader
