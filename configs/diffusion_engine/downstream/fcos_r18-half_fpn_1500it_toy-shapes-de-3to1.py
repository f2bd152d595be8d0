# fcos_r18-half_fpn_1500it_toy-shapes-de-1to1.py with a smaller synthetic share (beyond the
# DiffusionEngine paper's 1 : 1): 12 real + 4 synthetic images per batch of 16, so at equal
# iterations the detector sees each real image 3/4 as often as the real-only baseline
# instead of half as often.
#
# | hyper-parameter            | value                      | source |
# | -------------------------- | -------------------------- | ------ |
# | real : synthetic per batch | 3 : 1 (MultiSourceSampler) | ours   |
# | everything else            | as the -de-1to1 config     |        |
_base_ = ['./fcos_r18-half_fpn_1500it_toy-shapes-de-1to1.py']

train_dataloader = dict(sampler=dict(source_ratio=[3, 1]))
