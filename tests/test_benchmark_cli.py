"""Smoke tests of ``tools/benchmark.py`` (the CLI runs; no timing asserts)."""
import json
import math
import os.path as osp
import subprocess
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCRIPT = osp.join('tools', 'benchmark.py')


def _run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)


def test_backbone_tiny_json(tmp_path):
    out = tmp_path / 'bench.json'
    proc = _run('backbone', '--preset', 'tiny', '--batch', '2', '--res', '128', '--warmup', '0',
                '--repeat', '1', '--json', str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    for variant in ('plugin', 'stock'):
        res = data['results'][variant]
        assert res['items_per_s'] > 0
        assert res['peak_mem_bytes'] > 0
    ratio = data['ratio_plugin_over_stock']
    assert math.isfinite(ratio) and ratio > 0
    assert data['args']['batch'] == 2 and data['env']['device'] == 'cpu'
    assert 'images/s' in proc.stdout


def test_backbone_res_not_multiple_of_64():
    proc = _run('backbone', '--preset', 'tiny', '--batch', '1', '--res', '100')
    assert proc.returncode != 0
    assert '--res' in proc.stderr and '64' in proc.stderr


def test_synthesize_tiny_json(tmp_path):
    out = tmp_path / 'synth.json'
    proc = _run('synthesize', '--preset', 'tiny', '--batch', '2', '--res', '128', '--steps', '3',
                '--warmup', '0', '--repeat', '1', '--json', str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    for variant in ('engine', 'engine_no_labels', 'diffusers'):
        res = data['results'][variant]
        assert res['items_per_s'] > 0
        assert res['peak_mem_bytes'] > 0
    for ratio in data['ratios'].values():
        assert math.isfinite(ratio) and ratio > 0
    engine = data['info']['variants']['engine']
    assert engine['images_written'] == 2 and engine['denoising_steps'] == 1
    assert 'images/s' in proc.stdout
