# faster-rcnn_r50_fpn_1x_coco-10pct.py + InstaGen data for the 80 COCO class names (3000 images
# per category), 1 : 1 per batch, equal iterations.
# Data: data/coco/, data/coco80_instagen/{annotations.json,images/}.
_base_ = './faster-rcnn_r50_fpn_1x_coco-10pct.py'

synthetic_data_root = 'data/coco80_instagen/'

synthetic_train_dataset = dict(
    **_base_.synthetic_dataset_defaults, data_root=synthetic_data_root, metainfo=_base_.metainfo,
    pipeline=_base_.train_pipeline[:-1] + [dict(type='PackDetInputs')],
    backend_args=_base_.backend_args)
train_dataloader = dict(
    sampler=dict(_delete_=True, type='MultiSourceSampler', batch_size=_base_.train_batch_size,
                 source_ratio=_base_.source_ratio),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='ConcatDataset',
                 datasets=[_base_.real_train_dataset, synthetic_train_dataset]))
