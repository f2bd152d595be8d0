"""The judge detector: cache key, cached weights reused, class-restricted variants."""
import os
import os.path as osp

import numpy as np
import pytest
from conftest import REPO, write_tiny_judge_config
from diffdet_plugin.evaluation import judge as judge_lib

JUDGE_CONFIG = osp.join(REPO, 'configs', 'judge', 'fcos_r18-half_fpn_3000it_toy-shapes.py')


def _cfg(config, data_root):
    return judge_lib._load_cfg(config, data_root)


def test_cache_key_follows_config_and_data(toy_data, tmp_path):
    from diffdet_plugin.datasets import generate_toy_shapes
    base = _cfg(JUDGE_CONFIG, toy_data)
    assert judge_lib.cache_key(base) == judge_lib.cache_key(_cfg(JUDGE_CONFIG, toy_data))
    changed = _cfg(JUDGE_CONFIG, toy_data)
    changed.train_cfg.max_iters += 1
    assert judge_lib.cache_key(changed) != judge_lib.cache_key(base)
    # the same data written elsewhere keeps the key; other data changes it
    same = generate_toy_shapes(str(tmp_path / 'same'), num_train=48, num_val=16, seed=0)
    other = generate_toy_shapes(str(tmp_path / 'other'), num_train=48, num_val=16, seed=1)
    assert judge_lib.cache_key(_cfg(JUDGE_CONFIG, same['out_dir'])) == judge_lib.cache_key(base)
    assert judge_lib.cache_key(_cfg(JUDGE_CONFIG, other['out_dir'])) != judge_lib.cache_key(base)


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='make_toy_data.py'):
        judge_lib.cache_key(_cfg(JUDGE_CONFIG, str(tmp_path / 'nowhere')))


def test_trained_once_then_cached(toy_data, tmp_path, monkeypatch):
    monkeypatch.setenv('DIFFDET_CACHE', str(tmp_path / 'cache'))
    config = write_tiny_judge_config(tmp_path)
    with pytest.raises(FileNotFoundError, match='train_if_missing'):
        judge_lib.load_judge(config, toy_data, train_if_missing=False)
    first = judge_lib.load_judge(config, toy_data)
    assert first.source == 'trained' and osp.isfile(first.checkpoint)
    assert first.checkpoint.startswith(str(tmp_path / 'cache'))
    mtime = os.path.getmtime(first.checkpoint)
    second = judge_lib.load_judge(config, toy_data)
    assert second.source == 'cache' and second.checkpoint == first.checkpoint
    assert os.path.getmtime(second.checkpoint) == mtime  # not retrained
    assert second.classes == first.classes == ('circle', 'square', 'triangle', 'star',
                                               'hexagon', 'cross')
    img = np.zeros((128, 128, 3), np.uint8)
    det = second.detect([img, img], score_thr=0.0)
    assert len(det) == 2 and det[0]['bboxes'].shape[1] == 4
    assert len(det[0]['scores']) == len(det[0]['labels']) == len(det[0]['bboxes'])


def test_class_restricted_judge(toy_data, tmp_path, monkeypatch):
    """A judge trained on base categories only (InstaGen's off-the-shelf detector)."""
    monkeypatch.setenv('DIFFDET_CACHE', str(tmp_path / 'cache'))
    base_classes = ('circle', 'square', 'triangle', 'hexagon')
    config = write_tiny_judge_config(tmp_path, base_classes, 'judge_base.py')
    judge = judge_lib.load_judge(config, toy_data)
    assert judge.classes == base_classes
    assert judge.model.bbox_head.num_classes == 4
    det = judge.detect([np.zeros((128, 128, 3), np.uint8)])
    assert (det[0]['labels'] < 4).all()


def test_plain_mmengine_runner_resumes_with_custom_imports_only(toy_data, tmp_path):
    """mmdet's own tools/train.py path: a config with custom_imports, a plain Runner, resume."""
    import subprocess
    import sys
    config = write_tiny_judge_config(tmp_path)
    root = toy_data.rstrip('/') + '/'
    script = f'''
from mmengine.config import Config
from mmengine.runner import Runner
cfg = Config.fromfile({config!r})   # custom_imports = dict(imports=['diffdet_plugin'])
for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
    cfg[split].dataset.data_root = {root!r}
cfg.val_evaluator.ann_file = {root!r} + 'annotations/instances_val.json'
cfg.work_dir = {str(tmp_path / 'work')!r}
cfg.default_hooks.checkpoint.interval = 2
import sys
if sys.argv[1] == 'resume':
    cfg.train_cfg.max_iters, cfg.resume = 3, True
runner = Runner.from_cfg(cfg)
runner.train()
print('ITER', runner.iter)
'''
    for mode in ('first', 'resume'):
        proc = subprocess.run([sys.executable, '-c', script, mode], capture_output=True,
                              text=True, timeout=600, cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'ITER 3' in proc.stdout and 'resumed' in (proc.stdout + proc.stderr).lower()


def test_shipped_judge_is_current(standard_toy_data):
    """The weights in the package were trained by today's judge config on today's standard
    toy data: a changed recipe or domain makes their key stale (then load_judge retrains)."""
    import json
    root = standard_toy_data
    shipped = osp.join(judge_lib.ASSET_DIR, 'fcos_r18-half_fpn_3000it_toy-shapes.json')
    with open(shipped) as f:
        meta = json.load(f)
    assert meta['key'] == judge_lib.cache_key(_cfg(JUDGE_CONFIG, root))
    ckpt, _, source = judge_lib.find_judge(_cfg(JUDGE_CONFIG, root))
    assert source == 'package' and osp.getsize(ckpt) < 25 * 2**20
