# InstaGen's open-vocabulary downstream baseline: stock mmdet Faster R-CNN R50-FPN trained on
# COCO-base (train2017 with the boxes of the 48 base classes only) and evaluated on val2017
# over the 65 OV-COCO classes, reporting base and novel AP50 (mmdet's OVCocoMetric).
# faster-rcnn_r50_fpn_1x_coco-base-instagen.py adds InstaGen data at equal iterations.
#
# | hyper-parameter  | value                                                  | source        |
# | detector         | Faster R-CNN R50-FPN, 65 classes (48 base + 17 novel)  | InstaGen      |
# | real data        | COCO train2017, base boxes only: novel boxes removed by | OV-COCO       |
# |                  | tools/make_ov_base_annotations.py (images kept)         |               |
# | schedule         | 1x as iterations: 90k at batch 16, x0.1 at 60k / 82.5k | InstaGen: 1x, |
# |                  | (epochs 8 and 11 of 12)                                | steps 8, 11   |
# | optimizer        | SGD lr 0.01, momentum 0.9, wd 1e-4, warm-up 500 it     | InstaGen      |
# | evaluation       | val2017, 65 classes: base AP50, novel AP50, mAP        | OV-COCO       |
#
# The base-only training file (novel objects stay in the images as unlabelled background):
#   python tools/make_ov_base_annotations.py data/coco/annotations/instances_train2017.json \
#       configs/_base_/datasets/coco_ov_split.py
_base_ = ['./faster-rcnn_r50_fpn_1x_coco-100pct.py',  # the detector and InstaGen's 1x schedule
          '../../_base_/datasets/coco_ov_split.py']

# One label space for every dataset: the 65 names in COCO id order (coco_ov_split.py says why).
ov_classes = _base_.coco_ov_classes
model = dict(roi_head=dict(bbox_head=dict(num_classes=len(ov_classes))))

real_ann_file = 'annotations/instances_train2017_ov-base.json'
real_train_dataset = dict(_base_.real_train_dataset, ann_file=real_ann_file,
                          metainfo=dict(classes=ov_classes))
train_dataloader = dict(dataset=dict(ann_file=real_ann_file, metainfo=dict(classes=ov_classes)))
val_dataloader = dict(dataset=dict(metainfo=_base_.coco_ov_metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(type='OVCocoMetric')
test_evaluator = val_evaluator
# the base / novel lists must not overlap (checked before anything trains)
custom_hooks = [dict(type='CheckOpenVocabularySplitHook', base_classes=_base_.coco_base_classes,
                     novel_classes=_base_.coco_novel_classes)]
