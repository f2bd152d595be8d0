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
synthesis = dict(
    mode='detdiffusion',
    layouts=dict(),
    strategy='origin',
    num_images=0,
    batch_size=4,
    seed=0,
    negative_prompt='',
    scheduler='DPMSolverMultistepScheduler',
    num_inference_steps=50,
    guidance_scale=3.5,
    score_thr=0.0,
    keep_negatives=True,
    balance=dict(min_per_category=0),
    contact_sheet=dict(num_images=16, cols=4))
