# fcos_r18-half_fpn_1500it_toy-shapes-pairs-base.py + InstaGen data for the 30 pair names
# (labelled by an InstaGen head), 1 : 1 per batch with the base-only real data, equal
# iterations: Tier B's arms (b), (c) and (d) (issue #20).
#   python tools/train.py \
#       configs/instagen/downstream/fcos_r18-half_fpn_1500it_toy-shapes-pairs-base-instagen.py \
#       --cfg-options train_dataloader.dataset.synthetic.data_root=<synthesis folder>/
_base_ = ['./fcos_r18-half_fpn_1500it_toy-shapes-pairs-base.py',
          '../../_base_/datasets/de_synthetic_common.py']

synthetic_data_root = 'data/toy_shapes_pairs_instagen/'

# min_score: none here, the synthesis already kept the head's boxes over beta (0.4)
train_dataloader = dict(
    sampler=dict(_base_.real_synthetic_sampler, batch_size=_base_.train_batch_size),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='RealSyntheticDataset', real=_base_.real_train_dataset,
                 synthetic=dict(_base_.synthetic_dataset_defaults, data_root=synthetic_data_root,
                                min_score=None)))
