"""Write a :class:`FrozenLDM` as an original (CompVis / Stability) SD v1 single file.

No original-format checkpoint can be downloaded in tests, so this builds one
from a diffusers-format model: :func:`to_original_sd_state_dict` is the inverse
of diffusers' single-file conversion (``diffusers.loaders.single_file_utils``),
and loading its output with ``from_single_file`` must give the model back.

Original layout (``lpb`` = ``layers_per_block``, ``n`` = number of levels):

UNet, ``model.diffusion_model.``:
    ``time_embed.{0,2}``, ``input_blocks.0.0`` (conv_in), ``out.0`` / ``out.2``
    (norm / conv out). Level ``l`` of the encoder owns ``input_blocks`` ``k =
    1 + l·(lpb+1) + j``: ``k.0`` a ResBlock and ``k.1`` a SpatialTransformer
    (if the level has cross attention), for ``j < lpb``; then, except on the
    last level, ``k.0.op`` (the downsampling conv) at ``j = lpb``.
    ``middle_block.{0,1,2}`` = ResBlock, SpatialTransformer, ResBlock.
    Decoder level ``b`` (diffusers' ``up_blocks.b``) owns ``output_blocks``
    ``k = b·(lpb+1) + j``, ``j ≤ lpb``: ``k.0`` ResBlock, ``k.1``
    SpatialTransformer (if any), and on ``j = lpb`` of all but the last level
    the upsampling ``k.1.conv`` (``k.2.conv`` after a transformer).
    ResBlock: ``in_layers.0/2`` (norm1, conv1), ``emb_layers.1``
    (time_emb_proj), ``out_layers.0/3`` (norm2, conv2), ``skip_connection``.
    A SpatialTransformer has diffusers' own key names (conv proj_in/out).
VAE, ``first_stage_model.``:
    ``encoder.down.i.block.j`` / ``encoder.down.i.downsample.conv``;
    ``decoder.up.(n-1-i).block.j`` / ``.upsample.conv`` (decoder levels are
    stored in reverse); ``{en,de}coder.mid.block_{1,2}`` and ``mid.attn_1``
    (``norm``, ``q``, ``k``, ``v``, ``proj_out`` as 1x1 convs [C, C, 1, 1]);
    ``norm_out``; ResBlocks use ``nin_shortcut``; ``quant_conv`` and
    ``post_quant_conv`` as in diffusers.
Text encoder, ``cond_stage_model.transformer.text_model.``: the Hugging Face
    CLIP text model's own keys (plus the ``embeddings.position_ids`` buffer
    that original checkpoints carry).
"""
from __future__ import annotations

import torch

UNET, VAE, CLIP = 'model.diffusion_model.', 'first_stage_model.', \
    'cond_stage_model.transformer.text_model.'

_UNET_RESNET = {'norm1': 'in_layers.0', 'conv1': 'in_layers.2', 'time_emb_proj': 'emb_layers.1',
                'norm2': 'out_layers.0', 'conv2': 'out_layers.3',
                'conv_shortcut': 'skip_connection'}
_VAE_ATTN = {'group_norm': 'norm', 'to_q': 'q', 'to_k': 'k', 'to_v': 'v', 'to_out.0': 'proj_out'}


def _move(src: dict, out: dict, old: str, new: str, rename: dict | None = None) -> None:
    """Pop every ``old.*`` key of ``src`` into ``out`` as ``new.*``, renaming the
    leading sub-module name through ``rename`` (longest match first)."""
    for key in [k for k in src if k.startswith(old + '.')]:
        rest = key[len(old) + 1:]
        for a in sorted(rename or {}, key=len, reverse=True):
            if rest.startswith(a + '.'):
                rest = rename[a] + rest[len(a):]
                break
        out[f'{new}.{rest}'] = src.pop(key)


