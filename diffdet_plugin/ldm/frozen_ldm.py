"""``FrozenLDM``: a frozen Stable-Diffusion-style latent diffusion model.

It owns every piece of diffusion math the plugin uses, so that heads,
datasets and synthesis engines never re-derive it:

* VAE:      z0 = s · E(x) for x ∈ [-1, 1] (s = ``vae.config.scaling_factor``),
            x = D(z / s).
* forward noising, with the model's own scheduler tables (DDPM eq. 4):
            z_t = α_t · z0 + σ_t · ε,  α_t = √ᾱ_t,  σ_t = √(1 − ᾱ_t).
* prediction types:  epsilon: the UNet predicts ε;
            v_prediction: the UNet predicts v = α_t · ε − σ_t · z0.
* prompt encoding with the model's tokenizer and text encoder; the empty
  prompt's embedding is computed once and cached.

Loading: a hub id or a local diffusers folder (:meth:`from_pretrained`), a
single original-format ``.ckpt``/``.safetensors`` file (:meth:`from_single_file`),
or an architecture preset with random weights (:meth:`from_preset`);
:meth:`build` picks one from config-style keyword arguments.
"""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import tempfile

import torch
from torch import nn

from .embedded import embedded_model_dir, is_embedded
from .presets import build_preset_components, get_preset, preset_names, write_preset_config_folder

