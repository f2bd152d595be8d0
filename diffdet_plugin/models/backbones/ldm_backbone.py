"""``LDMBackbone``: a frozen latent diffusion model as a detection backbone.

DiffusionEngine (arXiv 2309.03893), Sec. 3.2: the Detection-Adapter reads the
multi-scale UNet features of a real image at a small noise level::

    x ∈ [-1, 1]^{B×3×H×W}  (DetDataPreprocessor with mean = std = 127.5)
    z0 = s · E(x)                       (B, 4, H/8, W/8)
    z1 = α_1 · z0 + σ_1 · ε             one forward-noise step, t = 1
    UNet(z1, t=1, c = τ(""))            one pass, empty prompt
    → block outputs grouped by stride   tuple, fine → coarse (see ldm/unet_taps.py)

The LDM is frozen: it runs under ``torch.no_grad`` and is *not* a registered
sub-module, so its weights are neither in the optimizer nor in checkpoints.
Instead each checkpoint stores the LDM's identity (source and fingerprint)
under ``backbone.ldm_identity``; loading a checkpoint made on another LDM
raises :class:`LDMMismatchError`. Beside it, ``backbone.feature_regime`` records
the setting the features were read in (timestep, prompt, noise): the only
features the adapter's head knows. Synthesis labels in that regime
(``synthesis.label_features='adapter'``) and refuses another one unless told to.
"""
from __future__ import annotations

import json

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule

from mmdet.registry import MODELS

from ...ldm import ALL_BLOCKS, FrozenLDM, UNetTaps, tap_layout
from ..ldm_sharing import keep_ldm_shared_on_deepcopy

IDENTITY_KEY = 'ldm_identity'
REGIME_KEY = 'feature_regime'


class LDMMismatchError(RuntimeError):
    """An adapter checkpoint was trained on a different LDM than the one loaded."""


def encode_identity(identity: dict) -> torch.Tensor:
    """LDM identity → uint8 tensor, so it survives mmengine's checkpoint code."""
    return torch.tensor(list(json.dumps(identity, sort_keys=True).encode()), dtype=torch.uint8)


def decode_identity(t: torch.Tensor) -> dict:
    return json.loads(bytes(t.tolist()).decode())


