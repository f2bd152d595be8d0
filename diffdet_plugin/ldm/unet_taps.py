"""UNet feature taps: the one place that reads features out of a diffusers UNet.

A :class:`UNetTaps` registers forward hooks on named UNet blocks and keeps the
output of their most recent call. :meth:`UNetTaps.pyramid` groups the kept
maps by stride, concatenates same-resolution maps along channels (in block
order) and returns them as a tuple from fine to coarse.

Which output is taken: the block's returned hidden states, i.e. **after** its
resampler. ``down_blocks.i`` returns ``(hidden_states, skip_states)`` and we
take ``hidden_states`` (downsampled, except in the last down block);
``up_blocks.i`` returns the upsampled map (the last up block has no upsampler).

DiffusionEngine takes every block (:data:`ALL_BLOCKS`). For an SD-shaped UNet
(4 levels, ``block_out_channels = (c0, c1, c2, c3)``) and a VAE of stride 8 the
image strides are::

    stride 8 : up_blocks.2 (c1) + up_blocks.3 (c0)
    stride 16: down_blocks.0 (c0) + up_blocks.1 (c2)
    stride 32: down_blocks.1 (c1) + up_blocks.0 (c3)
    stride 64: down_blocks.2 (c2) + down_blocks.3 (c3) + mid_block (c3)

which gives these channels per level (fine to coarse):

    sd15, sd2-base, sd2 (320, 640, 1280, 1280): (960, 1600, 1920, 3840)
    tiny (32, 32, 64, 64):                      (64, 96, 96, 192)
    toy (64, 96, 128, 128):                     (160, 192, 224, 384)

:func:`tap_layout` computes this table from a UNet config; a test checks it
against real forward passes.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

ALL_BLOCKS = ('down_blocks.0', 'down_blocks.1', 'down_blocks.2', 'down_blocks.3', 'mid_block',
              'up_blocks.0', 'up_blocks.1', 'up_blocks.2', 'up_blocks.3')


@dataclass(frozen=True)
class TapLevel:
    """One pyramid level: image stride, summed channels and the blocks in it."""
    stride: int
    channels: int
    blocks: tuple[str, ...]


def _block_geometry(unet_config: dict, block: str) -> tuple[int, int]:
    """(channels, downsampling factor relative to the latent) of one block's output."""
    chans = list(unet_config['block_out_channels'])
    n = len(chans)
    if block == 'mid_block':
        return chans[-1], 2**(n - 1)
    kind, _, idx = block.partition('.')
    if not idx.isdigit() or int(idx) >= n or kind not in ('down_blocks', 'up_blocks'):
        raise KeyError(f'Unknown UNet tap block {block!r}; valid names: '
                       f'{", ".join(f"down_blocks.{i}" for i in range(n))}, mid_block, '
                       f'{", ".join(f"up_blocks.{i}" for i in range(n))}')
    i = int(idx)
    if kind == 'down_blocks':
        return chans[i], 2**min(i + 1, n - 1)
    return list(reversed(chans))[i], 2**max(n - 2 - i, 0)


def tap_layout(unet_config: dict, blocks=ALL_BLOCKS, latent_stride: int = 8) -> list[TapLevel]:
    """The pyramid that :meth:`UNetTaps.pyramid` returns, from the config alone.

    Args:
        unet_config: a ``UNet2DConditionModel`` config (``unet.config`` works).
        blocks: tapped block names.
        latent_stride: image pixels per latent pixel (8 for SD's VAE).
    Returns:
        levels sorted from fine (small stride) to coarse.
    """
    levels: dict[int, list] = {}
    for b in blocks:
        ch, factor = _block_geometry(dict(unet_config), b)
        levels.setdefault(latent_stride * factor, []).append((b, ch))
    return [TapLevel(s, sum(c for _, c in levels[s]), tuple(b for b, _ in levels[s]))
            for s in sorted(levels)]


class UNetTaps:
    """Forward hooks on named blocks of a UNet; keeps the outputs of the last call.

    Use as a context manager (hooks are removed on exit) or call
    :meth:`remove`. ``calls`` counts UNet forward passes seen, so callers can
    check which call the features came from.

    Args:
        unet: a ``diffusers.UNet2DConditionModel``.
        blocks: block names (see :data:`ALL_BLOCKS`), in the order their maps
            are concatenated within a level.
    """

    def __init__(self, unet: nn.Module, blocks=ALL_BLOCKS):
        self.unet = unet
        self.blocks = tuple(blocks)
        modules = dict(unet.named_modules())
        for b in self.blocks:
            if b not in modules:
                _block_geometry(dict(unet.config), b)  # raises the clear error for bad names
                raise KeyError(f'UNet has no block {b!r}')
        self.outputs: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.calls = 0
        self._handles = [modules[b].register_forward_hook(self._make_hook(b)) for b in self.blocks]
        self._handles.append(unet.register_forward_pre_hook(self._count_call))

    def _count_call(self, module, args):
        self.calls += 1

    def _make_hook(self, name: str):
        def hook(module, args, output):
            self.outputs[name] = output[0] if isinstance(output, (tuple, list)) else output
        return hook

    def clear(self):
        self.outputs.clear()

    def remove(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()

    def pyramid(self, image_size: tuple[int, int]) -> tuple[torch.Tensor, ...]:
        """Group the kept outputs by stride relative to ``image_size`` (H, W).

        Returns:
            tuple of (B, C_l, H / s_l, W / s_l) tensors, fine to coarse, each
            the channel concatenation of the blocks at stride s_l.
        """
        missing = [b for b in self.blocks if b not in self.outputs]
        if missing:
            raise RuntimeError(f'No UNet output captured for {missing}: run the UNet inside '
                               'the taps')
        by_stride: dict[int, list[torch.Tensor]] = {}
        for b in self.blocks:
            feat = self.outputs[b]
            stride = image_size[0] // feat.shape[-2]
            by_stride.setdefault(stride, []).append(feat)
        return tuple(torch.cat(by_stride[s], dim=1) for s in sorted(by_stride))
