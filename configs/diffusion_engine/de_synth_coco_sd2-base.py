# DiffusionEngine synthesis of COCO-DE (arXiv 2309.03893, Sec. 3.3 / 4.1) with the
# SD 2 base Detection-Adapter:
#   python tools/synthesize.py configs/diffusion_engine/de_synth_coco_sd2-base.py \
#       --checkpoint work_dirs/de_adapter_dino-5scale_sd2-base_90k_coco/iter_90000.pth --out data/coco_de
#
# | hyper-parameter        | value                              | source |
# | references, prompts    | COCO train2017 images + captions   | paper  |
# | encode ratio           | k ~ U{9..30} of 30 steps (0.3-1.0) | paper  |
# | sampler                | DPM-Solver++, 30 steps, CFG 7.5    | paper  |
# | positive / negative    | photo suffix / negative prompt     | paper release |
# | reference size         | short side 512-1024, crop <= 768^2 | paper  |
# | labels                 | final step, conditional half       | paper  |
# | score threshold delta  | 0.3                                | paper  |
# | batch per UNet call    | 4 (x2 for CFG)                     | ours   |
_base_ = './de_adapter_dino-5scale_sd2-base_90k_coco.py'

synthesis = dict(
    reference=dict(ann_file='data/coco/annotations/instances_train2017.json',
                   img_dir='data/coco/train2017/',
                   caption_file='data/coco/annotations/captions_train2017.json'),
    prompt=dict(domain='photo', use_captions=True),
    num_images=118287,
    batch_size=4,
    seed=0,
    scheduler='DPMSolverMultistepScheduler',
    num_inference_steps=30,
    guidance_scale=7.5,
    encode_ratio=(0.3, 1.0),
    resize_range=(512, 1024),
    crop_max=(768, 768),
    score_thr=0.3,
    label_half='cond',
    keep_negatives=True,
    balance=dict(min_per_category=0),
    contact_sheet=dict(num_images=16, cols=4))
