"""Pins DiffusionEngine synthesis output (balance rounds included) for a fixed config and seed.

A refactor of the synthesis code must not change what it writes: the merged COCO file (data
paths normalised), the failures file and the balance plans are pinned byte for byte, and every
image by its content: an 8 × 8 grid of 16 × 16-pixel means per channel (0–255), which must
match within ``IMAGE_TOLERANCE``. Images are not pinned by their bytes because the same code
rounds its float reductions differently on another CPU (AVX-512 vs AVX2 kernels) or thread
count: pixels move by up to 4 levels, which changes the JPEG bytes (seen when CI moved from an
AMD EPYC to an Intel Xeon machine; 2 threads against 1 here: grid cells move by ≤ 0.42). A
change that alters what is drawn (seeds, noise, prompts, steps, item order) moves cells by
tens. The pin is stored in tests/data/synthesis_pin.json. Rewrite it only for an intended
change of the output:

    python tests/test_synthesis_pin.py --write-reference
"""
import hashlib
import json
import os
import os.path as osp
import sys

import numpy as np
import torch
from conftest import REPO, TINY_CONFIG
from PIL import Image

PIN = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'synthesis_pin.json')
IMAGE_TOLERANCE = 2.0  # grid-cell levels (0-255): CPU rounding moves cells by < 0.5
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
        digest['images/' + name] = image_grid(osp.join(out_dir, 'images', name))
    return digest


def image_grid(path: str, cells: int = 8) -> list:
    """An image's content digest: (cells, cells, 3) means of its pixel blocks, 0-255, as
    nested lists rounded to 0.01."""
    x = np.asarray(Image.open(path).convert('RGB'), dtype=np.float64)
    h, w = x.shape[:2]
    assert h % cells == 0 and w % cells == 0, (path, x.shape)
    grid = x.reshape(cells, h // cells, cells, w // cells, 3).mean(axis=(1, 3))
    return np.round(grid, 2).tolist()


def changed_entries(got: dict, pinned: dict) -> list:
    """Keys whose file differs from the pin (bytes), or whose image grid differs by more than
    ``IMAGE_TOLERANCE`` in a cell."""
    changed = []
    for k in sorted(set(got) | set(pinned)):
        a, b = got.get(k), pinned.get(k)
        if k.startswith('images/') and a is not None and b is not None:
            if np.shape(a) != np.shape(b) or np.abs(np.subtract(a, b)).max() > IMAGE_TOLERANCE:
                changed.append(k)
        elif a != b:
            changed.append(k)
    return changed


def test_synthesis_output_matches_the_pin(toy_data, tmp_path):
    with open(PIN) as f:
        pinned = json.load(f)
    out = str(tmp_path / 'synth')
    got = synthesis_digest(toy_data, out)
    assert len(got) == 4 + 16  # 2 files, 2 balance plans, 16 images
    changed = changed_entries(got, pinned)
    assert not changed, f'synthesis output changed: {changed}'
    # the tolerance still tells images apart: any two pinned images differ by far more
    grids = [v for k, v in sorted(pinned.items()) if k.startswith('images/')]
    assert all(changed_entries({'images/x': a}, {'images/x': b})
               for i, a in enumerate(grids) for b in grids[i + 1:])

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
    with open(PIN, 'w') as f:  # an entry a line
        f.write('{\n' + ',\n'.join(f' {json.dumps(k)}: {json.dumps(d[k])}' for k in sorted(d))
                + '\n}\n')
    print(f'wrote {PIN}')