@MODELS.register_module()
class LDMBackbone(BaseModule):
    """Frozen LDM UNet features for any mmdet detector.

    Args:
        ldm (dict): :meth:`FrozenLDM.build` arguments, e.g.
            ``dict(preset='sd2-base')``, ``dict(pretrained='stabilityai/stable-diffusion-2-base',
            dtype='fp16')`` or
            ``dict(pretrained='v2-1_512-ema-pruned.safetensors', preset='sd2-base')``.
        tap_blocks (Sequence[str]): UNet blocks to tap; default every block (the paper).
        timestep (int): noise level t of the single UNet pass (paper: 1).
        noise (str): ``'fixed'`` (ε from ``noise_seed``, the same for every
            image: deterministic features) or ``'random'`` (fresh ε each call).
        noise_seed (int): seed of the fixed noise.
        prompt (str): the UNet's text condition (paper: the empty prompt).
        size_divisor (int): H and W must be multiples of it (UNet needs 64 for SD).
        condition (str): ``'prompt'`` (default): one pass on the text condition.
            ``'uncond+cond'``: two passes, on the empty prompt and on the condition, whose
            taps are concatenated per level as [uncond ‖ cond] (2× the channels): the
            official InstaGen features (fcjian/InstaGen ``openaimodel.py``: the CFG batch's
            two halves side by side), whose difference marks where the prompted object is.
    """

    CONDITIONS = ('prompt', 'uncond+cond')

    def __init__(self, ldm: dict | None = None, tap_blocks=ALL_BLOCKS, timestep: int = 1,
                 noise: str = 'fixed', noise_seed: int = 0, prompt: str = '',
                 size_divisor: int = 64, condition: str = 'prompt', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if condition not in self.CONDITIONS:
            raise ValueError(f'LDMBackbone condition must be one of {self.CONDITIONS}, got '
                             f'{condition!r}')
        self.condition = condition
        if ldm is None:
            raise KeyError('LDMBackbone needs the config key `ldm`: set model.backbone.ldm = '
                           "dict(preset='sd2-base') (random weights) or dict(pretrained="
                           "'stabilityai/stable-diffusion-2-base') (a hub id, diffusers folder or "
                           '.ckpt/.safetensors file).')
        if not isinstance(ldm, dict):
            raise TypeError('LDMBackbone `ldm` must be a dict of FrozenLDM.build arguments, '
                            "e.g. dict(preset='sd2-base') or "
                            "dict(pretrained='<hub id|folder|file>')")
        if noise not in ('fixed', 'random'):
            raise ValueError(f"LDMBackbone noise must be 'fixed' or 'random', got {noise!r}")
        frozen = FrozenLDM.build(**ldm)
        # Not a registered sub-module: no parameters, no state_dict entries, no DDP sync.
        object.__setattr__(self, 'ldm', frozen)
        if not 0 <= timestep < frozen.num_train_timesteps:
            raise ValueError(f'LDMBackbone timestep must be in [0, {frozen.num_train_timesteps}), '
                             f'got {timestep}')
        self.tap_blocks = tuple(tap_blocks)
        self.levels = tap_layout(frozen.unet.config, self.tap_blocks, frozen.latent_stride)
        self.timestep = timestep
        self.noise = noise
        self.noise_seed = noise_seed
        self.prompt = prompt
        self.size_divisor = size_divisor
        self.taps = UNetTaps(frozen.unet, self.tap_blocks)  # also read by the synthesis engine
        self._fixed_noise: dict = {}
        #: the regime of the checkpoint loaded last (None: none loaded, or one made before
        #: diffdet_plugin recorded it)
        self.trained_regime: dict | None = None

    @property
    def feature_regime(self) -> dict:
        """The setting of the single UNet pass: ``timestep``, ``prompt`` ('' = the empty
        prompt), ``noise`` and ``noise_seed``. Saved in every checkpoint."""
        regime = dict(timestep=int(self.timestep), prompt=self.prompt, noise=self.noise,
                      noise_seed=int(self.noise_seed))
        if self.condition != 'prompt':  # (older checkpoints recorded one pass, no key)
            regime['condition'] = self.condition
        return regime

    @property
    def out_channels(self) -> list[int]:
        """Channels per pyramid level, fine to coarse (feed them to the neck)."""
        k = 2 if self.condition == 'uncond+cond' else 1
        return [k * lvl.channels for lvl in self.levels]

    @property
    def strides(self) -> list[int]:
        return [lvl.stride for lvl in self.levels]

    def _noise_like(self, z: torch.Tensor) -> torch.Tensor:
        if self.noise == 'random':
            return torch.randn_like(z)
        key = tuple(z.shape[1:])
        if key not in self._fixed_noise:
            g = torch.Generator().manual_seed(self.noise_seed)
            self._fixed_noise[key] = torch.randn(key, generator=g)
        return self._fixed_noise[key].to(z.device, z.dtype).expand_as(z)

    def check_input(self, x: torch.Tensor):
        h, w = x.shape[-2:]
        if h % self.size_divisor or w % self.size_divisor:
            raise ValueError(
                f'LDMBackbone input is {h}x{w}, not a multiple of {self.size_divisor}: the UNet '
                'downsamples 64x. Pad the batch: model.data_preprocessor = '
                f'dict(type="DetDataPreprocessor", pad_size_divisor={self.size_divisor}, ...).')

    def __deepcopy__(self, memo):
        """A copy (an EMA teacher) shares the frozen LDM and taps it with its own hooks."""
        new = keep_ldm_shared_on_deepcopy(self, memo, skip=('taps', ))
        new.taps = UNetTaps(new.ldm.unet, new.tap_blocks)
        return new

    def forward(self, x: torch.Tensor, prompts=None) -> tuple[torch.Tensor, ...]:
        """(B, 3, H, W) in [-1, 1] → tuple of (B, C_l, H/s_l, W/s_l), fine to coarse.

        ``prompts`` (B str, optional): a text condition per image instead of ``prompt``.
        """
        self.check_input(x)
        ldm = self.ldm
        if ldm.device != x.device:
            ldm.to(x.device)
        with torch.no_grad():
            z0 = ldm.encode_images(x)
        return self.latent_features(z0, tuple(x.shape[-2:]), dtype=x.dtype, prompts=prompts)

    def latent_features(self, z0: torch.Tensor, image_size: tuple[int, int],
                        dtype: torch.dtype | None = None, prompts=None) -> tuple[torch.Tensor, ...]:
        """Clean latents z0 = s·E(x) (B, 4, H/8, W/8) → the pyramid, fine to coarse.

        The same single UNet pass as :meth:`forward` (z_t = α_t z0 + σ_t ε at t = ``timestep``,
        the ``prompt`` condition, or one of ``prompts`` per image), without the VAE: InstaGen
        labels a generated image from its final latent this way, with no decode/encode round
        trip.
        """
        ldm = self.ldm
        with torch.no_grad():
            z0 = z0.to(ldm.device, ldm.dtype)
            zt = ldm.add_noise(z0, self._noise_like(z0), self.timestep)
            if prompts is None:
                ctx = ldm.prompt_embedding(self.prompt, z0.shape[0])
            else:
                if len(prompts) != z0.shape[0]:
                    raise ValueError(f'LDMBackbone got {len(prompts)} prompts for '
                                     f'{z0.shape[0]} images: give one per image.')
                ctx = torch.cat([ldm.prompt_embedding(p or '') for p in prompts])
            b = z0.shape[0]
            if self.condition == 'uncond+cond':  # one batched pass, as CFG runs it
                zt, ctx = torch.cat([zt, zt]), torch.cat([ldm.prompt_embedding('', b), ctx])
            self.taps.clear()
            ldm.unet_forward(zt, self.timestep, ctx)
            feats = self.taps.pyramid(tuple(image_size))
            self.taps.clear()  # do not hold the block outputs until the next call
            if self.condition == 'uncond+cond':
                feats = [torch.cat([f[:b], f[b:]], dim=1) for f in feats]
        return tuple(f.to(dtype or torch.float32) for f in feats)

    # ---------------------------------------------------- checkpoint identity
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + IDENTITY_KEY] = encode_identity(self.ldm.identity)
        destination[prefix + REGIME_KEY] = encode_identity(self.feature_regime)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        regime = state_dict.pop(prefix + REGIME_KEY, None)
        self.trained_regime = None if regime is None else decode_identity(regime)
        stored = state_dict.pop(prefix + IDENTITY_KEY, None)
        if stored is None:
            print_log('Checkpoint has no LDM identity (made before diffdet_plugin recorded it, or '
                      'not an LDMBackbone adapter): cannot check which LDM it was trained on.',
                      logger='current', level=30)
        else:
            theirs, ours = decode_identity(stored), self.ldm.identity
            if theirs['fingerprint'] != ours['fingerprint']:
                raise LDMMismatchError(
                    f"This adapter checkpoint was trained on the LDM {theirs['source']!r} "
                    f"(fingerprint {theirs['fingerprint']}), but the model's backbone loaded "
                    f"{ours['source']!r} (fingerprint {ours['fingerprint']}). Set "
                    "model.backbone.ldm to the LDM the adapter was trained on, or train an "
                    'adapter for this LDM.')
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
