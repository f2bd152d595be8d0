"""Text-guided image-to-image denoising (SDEdit) with classifier-free guidance.

The DiffusionEngine synthesis loop (arXiv 2309.03893, Sec. 3.3), written like
diffusers' ``StableDiffusionImg2ImgPipeline`` so it can be read side by side:

    k = round-down(N · r)                 denoising steps for encode ratio r ∈ (0, 1]
    z_T' = α_t' · z0_ref + σ_t' · ε      reference latents noised to the k-th last step t'
           (r = 1: pure noise, text-to-image)
    for t in the last k of N scheduler timesteps:
        ε_u, ε_c = UNet([z_t, z_t], t, [c_neg, c_prompt]).chunk(2)   one call, both CFG halves
        ε̂ = ε_u + w · (ε_c − ε_u)                                     guidance scale w
        z_{t−1} = scheduler.step(ε̂, t, z_t)

The Detection-Adapter labels the final latents in its own feature regime (one more UNet
pass at its training timestep); the loop's last call runs at :func:`last_timestep` (t = 33
for DPM-Solver++ 30 steps on SD's leading spacing), whose taps
``synthesis.label_features='final_call'`` reads instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch

#: Extra scheduler settings by name; DiffusionEngine samples with DPM-Solver++.
SCHEDULER_DEFAULTS = {
    'DPMSolverMultistepScheduler': dict(algorithm_type='dpmsolver++', solver_order=2),
}


def build_sampling_scheduler(ldm, name: str = 'DPMSolverMultistepScheduler', **overrides):
    """A fresh diffusers scheduler of class ``name`` on the LDM's noise schedule.

    Any diffusers scheduler class name works (``DDIMScheduler``,
    ``EulerDiscreteScheduler``, ...); the model's β schedule and prediction
    type are kept, ``overrides`` change the rest.
    """
    import diffusers
    cls = getattr(diffusers, name, None)
    if cls is None or not hasattr(cls, 'from_config') or not hasattr(cls, 'step'):
        raise ValueError(f'Unknown diffusers scheduler {name!r}: give a class name from '
                         'diffusers.schedulers, e.g. DPMSolverMultistepScheduler or DDIMScheduler')
    kwargs = dict(SCHEDULER_DEFAULTS.get(name, {}), **overrides)
    return cls.from_config(ldm.scheduler.config, **kwargs)


@dataclass
class SamplingSettings:
    """How the sampler draws: the settings every synthesis mode shares (each mode's config
    inherits them; DetDiffusion changes the defaults to its paper's 50 steps, scale 3.5).

    Attributes:
        scheduler: a diffusers scheduler class name (:func:`build_sampling_scheduler`).
        scheduler_kwargs: its extra settings.
        num_inference_steps: N, the steps of a full (r = 1) sampling run.
        guidance_scale: w of classifier-free guidance, ε̂ = ε_u + w · (ε_c − ε_u).
    """
    scheduler: str = 'DPMSolverMultistepScheduler'
    scheduler_kwargs: dict = field(default_factory=dict)
    num_inference_steps: int = 30
    guidance_scale: float = 7.5

    #: what every generated image's record says of its sampler, in record order
    RECORD_FIELDS: ClassVar[tuple] = ('guidance_scale', 'num_inference_steps', 'scheduler')

    def build_scheduler(self, ldm):
        """A fresh scheduler of these settings on ``ldm``'s noise schedule."""
        return build_sampling_scheduler(ldm, self.scheduler, **self.scheduler_kwargs)

    def record_fields(self) -> dict:
        """The sampler's part of an image record (``RECORD_FIELDS``)."""
        return {k: getattr(self, k) for k in self.RECORD_FIELDS}


def num_denoising_steps(num_inference_steps: int, encode_ratio: float) -> int:
    """k = ⌊N · r⌋, at least 1: the steps run for encode ratio r (as diffusers' img2img)."""
    if not 0 < encode_ratio <= 1:
        raise ValueError(f'encode_ratio must be in (0, 1], got {encode_ratio}')
    return max(1, min(int(num_inference_steps * encode_ratio), num_inference_steps))


def loop_timesteps(scheduler, num_inference_steps: int, k: int, device=None) -> torch.Tensor:
    """The timesteps of the last ``k`` of ``num_inference_steps`` steps (the img2img loop's
    calls, one per step); sets the scheduler's timesteps and begin index."""
    if not 1 <= k <= num_inference_steps or int(k) != k:
        raise ValueError(f'the denoising steps k must be an integer in [1, '
                         f'{num_inference_steps}], got {k}')
    scheduler.set_timesteps(num_inference_steps, device=device)
    start = (num_inference_steps - int(k)) * scheduler.order
    if hasattr(scheduler, 'set_begin_index'):
        scheduler.set_begin_index(start)
    return scheduler.timesteps[start:]


@torch.no_grad()
def img2img_denoise(ldm, scheduler, ref_latents: torch.Tensor | None, noise: torch.Tensor,
                    prompt_embeds: torch.Tensor, negative_embeds: torch.Tensor,
                    encode_ratio: float | None, num_inference_steps: int = 30,
                    guidance_scale: float = 7.5,
                    denoising_steps: int | None = None) -> torch.Tensor:
    """Denoise a batch from its references; returns the final latents (B, 4, h, w).

    Args:
        ldm: the :class:`FrozenLDM` (UNet and noise tables).
        scheduler: a scheduler from :func:`build_sampling_scheduler` (its state is reset).
        ref_latents: z0 of the references (B, 4, h, w); ignored when all N steps run.
        noise: ε (B, 4, h, w), drawn by the caller (per-image seeds).
        prompt_embeds, negative_embeds: (B, L, D) text conditions of the two CFG halves.
        encode_ratio: r; the loop runs the last ⌊N·r⌋ of N steps.
        denoising_steps: k itself, instead of ``encode_ratio`` (a caller that drew the
            integer k passes it: k / N · N in floats can round down to k − 1).
    """
    device = ldm.device
    k = num_denoising_steps(num_inference_steps, encode_ratio) if denoising_steps is None \
        else denoising_steps
    timesteps = loop_timesteps(scheduler, num_inference_steps, k, device)
    noise = noise.to(device, ldm.dtype)
    if k == num_inference_steps or ref_latents is None:
        latents = noise * scheduler.init_noise_sigma  # text-to-image from pure noise
    else:
        t0 = timesteps[:1].repeat(noise.shape[0])
        latents = scheduler.add_noise(ref_latents.to(device, ldm.dtype), noise, t0)
    context = torch.cat([negative_embeds, prompt_embeds]).to(device, ldm.dtype)
    for t in timesteps:
        model_in = scheduler.scale_model_input(torch.cat([latents, latents]), t)
        out_uncond, out_cond = ldm.unet_forward(model_in, t, context).chunk(2)
        guided = out_uncond + guidance_scale * (out_cond - out_uncond)
        latents = scheduler.step(guided, t, latents).prev_sample
    return latents


def last_timestep(scheduler, num_inference_steps: int) -> int:
    """The timestep of a sampling loop's final UNet call (DPM-Solver++ 30 steps on SD's
    leading spacing: 33; DDIM: 1). Sets the scheduler's timesteps."""
    scheduler.set_timesteps(num_inference_steps)
    return int(scheduler.timesteps[-1])


@torch.no_grad()
def text_to_latents(ldm, scheduler, prompts: list[str], seeds: list[int],
                    num_inference_steps: int = 30, guidance_scale: float = 5.0,
                    size=None, uncond: torch.Tensor | None = None) -> torch.Tensor:
    """Final latents z0 (N, C, h, w) from pure noise: the CFG loop of :func:`img2img_denoise`
    at r = 1 on per-image seeded noise.

    Args:
        scheduler: a sampling scheduler (:func:`build_sampling_scheduler`).
        prompts, seeds: N each.
        size: the image side, or (W, H) (default the VAE's ``sample_size``); latents of
            (H / stride, W / stride).
        uncond: the unconditional embedding (1 or N, L, D); default the empty prompt's.
    """
    if len(prompts) != len(seeds):
        raise ValueError(f'{len(prompts)} prompts but {len(seeds)} seeds')
    size = size or ldm.vae.config.sample_size
    w, h = (size, size) if isinstance(size, int) else size
    noise = _seeded_noise(ldm, seeds, h // ldm.latent_stride, w // ldm.latent_stride)
    cond = ldm.encode_prompt(list(prompts))
    uncond = ldm.empty_prompt_embedding if uncond is None else uncond
    uncond = uncond.expand(len(prompts), -1, -1)
    return img2img_denoise(ldm, scheduler, None, noise, cond, uncond, 1.0, num_inference_steps,
                           guidance_scale)


def decode_to_pixels(ldm, latents: torch.Tensor) -> torch.Tensor:
    """VAE-decode final latents to float RGB (N, 3, H, W) in [0, 255] (rounded)."""
    return ((ldm.decode_latents(latents).float() + 1) * 127.5).round().clamp(0, 255)


@torch.no_grad()
def text_to_image(ldm, prompts: list[str], seeds: list[int], num_inference_steps: int = 30,
                  guidance_scale: float = 5.0, scheduler: str = 'DPMSolverMultistepScheduler',
                  size: int | None = None) -> torch.Tensor:
    """Sample images from pure noise: prompts (N) and per-image seeds (N) → uint8 (N, H, W, 3).

    :func:`text_to_latents` with a fresh ``scheduler``, then the VAE decoder. ``size``
    defaults to the VAE's ``sample_size``.
    """
    z = text_to_latents(ldm, build_sampling_scheduler(ldm, scheduler), prompts, seeds,
                        num_inference_steps, guidance_scale, size)
    return decode_to_pixels(ldm, z).byte().permute(0, 2, 3, 1).cpu()


def _seeded_noise(ldm, seeds: list[int], h: int, w: int) -> torch.Tensor:
    return torch.stack([
        torch.randn((ldm.latent_channels, h, w), generator=torch.Generator().manual_seed(s))
        for s in seeds])


@torch.no_grad()
def image_to_image(ldm, images: torch.Tensor, prompts: list[str], seeds: list[int],
                   encode_ratio: float, num_inference_steps: int = 30,
                   guidance_scale: float = 5.0,
                   scheduler: str = 'DPMSolverMultistepScheduler') -> torch.Tensor:
    """SDEdit from references: uint8 (N, H, W, 3) images + prompts + seeds → uint8 (N, H, W, 3).

    z0 = s·E(x) (posterior mean), noised to the k-th last of N steps (k = ⌊N·r⌋), then the
    CFG loop of :func:`img2img_denoise` and the VAE decoder; r = 1 is text-to-image.
    """
    if not len(images) == len(prompts) == len(seeds):
        raise ValueError(f'{len(images)} images, {len(prompts)} prompts, {len(seeds)} seeds')
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    z0 = ldm.encode_images(x)
    noise = _seeded_noise(ldm, seeds, z0.shape[2], z0.shape[3])
    sched = build_sampling_scheduler(ldm, scheduler)
    cond = ldm.encode_prompt(list(prompts))
    uncond = ldm.empty_prompt_embedding.expand(len(prompts), -1, -1)
    z = img2img_denoise(ldm, sched, z0, noise, cond, uncond, encode_ratio, num_inference_steps,
                        guidance_scale)
    out = ldm.decode_latents(z)
    return ((out.float() + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu()
