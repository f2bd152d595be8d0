"""LDM training (stage 2): the noise-prediction loss with empty-prompt dropout."""
from __future__ import annotations

import torch

from mmdet.registry import MODELS

from .ldm_parts_model import LDMPartsModel, to_unit_range


@MODELS.register_module()
class LatentDiffusionTrainer(LDMPartsModel):
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
        min_snr_gamma: if set, weight each sample's loss by Min-SNR-γ
            (:meth:`FrozenLDM.min_snr_weight`, γ = 5 in the paper): high-noise steps keep
            weight 1 in x0 terms, low-noise steps stop dominating the gradient.
    """

    def __init__(self, ldm: dict, trainable=('unet',), empty_prompt_prob: float = 0.1,
                 sample_latents: bool = True, auto_scaling_factor: bool = False,
                 latent_cache_size: int = 0, min_snr_gamma: float | None = None,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(ldm, trainable, data_preprocessor, init_cfg)
        if min_snr_gamma is not None and not min_snr_gamma > 0:
            raise ValueError(f'min_snr_gamma must be > 0 (the paper uses 5), got {min_snr_gamma}')
        self.min_snr_gamma = min_snr_gamma
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

    # ------------------------------------------------- resume guard (checkpoint extra state)
    def recipe(self) -> dict:
        """What a checkpoint of this model must match to be resumed: the UNet and text-encoder
        architectures, the trainable parts and the loss settings."""
        text = self.ldm.text_encoder.config
        return dict(
            unet={k: v for k, v in dict(self.ldm.unet.config).items() if not k.startswith('_')},
            text_encoder={k: getattr(text, k, None) for k in (
                'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers',
                'num_attention_heads', 'max_position_embeddings')},
            prediction_type=self.ldm.prediction_type, trainable=list(self.trainable),
            empty_prompt_prob=self.empty_prompt_prob, min_snr_gamma=self.min_snr_gamma)

    def get_extra_state(self) -> dict:
        return dict(recipe=self.recipe())

    def set_extra_state(self, state):
        """Refuses a checkpoint of another architecture or recipe (mmengine's resume loads
        non-strictly, so a mismatch would otherwise only be logged)."""
        theirs, ours = (state or {}).get('recipe'), self.recipe()
        if theirs is None or theirs == ours:
            return
        diff = []
        for key in ours:
            a, b = theirs.get(key), ours[key]
            if isinstance(a, dict) and isinstance(b, dict):
                diff += [f'{key}.{k}: checkpoint {a.get(k)!r}, config {b.get(k)!r}'
                         for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
            elif a != b:
                diff.append(f'{key}: checkpoint {a!r}, config {b!r}')
        raise ValueError(f'{type(self).__name__}: the checkpoint was trained with another '
                         f'architecture or recipe ({"; ".join(diff[:6])}). Resume it with its '
                         'own config, or start a new work dir (load_from / ldm.pretrained).')

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

    def ldm_loss(self, images: torch.Tensor, prompts, generator=None, weight=None):
        """Returns (loss, dict of tensors: z0, zt, t, pred, target) for subclasses.

        ``weight``: an optional per-pixel loss map broadcastable to the latents (B, C, h, w)
        (e.g. GeoDiffusion's foreground re-weighting); the loss is mean(weight · (pred − ε)²).
        With ``min_snr_gamma`` each sample's term is further multiplied by its Min-SNR-γ weight.
        """
        ldm = self.ldm
        self._update_scaling_factor(images)
        with torch.set_grad_enabled('vae' in self.trainable):
            mean, std = self._posterior(images)
            z0 = mean + std * torch.randn(mean.shape, generator=generator).to(mean) \
                if self.sample_latents else mean
            z0 = ldm.scale_latents(z0)
        b = z0.shape[0]
        drop = torch.rand(b, generator=generator) < self.empty_prompt_prob
        prompts = ['' if d else p for p, d in zip(prompts, drop.tolist())]
        context = ldm.encode_prompt(prompts, requires_grad='text_encoder' in self.trainable)
        noise = torch.randn(z0.shape, generator=generator).to(z0)
        t = torch.randint(0, ldm.num_train_timesteps, (b,), generator=generator).to(ldm.device)
        zt = ldm.add_noise(z0, noise, t)
        pred = ldm.unet(zt, t, encoder_hidden_states=context).sample
        target = ldm.training_target(z0, noise, t)
        err = (pred.float() - target.float()) ** 2  # (B, C, h, w)
        if weight is not None:
            err = weight.float() * err
        if self.min_snr_gamma is not None:
            err = ldm.min_snr_weight(t, self.min_snr_gamma).to(err).view(-1, 1, 1, 1) * err
        loss = err.mean()
        return loss, dict(z0=z0, zt=zt, t=t, pred=pred, target=target)

    def forward(self, inputs, data_samples=None, mode: str = 'loss'):
        if mode != 'loss':
            return self.predict(inputs, data_samples)
        prompts = data_samples if data_samples is not None else [''] * len(inputs)
        loss, _ = self.ldm_loss(to_unit_range(inputs), prompts)
        return dict(loss_ldm=loss)
