"""FrozenLDM loading: diffusers folders, single files, hub ids; each bad input's error."""
import os

import pytest
import torch
from diffdet_plugin.ldm import FrozenLDM, LDMLoadError


@pytest.fixture(scope='module')
def tiny_folder(tiny_ldm, tmp_path_factory):
    path = tmp_path_factory.mktemp('tiny_diffusers')
    return tiny_ldm.save_pretrained(str(path))


def test_diffusers_folder_roundtrip(tiny_ldm, tiny_folder):
    for name in ('model_index.json', 'unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'):
        assert os.path.exists(os.path.join(tiny_folder, name))
    loaded = FrozenLDM.build(pretrained=tiny_folder)
    assert loaded.fingerprint == tiny_ldm.fingerprint
    assert loaded.source == tiny_folder
    assert not any(p.requires_grad for p in loaded.parameters())
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    torch.testing.assert_close(loaded.encode_images(x), tiny_ldm.encode_images(x))
    torch.testing.assert_close(loaded.encode_prompt('a red star'),
                               tiny_ldm.encode_prompt('a red star'))


def test_dtype_option(tiny_folder):
    ldm = FrozenLDM.build(pretrained=tiny_folder, dtype='bf16')
    assert ldm.dtype == torch.bfloat16 and ldm.text_encoder.dtype == torch.bfloat16
    with pytest.raises(ValueError, match='fp32, fp16, bf16'):
        FrozenLDM.build(preset='tiny', dtype='int8')


def test_missing_path_is_named(tmp_path):
    missing = str(tmp_path / 'no_such_model')
    with pytest.raises(LDMLoadError, match='does not exist'):
        FrozenLDM.build(pretrained=missing)


def test_folder_without_model_index(tmp_path):
    with pytest.raises(LDMLoadError, match='model_index.json'):
        FrozenLDM.build(pretrained=str(tmp_path))


def test_unreachable_hub_id_says_how_to_fix():
    # HF_HUB_OFFLINE=1 (conftest): the hub cannot be reached, as on these machines.
    with pytest.raises(LDMLoadError, match='local-dir'):
        FrozenLDM.build(pretrained='someone/not-a-cached-model')


def test_single_file_errors(tmp_path):
    with pytest.raises(LDMLoadError, match='does not exist'):
        FrozenLDM.build(pretrained=str(tmp_path / 'model.safetensors'), preset='sd2-base')
    bad = tmp_path / 'broken.safetensors'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(LDMLoadError, match='broken.safetensors'):
        FrozenLDM.build(pretrained=str(bad), preset='tiny')


def test_nothing_given():
    with pytest.raises(LDMLoadError, match='`pretrained`.*`preset`'):
        FrozenLDM.build()


def _python_snippets(path):
    import re
    with open(path) as f:
        return re.findall(r'```python\n(.*?)```', f.read(), flags=re.S)


def test_the_model_cards_and_readmes_python_snippets_run(tmp_path):
    """Every documented entry point takes the documented names: the model card's snippet runs
    as written; the README's config snippet parses (its pkg:: base resolves)."""
    import os.path as osp

    from conftest import REPO
    from mmengine.config import Config
    card, = _python_snippets(osp.join(REPO, 'docs', 'toy_ldm.md'))
    scope = {}
    exec(compile(card, 'docs/toy_ldm.md', 'exec'), scope)
    assert len(scope['images']) == 1
    readme, = _python_snippets(osp.join(REPO, 'README.md'))
    path = tmp_path / 'my_adapter.py'
    path.write_text(readme)
    import diffdet_plugin  # noqa: F401  (as the README says: before Config.fromfile)
    cfg = Config.fromfile(str(path))
    assert cfg.model.backbone.ldm.pretrained == '/models/sd2-base'
