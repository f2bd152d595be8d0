"""Training models for the latent diffusion model itself (mmengine ``BaseModel``).

Two stages, each trained with ``tools/train.py`` like any mmdet model, each
saving a diffusers folder that :meth:`FrozenLDM.from_pretrained` loads:

* :class:`AutoencoderTrainer` — the VAE: L = ‖x − D(z)‖₁ + λ_2‖x − D(z)‖² + λ_KL · KL(q(z|x) ‖ N(0, I));
  or the decoder alone on a fixed encoder.
* :class:`LatentDiffusionTrainer` — the LDM loss (Rombach et al., eq. 2):
  L_LDM = E_{z0, c, ε, t} ‖ y − UNet(z_t, t, τ(c)) ‖²,  z_t = α_t z0 + σ_t ε,
  y = ε or v = α_t ε − σ_t z0, with the caption c replaced by the empty prompt
  with probability ``empty_prompt_prob`` (so classifier-free guidance works).

All diffusion math comes from :class:`FrozenLDM`; ``trainable`` chooses which
parts learn (``unet``, ``text_encoder``, ``vae``), the rest stay frozen. The
DetDiffusion and InstaGen fine-tuning models extend
:class:`LatentDiffusionTrainer` (extra losses on UNet features).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from mmdet.registry import MODELS

from ...ldm import FrozenLDM

PARTS = ('unet', 'text_encoder', 'vae')


def _to_unit_range(inputs) -> torch.Tensor:
    """List or batch of uint8 (3, H, W) images → float (B, 3, H, W) in [-1, 1]."""
    x = torch.stack(list(inputs)) if isinstance(inputs, (list, tuple)) else inputs
    return x.float().div(127.5).sub(1)


class _LDMPartsModel(BaseModel):
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


@MODELS.register_module()
class AutoencoderTrainer(_LDMPartsModel):
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
        x = _to_unit_range(inputs).to(self.ldm.device)
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


@MODELS.register_module()
class LatentDiffusionTrainer(_LDMPartsModel):
    """The LDM noise-prediction loss with empty-prompt dropout.

    Args:
        ldm: :meth:`FrozenLDM.build` arguments.
        trainable: parts that learn (default the UNet; add ``text_encoder`` for a new model).
        empty_prompt_prob: probability of training a sample on the empty prompt.
        sample_latents: draw z0 from the VAE posterior (``True``) or take its mean.
        auto_scaling_factor: set the latent scaling factor s = 1 / std(z) from the first
            batch (for a newly trained VAE).
        latent_cache_size: with a frozen VAE, keep the posterior (mean, std) of up to this
            many distinct images in memory, keyed by the image bytes, so that each image
            (and each of its flips) is encoded once. Exact: the frozen encoder is
            deterministic and z0 is still drawn anew each time. 0 turns it off; for the toy
            domain (16×16×4 latents) 10k entries take 80 MB.
    """

    def __init__(self, ldm: dict, trainable=('unet',), empty_prompt_prob: float = 0.1,
                 sample_latents: bool = True, auto_scaling_factor: bool = False,
                 latent_cache_size: int = 0, data_preprocessor=None, init_cfg=None):
        super().__init__(ldm, trainable, data_preprocessor, init_cfg)
        if latent_cache_size and 'vae' in self.trainable:
            raise ValueError('latent_cache_size needs a frozen VAE; remove "vae" from '
                             'trainable or set latent_cache_size=0.')
        self.latent_cache_size = latent_cache_size
        self._latent_cache: dict[bytes, torch.Tensor] = {}
        self.empty_prompt_prob = empty_prompt_prob
        self.sample_latents = sample_latents
        # A new VAE's latents need s = 1 / std(z) (SD's 0.18215 is for SD's VAE); set once
        # from the first batch and kept in the checkpoint (and the saved VAE config).
        self.auto_scaling_factor = auto_scaling_factor
        self.register_buffer('scaling_factor', torch.tensor(float(self.ldm.scaling_factor)))
        self.register_buffer('scaling_factor_set', torch.tensor(not auto_scaling_factor))

    def _update_scaling_factor(self, images):
        if not bool(self.scaling_factor_set):
            with torch.no_grad():
                z = self.ldm.vae.encode(images.to(self.ldm.device, self.ldm.dtype)).latent_dist.mean
            self.scaling_factor.fill_(1.0 / z.float().std().clamp_min(1e-6).item())
            self.scaling_factor_set.fill_(True)
        if self.ldm.vae.config.scaling_factor != float(self.scaling_factor):
            self.ldm.vae.register_to_config(scaling_factor=float(self.scaling_factor))

    def _posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """VAE posterior (mean, std), each (B, 4, H/8, W/8), through the latent cache."""
        vae, x = self.ldm.vae, images.to(self.ldm.device, self.ldm.dtype)
        if not self.latent_cache_size:
            dist = vae.encode(x).latent_dist
            return dist.mean, dist.std
        keys = [img.detach().cpu().numpy().tobytes() for img in images]
        todo = [i for i, k in enumerate(keys) if k not in self._latent_cache]
        if todo:
            with torch.no_grad():
                dist = vae.encode(x[todo]).latent_dist
            for j, i in enumerate(todo):
                if len(self._latent_cache) < self.latent_cache_size:
                    self._latent_cache[keys[i]] = torch.cat([dist.mean[j], dist.std[j]]).cpu()
                else:
                    keys[i] = torch.cat([dist.mean[j], dist.std[j]]).cpu()  # not kept
        stats = torch.stack([k if isinstance(k, torch.Tensor) else self._latent_cache[k]
                             for k in keys]).to(x)
        return stats.chunk(2, dim=1)

    def encode_text(self, prompts) -> torch.Tensor:
        ldm = self.ldm
        ids = ldm.tokenizer(list(prompts), padding='max_length', truncation=True,
                            max_length=ldm.tokenizer.model_max_length, return_tensors='pt').input_ids
        return ldm.text_encoder(ids.to(ldm.device))[0]

    def ldm_loss(self, images: torch.Tensor, prompts, generator=None):
        """Returns (loss, dict of tensors: z0, zt, t, pred, target) for subclasses."""
        ldm = self.ldm
        self._update_scaling_factor(images)
        with torch.set_grad_enabled('vae' in self.trainable):
            mean, std = self._posterior(images)
            z0 = mean + std * torch.randn(mean.shape, generator=generator).to(mean) \
                if self.sample_latents else mean
            z0 = z0 * ldm.scaling_factor
        b = z0.shape[0]
        drop = torch.rand(b, generator=generator) < self.empty_prompt_prob
        prompts = ['' if d else p for p, d in zip(prompts, drop.tolist())]
        with torch.set_grad_enabled('text_encoder' in self.trainable):
            context = self.encode_text(prompts)
        noise = torch.randn(z0.shape, generator=generator).to(z0)
        t = torch.randint(0, ldm.num_train_timesteps, (b,), generator=generator).to(ldm.device)
        zt = ldm.add_noise(z0, noise, t)
        pred = ldm.unet(zt, t, encoder_hidden_states=context).sample
        target = ldm.training_target(z0, noise, t)
        loss = F.mse_loss(pred.float(), target.float())
        return loss, dict(z0=z0, zt=zt, t=t, pred=pred, target=target)

    def forward(self, inputs, data_samples=None, mode: str = 'loss'):
        if mode != 'loss':
            return self.predict(inputs, data_samples)
        prompts = data_samples if data_samples is not None else [''] * len(inputs)
        loss, _ = self.ldm_loss(_to_unit_range(inputs), prompts)
        return dict(loss_ldm=loss)
