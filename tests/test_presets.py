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
    parts = build_preset_components(name, device='meta')  # the architecture, no weights
    assert parts['unet'].device.type == 'meta'
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


def test_toy_preset_tokenizer_has_whole_word_tokens(toy_data):
    """Every word of a toy caption is one token (a 4-layer text encoder need not spell);
    other text still falls back to bytes, and the vocabulary fits the text encoder."""
    import json

    from diffdet_plugin.ldm import FrozenLDM, build_byte_clip_tokenizer
    from diffdet_plugin.ldm.presets import TOY_WORDS
    ldm = FrozenLDM.from_preset('toy')
    tok = ldm.tokenizer
    with open(f'{toy_data}/annotations/captions_train.json') as f:
        captions = [a['caption'] for a in json.load(f)['annotations']]
    for cap in captions:
        words = cap.replace(',', ' ,').split()
        assert len(tok.tokenize(cap)) == len(words), cap
    assert all(len(tok.tokenize(w)) == 1 for w in TOY_WORDS)
    assert len(tok.tokenize('starfish')) > 1  # not a toy word: bytes
    ids = tok(['a photo of two red stars'], padding='max_length', max_length=77,
              return_tensors='pt').input_ids
    assert ids.max() < ldm.text_encoder.config.vocab_size
    assert ids[0, 0] == 512 and (ids[0] == 513).any()  # bos / eos unchanged
    plain = build_byte_clip_tokenizer()
    assert len(plain) == 514 and len(plain.tokenize('star')) == 4


def test_deepened_unet_computes_the_same_function_and_trains_its_new_layers(tiny_ldm):
    from diffdet_plugin.ldm.deepen import deepen_unet
    unet = tiny_ldm.unet
    n = len(unet.config.down_block_types)
    deeper = deepen_unet(unet, [2] + [1] * (n - 1))
    assert len(deeper.down_blocks[0].resnets) == 2 and len(deeper.up_blocks[-1].resnets) == 3
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    ctx = torch.randn(2, 5, unet.config.cross_attention_dim,
                      generator=torch.Generator().manual_seed(1))
    t = torch.tensor([3, 800])
    with torch.no_grad():
        ref = unet(x, t, encoder_hidden_states=ctx).sample
        out = deeper(x, t, encoder_hidden_states=ctx).sample
    torch.testing.assert_close(out, ref)
    loss = deeper(x, t, encoder_hidden_states=ctx).sample.square().mean()
    loss.backward()  # the zero-initialised branches receive gradients, so they learn
    assert deeper.down_blocks[0].resnets[1].conv2.weight.grad.abs().sum() > 0
    assert deeper.up_blocks[-1].resnets[1].conv2.weight.grad.abs().sum() > 0
    with torch.no_grad():  # and they are on the path: perturbing one changes the output
        deeper.up_blocks[-1].resnets[1].conv2.bias.add_(0.5)
        assert not torch.allclose(deeper(x, t, encoder_hidden_states=ctx).sample, ref)
    with pytest.raises(ValueError, match='layers_per_block'):
        deepen_unet(unet, [1] * (n - 1))
