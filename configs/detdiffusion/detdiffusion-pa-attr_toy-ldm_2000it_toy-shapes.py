# + P.A. Attr at toy scale; the attributes come from the shipped judge:
#   python tools/extract_attributes.py configs/judge/fcos_r18-half_fpn_3000it_toy-shapes.py \
#       diffdet_plugin/assets/judge/fcos_r18-half_fpn_3000it_toy-shapes.pth \
#       --ann-file data/toy_shapes/annotations/instances_train.json \
#       --img-dir data/toy_shapes/train --out data/toy_shapes/attributes/instances_train.json
_base_ = './detdiffusion-l2i_toy-ldm_2000it_toy-shapes.py'

train_dataloader = dict(dataset=dict(attributes_file='attributes/instances_train.json'))
