"""The embedded toy LDM: ships in the package, loads like real SD, and its output is stable.

Regression reference: tests/data/toy_ldm_reference.png, written by
``python tests/test_toy_ldm.py --write-reference`` when the shipped model changes.
"""
import json
import math
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from conftest import REPO, python, run_tool

REFERENCE = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'toy_ldm_reference.png')
PROMPTS = ['a photo of a red circle and a blue square', 'a photo of two green stars',
           'a photo of a yellow triangle', '']
SEEDS = [0, 1, 2, 3]


def _samples():
    from diffdet_plugin.ldm import FrozenLDM, text_to_image
    ldm = FrozenLDM.build(pretrained='embedded:toy')
    return text_to_image(ldm, PROMPTS, SEEDS, num_inference_steps=10, guidance_scale=5.0).numpy()


def test_shipped_model_loads_through_from_pretrained():
    from diffdet_plugin.ldm import FrozenLDM, embedded_model_dir
    path = embedded_model_dir('toy')
    assert path.startswith(osp.join(REPO, 'diffdet_plugin', 'assets'))
    files = [osp.join(r, f) for r, _, fs in os.walk(path) for f in fs]
    assert sum(osp.getsize(f) for f in files) <= 25 * 2**20
    weights = [f for f in files if f.endswith(('.bin', '.ckpt', '.pt', '.pth', '.safetensors'))]
    assert weights and all(f.endswith('.safetensors') for f in weights)
    with open(osp.join(path, 'model_index.json')) as f:
        assert set(json.load(f)) >= {'vae', 'unet', 'text_encoder', 'tokenizer', 'scheduler'}
    direct = FrozenLDM.from_pretrained(path)  # the very path real SD folders take
    embedded = FrozenLDM.build(pretrained='embedded:toy')
    assert embedded.source == 'embedded:toy' and direct.fingerprint == embedded.fingerprint
    assert embedded.unet.dtype == torch.float32  # shipped fp16, loaded at the asked dtype
    assert embedded.scaling_factor != 0.18215  # measured for its own VAE
    # the model card's first snippet: from_pretrained takes the embedded name too
    by_name = FrozenLDM.from_pretrained('embedded:toy')
    assert by_name.source == 'embedded:toy' and by_name.fingerprint == embedded.fingerprint


def test_fixed_seed_denoising_matches_the_stored_reference():
    from PIL import Image
    ref = np.asarray(Image.open(REFERENCE).convert('RGB')).astype(np.float32)
    got = np.concatenate(list(_samples()), axis=1).astype(np.float32)
    assert got.shape == ref.shape
    # a trained model makes structured images, not flat colour or noise
    assert 20 < ref.std() < 100
    diff = np.abs(got - ref)
    assert diff.mean() < 2.0 and np.percentile(diff, 99) < 24, (diff.mean(), diff.max())


def test_unknown_embedded_name_is_a_clear_error():
    from diffdet_plugin.ldm import FrozenLDM, LDMLoadError
    with pytest.raises(LDMLoadError, match='Unknown embedded model.*embedded:toy'):
        FrozenLDM.build(pretrained='embedded:nope')
    with pytest.raises(LDMLoadError, match='Unknown embedded model'):
        FrozenLDM.from_pretrained('embedded:nope')


def test_demo_steps_run_in_a_fast_configuration(toy_data, tmp_path):
    """tools/demo.py --train-adapter on the embedded LDM: adapter, CocoMetric, synthesis,
    contact sheet (the shipped adapter's path: tests/test_shipped_adapter.py)."""
    out = tmp_path / 'demo'
    proc = run_tool([python(), 'tools/demo.py', '--data-root', toy_data, '--train-adapter',
                     '--iters', '4', '--num-synth', '8', '--score-thr', '0.0',
                     '--work-dir', str(out)])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / 'summary.json') as f:
        summary = json.load(f)
    assert summary['LDM'] == 'embedded:toy'
    assert summary['synthetic images'] == 8 and summary['synthetic boxes'] > 0
    m = summary['bbox mAP (toy test)']  # NaN: a 4-iteration adapter may detect nothing
    assert math.isnan(m) or 0.0 <= m <= 1.0
    assert osp.isfile(summary['contact sheet']) and osp.isfile(summary['synthetic annotations'])


if __name__ == '__main__' and '--write-reference' in sys.argv:
    from PIL import Image
    Image.fromarray(np.concatenate(list(_samples()), axis=1)).save(REFERENCE)
    print('wrote', REFERENCE)
