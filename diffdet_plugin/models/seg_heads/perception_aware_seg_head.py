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
masked-attention transformer decoder, ``HungarianAssigner`` with Mask2Former's matching costs,
and mmdet's ``CrossEntropyLoss`` / ``DiceLoss`` are used as they are.

The loss is the paper's formula, not Mask2Former's training recipe (:meth:`instance_losses`):
L_mask and L_dice have weight 1 and come from the **final** decoder output (Mask2Former sums
5·L_mask + 5·L_dice over every decoder layer: 20× the formula on the toy head, 50× on SD's);
intermediate outputs are optional (``aux_loss_weight``, averaged). They are computed densely at
the mask prediction's resolution (stride 8 of the image: 16 × 16 on the toy, 32 × 32 for SD at
256², fewer positions than Mask2Former's 12,544 sampled points, exact and deterministic), with
the ground-truth masks area-pooled to it. A class term ``loss_cls`` (weight 0.4 by default)
adds what the paper calls supervision "in conjunction with label ground truth": DatasetDM, the
paper's cited source, weighs class : mask : dice as 2 : 5 : 5; 0.4 keeps that ratio to the
formula's unit mask and dice weights.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
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
        transformer_decoder, positional_encoding, train_cfg: as in mmdet's
            ``Mask2FormerHead``; ``None``: Mask2Former's at ``feat_channels``
            (:func:`default_transformer_decoder`, sine encoding of ``feat_channels / 2``
            features per axis, :func:`default_train_cfg`).
        loss_cls, loss_mask, loss_dice: mmdet loss configs; by default the paper's unit-weight
            sigmoid BCE and dice, and a softmax class loss of weight 0.4 (no-object class 0.1,
            as Mask2Former). ``train_cfg`` may set ``num_points``: it is not used (the losses
            are dense).
        aux_loss_weight: weight of the intermediate decoder outputs' losses (each output's
            mask + dice + class, averaged over them); 0 (default): the final output only.
    """

    def __init__(self, in_channels, feat_channels: int = 256, out_channels: int = 256,
                 num_classes: int = 80, num_queries: int = 100,
                 num_transformer_feat_level: int = 3,
                 pixel_decoder=dict(type='UNetFeatureFusion'),
                 transformer_decoder=None, positional_encoding=None,
                 loss_cls=None,
                 loss_mask=dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='mean',
                                loss_weight=1.0),
                 loss_dice=dict(type='DiceLoss', use_sigmoid=True, activate=True,
                                reduction='mean', naive_dice=True, eps=1.0, loss_weight=1.0),
                 aux_loss_weight: float = 0.0,
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
        self.aux_loss_weight = float(aux_loss_weight)
        loss_cls = loss_cls or dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4,
                                    reduction='mean',
                                    class_weight=[1.0] * num_classes + [0.1])
        self.class_weight = loss_cls['class_weight']
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)

    def instance_losses(self, feats, batch_gt_instances: list[InstanceData],
                        weights: Tensor | None = None) -> dict[str, Tensor]:
        """The P.A. loss's parts per image, weighted per image, averaged over the batch.

        For image b with weight w_b (DetDiffusion: √ᾱ_t) and the final decoder output's
        queries Hungarian-matched to its N ground-truth masks (mmdet's ``HungarianAssigner``,
        Mask2Former's class / mask / dice costs):

            loss_mask = 1/B Σ_b w_b · BCE(matched mask logits, GT masks)     (mean over pixels)
            loss_dice = 1/B Σ_b w_b · Dice(matched masks, GT masks)          (mean over the N)
            loss_cls  = 1/B Σ_b w_b · CE(all Q queries' classes, matched labels / no object)

        each times its loss weight (``loss_mask`` / ``loss_dice`` 1: the paper's L_m + L_d).
        An image without objects contributes its class term only. With ``aux_loss_weight``
        > 0 the intermediate outputs add that weight times their mean losses.

        Args:
            feats: f_1..f_4, coarse to fine, each (B, C_n, H_n, W_n).
            batch_gt_instances: per image ``labels`` (N,) and ``masks`` (N, H, W) bool at any
                resolution (area-pooled to the mask prediction's (h, w)).
            weights: (B,) per-image weights; ``None``: all 1.
        Returns:
            ``loss_mask``, ``loss_dice``, ``loss_cls``: scalars.
        """
        b = feats[0].shape[0]
        cls_list, mask_list = self(list(feats), None)  # per layer: (B, Q, C+1), (B, Q, h, w)
        weights = (cls_list[-1].new_ones(b) if weights is None
                   else weights.reshape(b).to(cls_list[-1]))
        layers = [(len(cls_list) - 1, 1.0)]
        if self.aux_loss_weight and len(cls_list) > 1:
            layers += [(i, self.aux_loss_weight / (len(cls_list) - 1))
                       for i in range(len(cls_list) - 1)]
        out = {k: cls_list[-1].new_zeros(()) for k in ('loss_mask', 'loss_dice', 'loss_cls')}
        for i in range(b):
            gt = batch_gt_instances[i]
            for layer, layer_weight in layers:
                parts = self.image_losses(cls_list[layer][i], mask_list[layer][i], gt)
                for k in out:
                    out[k] = out[k] + weights[i] * layer_weight * parts[k]
        return {k: v / b for k, v in out.items()}

    def image_losses(self, cls_scores: Tensor, mask_preds: Tensor,
                     gt: InstanceData) -> dict[str, Tensor]:
        """One image, one decoder output: (Q, C+1) class logits, (Q, h, w) mask logits and
        the ground truth → unweighted-by-image ``loss_mask``, ``loss_dice``, ``loss_cls``."""
        q, (h, w) = cls_scores.shape[0], mask_preds.shape[-2:]
        labels = gt.labels.to(cls_scores.device).long()
        gt_masks = gt.masks.to(mask_preds.device).float()
        if gt_masks.shape[-2:] != (h, w) and len(gt_masks):
            gt_masks = F.adaptive_avg_pool2d(gt_masks[:, None], (h, w))[:, 0]
        gt_masks = gt_masks.reshape(len(labels), h, w)
        target = labels.new_full((q,), self.num_classes)  # no object
        zero = mask_preds.sum() * 0
        if len(labels) == 0:
            return dict(loss_mask=zero, loss_dice=zero,
                        loss_cls=self.loss_cls(cls_scores, target))
        with torch.no_grad():
            assign = self.assigner.assign(
                pred_instances=InstanceData(scores=cls_scores.detach(),
                                            masks=mask_preds.detach()),
                gt_instances=InstanceData(labels=labels, masks=gt_masks),
                img_meta=dict(img_shape=(h, w)))
        pos = torch.nonzero(assign.gt_inds > 0).squeeze(1)
        matched = assign.gt_inds[pos] - 1
        target[pos] = labels[matched]
        pred, truth = mask_preds[pos], gt_masks[matched]
        return dict(loss_mask=self.loss_mask(pred.flatten(1), truth.flatten(1)),
                    loss_dice=self.loss_dice(pred.flatten(1), truth.flatten(1)),
                    loss_cls=self.loss_cls(cls_scores, target))


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


def default_train_cfg() -> dict:
    """Hungarian matching on class, mask (sigmoid BCE) and dice costs, Mask2Former's weights
    (2 : 5 : 5)."""
    return dict(
        assigner=dict(type='HungarianAssigner', match_costs=[
            dict(type='ClassificationCost', weight=2.0),
            dict(type='CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
            dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0)]))
