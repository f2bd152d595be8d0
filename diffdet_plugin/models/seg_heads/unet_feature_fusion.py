"""``UNetFeatureFusion``: DetDiffusion's coarse-to-fine fusion of four UNet feature levels.

DetDiffusion (CVPR 2024, Sec. 3.3) reads features f1..f4 from four UNet levels (f1 the
coarsest) and fuses them coarse to fine,

    F_1 = Conv(f_1),    F_n = Conv(f_n ⊕ Upsample(F_{n−1})),  n = 2, 3, 4,

(⊕: channel concatenation; Upsample: bilinear to f_n's size; Conv: 3×3 conv + GroupNorm +
ReLU to ``feat_channels``). It plays the part of Mask2Former's pixel decoder inside
:class:`PerceptionAwareSegHead`, with the same return contract as mmdet's
``MSDeformAttnPixelDecoder``: the mask features (the finest level, projected to
``out_channels``) and the multi-scale memories for the transformer decoder (F_1..F_3, low to
high resolution).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, caffe2_xavier_init
from torch import Tensor

from mmdet.registry import MODELS


@MODELS.register_module()
class UNetFeatureFusion(BaseModule):
    """Coarse-to-fine fusion F_n = Conv(f_n ⊕ Upsample(F_{n−1})).

    Args:
        in_channels: channels of f_1..f_L, **coarse to fine** (e.g. the toy LDM's
            ``mid_block``, ``up_blocks.0``, ``up_blocks.1``, ``up_blocks.2 + up_blocks.3``:
            (128, 128, 128, 160)).
        feat_channels: channels of every F_n (the decoder's memory).
        out_channels: channels of the mask features (the last, finest F_L, projected).
        num_outs: memories returned for the transformer decoder (the ``num_outs`` coarsest
            fused levels; Mask2Former: 3).
        norm_cfg: the convs' normalisation.
    """

    def __init__(self, in_channels, feat_channels: int = 256, out_channels: int = 256,
                 num_outs: int = 3, norm_cfg=dict(type='GN', num_groups=32), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        in_channels = list(in_channels)
        if not 1 <= num_outs < len(in_channels):
            raise ValueError(f'UNetFeatureFusion: num_outs={num_outs} must leave the finest of '
                             f'the {len(in_channels)} levels for the mask features.')
        self.num_outs = num_outs
        self.fuse = torch.nn.ModuleList(
            ConvModule(c + (feat_channels if n else 0), feat_channels, 3, padding=1,
                       norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'))
            for n, c in enumerate(in_channels))
        self.mask_feature = torch.nn.Conv2d(feat_channels, out_channels, 1)

    def init_weights(self) -> None:
        for m in self.fuse:
            caffe2_xavier_init(m.conv, bias=0)
        caffe2_xavier_init(self.mask_feature, bias=0)

    def forward(self, feats) -> tuple[Tensor, list[Tensor]]:
        """
        Args:
            feats: f_1..f_L, coarse to fine, each (B, C_n, H_n, W_n).
        Returns:
            mask features (B, out_channels, H_L, W_L) and the memories F_1..F_{num_outs},
            each (B, feat_channels, H_n, W_n), low to high resolution.
        """
        fused = []
        for n, (f, conv) in enumerate(zip(feats, self.fuse)):
            if n:
                up = F.interpolate(fused[-1], size=f.shape[-2:], mode='bilinear',
                                   align_corners=False)
                f = torch.cat([f, up], dim=1)
            fused.append(conv(f))
        return self.mask_feature(fused[-1]), fused[:self.num_outs]
