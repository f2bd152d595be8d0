"""``InstaGen``: an open-vocabulary grounding detector on frozen LDM features (CVPR 2024).

InstaGen (Feng et al., Sec. 3.2) puts a GroundingDINO-style head on the UNet of the diffusion
model that generates the images, so a generated image is labelled from its own features:

    image x (or a generated image's final latent z0)
      → ``LDMBackbone``: one UNet pass at t = 1, every block, strides 8/16/32/64
      → neck: a 3×3 conv per level to 256 channels (``ChannelMapper``, kernel_size=3)
      → 6 feature-enhancer layers: deformable self-attention on image tokens, self-attention
        on text tokens, image↔text cross-attention (``GroundingDinoTransformerEncoder``)
      → language-guided query selection: the 900 image tokens whose best text similarity is
        highest become the queries' reference boxes; content queries are learnt (DINO's mixed
        query selection)
      → 6 cross-modality decoder layers (self-attn, text cross-attn, deformable image
        cross-attn) → ``InstaGenHead``: class score = σ(query · text embedding), box MLP.

The text is the category list written as mmdet's caption ``'c1. c2. '`` and encoded by the
LDM's own CLIP text encoder (:class:`~diffdet_plugin.models.LDMTextEncoder`, shared with the
backbone's LDM, never copied). Everything else is mmdet's ``GroundingDINO``: its loss,
prediction and data contract (``data_sample.text`` = class names, ``custom_entities=True``, as
mmdet's datasets give with ``return_classes=True``). DINO's denoising queries are off by
default, as in the official code (their label embedding would be indexed by the position of a
class in each image's caption, which means nothing across images); ``denoising_queries=True``
turns mmdet's back on (``dn_cfg``).
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn

from mmdet.models.detectors import GroundingDINO
from mmdet.models.layers import SinePositionalEncoding
from mmdet.models.layers.transformer.grounding_dino_layers import (GroundingDinoTransformerDecoder,
                                                                   GroundingDinoTransformerEncoder)
from mmdet.registry import MODELS

from ...utils.categories import check_category_names
from ..backbones import LDMBackbone
from ..language_models import LDMTextEncoder


class NoDenoisingQueries(nn.Module):
    """Stands in for DINO's ``CdnQueryGenerator`` when InstaGen trains without denoising
    queries: zero queries, so the decoder sees the ``num_queries`` matching queries alone,
    no attention mask and no ``dn_meta`` (the head then computes no denoising loss)."""

    def __init__(self, embed_dims: int):
        super().__init__()
        self.embed_dims = embed_dims
        self.register_buffer('_probe', torch.empty(0), persistent=False)  # device and dtype

    def forward(self, batch_data_samples):
        """(B, 0, C) label queries, (B, 0, 4) box queries, no mask, no meta."""
        bs = len(batch_data_samples)
        empty = self._probe.new_zeros
        return empty(bs, 0, self.embed_dims), empty(bs, 0, 4), None, None


@MODELS.register_module()
class InstaGen(GroundingDINO):
    """GroundingDINO on an :class:`LDMBackbone` with the LDM's text encoder.

    Args:
        language_model (dict): ``dict(type='LDMTextEncoder')`` (default keys: the backbone's
            LDM, frozen) or any mmdet language model config with a ``language_dim``.
        feature_prompt (str): the UNet's text condition in the t = 1 feature pass.
            ``'empty'`` (default): the empty prompt for every image, so features do not
            depend on any text. ``'image'``: each image's own generation prompt (the
            ``prompt`` of a synthesized image's record, e.g. ``a photograph of a zebra``; the
            empty prompt for an image without one), as the official InstaGen code extracts
            its features from the generating (prompt-conditioned) UNet: the prompt's
            cross-attention then marks in the features where the named object is.
        denoising_queries (bool): DINO's denoising queries in training (``dn_cfg``).
            ``False`` (default, as the official code): none, every loss is on the matching
            queries; ``dn_cfg`` is then unused.
        *args, **kwargs: ``GroundingDINO`` arguments (``backbone`` must build an
            ``LDMBackbone``).
    """

    FEATURE_PROMPTS = ('empty', 'image')

    def __init__(self, *args, feature_prompt: str = 'empty', denoising_queries: bool = False,
                 **kwargs):
        if feature_prompt not in self.FEATURE_PROMPTS:
            raise ValueError(f'InstaGen feature_prompt must be one of {self.FEATURE_PROMPTS}, '
                             f'got {feature_prompt!r}.')
        self.feature_prompt = feature_prompt
        self._prompts = None  # the current batch's prompts, while loss / predict runs
        super().__init__(*args, **kwargs)
        self.denoising_queries = denoising_queries
        if not denoising_queries:
            self.dn_query_generator = NoDenoisingQueries(self.embed_dims)

    # ------------------------------------------------------------ features
    def feature_condition(self, prompts):
        """The feature pass's per-image text condition from the images' generation ``prompts``
        (``None`` entries: no prompt): the prompts with ``feature_prompt='image'``, else
        ``None`` (the backbone's own empty prompt)."""
        if self.feature_prompt == 'empty':
            return None
        if prompts is None:
            raise ValueError("InstaGen(feature_prompt='image') conditions the feature pass on "
                             'the images\' generation prompts: give prompts=[...].')
        return [p or '' for p in prompts]

    def image_prompts(self, data_samples):
        """:meth:`feature_condition` of the samples' ``prompt`` metainfo."""
        return self.feature_condition([s.metainfo.get('prompt') for s in data_samples])

    def extract_feat(self, batch_inputs):
        feats = self.backbone(batch_inputs, self._prompts)
        return self.neck(feats) if self.with_neck else feats

    def loss(self, batch_inputs, batch_data_samples):
        self._prompts = self.image_prompts(batch_data_samples)
        try:
            return super().loss(batch_inputs, batch_data_samples)
        finally:
            self._prompts = None

    def predict(self, batch_inputs, batch_data_samples, rescale: bool = True):
        self._prompts = self.image_prompts(batch_data_samples)
        fewest = min(len(s.metainfo.get('text') or ()) or 1 for s in batch_data_samples)
        try:
            with self._max_per_img_at_most(self.num_queries * fewest):
                return super().predict(batch_inputs, batch_data_samples, rescale)
        finally:
            self._prompts = None

    @contextlib.contextmanager
    def _max_per_img_at_most(self, limit: int):
        """The head takes the top ``max_per_img`` of num_queries × #classes scores: with a
        short per-image text (the prompt's 1–2 classes) there may be fewer."""
        head_cfg = self.bbox_head.test_cfg
        wanted = head_cfg.get('max_per_img', self.num_queries)
        head_cfg['max_per_img'] = min(wanted, limit)
        try:
            yield
        finally:
            head_cfg['max_per_img'] = wanted

    def _init_layers(self) -> None:
        """GroundingDINO's layers; the text encoder is attached to the backbone's LDM.

        Overridden (not extended) only because ``GroundingDINO._init_layers`` reads the text
        width from a BERT-shaped ``language_backbone.body``; here it is ``language_dim``.
        """
        if not isinstance(self.backbone, LDMBackbone):
            raise TypeError(f'InstaGen needs model.backbone = dict(type="LDMBackbone", ...), got '
                            f'{type(self.backbone).__name__}: its head reads LDM features.')
        self.positional_encoding = SinePositionalEncoding(**self.positional_encoding)
        self.encoder = GroundingDinoTransformerEncoder(**self.encoder)
        self.decoder = GroundingDinoTransformerDecoder(**self.decoder)
        self.embed_dims = self.encoder.embed_dims
        if self.positional_encoding.num_feats * 2 != self.embed_dims:
            raise ValueError(f'positional_encoding.num_feats must be embed_dims / 2 = '
                             f'{self.embed_dims // 2}, got {self.positional_encoding.num_feats}')
        self.query_embedding = nn.Embedding(self.num_queries, self.embed_dims)
        self.level_embed = nn.Parameter(torch.Tensor(self.num_feature_levels, self.embed_dims))
        self.memory_trans_fc = nn.Linear(self.embed_dims, self.embed_dims)
        self.memory_trans_norm = nn.LayerNorm(self.embed_dims)

        cfg = dict(self.language_model_cfg)
        if cfg.get('type') in ('LDMTextEncoder', LDMTextEncoder) and cfg.get('ldm') is None:
            cfg.pop('type')
            self.language_model = LDMTextEncoder(**cfg).attach(self.backbone.ldm)
        else:
            self.language_model = MODELS.build(cfg)
        self.text_feat_map = nn.Linear(self.language_model.language_dim, self.embed_dims)

    def get_tokens_and_prompts(self, original_caption, custom_entities: bool = False,
                               enhanced_text_prompts=None):
        """mmdet's, after one clear error for a class list with an empty name or a name
        listed twice (its boxes would be split between two labels). Every text path (loss,
        predict, labelling) passes through here."""
        if isinstance(original_caption, (list, tuple)):
            check_category_names(original_caption, 'The class names to ground')
        return super().get_tokens_and_prompts(original_caption, custom_entities,
                                              enhanced_text_prompts)

    # ------------------------------------------------------------ labelling
    def encode_classes(self, class_names, batch_size: int):
        """Class names → (text_dict for a batch, positive map label → tokens).

        The caption is mmdet's ``'c1. c2. '``; labels of the predictions index ``class_names``.
        """
        names = list(class_names)
        label_to_token, caption, _, _ = self.get_tokens_positive_and_prompts(
            names, custom_entities=True)
        text_dict = self.language_model([caption] * batch_size)
        text_dict['embedded'] = self.text_feat_map(text_dict['embedded'])
        return text_dict, label_to_token

    @torch.no_grad()
    def predict_from_feats(self, feats: tuple, data_samples: list, class_names=None, **extra):
        """Boxes for ``class_names`` from backbone features (B, C_l, H_l, W_l), unscaled.

        Returns one ``InstanceData`` per image (``bboxes`` xyxy (N, 4), ``scores``, ``labels``
        indexing ``class_names``).
        """
        if class_names is None:
            raise ValueError('InstaGen.predict_from_feats needs class_names=[...]: the '
                             'categories to ground.')
        text_dict, label_to_token = self.encode_classes(class_names, len(data_samples))
        for sample in data_samples:
            sample.token_positive_map = label_to_token
        img_feats = self.neck(feats) if self.with_neck else feats
        head_inputs = self.forward_transformer(img_feats, text_dict, data_samples)
        with self._max_per_img_at_most(self.num_queries * len(class_names)):
            return self.bbox_head.predict(**head_inputs, rescale=False,
                                          batch_data_samples=data_samples)

    @torch.no_grad()
    def image_size(self, latents: torch.Tensor) -> tuple:
        """(H, W) of the images behind latents (B, 4, h, w): the latent size × the VAE stride."""
        stride = self.backbone.ldm.latent_stride
        return latents.shape[-2] * stride, latents.shape[-1] * stride

    def latent_feats(self, latents: torch.Tensor, image_size, prompts=None) -> tuple:
        """The head's pyramid for generated images from their final latents z0 (B, 4, h, w),
        no VAE round trip: the UNet once at t = 1 on z0 (``LDMBackbone.latent_features``;
        with ``feature_prompt='image'`` conditioned on ``prompts``, the generation prompts),
        in the head's dtype."""
        feats = self.backbone.latent_features(latents, tuple(image_size),
                                              prompts=self.feature_condition(prompts))
        return tuple(f.to(self.query_embedding.weight) for f in feats)
