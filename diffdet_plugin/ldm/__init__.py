"""Latent-diffusion core: presets, :class:`FrozenLDM` and UNet feature taps.

Nothing in this package imports mmdet: it is the plugin's single owner of
diffusion math and can be used on its own.
"""
from .embedded import embedded_model_dir
from .frozen_ldm import FrozenLDM, LDMLoadError, resolve_dtype
from .presets import PRESETS, build_preset_components, get_preset, preset_names
from .tokenizer import build_byte_clip_tokenizer
from .unet_taps import ALL_BLOCKS, TapLevel, UNetTaps, tap_layout

__all__ = [
    'embedded_model_dir', 'FrozenLDM', 'LDMLoadError', 'resolve_dtype', 'PRESETS',
    'build_preset_components',
    'get_preset', 'preset_names', 'build_byte_clip_tokenizer', 'ALL_BLOCKS', 'TapLevel',
    'UNetTaps', 'tap_layout'
]
from .sampling import (SamplingSettings, build_sampling_scheduler, decode_to_pixels,  # noqa: E402
                       image_to_image, img2img_denoise, last_timestep, num_denoising_steps,
                       text_to_image, text_to_latents)

__all__ += ['SamplingSettings', 'build_sampling_scheduler', 'decode_to_pixels', 'image_to_image',
            'img2img_denoise', 'last_timestep', 'num_denoising_steps', 'text_to_image',
            'text_to_latents']
from .location_tokens import (ATTRIBUTE_TOKENS, DEFAULT_GRID, TOY_GRID,  # noqa: E402
                              add_attribute_tokens, add_location_tokens, box_to_location_tokens,
                              fit_objects, layout_prompt, load_tokenizer, location_token_index,
                              location_token_names, location_tokens_to_box, prompt_length,
                              sincos_2d_embedding, word_row_norm)

__all__ += ['ATTRIBUTE_TOKENS', 'DEFAULT_GRID', 'TOY_GRID', 'add_attribute_tokens',
            'add_location_tokens', 'box_to_location_tokens',
            'fit_objects', 'layout_prompt', 'load_tokenizer', 'location_token_index',
            'location_token_names', 'location_tokens_to_box', 'prompt_length',
            'sincos_2d_embedding', 'word_row_norm']
