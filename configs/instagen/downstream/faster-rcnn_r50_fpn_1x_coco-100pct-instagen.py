# faster-rcnn_r50_fpn_1x_coco-100pct.py + InstaGen data for the 80 COCO class names (3000 images
# per category), 1 : 1 per batch, equal iterations.
# Data: data/coco/, data/coco80_instagen/{annotations.json,images/}.
_base_ = './faster-rcnn_r50_fpn_1x_coco-100pct.py'

synthetic_data_root = 'data/coco80_instagen/'

train_dataloader = dict(
    sampler=dict(_base_.real_synthetic_sampler, batch_size=_base_.train_batch_size),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='RealSyntheticDataset', real=_base_.real_train_dataset,
                 synthetic=dict(_base_.synthetic_dataset_defaults, data_root=synthetic_data_root)))
