"""``PerceptionAwareSegHead``: DetDiffusion's P.A. loss head on UNet features.

DetDiffusion (CVPR 2024, Sec. 3.3) adds a segmentation head on four UNet feature levels
during layout-to-image fine-tuning, so that the UNet's features become *perception-aware*:

    L = L_LDM + λ · √ᾱ_t · (L_mask + L_dice),   λ = 0.01,

where L_mask (sigmoid binary cross-entropy) and L_dice compare instance masks predicted from
the noisy latent's UNet features with the ground-truth instance masks, each prediction
Hungarian-matched to a ground-truth mask with mask and dice costs. √ᾱ_t (the signal scale of
the sampled timestep) down-weights the loss where the latent is mostly noise.

This head is mmdet's ``Mask2FormerHead`` with its pixel decoder replaced by
:class:`UNetFeatureFusion` (the paper's coarse-to-fine F_n = Conv(f_n ⊕ Up(F_{n−1}))): mmdet's
masked-attention transformer decoder, point-sampled mask / dice losses, ``HungarianAssigner``
and ``MaskPseudoSampler`` are used as they are. The class branch exists (Mask2Former's) but
its loss weight is 0 by default: the P.A. loss is L_mask + L_dice only.
"""
from __future__ import annotations

import copy

import torch
from mmcv.cnn import Conv2d
from mmengine.model import ModuleList
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmdet.models.dense_heads import AnchorFreeHead, Mask2FormerHead
from mmdet.models.layers import Mask2FormerTransformerDecoder, SinePositionalEncoding
from mmdet.registry import MODELS, TASK_UTILS


