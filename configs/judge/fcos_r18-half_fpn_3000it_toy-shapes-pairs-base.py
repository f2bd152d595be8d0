# InstaGen Tier B's "off-the-shelf detector trained on base categories only" (issue #20): the
# judge recipe on the colour-shape pair view of toy train (tools/make_toy_pairs.py), restricted
# to the Tier B split's base pairs (configs/_base_/datasets/toy_shapes_pairs_split.py); mmdet's
# CocoDataset drops the novel pairs' boxes, so novel objects are background to it. Built and
# cached like the full judge (diffdet_plugin.evaluation.load_judge).
#   python tools/make_toy_pairs.py data/toy_shapes
#   python tools/train.py configs/judge/fcos_r18-half_fpn_3000it_toy-shapes-pairs-base.py
#
# | hyper-parameter | value                                        | vs the shape judge     |
# | classes         | the split's base pairs ("red circle", ...)   | 6 shapes               |
# | data            | toy train, pair view                         | shape view             |
# | augmentation    | blur + photometric, **no hue jitter**         | hue +-8: would move    |
# |                 |                                              | red towards orange     |
# | rest            | as fcos_r18-half_fpn_3000it_toy-shapes.py    |                        |
_base_ = ['./fcos_r18-half_fpn_3000it_toy-shapes.py',
          '../_base_/datasets/toy_shapes_pairs_split.py']

metainfo = dict(classes=_base_.toy_pairs_base_classes)
# the shape judge's pipeline with its hue jitter off: the colour is part of the class
train_pipeline = [dict(t, hue_delta=0) if t['type'] == 'PhotoMetricDistortion' else t
                  for t in _base_.train_pipeline]
train_dataloader = dict(dataset=dict(metainfo=metainfo, pipeline=train_pipeline,
                                     ann_file='annotations/instances_train_pairs.json'))
val_dataloader = dict(dataset=dict(metainfo=metainfo,
                                   ann_file='annotations/instances_val_pairs.json'))
test_dataloader = dict(dataset=dict(metainfo=metainfo,
                                    ann_file='annotations/instances_test_pairs.json'))
val_evaluator = dict(ann_file=_base_.data_root + 'annotations/instances_val_pairs.json')
test_evaluator = dict(ann_file=_base_.data_root + 'annotations/instances_test_pairs.json')
model = dict(bbox_head=dict(num_classes=len(_base_.toy_pairs_base_classes)))
