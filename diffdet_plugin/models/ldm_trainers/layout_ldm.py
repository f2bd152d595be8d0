"""``LayoutLDM``: DetDiffusion's layout-to-image fine-tuning.

DetDiffusion (CVPR 2024) fine-tunes Stable Diffusion to draw a layout given as text: each
object is ``category <l_tl><l_br> [attr]`` with GeoDiffusion's location tokens (a grid of bins
added to the tokenizer, :mod:`diffdet_plugin.ldm.location_tokens`) and a perception-aware
attribute (``[easy]`` / ``[hard]`` for a detector, "P.A. Attr", from
``tools/extract_attributes.py``). The UNet and the text encoder learn (the location tokens'
embeddings are new rows of the text encoder's table); the VAE stays frozen. The loss is

    L = L_LDM + λ · √ᾱ_t · (L_mask + L_dice) [+ λ · √ᾱ_t · 0.4 · L_cls],   λ = 0.01  (Sec. 3.3)

with the perception-aware segmentation loss ("P.A. loss") of :class:`PerceptionAwareSegHead`
on four UNet levels of the *same* forward pass that predicts the noise (features of z_t at t,
read through :class:`diffdet_plugin.ldm.UNetTaps`), so its gradient reaches the UNet. The
head's final output carries the loss at unit mask / dice weights; the class term is ours
(the head's docstring says why).

The location tokens' rows start at the scale of the encoder's word rows
(``location_token_scale='auto'``) and ``[easy]`` / ``[hard]`` / ``[background]`` are added
tokens: both are recorded in ``layout_tokens.json`` beside the saved diffusers folder.
``foreground_weight`` turns on GeoDiffusion's foreground re-weighting of L_LDM: on the latent
grid, each box's pixels get ``foreground_weight / ((h + 1)(w + 1))^0.2`` (box in latent pixels,
later objects over earlier ones), the rest ``1 / (H·W)^0.2``, the map normalised to mean 1
(GeoDiffusion's ``--foreground_loss_mode constant --foreground_loss_weight 2
--foreground_loss_norm``); small toy objects (5–18 % of the image) otherwise carry little of
the loss.
``seg_head=None`` turns the P.A. loss off; a dataset without ``attributes_file`` turns P.A.
Attr off: the paper's ablation rows are configs.

Data: :class:`LayoutCaptionDataset` samples, ``inputs`` uint8 (3, H, W) and ``data_samples``
dicts with ``prompt`` (str), ``masks`` (N, H, W) bool and ``labels`` (N,).
"""
from __future__ import annotations

import json
import os.path as osp

import torch
from mmengine.structures import InstanceData

from mmdet.registry import MODELS

from ...ldm import ALL_BLOCKS, UNetTaps, tap_layout
from ...ldm.location_tokens import (ATTRIBUTE_TOKENS, add_attribute_tokens, add_location_tokens,
                                    word_row_norm)
from .latent_diffusion_trainer import LatentDiffusionTrainer
from .ldm_parts_model import to_unit_range

# Four UNet levels, strides 64 / 32 / 16 / 8 of an SD-shaped UNet (see unet_taps.py): the
# paper's features "of the encoding and decoding path" are every block, the blocks of one
# stride concatenated (as the DiffusionEngine backbone taps them).
ENCODER_DECODER_LEVELS = ALL_BLOCKS
# The decoder side only (mid block and up blocks; the last two share stride 8).
DECODER_LEVELS = ('mid_block', 'up_blocks.0', 'up_blocks.1', 'up_blocks.2', 'up_blocks.3')
#: Beside the saved diffusers folder: how the layout tokens were made.
LAYOUT_TOKENS_FILE = 'layout_tokens.json'


