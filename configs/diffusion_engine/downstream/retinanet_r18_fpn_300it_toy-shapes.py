# Real-only baseline of retinanet_r18_fpn_300it_toy-shapes-de.py: the same detector,
# schedule and batch size, trained on toy-shapes real data only (equal iterations).
_base_ = './retinanet_r18_fpn_300it_toy-shapes-de.py'

train_dataloader = dict(
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(_delete_=True, type='AspectRatioBatchSampler'),
    dataset=dict(_delete_=True, **_base_.real_train_dataset))
