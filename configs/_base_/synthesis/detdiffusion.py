# DetDiffusion generation (CVPR 2024, Sec. 4): the layouts of an annotation file, each object
# "category <l_tl><l_br> [attr]" with the attribute of the strategy, drawn by the fine-tuned
# layout-to-image model; the conditioning layout is the label.
# A synthesis config inherits this file and sets `ldm` (FrozenLDM.build arguments of the
# fine-tuned model, or --checkpoint) and `layouts` (LayoutCaptionDataset arguments).
#
# | hyper-parameter   | value                                             | source |
# | strategy          | origin (extracted P.A. Attr) / easy / hard         | paper  |
# | sampler           | DPM-Solver, 50 steps                              | paper  |
# | guidance scale    | 3.5                                               | paper  |
# | images per layout | 1 (num_images = 0: one per layout)                | ours   |
_base_ = './common.py'  # batch, seed, scheduler, balance, contact sheet

synthesis = dict(
    mode='detdiffusion',
    layouts=dict(),
    strategy='origin',
    num_images=0,
    negative_prompt='',
    num_inference_steps=50,
    guidance_scale=3.5,
    score_thr=0.0,
    keep_negatives=True)
