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
synthetic_train_pipeline = _base_.train_pipeline[:-1] + [
    dict(type='PackDetInputs', meta_keys=_base_.synthetic_meta_keys)]
synthetic_train_dataset = dict(
    type='SyntheticCocoDataset', data_root=synthetic_data_root, metainfo=_base_.metainfo,
    ann_file='annotations.json', data_prefix=dict(img='images/'),
    min_score=0.3,              # the adapter's box threshold (DiffusionEngine paper)
    encode_ratio_range=None,    # e.g. (0.3, 1.0): keep images by encode ratio
    max_images=None,            # e.g. 1000: the first N synthetic images by id
    keep_negatives=True,        # keep images the adapter found nothing in
    filter_cfg=dict(filter_empty_gt=False), pipeline=synthetic_train_pipeline,
    backend_args=_base_.backend_args)

# per-batch real : synthetic; both > 0 (MultiSourceSampler never fills a slot of a source
# with 0 samples)
source_ratio = [1, 1]
train_dataloader = dict(
    sampler=dict(_delete_=True, type='MultiSourceSampler', batch_size=_base_.train_batch_size,
                 source_ratio=source_ratio),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='ConcatDataset',
                 datasets=[_base_.real_train_dataset, synthetic_train_dataset]))
