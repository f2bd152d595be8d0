# + P.A. Attr: each object's prompt carries [easy] / [hard] for a detector, from
#   python tools/extract_attributes.py DETECTOR_CONFIG CHECKPOINT \
#       --ann-file data/coco/annotations/instances_train2017.json --img-dir data/coco/train2017 \
#       --out data/coco/attributes/instances_train2017_attributes.json
# (paper: a COCO-trained detector, score > gamma, IoU > beta with a ground-truth box => easy).
_base_ = './detdiffusion-l2i_sd15_60e_coco.py'

train_dataloader = dict(dataset=dict(
    attributes_file='attributes/instances_train2017_attributes.json'))
