# Faster R-CNN R50-FPN on VOC07+12 trainval + VOC-DE (synthesized by tools/synthesize.py from
# VOC references): faster-rcnn_r50_fpn_18k_voc0712.py (detector, schedule, batch: see its
# table) plus the synthetic source,
# concatenated (each image equally likely, as the official code), equal iterations; VOC2007 test.
# Data: data/VOCdevkit/VOC{2007,2012}/ (mmdet layout), data/voc_de/{annotations.json,images/}.
_base_ = './faster-rcnn_r50_fpn_18k_voc0712.py'

synthetic_data_root = 'data/voc_de/'

synthetic_train_dataset = dict(
    **_base_.synthetic_dataset_defaults, data_root=synthetic_data_root, metainfo=_base_.metainfo,
    pipeline=_base_.train_pipeline[:-1] + [
        dict(type='PackDetInputs', meta_keys=_base_.synthetic_meta_keys)],
    backend_args=_base_.backend_args)
# concatenated, as the official code: every real and synthetic image equally likely (the
# base's InfiniteSampler); per-batch ratios are the -de-1to1 / -de-3to1 variants (toy)
train_dataloader = dict(
    dataset=dict(_delete_=True, type='ConcatDataset', ignore_keys=['dataset_type'],
                 datasets=[_base_.real_train_dataset, synthetic_train_dataset]))
