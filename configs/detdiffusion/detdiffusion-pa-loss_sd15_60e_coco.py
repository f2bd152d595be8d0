# + P.A. loss: L = L_LDM + lambda * sqrt(alphabar_t) * (L_mask + L_dice), lambda = 0.01, from a
# Mask2Former-style head on four UNet levels (mid block and decoder, strides 64/32/16/8),
# fused coarse to fine; Hungarian matching on mask + dice costs (paper, Sec. 3.3).
#
# | hyper-parameter   | value                                                   | source     |
# | lambda            | 0.01                                                    | paper      |
# | head              | 256 channels, 100 queries, 9 masked-attention layers     | Mask2Former|
# | losses            | sigmoid BCE (5.0) + dice (5.0) on 12544 sampled points   | Mask2Former|
_base_ = './detdiffusion-l2i_sd15_60e_coco.py'

model = dict(seg_head=dict(_delete_=True, type='PerceptionAwareSegHead', feat_channels=256,
                           out_channels=256, num_classes=80, num_queries=100))
