"""Architecture presets: the real Stable Diffusion architectures, random weights.

No weights can be downloaded on the machines this plugin is developed on, so
every code path (and every benchmark) must run on an architecture built from
its config alone. Each preset holds the full diffusers configs of one model:

============  ==========================  =========  ==========  ===============
preset        same architecture as        image px   latent px   prediction type
============  ==========================  =========  ==========  ===============
``sd15``      runwayml SD 1.5             512        64          epsilon
``sd2-base``  stabilityai SD 2 (base)     512        64          epsilon
``sd2``       stabilityai SD 2 (768-v)    768        96          v_prediction
``tiny``      a few-MB SD-shaped model    128        16          epsilon
``toy``       the embedded toy-domain LDM 128        16          epsilon
============  ==========================  =========  ==========  ===============

``tiny`` keeps SD's topology (VAE with 4 levels, i.e. latent stride 8; UNet
with 4 levels, cross-attention in the first three) at toy widths, so its taps
have the same strides as the real models. All presets use the download-free
byte-level CLIP tokenizer of :mod:`.tokenizer`.
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import os.path as osp

import torch

_SD_DOWN = ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']
_SD_UP = ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']

_SD_UNET = dict(
    act_fn='silu', block_out_channels=[320, 640, 1280, 1280], center_input_sample=False,
    down_block_types=_SD_DOWN, up_block_types=_SD_UP, downsample_padding=1,
    flip_sin_to_cos=True, freq_shift=0, in_channels=4, out_channels=4, layers_per_block=2,
    mid_block_scale_factor=1, norm_eps=1e-5, norm_num_groups=32)

_SD_VAE = dict(
    act_fn='silu', block_out_channels=[128, 256, 512, 512], in_channels=3, out_channels=3,
    down_block_types=['DownEncoderBlock2D'] * 4, up_block_types=['UpDecoderBlock2D'] * 4,
    latent_channels=4, layers_per_block=2, norm_num_groups=32, scaling_factor=0.18215)

_SD_SCHEDULE = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear', num_train_timesteps=1000,
    clip_sample=False, set_alpha_to_one=False, steps_offset=1)

# CLIP ViT-L/14 (SD 1.x) and OpenCLIP ViT-H/14 with its last layer dropped (SD 2.x).
_CLIP_L = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
               num_attention_heads=12, max_position_embeddings=77, hidden_act='quick_gelu',
               projection_dim=768, layer_norm_eps=1e-5, bos_token_id=0, eos_token_id=2,
               pad_token_id=1)
_OPENCLIP_H = dict(_CLIP_L, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
                   num_attention_heads=16, hidden_act='gelu', projection_dim=512)

#: The toy domain's caption vocabulary (``diffdet_plugin.datasets.toy_shapes``): the ``toy``
#: preset's tokenizer makes each of these words one token (other text falls back to bytes).
TOY_WORDS = tuple(
    'a an photo of and with in the one two three four five six seven eight nine ten '
    'circle circles square squares triangle triangles star stars hexagon hexagons '
    'cross crosses red green blue yellow purple orange'.split())

def _small_preset(description: str, unet_channels, unet_groups, vae_channels, vae_groups,
                  text_width, text_ffn, text_layers, text_heads, **extra) -> dict:
    """An SD-shaped small preset at 128 px (latents 16 x 16): one layer per block, 4-dim
    attention heads, the byte-level vocabulary of ldm/tokenizer.py (256 bytes, 256 word-final
    bytes, BOS, EOS = padding; merged word ids follow) and DDPM's epsilon schedule."""
    return dict(
        description=description, resolution=128,
        unet=dict(_SD_UNET, block_out_channels=unet_channels, layers_per_block=1,
                  norm_num_groups=unet_groups, sample_size=16, cross_attention_dim=text_width,
                  attention_head_dim=4),
        vae=dict(_SD_VAE, block_out_channels=vae_channels, layers_per_block=1,
                 norm_num_groups=vae_groups, sample_size=128),
        text_encoder=dict(_CLIP_L, vocab_size=514, bos_token_id=512, eos_token_id=513,
                          pad_token_id=513, hidden_size=text_width, intermediate_size=text_ffn,
                          num_hidden_layers=text_layers, num_attention_heads=text_heads,
                          projection_dim=text_width),
        **extra,
        scheduler=dict(_class_name='DDPMScheduler', prediction_type='epsilon', **_SD_SCHEDULE))


# the SD 2.x UNet's text side (OpenCLIP-H width, per-level heads, linear projections)
_SD2_UNET = dict(_SD_UNET, cross_attention_dim=1024, attention_head_dim=[5, 10, 20, 20],
                 use_linear_projection=True)
# the 512 px models' released sampling scheduler (PNDM without its Runge-Kutta warm-up)
_SD_PNDM = dict(_class_name='PNDMScheduler', skip_prk_steps=True, prediction_type='epsilon',
                **_SD_SCHEDULE)


