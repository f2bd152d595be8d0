# InstaGen dataset synthesis (Feng et al., CVPR 2024, Sec. 3.3): category names -> text-to-image
# -> the trained grounding head on the image's own UNet features at t = 1 -> COCO.
# A synthesis config inherits this file, its head's model config, and sets `categories`.
#
# | hyper-parameter         | value                                 | source |
# | prompt                  | "a photograph of [c]"                 | paper  |
# | categories per prompt   | 1                                     | paper  |
# | score threshold beta    | 0.4                                   | paper  |
# | sampler                 | DPM-Solver++, 30 steps, CFG 7.5       | ours (as DE) |
# | images per category N   | num_images = N x K categories         | paper: 1000 per epoch, |
# |                         |                                       | 3000 downstream        |
_base_ = './common.py'  # batch, seed, scheduler, balance, contact sheet

synthesis = dict(
    mode='instagen',
    categories=[],
    categories_per_prompt=(1, 1),
    prompt_template='a photograph of {}',
    name_format='{}',
    name_joiner=' and ',
    negative_prompt='',
    num_inference_steps=30,
    guidance_scale=7.5,
    score_thr=0.4,
    keep_negatives=False)
