# faster-rcnn_r50_fpn_1x_coco-10pct.py + InstaGen data for the 80 COCO class names: the
# 100 % -instagen config with the 10 % subset as its real source.
_base_ = './faster-rcnn_r50_fpn_1x_coco-100pct-instagen.py'

train_dataloader = dict(
    dataset=dict(real=dict(ann_file='semi_anns/instances_train2017.1@10.json')))
