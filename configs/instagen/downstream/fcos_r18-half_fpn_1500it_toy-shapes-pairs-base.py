# InstaGen Tier B's arm (a) (issue #20): the toy downstream FCOS on the colour-shape pair view of
# toy train with the 24 base pairs' boxes only (the 6 novel pairs' objects stay unlabelled, as
# OV-COCO's novel objects), tested with all 30 pair names (base / novel AP50, mmdet's
# OVCocoMetric). fcos_r18-half_fpn_1500it_toy-shapes-pairs-base-instagen.py adds InstaGen data.
#   python tools/make_toy_pairs.py data/toy_shapes
#   python tools/make_ov_base_annotations.py \
#       data/toy_shapes/annotations/instances_train_pairs.json \
#       configs/_base_/datasets/toy_shapes_pairs_split.py
#   python tools/train.py \
#       configs/instagen/downstream/fcos_r18-half_fpn_1500it_toy-shapes-pairs-base.py
#
# | hyper-parameter | value                                                 | vs Tier A       |
# | classes         | 30 colour-shape pairs (24 base + 6 novel)             | 6 shapes        |
# | real data       | toy train, pair view, base-pair boxes only            | base shapes     |
# | novel loss      | masked on real images (NovelMaskedFCOSHead, official) | same            |
# | rest            | as fcos_r18-half_fpn_1500it_toy-shapes-base.py        |                 |
_base_ = ['../../diffusion_engine/downstream/fcos_r18-half_fpn_1500it_toy-shapes.py',
          '../../_base_/datasets/toy_shapes_pairs_split.py']

classes = _base_.toy_pairs_classes
real_ann_file = 'annotations/instances_train_pairs_ov-base.json'
real_train_dataset = dict(_base_.real_train_dataset, ann_file=real_ann_file,
                          metainfo=dict(classes=classes))
train_dataloader = dict(dataset=dict(ann_file=real_ann_file, metainfo=dict(classes=classes)))
# the official ignore_novel: real base-only images teach nothing about the novel pairs
model = dict(bbox_head=dict(type='NovelMaskedFCOSHead', num_classes=len(classes),
                            novel_classes=_base_.toy_pairs_novel_classes, classes=classes))
val_dataloader = dict(dataset=dict(metainfo=_base_.toy_pairs_metainfo,
                                   ann_file='annotations/instances_val_pairs.json'))
test_dataloader = dict(dataset=dict(metainfo=_base_.toy_pairs_metainfo,
                                    ann_file='annotations/instances_test_pairs.json'))
val_evaluator = dict(type='OVCocoMetric',
                     ann_file=_base_.data_root + 'annotations/instances_val_pairs.json')
test_evaluator = dict(type='OVCocoMetric', classwise=True,  # + per-class AP
                      ann_file=_base_.data_root + 'annotations/instances_test_pairs.json')
custom_hooks = [dict(type='CheckOpenVocabularySplitHook',
                     base_classes=_base_.toy_pairs_base_classes,
                     novel_classes=_base_.toy_pairs_novel_classes)]
