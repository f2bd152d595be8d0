"""Pins DiffusionEngine synthesis output (balance rounds included) byte for byte, for a fixed
config and seed.

A refactor of the synthesis code must not change what it writes: the digest of every
image, the merged COCO file (data paths normalised) and the failures file is stored in
tests/data/synthesis_pin.json. Rewrite it only for an intended change of the output:

    python tests/test_synthesis_pin.py --write-reference
"""
import hashlib
import json
import os
import os.path as osp
import sys

import torch
from conftest import REPO, TINY_CONFIG

PIN = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'synthesis_pin.json')
SYNTH_CONFIG = osp.join(REPO, 'configs', 'diffusion_engine', 'de_synth_toy-shapes_tiny.py')


def run_pinned(data_root: str, out_dir: str):
    """8 images (2 batches) and a balance round of 8 more (the random-init adapter finds few
    triangles), with a seeded random-init adapter."""
    from diffdet_plugin.synthesis import synthesize_with_config
    from mmengine.config import Config

    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    root = data_root.rstrip('/') + '/'
    cfg = Config.fromfile(TINY_CONFIG)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a CPU reduction over 2 threads rounds differently
    try:
        torch.manual_seed(0)
        detector = MODELS.build(cfg.model)
        detector.init_weights()  # as the Runner does (DINO's level_embed is torch.empty)
        synthesize_with_config(
            detector, cfg.metainfo['classes'], SYNTH_CONFIG, out_dir, num_images=8,
            reference=dict(ann_file=root + 'annotations/instances_train.json',
                           img_dir=root + 'train/',
                           caption_file=root + 'annotations/captions_train.json'),
            batch_size=4, num_inference_steps=4, score_thr=0.0,
            contact_sheet=dict(num_images=0),
            balance=dict(min_per_category=20, max_images=16, batches_per_round=2))
    finally:
        torch.set_num_threads(threads)


def synthesis_digest(data_root: str, out_dir: str) -> dict:
    run_pinned(data_root, out_dir)
    root = data_root.rstrip('/') + '/'
    digest = {}
    plans = sorted(osp.join('plan', n) for n in os.listdir(osp.join(out_dir, 'plan')))
    for name in ['annotations.json', 'failures.jsonl'] + plans:
        with open(osp.join(out_dir, name), 'rb') as f:
            data = f.read().replace(root.encode(), b'<DATA>/')
        digest[name] = hashlib.sha256(data).hexdigest()
    for name in sorted(os.listdir(osp.join(out_dir, 'images'))):
        with open(osp.join(out_dir, 'images', name), 'rb') as f:
            digest['images/' + name] = hashlib.sha256(f.read()).hexdigest()
    return digest


def test_synthesis_output_is_byte_identical_to_the_pin(toy_data, tmp_path):
    with open(PIN) as f:
        pinned = json.load(f)
    out = str(tmp_path / 'synth')
    got = synthesis_digest(toy_data, out)
    assert len(got) == 4 + 16  # 2 files, 2 balance plans, 16 images
    changed = sorted(k for k in set(got) | set(pinned) if got.get(k) != pinned.get(k))
    assert not changed, f'synthesis output changed: {changed}'

    # what the pinned run says about balancing: round 1 draws sources that contain the
    # deficient categories and lifts the one the random-init adapter does predict (triangle)
    # over the bound (20 boxes); two it never predicts stay at 0, and round 2 stops at the
    # image cap
    with open(osp.join(out, 'plan', 'round_0001.json')) as f:
        plan1 = json.load(f)
    with open(osp.join(out, 'plan', 'round_0002.json')) as f:
        plan2 = json.load(f)
    with open(osp.join(out, 'annotations.json')) as f:
        coco = json.load(f)
    assert plan1['deficient'] and min(plan1['counts'].values()) < 20
    from diffdet_plugin.synthesis.references import load_references
    root = toy_data.rstrip('/') + '/'
    refs = load_references(root + 'annotations/instances_train.json', root + 'train/')
    for b in plan1['batches']:
        for _, src in b['items']:
            assert set(plan1['deficient']) & set(refs[src].class_names)
    assert plan2['stop'] == 'image cap 16 reached' and len(coco['images']) == 16
    lifted = [c for c in plan1['deficient'] if 0 < plan1['counts'][c] < 20]
    assert lifted and all(plan2['counts'][c] >= 20 for c in lifted)
    assert sorted(plan2['deficient']) == sorted(c for c in plan1['deficient']
                                                if plan1['counts'][c] == 0)


if __name__ == '__main__' and '--write-reference' in sys.argv:
    import tempfile

    import diffdet_plugin  # noqa: F401
    from diffdet_plugin.datasets import generate_toy_shapes
    with tempfile.TemporaryDirectory() as tmp:
        data = osp.join(tmp, 'toy')  # the same data as the toy_data fixture
        generate_toy_shapes(data, num_train=48, num_val=16, image_size=128, seed=0, num_test=16)
        d = synthesis_digest(data, osp.join(tmp, 'synth'))
    with open(PIN, 'w') as f:
        json.dump(d, f, indent=1, sort_keys=True)
    print(f'wrote {PIN}')
