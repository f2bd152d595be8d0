"""VAE training (stage 1 of an LDM): L = ‖x − D(z)‖₁ + λ_2‖x − D(z)‖² + λ_KL · KL(q(z|x) ‖ N(0, I)),
or the decoder alone on a fixed encoder."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from mmdet.registry import MODELS

from .ldm_parts_model import LDMPartsModel, to_unit_range


@MODELS.register_module()
class AutoencoderTrainer(LDMPartsModel):
    """VAE training: L1 reconstruction (+ λ_2 · L2) + λ_KL · KL (the VAE of ``ldm`` learns).

    With ``train_encoder=False`` only the decoder learns (like SD's ft-MSE decoder): the
    encoder, hence the latent space an LDM was trained in, stays fixed, so a decoder tuned
    after (or while) the LDM trains can replace the old one.

    Args:
        ldm: :meth:`FrozenLDM.build` arguments (e.g. ``dict(preset='toy')``).
        kl_weight: λ_KL (unused when the encoder is frozen: KL is then a constant).
        l2_weight: λ_2.
        train_encoder: train the encoder too (``False``: decoder only).
    """

    def __init__(self, ldm: dict, kl_weight: float = 1e-6, l2_weight: float = 0.0,
                 train_encoder: bool = True, data_preprocessor=None, init_cfg=None):
        super().__init__(ldm, ('vae',), data_preprocessor, init_cfg)
        self.kl_weight = kl_weight
        self.l2_weight = l2_weight
        self.train_encoder = train_encoder
        if not train_encoder:
            self.ldm.vae.encoder.requires_grad_(False)
            self.ldm.vae.quant_conv.requires_grad_(False)

    def forward(self, inputs, data_samples=None, mode: str = 'loss'):
        if mode != 'loss':
            return self.predict(inputs, data_samples)
        x = to_unit_range(inputs).to(self.ldm.device)
        vae = self.ldm.vae
        with torch.set_grad_enabled(self.train_encoder):
            post = vae.encode(x).latent_dist
        recon = vae.decode(post.sample()).sample
        losses = dict(loss_rec=F.l1_loss(recon, x))
        if self.l2_weight:
            losses['loss_l2'] = self.l2_weight * F.mse_loss(recon, x)
        if self.train_encoder:
            losses['loss_kl'] = self.kl_weight * post.kl().mean()
        return losses
