"""The toy Detection-Adapter shipped in the package (``make demo`` loads it)."""
import os.path as osp

import pytest
from conftest import REPO

CONFIG = osp.join(REPO, 'configs', 'diffusion_engine', 'de_adapter_fcos_fpn_4500it_toy-shapes.py')


def _cfg(root):
    from diffdet_plugin.runner_utils import set_coco_data_root
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    set_coco_data_root(cfg, root.rstrip('/') + '/')
    return cfg


def test_shipped_adapter_is_current_and_finds_the_toy_objects(standard_toy_data):
    """Its key matches today's recipe on today's standard toy data, it was trained on the
    shipped toy LDM (the strict load checks the LDM identity), it is small, and it finds the
    objects of held-out test images (recall at IoU 0.5, score >= 0.3)."""
    from diffdet_plugin.evaluation.fidelity import box_precision_recall, load_split
    from diffdet_plugin.evaluation.judge import detect_rgb
    from diffdet_plugin.ldm import FrozenLDM
    from diffdet_plugin.shipped_weights import shipped_adapter

    from mmdet.apis import init_detector
    cfg = _cfg(standard_toy_data)
    ckpt, meta = shipped_adapter(cfg, CONFIG)
    assert osp.getsize(ckpt) < 5 * 2**20
    assert meta['ldm']['fingerprint'] == FrozenLDM.build(pretrained='embedded:toy').fingerprint
    assert meta['test_metrics']['coco/bbox_mAP'] >= 0.8  # the toy world's adapter target
    model = init_detector(cfg, ckpt, device='cpu')
    split = load_split(standard_toy_data, 'test', num_images=8)
    pr = box_precision_recall(split['gts'], detect_rgb(model, split['images'], score_thr=0.3))
    assert pr['recall'] >= 0.8 and pr['precision'] >= 0.6, pr


def test_shipped_adapter_refuses_other_data(toy_data):
    """Data other than the standard toy splits (here a 48-image set) gives another key: one
    error naming the fix, not weights trained on something else."""
    from diffdet_plugin.shipped_weights import shipped_adapter
    with pytest.raises(FileNotFoundError, match='another recipe or on other data.*make adapter'):
        shipped_adapter(_cfg(toy_data), CONFIG)
