# faster-rcnn_r50_fpn_1x_coco-base.py + InstaGen data: images synthesized for the 65 OV-COCO
# category names (3000 per category, instagen_synth_sd14_coco-ov.py) and labelled by the
# self-trained InstaGen head, 1 : 1 per batch with COCO-base, equal iterations.
# Data: data/coco/ (mmdet layout), data/coco_instagen/{annotations.json,images/}.
_base_ = './faster-rcnn_r50_fpn_1x_coco-base.py'

synthetic_data_root = 'data/coco_instagen/'

train_dataloader = dict(
    sampler=dict(_base_.real_synthetic_sampler, batch_size=_base_.train_batch_size),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='RealSyntheticDataset', real=_base_.real_train_dataset,
                 synthetic=dict(_base_.synthetic_dataset_defaults, data_root=synthetic_data_root)))
