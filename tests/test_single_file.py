"""Loading an original-format (CompVis / Stability) single checkpoint file, offline.

The file is made from the ``tiny`` preset by :mod:`original_sd_format` (the
inverse of diffusers' single-file conversion) and read back through
``FrozenLDM.build(pretrained=file, preset='tiny')``, which must give back the
very same model.
"""

import pytest
import torch
# a sibling module: pytest puts tests/ on sys.path (as for conftest)
from original_sd_format import CLIP, UNET, VAE, to_original_sd_state_dict

PARTS = ('unet', 'vae', 'text_encoder')


@pytest.fixture(scope='module')
def source():
    from diffdet_plugin.ldm import FrozenLDM
    return FrozenLDM.from_preset('tiny', seed=3)


@pytest.fixture(scope='module')
def original_sd(source):
    return to_original_sd_state_dict(source)


@pytest.fixture(scope='module')
def safetensors_file(original_sd, tmp_path_factory):
    from safetensors.torch import save_file
    path = str(tmp_path_factory.mktemp('single_file') / 'tiny-original.safetensors')
    save_file(original_sd, path)
    return path


def assert_same_ldm(loaded, source):
    assert loaded.fingerprint == source.fingerprint
    for part in PARTS:
        a, b = getattr(source, part).state_dict(), getattr(loaded, part).state_dict()
        assert set(a) == set(b), part
        differ = [k for k in a if not torch.equal(a[k], b[k])]
        assert not differ, f'{part}: {differ[:5]}'
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 64, 64, generator=gen) * 2 - 1
    noisy = torch.randn(2, 4, 8, 8, generator=gen)
    assert torch.equal(loaded.encode_images(images), source.encode_images(images))
    for prompt in ('', 'a red square'):  # also checks the tokenizer read from the config
        assert torch.equal(loaded.encode_prompt(prompt), source.encode_prompt(prompt))
    ctx = source.encode_prompt(['a red square', ''])
    assert torch.equal(loaded.unet_forward(noisy, [10, 500], ctx),
                       source.unet_forward(noisy, [10, 500], ctx))


def test_layout_matches_diffusers_converters(source, original_sd):
    """diffusers' own converters map the file onto exactly the model's keys and shapes."""
    from diffusers.loaders import single_file_utils as sfu
    assert all(k.startswith((UNET, VAE, CLIP)) for k in original_sd)
    assert original_sd[VAE + 'decoder.mid.attn_1.q.weight'].ndim == 4  # 1x1 conv, as original
    # Fewer output blocks than SD's 12, so the model type falls back to the default, v1.
    assert sfu.infer_diffusers_model_type(original_sd) == 'v1'
    converted = {
        'unet': sfu.convert_ldm_unet_checkpoint(original_sd, dict(source.unet.config)),
        'vae': sfu.convert_ldm_vae_checkpoint(original_sd, dict(source.vae.config)),
        'text_encoder': {k.removeprefix('text_model.'): v for k, v in
                         sfu.convert_ldm_clip_checkpoint(original_sd).items()
                         if not k.endswith('position_ids')},
    }
    for part in PARTS:
        want = getattr(source, part).state_dict()
        assert set(converted[part]) == set(want), part
        for k, v in want.items():
            assert converted[part][k].shape == v.shape, (part, k)
            assert torch.equal(converted[part][k], v), (part, k)


def test_load_safetensors_with_preset(source, safetensors_file):
    from diffdet_plugin.ldm import FrozenLDM
    loaded = FrozenLDM.build(pretrained=safetensors_file, preset='tiny')
    assert loaded.source == safetensors_file
    assert_same_ldm(loaded, source)


def test_load_ckpt_with_preset(source, original_sd, tmp_path):
    from diffdet_plugin.ldm import FrozenLDM
    path = str(tmp_path / 'tiny-original.ckpt')
    torch.save({'state_dict': original_sd}, path)
    loaded = FrozenLDM.build(pretrained=path, preset='tiny')
    assert loaded.source == path
    assert_same_ldm(loaded, source)


def test_load_with_diffusers_folder_config(source, safetensors_file, tmp_path):
    from diffdet_plugin.ldm import FrozenLDM
    folder = source.save_pretrained(str(tmp_path / 'tiny-diffusers'))
    loaded = FrozenLDM.from_single_file(safetensors_file, config=folder, local_files_only=True)
    assert loaded.source == safetensors_file
    assert_same_ldm(loaded, source)


def test_weights_come_from_the_file(source, original_sd, tmp_path):
    """A changed weight in the file shows up in the loaded model (nothing is re-initialised)."""
    from diffdet_plugin.ldm import FrozenLDM
    from safetensors.torch import save_file
    sd = dict(original_sd)
    key = UNET + 'output_blocks.2.1.transformer_blocks.0.attn2.to_k.weight'
    sd[key] = sd[key] + 1
    path = str(tmp_path / 'changed.safetensors')
    save_file(sd, path)
    loaded = FrozenLDM.build(pretrained=path, preset='tiny')
    got = loaded.unet.up_blocks[1].attentions[0].transformer_blocks[0].attn2.to_k.weight
    assert torch.equal(got, source.unet.up_blocks[1].attentions[0].transformer_blocks[0]
                       .attn2.to_k.weight + 1)
