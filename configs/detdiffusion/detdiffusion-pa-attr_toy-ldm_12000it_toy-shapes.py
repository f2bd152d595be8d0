# + P.A. Attr at toy scale; the attributes come from a deliberately weak toy detector (the
# judge finds every toy object: all would be [easy]):
#   python tools/train.py configs/judge/fcos_r18-half_fpn_300it_toy-shapes.py
#   python tools/extract_attributes.py configs/judge/fcos_r18-half_fpn_300it_toy-shapes.py \
#       work_dirs/fcos_r18-half_fpn_300it_toy-shapes/iter_300.pth \
#       --ann-file data/toy_shapes/annotations/instances_train.json \
#       --img-dir data/toy_shapes/train --out data/toy_shapes/attributes/instances_train.json
_base_ = './detdiffusion-l2i_toy-ldm_12000it_toy-shapes.py'

train_dataloader = dict(dataset=dict(attributes_file='attributes/instances_train.json'))