@MODELS.register_module()
class LayoutLDM(LatentDiffusionTrainer):
    """Layout-to-image fine-tuning with location tokens and the optional P.A. loss.

    Args:
        ldm: :meth:`FrozenLDM.build` arguments (SD 1.5 in the paper; ``embedded:toy``).
        grid: (W, H) location bins; the tokenizer grows by W·H tokens (idempotent for a
            model saved after fine-tuning, which already has them).
        location_token_scale: ``'auto'`` (default): the 2D sine-cosine rows scaled to the
            mean norm of the encoder's word rows; a number: that factor on the table (1: the
            table itself, norm √(D/2): 35× the toy encoder's word rows, too large to train).
        attribute_tokens: add ``[easy]`` / ``[hard]`` / ``[background]`` as single tokens
            (the paper's special tokens); ``False``: they stay plain text.
        foreground_weight: GeoDiffusion's foreground re-weighting of L_LDM with this box
            weight (GeoDiffusion: 2.0); ``None``: the plain MSE.
        seg_head: a :class:`PerceptionAwareSegHead` config (``in_channels`` is filled in from
            the UNet); ``None``: no P.A. loss.
        pa_loss_weight: λ (paper: 0.01).
        feature_blocks: the UNet blocks whose outputs make the four levels f_1..f_4 (default
            every encoder and decoder block; :data:`DECODER_LEVELS`: the decoder side only).
        trainable: parts that learn (paper: UNet and text encoder).
        empty_prompt_prob: the caption is dropped with this probability (paper: 0.1).
    """

    def __init__(self, ldm: dict, grid=(16, 16), location_token_scale: float | str = 'auto',
                 attribute_tokens: bool = True, foreground_weight: float | None = None,
                 seg_head: dict | None = None,
                 pa_loss_weight: float = 0.01, feature_blocks=ENCODER_DECODER_LEVELS,
                 trainable=('unet', 'text_encoder'), empty_prompt_prob: float = 0.1,
                 data_preprocessor=None, init_cfg=None, **kwargs):
        super().__init__(ldm, trainable=trainable, empty_prompt_prob=empty_prompt_prob,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg, **kwargs)
        self.grid = tuple(grid)
        # keeps the table's requires_grad: the new rows learn iff the text encoder does
        self.location_token_ids = add_location_tokens(self.ldm, self.grid,
                                                      location_token_scale)
        self.token_record = dict(
            grid=list(self.grid), location_token_scale=location_token_scale,
            location_token_factor=getattr(self.ldm, 'location_token_scale', None),
            word_row_norm=word_row_norm(self.ldm.text_encoder, self.location_token_ids[0]),
            attribute_tokens=list(ATTRIBUTE_TOKENS) if attribute_tokens else [])
        if attribute_tokens:
            add_attribute_tokens(self.ldm)
        self.foreground_weight = foreground_weight
        self.pa_loss_weight = pa_loss_weight
        self.seg_head = None
        if seg_head is not None:
            levels = tap_layout(dict(self.ldm.unet.config), feature_blocks,
                                self.ldm.latent_stride)
            if len(levels) != 4:
                raise ValueError(f'feature_blocks {feature_blocks} give {len(levels)} UNet '
                                 'levels; the P.A. loss takes four (f_1..f_4).')
            seg_head = dict(seg_head, in_channels=[lv.channels for lv in reversed(levels)])
            self.seg_head = MODELS.build(seg_head)
        self.feature_blocks = tuple(feature_blocks)

    def save_pretrained(self, out_dir: str) -> str:
        """The diffusers folder plus ``layout_tokens.json`` (grid, the location rows' scale
        as configured and as applied, the word-row norm, the attribute tokens)."""
        out = super().save_pretrained(out_dir)
        with open(osp.join(out_dir, LAYOUT_TOKENS_FILE), 'w') as f:
            json.dump(self.token_record, f, indent=2)
        return out

    def foreground_weights(self, data_samples, image_shape) -> torch.Tensor:
        """GeoDiffusion's loss map, (B, 1, h, w) on the latent grid, mean 1 per image."""
        H, W = image_shape
        s = self.ldm.latent_stride
        h, w = H // s, W // s
        out = torch.empty(len(data_samples), 1, h, w)
        for i, sample in enumerate(data_samples):
            m = torch.zeros(h, w)
            boxes = torch.as_tensor(sample['bboxes'], dtype=torch.float32).reshape(-1, 4)
            for x0, y0, x1, y1 in (boxes / torch.tensor([W, H, W, H]) *
                                   torch.tensor([w, h, w, h])).round().int().tolist():
                m[y0:y1, x0:x1] = self.foreground_weight / ((y1 - y0 + 1) * (x1 - x0 + 1)) ** 0.2
            m[m == 0] = 1 / (h * w) ** 0.2
            out[i, 0] = m / m.sum() * (h * w)
        return out.to(self.ldm.device)

    def pa_weights(self, timesteps: torch.Tensor) -> torch.Tensor:
        """√ᾱ_t per sample (B,), from the LDM's own noise schedule."""
        return self.ldm.alpha_sigma(timesteps, len(timesteps))[0].flatten()

    def forward(self, inputs, data_samples=None, mode: str = 'loss'):
        if mode != 'loss':
            return self.predict(inputs, data_samples)
        if isinstance(data_samples, dict):  # pseudo_collate: a dict of per-sample lists
            data_samples = [dict(zip(data_samples, vals)) for vals in
                            zip(*data_samples.values())]
        if not data_samples or not isinstance(data_samples[0], dict):
            raise TypeError('LayoutLDM trains on LayoutCaptionDataset samples (data_samples '
                            'with prompt, masks, labels); use collate_fn=pseudo_collate.')
        images = to_unit_range(inputs)
        prompts = [s['prompt'] for s in data_samples]
        weight = (None if self.foreground_weight is None else
                  self.foreground_weights(data_samples, tuple(images.shape[-2:])))
        if self.seg_head is None:
            return dict(loss_ldm=self.ldm_loss(images, prompts, weight=weight)[0])
        # hooks for this one UNet pass only (nothing to carry through deepcopy, e.g. EMA)
        with UNetTaps(self.ldm.unet, self.feature_blocks) as taps:
            loss, parts = self.ldm_loss(images, prompts, weight=weight)
        losses = dict(loss_ldm=loss)
        feats = taps.pyramid(tuple(images.shape[-2:]))[::-1]  # coarse to fine
        device = feats[0].device
        gts = [InstanceData(labels=s['labels'].to(device), masks=s['masks'].to(device))
               for s in data_samples]
        pa = self.seg_head.instance_losses(feats, gts, self.pa_weights(parts['t']))
        losses['loss_pa'] = self.pa_loss_weight * (pa['loss_mask'] + pa['loss_dice'] +
                                                   pa['loss_cls'])
        losses.update(pa_mask=pa['loss_mask'].detach(), pa_dice=pa['loss_dice'].detach(),
                      pa_cls=pa['loss_cls'].detach())
        return losses