def _unet(unet) -> dict:
    sd, out, cfg = dict(unet.state_dict()), {}, unet.config
    lpb, n = cfg.layers_per_block, len(cfg.block_out_channels)
    if not isinstance(lpb, int) or cfg.use_linear_projection:
        raise NotImplementedError('only SD v1-style UNets (int layers_per_block, conv proj_in)')
    for old, new in [('time_embedding.linear_1', 'time_embed.0'),
                     ('time_embedding.linear_2', 'time_embed.2'), ('conv_in', 'input_blocks.0.0'),
                     ('conv_norm_out', 'out.0'), ('conv_out', 'out.2')]:
        _move(sd, out, old, new)
    for lvl, kind in enumerate(cfg.down_block_types):
        for j in range(lpb + 1):
            k = 1 + lvl * (lpb + 1) + j
            if j < lpb:
                _move(sd, out, f'down_blocks.{lvl}.resnets.{j}', f'input_blocks.{k}.0',
                      _UNET_RESNET)
                if 'CrossAttn' in kind:
                    _move(sd, out, f'down_blocks.{lvl}.attentions.{j}', f'input_blocks.{k}.1')
            elif lvl < n - 1:
                _move(sd, out, f'down_blocks.{lvl}.downsamplers.0.conv', f'input_blocks.{k}.0.op')
    _move(sd, out, 'mid_block.resnets.0', 'middle_block.0', _UNET_RESNET)
    _move(sd, out, 'mid_block.attentions.0', 'middle_block.1')
    _move(sd, out, 'mid_block.resnets.1', 'middle_block.2', _UNET_RESNET)
    for b, kind in enumerate(cfg.up_block_types):
        attn = 'CrossAttn' in kind
        for j in range(lpb + 1):
            k = b * (lpb + 1) + j
            _move(sd, out, f'up_blocks.{b}.resnets.{j}', f'output_blocks.{k}.0', _UNET_RESNET)
            if attn:
                _move(sd, out, f'up_blocks.{b}.attentions.{j}', f'output_blocks.{k}.1')
            if j == lpb and b < n - 1:
                _move(sd, out, f'up_blocks.{b}.upsamplers.0.conv',
                      f'output_blocks.{k}.{2 if attn else 1}.conv')
    assert not sd, f'UNet weights left unmapped: {sorted(sd)[:5]}'
    return {UNET + k: v for k, v in out.items()}


def _vae(vae) -> dict:
    sd, out = dict(vae.state_dict()), {}
    n, lpb = len(vae.config.block_out_channels), vae.config.layers_per_block
    for part in ('encoder', 'decoder'):
        for old, new in [('conv_in', 'conv_in'), ('conv_out', 'conv_out'),
                         ('conv_norm_out', 'norm_out')]:
            _move(sd, out, f'{part}.{old}', f'{part}.{new}')
        for r in (0, 1):
            _move(sd, out, f'{part}.mid_block.resnets.{r}', f'{part}.mid.block_{r + 1}',
                  {'conv_shortcut': 'nin_shortcut'})
        _move(sd, out, f'{part}.mid_block.attentions.0', f'{part}.mid.attn_1', _VAE_ATTN)
    for i in range(n):
        for j in range(lpb):
            _move(sd, out, f'encoder.down_blocks.{i}.resnets.{j}', f'encoder.down.{i}.block.{j}',
                  {'conv_shortcut': 'nin_shortcut'})
        _move(sd, out, f'encoder.down_blocks.{i}.downsamplers.0.conv',
              f'encoder.down.{i}.downsample.conv')
        for j in range(lpb + 1):  # the decoder has one more ResBlock per level
            _move(sd, out, f'decoder.up_blocks.{i}.resnets.{j}',
                  f'decoder.up.{n - 1 - i}.block.{j}', {'conv_shortcut': 'nin_shortcut'})
        _move(sd, out, f'decoder.up_blocks.{i}.upsamplers.0.conv',
              f'decoder.up.{n - 1 - i}.upsample.conv')
    for q in ('quant_conv', 'post_quant_conv'):
        _move(sd, out, q, q)
    assert not sd, f'VAE weights left unmapped: {sorted(sd)[:5]}'
    # The original mid-block attention uses 1x1 convolutions, not linear layers.
    return {VAE + k: (v[:, :, None, None] if '.attn_1.' in k and v.ndim == 2 else v)
            for k, v in out.items()}


def _clip(text_encoder) -> dict:
    sd = text_encoder.state_dict()
    out = {CLIP + k.removeprefix('text_model.'): v for k, v in sd.items()}
    n_pos = text_encoder.config.max_position_embeddings
    out.setdefault(CLIP + 'embeddings.position_ids', torch.arange(n_pos)[None])
    return out


def to_original_sd_state_dict(ldm) -> dict[str, torch.Tensor]:
    """A FrozenLDM's weights in the original single-file SD v1 layout
    (contiguous CPU copies, ready for ``safetensors.torch.save_file``)."""
    sd = {**_unet(ldm.unet), **_vae(ldm.vae), **_clip(ldm.text_encoder)}
    return {k: v.detach().cpu().contiguous().clone() for k, v in sd.items()}
