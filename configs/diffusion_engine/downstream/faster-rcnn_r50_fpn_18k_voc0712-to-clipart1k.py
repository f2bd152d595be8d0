# DiffusionEngine cross-domain baseline: Faster R-CNN R50-FPN trained on VOC07+12 trainval
# (real only), evaluated on Clipart1k test (20 VOC classes).
# faster-rcnn_r50_fpn_18k_voc0712-clipart-de-to-clipart1k.py extends it with clipart-domain
# synthetic data at equal iterations.
#
# Clipart1k layout (ours): COCO json, not VOC xml, so mmdet's CocoDataset/CocoMetric read it:
#   data/clipart/JPEGImages/*.jpg
#   data/clipart/annotations/instances_test.json   (the 500 test images)
# Clipart1k ships VOC-style (JPEGImages/, Annotations/, ImageSets/Main/test.txt): convert
# with any VOC->COCO converter; the categories must be the 20 VOC names *in VOC order*
# (mmdet's CocoDataset assigns labels in the file's category order).
#
# | hyper-parameter            | value                             | source                |
# | -------------------------- | --------------------------------- | --------------------- |
# | detector                   | Faster R-CNN, R50 + FPN           | ours                  |
# | training data              | VOC07+12 (+ clipart DE data: -de) | DiffusionEngine paper |
# | test data                  | Clipart1k test (500 images)       | DiffusionEngine paper |
# | test format, metric        | COCO json, CocoMetric (AP, AP50)  | ours                  |
# | schedule, batch, optimizer | as ..._voc0712.py                 | ours / mmdet          |
_base_ = './faster-rcnn_r50_fpn_18k_voc0712.py'

clipart_root = 'data/clipart/'
clipart_test_ann = 'annotations/instances_test.json'
val_dataloader = dict(
    dataset=dict(
        _delete_=True, type='CocoDataset', data_root=clipart_root, metainfo=_base_.metainfo,
        ann_file=clipart_test_ann, data_prefix=dict(img='JPEGImages/'), test_mode=True,
        pipeline=_base_.test_pipeline, backend_args=None))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric', ann_file=clipart_root + clipart_test_ann,
                     metric='bbox', format_only=False, backend_args=None)
test_evaluator = val_evaluator
