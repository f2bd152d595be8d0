# InstaGen's data-sparse setting: stock Faster R-CNN R50-FPN (1x: lr 0.01, x0.1 at epochs 8
# and 11, as iterations) on 25 % of COCO train2017, all 80 classes; the `-instagen` variant adds
# InstaGen data for the 80 class names at equal iterations.
# The subset: fold 1 of mmdet's split (mmdet's tools/misc/split_coco.py writes
# data/coco/semi_anns/).
_base_ = './faster-rcnn_r50_fpn_1x_coco-100pct.py'  # detector and schedule

real_train_dataset = dict(_base_.real_train_dataset,
                          ann_file='semi_anns/instances_train2017.1@25.json')
train_dataloader = dict(dataset=dict(ann_file='semi_anns/instances_train2017.1@25.json'))
