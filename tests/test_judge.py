"""The judge detector: cache key, cached weights reused, class-restricted variants."""
import os
import os.path as osp

import numpy as np
import pytest

from diffdet_plugin.evaluation import judge as judge_lib

from conftest import REPO

JUDGE_CONFIG = osp.join(REPO, 'configs', 'judge', 'fcos_r18-half_fpn_6000it_toy-shapes.py')


def _tiny_judge_config(tmp_path, classes=None, name='judge_tiny.py'):
    """The shipped judge recipe cut to 2 iterations at batch 2 (a config file, as users write)."""
    lines = [f'_base_ = {JUDGE_CONFIG!r}',
             'train_cfg = dict(max_iters=2, val_interval=1000)',
             'train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)',
             'param_scheduler = []']
    if classes:
        lines += [f'metainfo = dict(classes={tuple(classes)!r})',
                  'train_dataloader.update(dataset=dict(metainfo=metainfo))',
                  'val_dataloader = dict(dataset=dict(metainfo=metainfo))',
                  'test_dataloader = dict(dataset=dict(metainfo=metainfo))',
                  f'model = dict(bbox_head=dict(num_classes={len(classes)}))']
    path = tmp_path / name
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


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
    config = _tiny_judge_config(tmp_path)
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
    config = _tiny_judge_config(tmp_path, base_classes, 'judge_base.py')
    judge = judge_lib.load_judge(config, toy_data)
    assert judge.classes == base_classes
    assert judge.model.bbox_head.num_classes == 4
    det = judge.detect([np.zeros((128, 128, 3), np.uint8)])
    assert (det[0]['labels'] < 4).all()
