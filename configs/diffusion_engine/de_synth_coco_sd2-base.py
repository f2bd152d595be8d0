# DiffusionEngine synthesis of COCO-DE (arXiv 2309.03893, Sec. 3.3 / 4.1) with the
# SD 2 base Detection-Adapter:
#   python tools/synthesize.py configs/diffusion_engine/de_synth_coco_sd2-base.py \
#       --checkpoint work_dirs/de_adapter_dino-5scale_sd2-base_90k_coco/iter_90000.pth \
#       --out data/coco_de
#
# The engine's settings are the paper's defaults (../_base_/synthesis/diffusion_engine.py:
# DPM-Solver++ 30 steps, CFG 7.5, encode ratio U(0.3, 1.0), delta 0.3, labels from the final
# step); references and prompts are COCO train2017 images and their captions.
_base_ = ['../_base_/synthesis/diffusion_engine.py',
          './de_adapter_dino-5scale_sd2-base_90k_coco.py']

synthesis = dict(
    reference=dict(ann_file='data/coco/annotations/instances_train2017.json',
                   img_dir='data/coco/train2017/',
                   caption_file='data/coco/annotations/captions_train2017.json'),
    num_images=118287)
