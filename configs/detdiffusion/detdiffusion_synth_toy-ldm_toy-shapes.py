# DetDiffusion generation at toy scale: toy train layouts drawn by the toy L2I model
# (detdiffusion_toy-ldm_12000it_toy-shapes.py) with a strategy:
#   python tools/synthesize.py configs/detdiffusion/detdiffusion_synth_toy-ldm_toy-shapes.py \
#       --checkpoint work_dirs/detdiffusion_toy-ldm_12000it_toy-shapes/diffusers \
#       --out data/toy_shapes_detdiffusion_hard --cfg-options synthesis.strategy=hard
_base_ = ['../_base_/synthesis/detdiffusion.py']
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

synthesis = dict(
    ldm=dict(pretrained='work_dirs/detdiffusion_toy-ldm_12000it_toy-shapes/diffusers'),
    layouts=dict(data_root='data/toy_shapes/', ann_file='annotations/instances_train.json',
                 img_dir='train/', image_size=(128, 128), grid=(16, 16),
                 attributes_file='attributes/instances_train.json'),
    strategy='hard',
    batch_size=8)
