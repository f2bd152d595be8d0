# fcos_r18-half_fpn_1500it_toy-shapes.py + toy-shapes DiffusionEngine synthetic data,
# concatenated as the official code does (every real and synthetic image equally likely; same
# detector, schedule and batch size: equal iterations). -de-1to1 / -de-3to1 fix the share
# per batch instead (beyond the paper).
#   real:      data/toy_shapes/     (python tools/make_toy_data.py)
#   synthetic: data/toy_shapes_de/  (tools/synthesize.py --out data/toy_shapes_de)
#
# | hyper-parameter        | value        | source                |
# | ---------------------- | ------------ | --------------------- |
# | synthetic box score >= | 0.3          | DiffusionEngine paper |
# | real + synthetic       | concatenated | DE code               |
# | synthetic negatives    | dropped      | DE code               |
_base_ = ['./fcos_r18-half_fpn_1500it_toy-shapes.py',
          '../../_base_/datasets/de_synthetic_common.py']

synthetic_data_root = 'data/toy_shapes_de/'

# concatenated, as the official code: every real and synthetic image equally likely (the
# base's InfiniteSampler); the synthetic source takes the real one's classes and train pipeline
# (RealSyntheticDataset); per-batch ratios are the -de-1to1 / -de-3to1 variants (toy)
train_dataloader = dict(
    dataset=dict(_delete_=True, type='RealSyntheticDataset', real=_base_.real_train_dataset,
                 synthetic=dict(_base_.synthetic_dataset_defaults, data_root=synthetic_data_root)))