def _sd_preset(description: str, resolution: int, unet: dict, text_encoder: dict,
               scheduler: dict) -> dict:
    """A real SD architecture at ``resolution`` (latents 1/8 of it)."""
    return dict(description=description, resolution=resolution,
                unet=dict(unet, sample_size=resolution // 8),
                vae=dict(_SD_VAE, sample_size=resolution), text_encoder=text_encoder,
                scheduler=scheduler)


PRESETS: dict[str, dict] = {
    'sd15': _sd_preset('Stable Diffusion 1.5 architecture (860M UNet, CLIP ViT-L/14)', 512,
                       dict(_SD_UNET, cross_attention_dim=768, attention_head_dim=8), _CLIP_L,
                       _SD_PNDM),
    'sd2-base': _sd_preset('Stable Diffusion 2 base architecture, 512 px, epsilon prediction',
                           512, _SD2_UNET, _OPENCLIP_H, _SD_PNDM),
    'sd2': _sd_preset('Stable Diffusion 2 (768-v) architecture, 768 px, v-prediction', 768,
                      dict(_SD2_UNET, upcast_attention=True), _OPENCLIP_H,
                      dict(_class_name='DDIMScheduler', prediction_type='v_prediction',
                           **_SD_SCHEDULE)),
    'tiny': _small_preset('SD-shaped toy model (a few MB) for tests and demos',
                          unet_channels=[32, 32, 64, 64], unet_groups=8,
                          vae_channels=[16, 32, 32, 32], vae_groups=8,
                          text_width=32, text_ffn=64, text_layers=2, text_heads=2),
    'toy': _small_preset('the embedded toy-domain model (trained by configs/toy_ldm/)',
                         unet_channels=[64, 96, 128, 128], unet_groups=32,
                         vae_channels=[32, 64, 96, 96], vae_groups=16,
                         text_width=128, text_ffn=512, text_layers=4, text_heads=4,
                         tokenizer_words=TOY_WORDS),
}


def preset_names() -> list[str]:
    return list(PRESETS)


def get_preset(name: str) -> dict:
    """A deep copy of one preset's configs; a clear error for an unknown name."""
    if name not in PRESETS:
        raise KeyError(f'Unknown LDM preset {name!r}. Available presets: '
                       f'{", ".join(PRESETS)}. For real weights use `pretrained=` '
                       'with a hub id, a local diffusers folder or a .ckpt/.safetensors file.')
    return copy.deepcopy(PRESETS[name])


def build_scheduler(config: dict):
    """A diffusers noise scheduler from a config holding ``_class_name``."""
    import diffusers
    config = dict(config)
    cls = getattr(diffusers, config.pop('_class_name'))
    return cls.from_config(config)


def _preset_tokenizer(cfg: dict):
    """The preset's download-free tokenizer; grows ``cfg['text_encoder']['vocab_size']`` to
    cover its whole-word tokens (``tokenizer_words``)."""
    from .tokenizer import build_byte_clip_tokenizer
    tokenizer = build_byte_clip_tokenizer(words=cfg.get('tokenizer_words', ()))
    text = cfg['text_encoder']
    text['vocab_size'] = max(text['vocab_size'], len(tokenizer))
    return tokenizer


def build_preset_components(name: str, seed: int = 0, device=None) -> dict:
    """Build ``vae``, ``unet``, ``text_encoder``, ``tokenizer``, ``scheduler`` of a preset.

    Weights are random but deterministic in ``seed`` (the global RNG is left
    untouched), so every rank of a distributed job builds the same model.
    ``device='meta'`` builds the architecture without allocating or initialising weights
    (parameter counts and configs in a fraction of a second; SD 1.5 takes ~14 s on 2 CPU cores
    otherwise); the parts are then for inspection only.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    cfg = get_preset(name)
    tokenizer = _preset_tokenizer(cfg)
    place = torch.device(device) if device is not None else contextlib.nullcontext()
    with torch.random.fork_rng(devices=[]), place:
        torch.manual_seed(seed)
        vae = AutoencoderKL.from_config(cfg['vae'])
        unet = UNet2DConditionModel.from_config(cfg['unet'])
        text_encoder = CLIPTextModel(CLIPTextConfig(**cfg['text_encoder']))
    return dict(vae=vae, unet=unet, text_encoder=text_encoder, tokenizer=tokenizer,
                scheduler=build_scheduler(cfg['scheduler']))


def write_preset_config_folder(name: str, out_dir: str) -> str:
    """Write a weight-less diffusers folder (``model_index.json``, each part's
    ``config.json``, the tokenizer) for ``name``.

    ``StableDiffusionPipeline.from_single_file(..., config=out_dir)`` reads the
    architecture from such a folder, so a single checkpoint file loads offline.
    """
    import diffusers
    from transformers import CLIPTextConfig

    cfg = get_preset(name)
    tokenizer = _preset_tokenizer(cfg)
    version = diffusers.__version__
    parts = {
        'unet': ('diffusers', 'UNet2DConditionModel', cfg['unet']),
        'vae': ('diffusers', 'AutoencoderKL', cfg['vae']),
    }
    for sub, (_, cls_name, conf) in parts.items():
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
        with open(osp.join(out_dir, sub, 'config.json'), 'w') as f:
            json.dump(dict(conf, _class_name=cls_name, _diffusers_version=version), f, indent=2)
    sched = dict(cfg['scheduler'])
    os.makedirs(osp.join(out_dir, 'scheduler'), exist_ok=True)
    with open(osp.join(out_dir, 'scheduler', 'scheduler_config.json'), 'w') as f:
        json.dump(dict(sched, _diffusers_version=version), f, indent=2)
    text_cfg = CLIPTextConfig(**cfg['text_encoder'])
    text_cfg.architectures = ['CLIPTextModel']
    text_cfg.save_pretrained(osp.join(out_dir, 'text_encoder'))
    tokenizer.save_pretrained(osp.join(out_dir, 'tokenizer'))
    index = dict(_class_name='StableDiffusionPipeline', _diffusers_version=version,
                 vae=['diffusers', 'AutoencoderKL'], unet=['diffusers', 'UNet2DConditionModel'],
                 text_encoder=['transformers', 'CLIPTextModel'],
                 tokenizer=['transformers', 'CLIPTokenizer'],
                 scheduler=['diffusers', sched['_class_name']],
                 safety_checker=[None, None], feature_extractor=[None, None],
                 requires_safety_checker=False)
    with open(osp.join(out_dir, 'model_index.json'), 'w') as f:
        json.dump(index, f, indent=2)
    return out_dir
