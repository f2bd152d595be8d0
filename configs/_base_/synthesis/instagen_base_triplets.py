# InstaGen's first training data, "base triplets" (Feng et al., CVPR 2024, Sec. 3.2):
# prompts of 1-2 random base categories -> text-to-image -> an off-the-shelf detector trained on
# base categories only labels the decoded images -> boxes with score > alpha = 0.8 -> COCO.
# A config inherits this file and the labelling detector's config, and sets `ldm` and
# `categories` (the base list).
#
# | hyper-parameter         | value                                 | source |
# | prompt                  | "a photograph of [c1] and [c2]"       | paper  |
# | categories per prompt   | 1-2, drawn at random                  | paper  |
# | score threshold alpha   | 0.8                                   | paper  |
# | sampler                 | DPM-Solver++, 30 steps, CFG 7.5       | ours   |
_base_ = './instagen.py'  # the same text-to-image settings; what differs:

synthesis = dict(
    mode='text_to_image',
    ldm=dict(pretrained='CompVis/stable-diffusion-v1-4', dtype='fp16'),
    categories_per_prompt=(1, 2),
    score_thr=0.8)
