# DiffusionEngine cross-domain: Faster R-CNN R50-FPN trained on VOC07+12 trainval (real) +
# clipart-domain synthetic data, evaluated on Clipart1k test (20 VOC classes). The synthetic
# images are synthesized by tools/synthesize.py from VOC reference images with the domain tag
# `clipart` (prompt=dict(domain='clipart') in the synthesis config), --out data/clipart_de.
# Baseline, VOC real only, equal iterations: faster-rcnn_r50_fpn_18k_voc0712-to-clipart1k.py.
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
# | training data              | VOC07+12 + clipart-domain DE data | DiffusionEngine paper |
# | test data                  | Clipart1k test (500 images)       | DiffusionEngine paper |
# | test format, metric        | COCO json, CocoMetric (AP, AP50)  | ours                  |
# | real : synthetic per batch | 1 : 1 (MultiSourceSampler)        | ours                  |
# | schedule, batch, optimizer | as ..._voc0712-de.py              | ours / mmdet          |
_base_ = './faster-rcnn_r50_fpn_18k_voc0712-de.py'

clipart_root = 'data/clipart/'
clipart_test_ann = 'annotations/instances_test.json'
synthetic_data_root = 'data/clipart_de/'
synthetic_train_dataset = dict(_base_.synthetic_train_dataset, data_root=synthetic_data_root)
train_dataloader = dict(
    dataset=dict(datasets=[_base_.real_train_dataset, synthetic_train_dataset]))

val_dataloader = dict(
    dataset=dict(
        _delete_=True, type='CocoDataset', data_root=clipart_root, metainfo=_base_.metainfo,
        ann_file=clipart_test_ann, data_prefix=dict(img='JPEGImages/'), test_mode=True,
        pipeline=_base_.test_pipeline, backend_args=None))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='CocoMetric', ann_file=clipart_root + clipart_test_ann,
                     metric='bbox', format_only=False, backend_args=None)
test_evaluator = val_evaluator
