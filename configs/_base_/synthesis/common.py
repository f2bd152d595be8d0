# What every synthesis mode's run shares (diffdet_plugin.synthesis.SynthesisConfig, with the
# sampler's settings, diffdet_plugin.ldm.SamplingSettings): the mode's base file inherits it and
# adds its paper's hyper-parameters.
#
# | setting          | value                                         |
# | batch            | 4 images per generation call, seed 0          |
# | sampler          | DPM-Solver++ (the mode sets steps and CFG)    |
# | category balance | off (min_per_category 0)                      |
# | contact sheet    | 16 images, 4 per row                          |
synthesis = dict(
    batch_size=4,
    seed=0,
    scheduler='DPMSolverMultistepScheduler',
    balance=dict(min_per_category=0),
    contact_sheet=dict(num_images=16, cols=4))
