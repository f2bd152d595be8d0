# InstaGen Tier B step 1 (issue #20): the toy LDM fine-tuned on random crops of toy train images
# captioned with their *base pairs* ("a photo of a red circle and a blue star"), the pair view
# of instagen-finetune_toy-ldm_500it_toy-shapes-base.py. Novel-pair objects stay in the crops,
# uncaptioned (the official fine-tune reads base-only annotations).
#   python tools/make_toy_pairs.py data/toy_shapes
#   python tools/train.py configs/instagen/instagen-finetune_toy-ldm_500it_toy-shapes-pairs-base.py
_base_ = ['./instagen-finetune_toy-ldm_500it_toy-shapes-base.py',
          '../_base_/datasets/toy_shapes_pairs_split.py']

train_dataloader = dict(dataset=dict(ann_file='annotations/instances_train_pairs.json',
                                     classes=_base_.toy_pairs_base_classes))
