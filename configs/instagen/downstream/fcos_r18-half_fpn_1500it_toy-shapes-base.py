# The toy counterpart of faster-rcnn_r50_fpn_1x_coco-base.py: the toy downstream FCOS trained on
# toy-shapes train with the boxes of the 4 base classes only, tested with all 6 class names
# (base / novel AP50, mmdet's OVCocoMetric). Arm (a) of the InstaGen toy-scale proof
# (tools/benchmark.py quality --protocols instagen); fcos_r18-half_fpn_1500it_toy-shapes-base-
# instagen.py adds InstaGen data for all 6 classes at equal iterations.
#   python tools/make_ov_base_annotations.py data/toy_shapes/annotations/instances_train.json \
#       configs/_base_/datasets/toy_shapes_ov_split.py
#   python tools/train.py configs/instagen/downstream/fcos_r18-half_fpn_1500it_toy-shapes-base.py
#
# | hyper-parameter | value                                                  | source          |
# | detector        | the toy downstream FCOS, 6 classes (4 base + 2 novel)  | toy world       |
# | real data       | toy train, base boxes only (novel objects unlabelled)  | as OV-COCO      |
# | novel loss      | masked on real images (NovelMaskedFCOSHead)            | official (1)    |
# (1) ignore_novel: fcjian/InstaGen faster-rcnn_r50-caffe_c4-1x_coco-ovd_instagen-dataset.py
# | schedule        | 1500 iterations (the toy downstream schedule)          | ours            |
# | evaluation      | toy test, 6 classes: base AP50, novel AP50             | as OV-COCO      |
_base_ = ['../../diffusion_engine/downstream/fcos_r18-half_fpn_1500it_toy-shapes.py',
          '../../_base_/datasets/toy_shapes_ov_split.py']

real_ann_file = 'annotations/instances_train_ov-base.json'
real_train_dataset = dict(_base_.real_train_dataset, ann_file=real_ann_file,
                          metainfo=dict(classes=_base_.toy_ov_classes))
train_dataloader = dict(dataset=dict(ann_file=real_ann_file,
                                     metainfo=dict(classes=_base_.toy_ov_classes)))
# the official ignore_novel: real base-only images teach nothing about the novel classes
model = dict(bbox_head=dict(type='NovelMaskedFCOSHead', novel_classes=_base_.toy_novel_classes,
                            classes=_base_.toy_ov_classes))
val_dataloader = dict(dataset=dict(metainfo=_base_.toy_ov_metainfo))
test_dataloader = dict(dataset=dict(metainfo=_base_.toy_ov_metainfo))
val_evaluator = dict(type='OVCocoMetric')
test_evaluator = dict(type='OVCocoMetric', classwise=True)  # + per-class AP
# the base / novel lists must not overlap (checked before anything trains)
custom_hooks = [dict(type='CheckOpenVocabularySplitHook', base_classes=_base_.toy_base_classes,
                     novel_classes=_base_.toy_novel_classes)]