SINGLE_FILE_SUFFIXES = ('.ckpt', '.safetensors')
_DTYPES = {'fp32': torch.float32, 'float32': torch.float32, 'fp16': torch.float16,
           'float16': torch.float16, 'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16}


class LDMLoadError(RuntimeError):
    """An LDM could not be loaded; the message names the source and the fix."""


def resolve_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in _DTYPES:
        raise ValueError(f'Unknown LDM dtype {dtype!r}; use one of fp32, fp16, bf16')
    return _DTYPES[dtype]


def _looks_like_path(name: str) -> bool:
    return (name.startswith(('.', '/', '~')) or os.sep in name.strip('/').replace('/', os.sep, 1)
            and name.count('/') != 1) or name.endswith(SINGLE_FILE_SUFFIXES)


class FrozenLDM(nn.Module):
    """VAE + UNet + text encoder + tokenizer + scheduler, frozen and in eval mode.

    Args:
        vae (AutoencoderKL), unet (UNet2DConditionModel), text_encoder
            (CLIPTextModel), tokenizer (CLIPTokenizer), scheduler: diffusers /
            transformers components.
        source (str): where it came from (``preset:tiny``, a hub id, a path);
            recorded in adapter checkpoints and synthetic-data provenance.
        dtype: weights' dtype (fp32, fp16 or bf16).
    """

    def __init__(self, vae, unet, text_encoder, tokenizer, scheduler, source: str,
                 dtype='fp32'):
        super().__init__()
        self.vae, self.unet, self.text_encoder = vae, unet, text_encoder
        self.tokenizer, self.scheduler, self.source = tokenizer, scheduler, source
        self.to(resolve_dtype(dtype))
        self.requires_grad_(False)
        self.eval()
        self._prompt_cache: dict[str, torch.Tensor] = {}
        self._fingerprint: str | None = None

    # ------------------------------------------------------------------ loading
    @classmethod
    def build(cls, pretrained: str | None = None, preset: str | None = None, dtype='fp32',
              seed: int = 0, **kwargs) -> 'FrozenLDM':
        """Load from config-style arguments.

        Args:
            pretrained: hub id, local diffusers folder, single
                ``.ckpt``/``.safetensors`` file, or ``'embedded:toy'`` (the
                small toy-domain LDM shipped in the package).
            preset: architecture preset name (random weights). With a single
                file, the preset names the architecture to read it into.
            seed: random-weight seed of a preset.
            kwargs: passed to diffusers' loader (e.g. ``revision``, ``variant``,
                ``local_files_only``, ``config`` for a single file).
        """
        if pretrained is None and preset is None:
            raise LDMLoadError(
                'No LDM given: set `pretrained` (a hub id such as '
                '"stabilityai/stable-diffusion-2-base", a local diffusers folder or a '
                '.ckpt/.safetensors file) or `preset` (one of '
                f'{", ".join(preset_names())}).')
        if pretrained is None:
            return cls.from_preset(preset, dtype=dtype, seed=seed)
        if is_embedded(pretrained):
            try:
                path = embedded_model_dir(pretrained)
            except (KeyError, FileNotFoundError) as e:
                raise LDMLoadError(e.args[0]) from None
            ldm = cls.from_pretrained(path, dtype=dtype, **kwargs)
            ldm.source = pretrained  # the same identity in every checkout / install
            return ldm
        if str(pretrained).endswith(SINGLE_FILE_SUFFIXES):
            return cls.from_single_file(pretrained, config=kwargs.pop('config', preset),
                                        dtype=dtype, **kwargs)
        if preset is not None:
            raise LDMLoadError(f'Give either `pretrained` ({pretrained!r}) or `preset` '
                               f'({preset!r}), not both (a preset only goes with a single file).')
        return cls.from_pretrained(pretrained, dtype=dtype, **kwargs)

    @classmethod
    def from_preset(cls, name: str, dtype='fp32', seed: int = 0) -> 'FrozenLDM':
        """A preset architecture with random weights (deterministic in ``seed``)."""
        try:
            get_preset(name)
        except KeyError as e:
            raise LDMLoadError(e.args[0]) from None
        return cls(**build_preset_components(name, seed=seed), source=f'preset:{name}:seed{seed}',
                   dtype=dtype)

    @classmethod
    def from_pretrained(cls, name_or_path: str, dtype='fp32', **kwargs) -> 'FrozenLDM':
        """Load a hub id or a local diffusers folder (with ``model_index.json``); an
        ``embedded:`` name (e.g. ``'embedded:toy'``) loads the model shipped in the package."""
        from diffusers import StableDiffusionPipeline
        if is_embedded(str(name_or_path)):
            return cls.build(pretrained=str(name_or_path), dtype=dtype, **kwargs)
        name_or_path = osp.expanduser(str(name_or_path))
        if osp.isdir(name_or_path):
            if not osp.isfile(osp.join(name_or_path, 'model_index.json')):
                raise LDMLoadError(
                    f'{name_or_path!r} is a folder but not a diffusers model: it has no '
                    'model_index.json. Point `pretrained` at the folder holding model_index.json, '
                    'unet/, vae/, text_encoder/, tokenizer/ and scheduler/, or at a single '
                    '.ckpt/.safetensors file.')
        elif osp.exists(name_or_path) or _looks_like_path(name_or_path):
            raise LDMLoadError(
                f'LDM path {name_or_path!r} does not exist (or is not a folder). Give an existing '
                'diffusers folder, a .ckpt/.safetensors file, a hub id like '
                '"stabilityai/stable-diffusion-2-base", or a preset.')
        try:
            pipe = StableDiffusionPipeline.from_pretrained(
                name_or_path, torch_dtype=resolve_dtype(dtype), safety_checker=None,
                requires_safety_checker=False, **kwargs)
        except Exception as e:  # noqa: BLE001 -- re-raised with the fix
            hint = ('' if osp.isdir(name_or_path) else
                    ' If this machine cannot reach the Hugging Face hub, download the model '
                    'elsewhere (e.g. `huggingface-cli download ID --local-dir DIR`) and pass DIR.')
            raise LDMLoadError(f'Could not load the LDM {name_or_path!r} with '
                               f'diffusers: {type(e).__name__}: {e}.{hint}') from e
        return cls(pipe.vae, pipe.unet, pipe.text_encoder, pipe.tokenizer, pipe.scheduler,
                   source=name_or_path, dtype=dtype)

    @classmethod
    def from_single_file(cls, path: str, config: str | None = None, dtype='fp32',
                         **kwargs) -> 'FrozenLDM':
        """Load an original-format (CompVis / Stability) single checkpoint file.

        Args:
            path: a ``.ckpt`` or ``.safetensors`` file.
            config: the architecture: a preset name (read offline), a local
                diffusers folder or a hub id. ``None`` lets diffusers infer it
                from the checkpoint, which needs the hub.
        """
        from diffusers import StableDiffusionPipeline
        path = osp.expanduser(str(path))
        if not osp.isfile(path):
            raise LDMLoadError(f'LDM checkpoint file {path!r} does not exist. Check the path, or '
                               'use a diffusers folder / hub id / preset instead.')
        tmp = None
        if config is not None and config in preset_names():
            tmp = tempfile.TemporaryDirectory(prefix='diffdet_preset_')
            config = write_preset_config_folder(config, tmp.name)
            kwargs.setdefault('local_files_only', True)
        try:
            pipe = StableDiffusionPipeline.from_single_file(
                path, config=config, torch_dtype=resolve_dtype(dtype), safety_checker=None,
                requires_safety_checker=False, **kwargs)
        except Exception as e:  # noqa: BLE001 -- re-raised with the fix
            raise LDMLoadError(
                f'Could not load the single-file LDM {path!r}: {type(e).__name__}: {e}. It must be '
                'an original Stable Diffusion checkpoint; offline, also give its architecture '
                '(`preset=` sd15 / sd2-base / sd2, or `config=` a diffusers folder).') from e
        finally:
            if tmp is not None:
                tmp.cleanup()
        return cls(pipe.vae, pipe.unet, pipe.text_encoder, pipe.tokenizer, pipe.scheduler,
                   source=path, dtype=dtype)

    def save_pretrained(self, out_dir: str):
        """Write a diffusers folder that :meth:`from_pretrained` (and diffusers) loads."""
        from diffusers import StableDiffusionPipeline
        pipe = StableDiffusionPipeline(vae=self.vae, text_encoder=self.text_encoder,
                                       tokenizer=self.tokenizer, unet=self.unet,
                                       scheduler=self.scheduler, safety_checker=None,
                                       feature_extractor=None, requires_safety_checker=False)
        pipe.save_pretrained(out_dir, safe_serialization=True)
        return out_dir

    # -------------------------------------------------------------- identity
    def train(self, mode: bool = True):
        """Frozen: always stays in eval mode."""
        return super().train(False)

    @property
    def device(self) -> torch.device:
        return self.unet.conv_in.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.unet.conv_in.weight.dtype

    @property
    def fingerprint(self) -> str:
        """A short hash of the architecture configs and a sample of the weights.

        Two LDMs with the same fingerprint have the same architecture and the
        same first/last UNet and VAE convolutions; adapter checkpoints store it.
        """
        if self._fingerprint is None:
            h = hashlib.sha256()
            for part in (self.unet, self.vae):
                h.update(json.dumps({k: v for k, v in dict(part.config).items()
                                     if not k.startswith('_')}, sort_keys=True,
                                    default=str).encode())
            for w in (self.unet.conv_in.weight, self.unet.conv_out.weight,
                      self.vae.encoder.conv_in.weight, self.vae.decoder.conv_out.weight):
                h.update(w.detach().float().cpu().numpy().tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    @property
    def identity(self) -> dict:
        return dict(source=self.source, fingerprint=self.fingerprint)

    # ------------------------------------------------------------ geometry
    @property
    def latent_stride(self) -> int:
        """Image pixels per latent pixel (8 for SD)."""
        return 2**(len(self.vae.config.block_out_channels) - 1)

    @property
    def latent_channels(self) -> int:
        return self.vae.config.latent_channels

    @property
    def prediction_type(self) -> str:
        return self.scheduler.config.prediction_type

    @property
    def num_train_timesteps(self) -> int:
        return self.scheduler.config.num_train_timesteps

    # ----------------------------------------------------------------- VAE
    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)

    @torch.no_grad()
    def encode_images(self, images: torch.Tensor, sample: bool = False,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, 3, H, W) images in [-1, 1] → latents z0 = s · E(x), (B, 4, H/8, W/8).

        ``sample=False`` takes the posterior mean (deterministic), as feature
        extraction does; ``sample=True`` draws from it, as LDM training does.
        """
        dist = self.vae.encode(images.to(self.device, self.dtype)).latent_dist
        z = dist.sample(generator) if sample else dist.mean
        return self.scale_latents(z)

    def scale_latents(self, z: torch.Tensor) -> torch.Tensor:
        """VAE posterior sample or mean E(x) → the diffusion model's latents z0 = s · E(x)."""
        return z * self.scaling_factor

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (B, 4, h, w) → images (B, 3, 8h, 8w) in [-1, 1]."""
        x = self.vae.decode(latents.to(self.device, self.dtype) / self.scaling_factor).sample
        return x.clamp(-1, 1)

    # -------------------------------------------------------------- prompts
    def encode_prompt(self, prompts: list[str] | str, requires_grad: bool = False) -> torch.Tensor:
        """Prompts → text-encoder hidden states (B, L = 77, D), the UNet's context.

        ``requires_grad``: keep the graph (a trainer that fine-tunes the text encoder).
        """
        if isinstance(prompts, str):
            prompts = [prompts]
        ids = self.tokenizer(list(prompts), padding='max_length', truncation=True,
                             max_length=self.tokenizer.model_max_length,
                             return_tensors='pt').input_ids
        enc_device = self.text_encoder.get_input_embeddings().weight.device
        with torch.set_grad_enabled(requires_grad):
            return self.text_encoder(ids.to(enc_device))[0].to(self.dtype)

    def prompt_embedding(self, prompt: str = '', batch_size: int = 1) -> torch.Tensor:
        """The (cached) embedding of one prompt, expanded to (B, L, D)."""
        emb = self._prompt_cache.get(prompt)
        if emb is None or emb.device != self.device or emb.dtype != self.dtype:
            emb = self.encode_prompt([prompt]).to(self.device, self.dtype)
            self._prompt_cache[prompt] = emb
        return emb.expand(batch_size, -1, -1)

    @property
    def empty_prompt_embedding(self) -> torch.Tensor:
        """Embedding of the empty prompt '' (1, L, D), computed once."""
        return self.prompt_embedding('')

    # ---------------------------------------------------------- noise math
    def _timesteps(self, timesteps, batch_size: int, device) -> torch.Tensor:
        t = torch.as_tensor(timesteps, device=device)
        if t.ndim == 0:
            t = t.expand(batch_size)
        if ((t < 0) | (t >= self.num_train_timesteps)).any():
            raise ValueError(f'timesteps must lie in [0, {self.num_train_timesteps}), '
                             f'got {t.tolist()}')
        return t.long()

    def alpha_sigma(self, timesteps, batch_size: int = 1, device=None):
        """α_t = √ᾱ_t and σ_t = √(1 − ᾱ_t) from the scheduler's table, shaped (B, 1, 1, 1)."""
        device = device or self.device
        t = self._timesteps(timesteps, batch_size, device)
        acp = self.scheduler.alphas_cumprod.to(device=device, dtype=torch.float32)[t]
        return acp.sqrt().view(-1, 1, 1, 1), (1 - acp).sqrt().view(-1, 1, 1, 1)

    def add_noise(self, latents: torch.Tensor, noise: torch.Tensor, timesteps) -> torch.Tensor:
        """z_t = α_t · z0 + σ_t · ε, with the model's own scheduler (``scheduler.add_noise``)."""
        t = self._timesteps(timesteps, latents.shape[0], latents.device)
        return self.scheduler.add_noise(latents, noise, t)

    def training_target(self, latents: torch.Tensor, noise: torch.Tensor, timesteps):
        """What the UNet is trained to predict: ε, or v = α_t · ε − σ_t · z0."""
        if self.prediction_type == 'epsilon':
            return noise
        if self.prediction_type == 'v_prediction':
            t = self._timesteps(timesteps, latents.shape[0], latents.device)
            return self.scheduler.get_velocity(latents, noise, t)
        raise ValueError(f'prediction_type {self.prediction_type!r} is not supported: use '
                         'epsilon or v_prediction')

    def min_snr_weight(self, timesteps, gamma: float) -> torch.Tensor:
        """Min-SNR-γ loss weights (Hang et al., ICCV 2023), one per sample, shape (B,).

        SNR_t = ᾱ_t / (1 − ᾱ_t) (diffusers' ``training_utils.compute_snr``); the weight of the
        model's regression loss is min(SNR_t, γ) / SNR_t for ε-prediction and
        min(SNR_t, γ) / (SNR_t + 1) for v-prediction, i.e. the x0-loss clamped at γ, written
        in the model's own target.
        """
        from diffusers.training_utils import compute_snr
        t = self._timesteps(timesteps, 1, self.scheduler.alphas_cumprod.device)
        snr = compute_snr(self.scheduler, t)
        if self.prediction_type == 'epsilon':
            return snr.clamp(max=gamma) / snr
        if self.prediction_type == 'v_prediction':
            return snr.clamp(max=gamma) / (snr + 1)
        raise ValueError(f'prediction_type {self.prediction_type!r} is not supported: use '
                         'epsilon or v_prediction')

    def predict_x0(self, noisy: torch.Tensor, model_output: torch.Tensor, timesteps):
        """ẑ0 from z_t and the UNet output: (z_t − σ_t ε̂)/α_t, or α_t z_t − σ_t v̂."""
        a, s = self.alpha_sigma(timesteps, noisy.shape[0], noisy.device)
        a, s = a.to(noisy.dtype), s.to(noisy.dtype)
        if self.prediction_type == 'epsilon':
            return (noisy - s * model_output) / a
        if self.prediction_type == 'v_prediction':
            return a * noisy - s * model_output
        raise ValueError(f'prediction_type {self.prediction_type!r} is not supported: use '
                         'epsilon or v_prediction')

    def predict_noise(self, noisy: torch.Tensor, model_output: torch.Tensor, timesteps):
        """ε̂ from z_t and the UNet output: ε̂ itself, or σ_t z_t + α_t v̂."""
        if self.prediction_type == 'epsilon':
            return model_output
        a, s = self.alpha_sigma(timesteps, noisy.shape[0], noisy.device)
        return s.to(noisy.dtype) * noisy + a.to(noisy.dtype) * model_output

    def unet_forward(self, noisy: torch.Tensor, timesteps, context: torch.Tensor) -> torch.Tensor:
        """One UNet call: (B, 4, h, w) z_t, timesteps, (B, L, D) context → (B, 4, h, w)."""
        t = self._timesteps(timesteps, noisy.shape[0], noisy.device)
        return self.unet(noisy.to(self.dtype), t,
                         encoder_hidden_states=context.to(self.dtype)).sample

    def extra_repr(self) -> str:
        return f'source={self.source!r}, prediction_type={self.prediction_type!r}'