@MODELS.register_module()
class PerceptionAwareSegHead(Mask2FormerHead):
    """Mask2Former-style instance-mask head on UNet features (DetDiffusion's P.A. loss).

    Args:
        in_channels: channels of the UNet levels f_1..f_4, coarse to fine.
        feat_channels, out_channels: the fusion's and the mask features' channels.
        num_classes: categories of the ground-truth instances (the class branch's size).
        num_queries: instance queries (Mask2Former: 100).
        num_transformer_feat_level: fused levels the decoder attends to, round robin (3).
        pixel_decoder: the fusion's config (``UNetFeatureFusion``; channels are filled in).
        transformer_decoder, positional_encoding, loss_cls, loss_mask, loss_dice, train_cfg:
            as in mmdet's ``Mask2FormerHead``; ``None``: Mask2Former's at ``feat_channels``
            (:func:`default_transformer_decoder`, sine encoding of ``feat_channels / 2``
            features per axis, :func:`default_train_cfg`, a class loss of weight 0).
    """

    def __init__(self, in_channels, feat_channels: int = 256, out_channels: int = 256,
                 num_classes: int = 80, num_queries: int = 100,
                 num_transformer_feat_level: int = 3,
                 pixel_decoder=dict(type='UNetFeatureFusion'),
                 transformer_decoder=None, positional_encoding=None,
                 loss_cls=None,
                 loss_mask=dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='mean',
                                loss_weight=5.0),
                 loss_dice=dict(type='DiceLoss', use_sigmoid=True, activate=True,
                                reduction='mean', naive_dice=True, eps=1.0, loss_weight=5.0),
                 train_cfg=None, test_cfg=None, init_cfg=None):
        # Mask2FormerHead.__init__ builds mmdet's deformable pixel decoder; this one builds the
        # UNet fusion instead and then the same parts under the same names, so that the
        # inherited forward / loss code runs unchanged.
        super(AnchorFreeHead, self).__init__(init_cfg=init_cfg)
        self.num_things_classes, self.num_stuff_classes = num_classes, 0
        self.num_classes = num_classes
        self.num_queries = num_queries
        self.num_transformer_feat_level = num_transformer_feat_level
        transformer_decoder = transformer_decoder or default_transformer_decoder(feat_channels)
        self.num_heads = transformer_decoder['layer_cfg']['cross_attn_cfg']['num_heads']
        self.num_transformer_decoder_layers = transformer_decoder['num_layers']
        pixel_decoder = copy.deepcopy(dict(pixel_decoder))
        pixel_decoder.update(in_channels=list(in_channels), feat_channels=feat_channels,
                             out_channels=out_channels, num_outs=num_transformer_feat_level)
        self.pixel_decoder = MODELS.build(pixel_decoder)
        self.transformer_decoder = Mask2FormerTransformerDecoder(**transformer_decoder)
        self.decoder_embed_dims = self.transformer_decoder.embed_dims
        self.decoder_input_projs = ModuleList(
            Conv2d(feat_channels, self.decoder_embed_dims, kernel_size=1)
            if self.decoder_embed_dims != feat_channels else nn.Identity()
            for _ in range(num_transformer_feat_level))
        self.decoder_positional_encoding = SinePositionalEncoding(
            **(positional_encoding or dict(num_feats=feat_channels // 2, normalize=True)))
        self.query_embed = nn.Embedding(num_queries, feat_channels)
        self.query_feat = nn.Embedding(num_queries, feat_channels)
        self.level_embed = nn.Embedding(num_transformer_feat_level, feat_channels)
        self.cls_embed = nn.Linear(feat_channels, num_classes + 1)
        self.mask_embed = nn.Sequential(
            nn.Linear(feat_channels, feat_channels), nn.ReLU(inplace=True),
            nn.Linear(feat_channels, feat_channels), nn.ReLU(inplace=True),
            nn.Linear(feat_channels, out_channels))

        self.test_cfg, self.train_cfg = test_cfg, train_cfg or default_train_cfg()
        self.assigner = TASK_UTILS.build(self.train_cfg['assigner'])
        self.sampler = TASK_UTILS.build(self.train_cfg['sampler'], default_args=dict(context=self))
        self.num_points = self.train_cfg.get('num_points', 12544)
        self.oversample_ratio = self.train_cfg.get('oversample_ratio', 3.0)
        self.importance_sample_ratio = self.train_cfg.get('importance_sample_ratio', 0.75)
        loss_cls = loss_cls or dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.0,
                                    reduction='mean',
                                    class_weight=[1.0] * num_classes + [0.1])
        self.class_weight = loss_cls['class_weight']
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)

    def instance_losses(self, feats, batch_gt_instances: list[InstanceData],
                        weights: Tensor | None = None) -> dict[str, Tensor]:
        """Mask and dice losses per image, weighted per image and averaged over the batch.

        Args:
            feats: f_1..f_4, coarse to fine, each (B, C_n, H_n, W_n).
            batch_gt_instances: per image ``labels`` (N,) and ``masks`` (N, H, W) bool, at
                any resolution (the losses are point-sampled in normalised coordinates).
            weights: (B,) per-image weights (DetDiffusion: √ᾱ_t); ``None``: all 1.
        Returns:
            ``loss_mask``, ``loss_dice`` (each summed over the decoder layers, Mask2Former's
            deep supervision) and ``loss_cls`` (weight 0 by default): the weighted batch means.
        """
        b = feats[0].shape[0]
        cls_list, mask_list = self(list(feats), None)
        all_cls, all_masks = torch.stack(cls_list), torch.stack(mask_list)  # (L, B, Q, ...)
        weights = all_cls.new_ones(b) if weights is None else weights.reshape(b).to(all_cls)
        out = dict(loss_cls=all_cls.new_zeros(()), loss_mask=all_cls.new_zeros(()),
                   loss_dice=all_cls.new_zeros(()))
        h, w = all_masks.shape[-2:]
        for i in range(b):  # one image at a time: Mask2Former normalises by the batch's masks
            losses = self.loss_by_feat(all_cls[:, i:i + 1], all_masks[:, i:i + 1],
                                       [batch_gt_instances[i]],
                                       [dict(img_shape=(h, w), pad_shape=(h, w))])
            for k in out:
                out[k] = out[k] + weights[i] * sum(v for name, v in losses.items()
                                                   if name.split('.')[-1] == k)
        return {k: v / b for k, v in out.items()}


def default_transformer_decoder(dims: int = 256, num_layers: int = 9, num_heads: int = 8,
                                ffn: int = 2048) -> dict:
    """Mask2Former's masked-attention decoder (9 layers, 8 heads, FFN 2048 at 256 dims)."""
    attn = dict(embed_dims=dims, num_heads=num_heads, dropout=0.0, batch_first=True)
    return dict(return_intermediate=True, num_layers=num_layers,
                layer_cfg=dict(self_attn_cfg=attn, cross_attn_cfg=dict(attn),
                               ffn_cfg=dict(embed_dims=dims, feedforward_channels=ffn, num_fcs=2,
                                            act_cfg=dict(type='ReLU', inplace=True),
                                            ffn_drop=0.0, add_identity=True)),
                init_cfg=None)


def default_train_cfg(num_points: int = 12544) -> dict:
    """Hungarian matching on mask (sigmoid BCE) and dice costs only, Mask2Former's weights."""
    return dict(
        num_points=num_points, oversample_ratio=3.0, importance_sample_ratio=0.75,
        assigner=dict(type='HungarianAssigner', match_costs=[
            dict(type='CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
            dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0)]),
        sampler=dict(type='MaskPseudoSampler'))
