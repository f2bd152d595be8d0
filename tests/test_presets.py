"""Presets build the real SD architectures; the tiny parts forward with the right shapes."""
import gc

import pytest
import torch

from diffdet_plugin.ldm import FrozenLDM, LDMLoadError, build_preset_components, preset_names

# Parameter counts of the released models' components (UNet, VAE, text encoder).
REAL_PARAM_COUNTS = {
    'sd15': dict(unet=859_520_964, vae=83_653_863, text_encoder=123_060_480),
    'sd2': dict(unet=865_910_724, vae=83_653_863, text_encoder=340_387_840),
}


def _count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('name', ['sd15', 'sd2'])
def test_large_presets_build_the_released_architectures(name):
    parts = build_preset_components(name)
    counts = {k: _count(parts[k]) for k in ('unet', 'vae', 'text_encoder')}
    assert counts == REAL_PARAM_COUNTS[name]
    expected_pred = 'v_prediction' if name == 'sd2' else 'epsilon'
    assert parts['scheduler'].config.prediction_type == expected_pred
    assert parts['unet'].config.sample_size == (96 if name == 'sd2' else 64)
    del parts
    gc.collect()


def test_preset_names():
    assert set(preset_names()) == {'sd15', 'sd2-base', 'sd2', 'tiny', 'toy'}


def test_tiny_parts_forward_with_right_shapes(tiny_ldm):
    ldm = tiny_ldm
    assert sum(p.numel() for p in ldm.parameters()) * 4 < 10 * 2**20  # a few MB in fp32
    x = torch.rand(2, 3, 128, 96) * 2 - 1
    z = ldm.encode_images(x)
    assert z.shape == (2, 4, 16, 12)
    assert ldm.decode_latents(z).shape == (2, 3, 128, 96)
    ctx = ldm.encode_prompt(['a photo of a red circle', ''])
    assert ctx.shape == (2, 77, ldm.unet.config.cross_attention_dim)
    out = ldm.unet_forward(z, 10, ctx)
    assert out.shape == z.shape and torch.isfinite(out).all()


def test_presets_are_deterministic_in_seed():
    a, b, c = (FrozenLDM.from_preset('tiny', seed=s) for s in (0, 0, 1))
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_frozen_ldm_is_frozen(tiny_ldm):
    tiny_ldm.train()
    assert not tiny_ldm.training and not tiny_ldm.unet.training
    assert not any(p.requires_grad for p in tiny_ldm.parameters())


def test_unknown_preset_names_the_choices():
    with pytest.raises(LDMLoadError, match='sd2-base'):
        FrozenLDM.build(preset='sd3')
