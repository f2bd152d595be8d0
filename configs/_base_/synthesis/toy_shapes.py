# DiffusionEngine synthesis settings for the toy-shapes domain: the engine's paper defaults
# (de_synth_coco_sd2-base.py) with sizes that fit 128 px toy images; references and captions
# from toy-shapes train.
synthesis = dict(
    reference=dict(ann_file='data/toy_shapes/annotations/instances_train.json',
                   img_dir='data/toy_shapes/train/',
                   caption_file='data/toy_shapes/annotations/captions_train.json'),
    prompt=dict(domain='photo', use_captions=True, positive_suffix='', negative_prompt=''),
    num_images=64,
    batch_size=4,
    seed=0,
    scheduler='DPMSolverMultistepScheduler',
    num_inference_steps=30,
    guidance_scale=7.5,
    encode_ratio=(0.3, 1.0),
    resize_range=(128, 192),
    crop_max=(128, 128),
    score_thr=0.3,
    label_half='cond',
    keep_negatives=True,
    balance=dict(min_per_category=0),
    contact_sheet=dict(num_images=16, cols=4))
