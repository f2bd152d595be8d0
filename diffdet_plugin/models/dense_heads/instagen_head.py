"""``InstaGenHead``: the grounding head's box and class branches (InstaGen, CVPR 2024, Sec. 3.2).

mmdet's ``GroundingDINOHead`` already is the paper's head: per decoder layer a box MLP
(Δ(cx, cy, w, h) on the reference points) and a class score that is the dot product of each
query q with the text embeddings e_k of the caption's tokens,

    s(q, k) = σ(q · e_k / √d + b)                       (``ContrastiveEmbed``, log_scale='auto')

turned into per-category scores through the positive map (a category's score is its tokens'
mean); training matches queries to boxes with the Hungarian assigner (focal + L1 + GIoU
costs) and applies focal (α 0.25, γ 2), L1 (5) and GIoU (2) losses, plus DINO's denoising
queries. This subclass only fixes what InstaGen's text side needs: the text is the LDM's CLIP
encoder, whose captions are at most 77 tokens, so the class-score width (``max_text_len``)
defaults to 77 instead of BERT's 256, and the learnable bias b (init −4.6, prior 0.01) is on,
as when training a grounding head from scratch.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from mmdet.models.dense_heads import GroundingDINOHead
from mmdet.models.dense_heads.grounding_dino_head import ContrastiveEmbed
from mmdet.registry import MODELS

CLIP_MAX_TOKENS = 77


class NormalizedContrastiveEmbed(ContrastiveEmbed):
    """The official InstaGen class score: a learnable scale times a normalised dot product of
    query and text embedding, plus a bias (fcjian/InstaGen ``grounding_utils.ContrastiveEmbed(
    scale_bias=True, norm=True)``; bias −4.6, prior 0.01, at init)::

        s(q, k) = σ(scale · ⟨q / ‖q‖, e_k / ‖e_k‖⟩ + b)

    One deliberate difference, and the scale that goes with it: the official ``F.normalize``
    uses its default ``dim=1``, which for (B, N, D) tensors normalises each feature across
    the 900 queries / the text slots, so a single query-class product is not bounded and
    the official scale starts at 1.0. Here each vector is normalised over its features
    (``dim=-1``), the cosine the paper describes, which is bounded by 1: at scale 1.0 the
    logit could only move within b ± 1 (score ≤ σ(1 − 4.6) = 0.027), and at lr 1e-4 the
    scalar scale barely moves (measured: every score ≤ 0.033 after 1500 iterations, 2026-12-07).
    So the scale starts at CLIP's initial logit scale 1 / 0.07 ≈ 14.3 (``scale``), as
    cosine classifiers do. Masking (−inf at text positions outside ``text_token_mask``) and
    padding to ``max_text_len`` are mmdet's.
    """

    DEFAULT_SCALE = 1 / 0.07  # CLIP's initial logit scale

    def __init__(self, max_text_len: int = CLIP_MAX_TOKENS, scale: float = DEFAULT_SCALE):
        super().__init__(max_text_len=max_text_len, log_scale=None, bias=True)
        self.scale = nn.Parameter(torch.tensor([float(scale)]))

    def forward(self, visual_feat, text_feat, text_token_mask):
        return super().forward(F.normalize(visual_feat, dim=-1) * self.scale,
                               F.normalize(text_feat, dim=-1), text_token_mask)


@MODELS.register_module()
class InstaGenHead(GroundingDINOHead):
    """GroundingDINO's head with CLIP-sized text (see the module docstring).

    Args:
        contrastive_cfg (dict): ``ContrastiveEmbed`` arguments; missing keys default to
            ``max_text_len=77, log_scale='auto', bias=True``. ``norm=True`` (the official
            InstaGen score) uses :class:`NormalizedContrastiveEmbed` instead (keys
            ``max_text_len`` and ``scale``, its initial value, default 1 / 0.07).
        **kwargs: ``GroundingDINOHead`` / ``DINOHead`` arguments (losses, ``num_classes``...).
    """

    def __init__(self, contrastive_cfg: dict | None = None, **kwargs):
        cfg = dict(contrastive_cfg or {})
        self.norm = bool(cfg.pop('norm', False))
        self.norm_scale = float(cfg.pop('scale', NormalizedContrastiveEmbed.DEFAULT_SCALE))
        cfg = {**dict(max_text_len=CLIP_MAX_TOKENS, log_scale='auto', bias=True), **cfg}
        super().__init__(contrastive_cfg=cfg, **kwargs)

    @staticmethod
    def split_outputs(all_layers_cls_scores, all_layers_bbox_preds, dn_meta):
        """DINO's split of the decoder outputs into matching and denoising parts; with no
        denoising queries (``dn_meta`` ``None``: InstaGen's default) all are matching and the
        denoising parts are ``None``, so ``loss_by_feat`` computes no denoising loss (mmdet
        3.3's ``DINOHead.split_outputs`` reads ``dn_meta`` before its ``None`` check)."""
        if dn_meta is None:
            return all_layers_cls_scores, all_layers_bbox_preds, None, None
        return GroundingDINOHead.split_outputs(all_layers_cls_scores, all_layers_bbox_preds,
                                               dn_meta)

    def _init_layers(self) -> None:
        super()._init_layers()
        if self.norm:
            fc_cls = NormalizedContrastiveEmbed(self.contrastive_cfg['max_text_len'],
                                                self.norm_scale)
            self.cls_branches = nn.ModuleList(
                [fc_cls if self.share_pred_layer else copy.deepcopy(fc_cls)
                 for _ in range(self.num_pred_layer)])
