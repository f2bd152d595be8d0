# Real-only baseline of faster-rcnn_r50_fpn_18k_voc0712-de.py: the same detector, schedule
# and batch size, trained on VOC07+12 trainval only (equal iterations).
_base_ = './faster-rcnn_r50_fpn_18k_voc0712-de.py'

train_dataloader = dict(
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(_delete_=True, type='AspectRatioBatchSampler'),
    dataset=dict(_delete_=True, **_base_.real_train_dataset))
