# fcos_r18-half_fpn_1500it_toy-shapes.py + toy-shapes DiffusionEngine synthetic data, mixed
# per batch (same detector, schedule and batch size: equal iterations).
#   real:      data/toy_shapes/     (python tools/make_toy_data.py)
#   synthetic: data/toy_shapes_de/  (tools/synthesize.py --out data/toy_shapes_de)
#
# | hyper-parameter            | value                      | source                |
# | -------------------------- | -------------------------- | --------------------- |
# | synthetic box score >=     | 0.3                        | DiffusionEngine paper |
# | real : synthetic per batch | 1 : 1 (MultiSourceSampler) | ours                  |
_base_ = ['./fcos_r18-half_fpn_1500it_toy-shapes.py',
          '../../_base_/datasets/de_synthetic_common.py']

synthetic_data_root = 'data/toy_shapes_de/'

synthetic_train_dataset = dict(
    **_base_.synthetic_dataset_defaults, data_root=synthetic_data_root, metainfo=_base_.metainfo,
    pipeline=_base_.train_pipeline[:-1] + [
        dict(type='PackDetInputs', meta_keys=_base_.synthetic_meta_keys)],
    backend_args=_base_.backend_args)
train_dataloader = dict(
    sampler=dict(_delete_=True, type='MultiSourceSampler', batch_size=_base_.train_batch_size,
                 source_ratio=_base_.source_ratio),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='ConcatDataset',
                 datasets=[_base_.real_train_dataset, synthetic_train_dataset]))
