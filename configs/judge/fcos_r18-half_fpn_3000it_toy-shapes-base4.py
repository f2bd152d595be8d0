# The judge restricted to the toy open-vocabulary split's 4 base classes: InstaGen's
# "off-the-shelf detector trained on base categories only" (configs/instagen). Same recipe as
# the full judge; mmdet's CocoDataset drops the novel classes' boxes, so novel objects are
# background to it. Built and cached like the full judge (diffdet_plugin.evaluation.load_judge).
_base_ = ['./fcos_r18-half_fpn_3000it_toy-shapes.py', '../_base_/datasets/toy_shapes_ov_split.py']

metainfo = dict(classes=_base_.toy_base_classes)
train_dataloader = dict(dataset=dict(metainfo=metainfo))
val_dataloader = dict(dataset=dict(metainfo=metainfo))
test_dataloader = dict(dataset=dict(metainfo=metainfo))
model = dict(bbox_head=dict(num_classes=len(_base_.toy_base_classes)))
