# faster-rcnn_r50_fpn_1x_coco-base.py + InstaGen data: images synthesized for the 65 OV-COCO
# category names (3000 per category, instagen_synth_sd14_coco-ov.py) and labelled by the
# self-trained InstaGen head, 1 : 1 per batch with COCO-base, equal iterations.
# Data: data/coco/ (mmdet layout), data/coco_instagen/{annotations.json,images/}.
_base_ = './faster-rcnn_r50_fpn_1x_coco-base.py'

synthetic_data_root = 'data/coco_instagen/'

synthetic_train_dataset = dict(
    **_base_.synthetic_dataset_defaults, data_root=synthetic_data_root,
    metainfo=dict(classes=_base_.ov_classes),
    pipeline=_base_.train_pipeline[:-1] + [dict(type='PackDetInputs')],
    backend_args=_base_.backend_args)
train_dataloader = dict(
    sampler=dict(_delete_=True, type='MultiSourceSampler', batch_size=_base_.train_batch_size,
                 source_ratio=_base_.source_ratio),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='ConcatDataset',
                 datasets=[_base_.real_train_dataset, synthetic_train_dataset]))
