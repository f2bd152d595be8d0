"""Function-preserving deepening of a trained UNet: more ResNet (+ attention) layers per block.

A trained ``UNet2DConditionModel`` with ``layers_per_block`` L_i gets N_i ≥ L_i layers in
down block i (and N_i + 1 in its mirrored up block) while computing exactly the same function,
so that training continues from the trained model instead of from scratch (Net2Net's idea,
Chen et al. 2016, with zero-initialised residual branches).

How the new layers start as identities (diffusers' block layout):

* **down block i**, new layers L_i .. N_i − 1 are appended after the trained ones: a ResNet
  block whose last convolution (``conv2``) is zero returns its input (x + 0); an attention
  block (``Transformer2DModel``) whose output projection (``proj_out``) is zero does too. Its
  skip outputs are then copies of the last trained layer's output.
* **up block k** (mirror of down block i) pops the skips in reverse: first the copies, then
  the trained layers' outputs. Its trained layer 0 stays first (it pops a copy, equal in value
  to what it popped before); the new layers go right after it, at positions 1 .. N_i − L_i,
  each with ``conv2 = 0`` and a 1×1 shortcut ``[I | 0]`` that keeps the hidden state and
  ignores the concatenated skip; the trained layers 1 .. L_i follow, popping the skips they
  popped before.

Every other weight (time embedding, mid block, samplers, conv in / out) is copied unchanged.
"""
from __future__ import annotations

from typing import Sequence

import torch


def _zero_(module: torch.nn.Module):
    for p in module.parameters():
        p.data.zero_()


def _identity_resnet_(resnet, keep_channels: int):
    """conv2 = 0 and (with a shortcut) shortcut = [I | 0]: output = input[:, :keep_channels]."""
    _zero_(resnet.conv2)
    shortcut = getattr(resnet, 'conv_shortcut', None)
    if shortcut is not None:
        w = torch.zeros_like(shortcut.weight)  # (out, in, 1, 1)
        w[:, :keep_channels, 0, 0] = torch.eye(keep_channels, dtype=w.dtype)
        shortcut.weight.data.copy_(w)
        shortcut.bias.data.zero_()
    if getattr(resnet, 'output_scale_factor', 1.0) != 1.0:
        raise ValueError('deepen_unet: resnet output_scale_factor != 1 cannot start as identity')


def _identity_attention_(attention):
    _zero_(attention.proj_out)


def _copy_(dst: torch.nn.Module, src: torch.nn.Module):
    dst.load_state_dict(src.state_dict())


def deepen_unet(unet, layers_per_block: Sequence[int]):
    """A new UNet with ``layers_per_block`` (one per down block, each ≥ the current one) whose
    output equals ``unet``'s on every input (up to float rounding).

    Args:
        unet: a diffusers ``UNet2DConditionModel``.
        layers_per_block: the new per-down-block layer counts, e.g. ``(2, 2, 1, 1)`` for a
            second layer at the two finest levels of the toy UNet.

    Returns:
        the new ``UNet2DConditionModel`` (same dtype and device as ``unet``).
    """
    from diffusers import UNet2DConditionModel
    old_lpb = unet.config.layers_per_block
    n_blocks = len(unet.config.down_block_types)
    old_lpb = [old_lpb] * n_blocks if isinstance(old_lpb, int) else list(old_lpb)
    new_lpb = [int(n) for n in layers_per_block]
    if len(new_lpb) != n_blocks or any(n < o for n, o in zip(new_lpb, old_lpb)):
        raise ValueError(f'deepen_unet: layers_per_block must give one count per down block '
                         f'({n_blocks}), each >= the current {old_lpb}; got {new_lpb}')
    cfg = dict(unet.config)
    cfg['layers_per_block'] = new_lpb
    new = UNet2DConditionModel.from_config(cfg).to(device=unet.device, dtype=unet.dtype)
    outside = {k: v for k, v in unet.state_dict().items()
               if not k.startswith(('down_blocks.', 'up_blocks.'))}
    new.load_state_dict(outside, strict=False)

    for ob, nb, n_old in zip(unet.down_blocks, new.down_blocks, old_lpb):
        for j, resnet in enumerate(nb.resnets):
            if j < n_old:
                _copy_(resnet, ob.resnets[j])
            else:
                _identity_resnet_(resnet, resnet.out_channels)
        for j, attention in enumerate(getattr(nb, 'attentions', None) or []):
            if j < n_old:
                _copy_(attention, ob.attentions[j])
            else:
                _identity_attention_(attention)
        if ob.downsamplers is not None:
            _copy_(nb.downsamplers, ob.downsamplers)

    for ob, nb in zip(unet.up_blocks, new.up_blocks):
        extra = len(nb.resnets) - len(ob.resnets)
        # new position of each trained layer: 0 stays, j >= 1 moves to j + extra
        where = [0] + [j + extra for j in range(1, len(ob.resnets))]
        for j, resnet in enumerate(nb.resnets):
            if j in where:
                _copy_(resnet, ob.resnets[where.index(j)])
            else:
                _identity_resnet_(resnet, resnet.out_channels)
        for j, attention in enumerate(getattr(nb, 'attentions', None) or []):
            if j in where:
                _copy_(attention, ob.attentions[where.index(j)])
            else:
                _identity_attention_(attention)
        if ob.upsamplers is not None:
            _copy_(nb.upsamplers, ob.upsamplers)
    return new
