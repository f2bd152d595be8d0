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


def test_quality_runs_end_to_end_at_micro_scale(toy_data, tmp_path):
    """The data-sparse protocol's steps (subset, adapter, synthesis, three detectors)."""
    out = tmp_path / 'quality.json'
    proc = _run('quality', '--data-root', toy_data, '--real-fraction', '0.25',
                '--adapter-iters', '2', '--num-synth', '4', '--det-iters', '2',
                '--work-dir', str(tmp_path / 'work'), '--json', str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data['real_subset_images'] == 12 and data['synthetic']['images'] == 4
    assert [r['run'] for r in data['detectors']] == \
        ['25% real', '25% real + DE synthetic', '100% real (ceiling)']
    assert all(r['mAP'] is None or 0.0 <= r['mAP'] <= 1.0 for r in data['detectors'])
    assert '| training data | bbox mAP |' in proc.stdout


def test_quality_subset_is_deterministic(toy_data, tmp_path):
    sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
    from benchmark_quality import write_subset
    src = osp.join(toy_data, 'annotations', 'instances_train.json')
    a, b = str(tmp_path / 'a.json'), str(tmp_path / 'b.json')
    assert write_subset(src, a, 0.1, 0) == write_subset(src, b, 0.1, 0) == 5
    assert json.loads(open(a).read()) == json.loads(open(b).read())
    sub = json.loads(open(a).read())
    ids = {i['id'] for i in sub['images']}
    assert sub['annotations'] and all(x['image_id'] in ids for x in sub['annotations'])
