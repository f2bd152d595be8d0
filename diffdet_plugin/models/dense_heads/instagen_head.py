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

from mmdet.models.dense_heads import GroundingDINOHead
from mmdet.registry import MODELS

CLIP_MAX_TOKENS = 77


@MODELS.register_module()
class InstaGenHead(GroundingDINOHead):
    """GroundingDINO's head with CLIP-sized text (see the module docstring).

    Args:
        contrastive_cfg (dict): ``ContrastiveEmbed`` arguments; missing keys default to
            ``max_text_len=77, log_scale='auto', bias=True``.
        **kwargs: ``GroundingDINOHead`` / ``DINOHead`` arguments (losses, ``num_classes``...).
    """

    def __init__(self, contrastive_cfg: dict | None = None, **kwargs):
        contrastive_cfg = {**dict(max_text_len=CLIP_MAX_TOKENS, log_scale='auto', bias=True),
                           **(contrastive_cfg or {})}
        super().__init__(contrastive_cfg=contrastive_cfg, **kwargs)
