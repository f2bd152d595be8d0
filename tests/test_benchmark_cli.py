"""Smoke tests of ``tools/benchmark.py`` (the CLI runs; no timing asserts)."""
import json
import math
import os
import os.path as osp

import pytest
import subprocess
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCRIPT = osp.join('tools', 'benchmark.py')


def _run(*args, env=None):
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, **(env or {})))


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
    """Both protocols' steps (subset, adapter, synthesis, judge filter, detectors per arm and
    seed) at micro scale; a rerun skips every recorded step."""
    from conftest import write_tiny_judge_config
    judge = write_tiny_judge_config(tmp_path)
    env = dict(DIFFDET_CACHE=str(tmp_path / 'cache'))
    args = ('quality', '--data-root', toy_data, '--sparse-fraction', '0.25',
            '--adapter-iters', '2', '--num-synth-sparse', '4', '--num-synth-full', '4',
            '--det-iters', '2', '--seeds', '3', '--judge', judge,
            '--work-dir', str(tmp_path / 'work'), '--json', str(tmp_path / 'quality.json'))
    proc = _run(*args, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((tmp_path / 'quality.json').read_text())
    sparse, full = data['protocols']['sparse'], data['protocols']['full']
    assert sparse['real_images'] == 12 and full['real_images'] == 48
    assert sparse['synthesis']['images'] == full['synthesis']['images'] == 4
    for p in (sparse, full):
        assert [r['arm'] for r in p['summary']] == ['real', 'real+de', 'real+de-judged']
        # one recorded run per arm (a 2-iteration detector may find nothing: then no mAP)
        assert all(len(p['runs'][r['arm']]) == 1 and r['n'] <= 1 for r in p['summary'])
        assert [x['seed'] for x in p['runs']['real']] == [3]
        assert all('test' in x and x['iters'] == 2 for runs in p['runs'].values() for x in runs)
        assert 0 <= p['judged']['kept'] <= p['judged']['images'] == 4
    assert '| arm | test bbox mAP (mean ± std) |' in proc.stdout
    records = sorted((tmp_path / 'work').rglob('*.json'))
    stamps = {r: r.stat().st_mtime for r in records}
    again = _run(*args, env=env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert 'training the Detection-Adapter' not in again.stdout
    assert 'detector:' not in again.stdout
    assert all(r.stat().st_mtime == stamps[r] for r in records if 'runs' in str(r))


def test_quality_summary_flags_differences_beyond_two_standard_errors():
    from diffdet_plugin.benchmarks.quality import summarize

    def recs(arm, vals):
        return [dict(arm=arm, test={'coco/bbox_mAP': v}) for v in vals]

    rows = {r['arm']: r for r in summarize(dict(
        real=recs('real', [0.50, 0.52, 0.51]), better=recs('better', [0.60, 0.61, 0.59]),
        same=recs('same', [0.49, 0.53, 0.52])))}
    assert rows['real']['mean'] == pytest.approx(0.51)
    assert rows['better']['delta'] == pytest.approx(0.09) and rows['better']['significant']
    assert not rows['same']['significant']


def test_quality_subset_is_deterministic(toy_data, tmp_path):
    from diffdet_plugin.benchmarks.quality import write_subset
    src = osp.join(toy_data, 'annotations', 'instances_train.json')
    a, b = str(tmp_path / 'a.json'), str(tmp_path / 'b.json')
    assert write_subset(src, a, 0.1, 0) == write_subset(src, b, 0.1, 0) == 5
    assert json.loads(open(a).read()) == json.loads(open(b).read())
    sub = json.loads(open(a).read())
    ids = {i['id'] for i in sub['images']}
    assert sub['annotations'] and all(x['image_id'] in ids for x in sub['annotations'])


def test_fidelity_bad_input_is_one_clear_error(toy_data, tmp_path):
    from conftest import write_tiny_judge_config
    missing = _run('fidelity', '--data-root', str(tmp_path / 'nowhere'))
    assert missing.returncode != 0 and 'make_toy_data.py' in missing.stderr
    not_ldm = tmp_path / 'not_a_model'
    not_ldm.mkdir()
    bad = _run('fidelity', '--data-root', toy_data, '--split', 'val', '--ldm', f'x={not_ldm}')
    assert bad.returncode != 0 and '--ldm x=' in bad.stderr and 'model_index.json' in bad.stderr
    judge = write_tiny_judge_config(tmp_path, classes=('circle', 'square'))
    wrong = _run('fidelity', '--data-root', toy_data, '--split', 'val', '--judge', judge)
    assert wrong.returncode != 0 and "the judge" in wrong.stderr and 'all toy classes' in wrong.stderr
    assert 'Traceback' not in bad.stderr + wrong.stderr + missing.stderr


def test_fidelity_runs_end_to_end_at_micro_scale(toy_data, tmp_path):
    """Judge on real images, text-to-image P/R, img2img fidelity per ratio, two LDMs side by
    side, JSON + markdown + sample grids (a 2-iteration judge: the numbers are not results)."""
    from conftest import write_tiny_judge_config
    judge = write_tiny_judge_config(tmp_path)
    out = tmp_path / 'fid'
    proc = _run('fidelity', '--data-root', toy_data, '--split', 'test', '--num-images', '4',
                '--ratios', '0.3', '0.9', '--steps', '3', '--judge', judge, '--score-thr', '0.0',
                '--ldm', 'a=embedded:toy', '--ldm', 'b=embedded:toy', '--out-dir', str(out),
                env=dict(DIFFDET_CACHE=str(tmp_path / 'cache')))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((out / 'fidelity.json').read_text())
    assert data['num_images'] == 4 and data['args']['split'] == 'test'
    assert set(data['ldms']) == {'a', 'b'}
    a, b = data['ldms']['a'], data['ldms']['b']
    assert a['fingerprint'] == b['fingerprint']
    assert a['text_to_image'] == b['text_to_image']  # same seeds, same model: same images
    t2i = a['text_to_image']
    assert 0 <= t2i['precision'] <= 1 and 0 <= t2i['recall'] <= 1
    assert t2i['num_expected'] >= 4  # every caption names at least one object
    assert set(a['img2img']) == {'0.3', '0.9'}
    assert (out / 'text_to_image_a.png').is_file()
    md = (out / 'fidelity.md').read_text()
    assert '| a (`embedded:toy`) |' in md and 'img2img fidelity r=0.3' in md
