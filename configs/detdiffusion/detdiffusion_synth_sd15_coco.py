# DetDiffusion generation for trainability (paper, Sec. 4.3): COCO train2017 layouts at
# 800 x 456, drawn by the fine-tuned model with the strategy (origin / easy / hard):
#   python tools/synthesize.py configs/detdiffusion/detdiffusion_synth_sd15_coco.py \
#       --checkpoint work_dirs/detdiffusion_sd15_60e_coco/diffusers \
#       --out data/coco_detdiffusion_hard \
#       --cfg-options synthesis.strategy=hard
# The easy / hard strategies need no attribute file; origin reads the extracted one.
_base_ = ['../_base_/synthesis/detdiffusion.py']
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

synthesis = dict(
    ldm=dict(pretrained='work_dirs/detdiffusion_sd15_60e_coco/diffusers'),
    layouts=dict(data_root='data/coco/', ann_file='annotations/instances_train2017.json',
                 img_dir='train2017/', image_size=(800, 456), grid=(32, 32), min_area_frac=0.02,
                 attributes_file='attributes/instances_train2017_attributes.json'),
    strategy='hard')
