# + P.A. loss: L = L_LDM + lambda * sqrt(alphabar_t) * (L_mask + L_dice), lambda = 0.01, from a
# Mask2Former-style head on four UNet levels (encoder and decoder blocks, strides
# 64/32/16/8), fused coarse to fine (paper, Sec. 3.3).
#
# | hyper-parameter   | value                                                   | source     |
# | lambda            | 0.01                                                    | paper      |
# | head              | 256 channels, 100 queries, 9 masked-attention layers     | Mask2Former|
# | features          | every UNet block, same-stride blocks concatenated        | paper      |
# | losses            | sigmoid BCE (1.0) + dice (1.0) on the final decoder      | paper      |
# |                   | output, dense at stride 8; + class CE (0.4)              | DatasetDM  |
# | matching          | Hungarian, class 2 : mask 5 : dice 5                     | Mask2Former|
_base_ = './detdiffusion-l2i_sd15_60e_coco.py'

model = dict(seg_head=dict(_delete_=True, type='PerceptionAwareSegHead', feat_channels=256,
                           out_channels=256, num_classes=80, num_queries=100))
