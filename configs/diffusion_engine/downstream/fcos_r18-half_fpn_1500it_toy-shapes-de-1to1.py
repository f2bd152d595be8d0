# fcos_r18-half_fpn_1500it_toy-shapes-de.py with real : synthetic fixed at 1 : 1 per batch
# (mmdet's MultiSourceSampler) instead of concatenation: the mixing this project used before
# it followed the official code; kept as an arm of the quality benchmark (beyond the paper).
#
# | hyper-parameter            | value                      | source |
# | -------------------------- | -------------------------- | ------ |
# | real : synthetic per batch | 1 : 1 (MultiSourceSampler) | ours   |
# | everything else            | as the -de config          |        |
_base_ = ['./fcos_r18-half_fpn_1500it_toy-shapes-de.py']

train_dataloader = dict(
    sampler=dict(_base_.real_synthetic_sampler, batch_size=_base_.train_batch_size),
    batch_sampler=None)
