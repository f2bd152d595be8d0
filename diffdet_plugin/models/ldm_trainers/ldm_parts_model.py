"""The base of the LDM training models: a :class:`FrozenLDM`'s parts, some of them trainable."""
from __future__ import annotations

import torch
from mmengine.model import BaseModel

from ...ldm import FrozenLDM

PARTS = ('unet', 'text_encoder', 'vae')


def to_unit_range(inputs) -> torch.Tensor:
    """List or batch of uint8 (3, H, W) images → float (B, 3, H, W) in [-1, 1]."""
    x = torch.stack(list(inputs)) if isinstance(inputs, (list, tuple)) else inputs
    return x.float().div(127.5).sub(1)


class LDMPartsModel(BaseModel):
    """Holds a :class:`FrozenLDM`'s parts as sub-modules and unfreezes the trainable ones."""

    def __init__(self, ldm: dict, trainable=('unet',), data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        unknown = set(trainable) - set(PARTS)
        if unknown:
            raise ValueError(f'trainable parts must be among {PARTS}, got {sorted(unknown)}')
        self.trainable = tuple(trainable)
        self.ldm = FrozenLDM.build(**ldm)  # registered: trainable parts reach the optimizer
        for part in self.trainable:
            getattr(self.ldm, part).requires_grad_(True)

    def train(self, mode: bool = True):
        super().train(mode)
        for part in PARTS:  # frozen parts stay in eval mode
            getattr(self.ldm, part).train(mode and part in self.trainable)
        return self

    def save_pretrained(self, out_dir: str) -> str:
        """Write the (partly trained) LDM as a diffusers folder."""
        return self.ldm.save_pretrained(out_dir)

    def predict(self, inputs, data_samples=None):
        raise RuntimeError('LDM training models have no prediction mode; sample with '
                                  'diffdet_plugin.ldm.img2img_denoise')
