# DiffusionEngine synthesis: the engine's defaults from the paper (arXiv 2309.03893, Sec. 3.3 /
# 4.1). A dataset's synthesis config inherits this file and adds its `reference` (COCO json,
# image folder, captions) and `num_images`; see de_synth_coco_sd2-base.py.
#
# | hyper-parameter        | value                              | source        |
# | prompts                | the reference's caption, else the  | paper         |
# |                        | "A [domain], with [cls], ..." form |               |
# | encode ratio           | U(0.3, 1.0) (k of 30 steps)        | paper         |
# | sampler                | DPM-Solver++, 30 steps, CFG 7.5    | paper         |
# | positive / negative    | photo suffix / negative prompt     | paper release |
# | reference size         | short side 512-1024, crop <= 768^2 | paper         |
# | labels                 | final step, conditional half       | paper         |
# | score threshold delta  | 0.3                                | paper         |
# | batch per UNet call    | 4 (x2 for CFG)                     | ours          |
synthesis = dict(
    mode='diffusion_engine',  # the synthesizer (diffdet_plugin.registry.SYNTHESIZERS)
    prompt=dict(domain='photo', use_captions=True),
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
