"""The toy world's judge: a stock mmdet detector that grades generated images.

The judge is a detector trained on 100 % of the real toy-shapes train split
(``configs/judge/fcos_r18-half_fpn_3000it_toy-shapes.py``; any mmdet detector config
works, also one restricted to a subset of classes through its ``metainfo``, as
InstaGen's "detector trained on base categories"). Its weights are looked up by a
**cache key** = SHA-256 of the config's text + the training data (annotation file and
every training image), so a changed recipe or a changed domain never reuses a stale
judge:

1. the weights shipped in the package (``diffdet_plugin/assets/judge/<config>.pth``,
   with ``<config>.json`` holding their key), when their key matches;
2. the local cache (``$DIFFDET_CACHE``, default ``~/.cache/diffdet_plugin``,
   ``judges/<config>-<key[:16]>/judge.pth``);
3. otherwise the judge is trained there with mmengine's ``Runner`` (only when
   ``train_if_missing``), then exported as a slim fp16 checkpoint.

    from diffdet_plugin.evaluation import load_judge
    judge = load_judge()                       # the default judge on data/toy_shapes
    dets = judge.detect(list_of_rgb_uint8_arrays, score_thr=0.5)
"""
from __future__ import annotations

import copy
import os
import os.path as osp
from dataclasses import dataclass

import numpy as np

from ..runner_utils import set_coco_data_root
from ..shipped_weights import (ASSETS_DIR, cache_key, cache_root, data_fingerprint,  # noqa: F401
                               export_slim, read_meta)
from ..shipped_weights import resolve_config as _resolve

DEFAULT_JUDGE = 'judge/fcos_r18-half_fpn_3000it_toy-shapes.py'
ASSET_DIR = osp.join(ASSETS_DIR, 'judge')


def resolve_config(config: str | None) -> str:
    """A judge config path: an existing file, or a path relative to the shipped configs."""
    return _resolve(config or DEFAULT_JUDGE, 'judge config')


@dataclass
class Judge:
    """A loaded judge: the mmdet detector, its classes and where its weights came from."""
    model: object
    cfg: object
    classes: tuple
    checkpoint: str
    key: str
    source: str  # 'package', 'cache' or 'trained'

    def detect(self, images, score_thr: float = 0.0, batch_size: int = 16) -> list[dict]:
        """Detect objects in RGB uint8 arrays (H, W, 3): see :func:`detect_rgb`."""
        return detect_rgb(self.model, images, score_thr, batch_size)


def detect_rgb(model, images, score_thr: float = 0.0, batch_size: int = 16) -> list[dict]:
    """Run an mmdet detector (``init_detector``'s, with its test pipeline) on RGB images.

    Args:
        images: RGB uint8 arrays (H, W, 3).
    Returns:
        one dict per image: ``bboxes`` (N, 4) xyxy float, ``scores`` (N,), ``labels`` (N,)
        indices into the detector's classes, scores ≥ ``score_thr``.
    """
    from mmdet.apis import inference_detector
    out = []
    for i in range(0, len(images), batch_size):
        chunk = [np.ascontiguousarray(np.asarray(im)[..., ::-1]) for im in
                 images[i:i + batch_size]]  # mmdet's ndarray path expects BGR
        for res in inference_detector(model, chunk):
            p = res.pred_instances
            keep = p.scores >= score_thr
            out.append(dict(bboxes=p.bboxes[keep].cpu().numpy(),
                            scores=p.scores[keep].cpu().numpy(),
                            labels=p.labels[keep].cpu().numpy()))
    return out


def _load_cfg(config: str | None, data_root: str):
    import diffdet_plugin  # noqa: F401  (registers components)
    from mmengine.config import Config
    cfg = Config.fromfile(resolve_config(config))
    set_coco_data_root(cfg, data_root)
    return cfg


def export_judge(checkpoint: str, out: str, key: str, cfg) -> str:
    """Write a slim fp16 copy of a judge checkpoint (model weights + meta) and its key."""
    return export_slim(checkpoint, out, key, cfg.get('metainfo', {}).get('classes', ()))


def _key_of(path: str) -> str | None:
    return (read_meta(path) or {}).get('key')


def find_judge(cfg, config: str | None = None) -> tuple[str | None, str, str]:
    """(checkpoint or None, key, source) for a judge config, without training."""
    key = cache_key(cfg)
    name = osp.splitext(osp.basename(resolve_config(config)))[0]
    shipped = osp.join(ASSET_DIR, name + '.pth')
    if _key_of(shipped) == key:
        return shipped, key, 'package'
    cached = osp.join(cache_root(), 'judges', f'{name}-{key[:16]}', 'judge.pth')
    if _key_of(cached) == key:
        return cached, key, 'cache'
    return None, key, 'missing'


def train_judge(cfg, config: str | None = None, key: str | None = None) -> str:
    """Train a judge config with mmengine's Runner into the cache; returns the slim checkpoint."""
    from mmengine.runner import Runner

    from ..runner_utils import allow_mmengine_checkpoints, name_run
    allow_mmengine_checkpoints()
    key = key or cache_key(cfg)
    name = osp.splitext(osp.basename(resolve_config(config)))[0]
    out_dir = osp.join(cache_root(), 'judges', f'{name}-{key[:16]}')
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = osp.join(out_dir, 'work_dir')
    name_run(cfg, f'{name}-{key[:16]}')
    runner = Runner.from_cfg(cfg)
    runner.train()
    last = osp.join(cfg.work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    out = export_judge(last, osp.join(out_dir, 'judge.pth'), key, cfg)
    for f in os.listdir(cfg.work_dir):  # keep the logs, drop the full checkpoints
        if f.endswith('.pth'):
            os.remove(osp.join(cfg.work_dir, f))
    return out


def load_judge(config: str | None = None, data_root: str = 'data/toy_shapes',
               device: str = 'cpu', train_if_missing: bool = True) -> Judge:
    """The judge for ``config`` (default :data:`DEFAULT_JUDGE`) trained on ``data_root``.

    Uses the shipped or cached weights whose key matches, else trains (see module doc).
    """
    from mmdet.apis import init_detector
    cfg = _load_cfg(config, data_root)
    ckpt, key, source = find_judge(cfg, config)
    if ckpt is None:
        if not train_if_missing:
            raise FileNotFoundError(
                f'no judge weights for {resolve_config(config)} on {data_root} (cache key '
                f'{key[:16]}): train it with diffdet_plugin.evaluation.train_judge or '
                'load_judge(train_if_missing=True)')
        ckpt, source = train_judge(cfg, config, key), 'trained'
    test_cfg = copy.deepcopy(cfg)
    model = init_detector(test_cfg, ckpt, device=device)
    classes = tuple(cfg.get('metainfo', {}).get('classes', ()))
    return Judge(model=model, cfg=cfg, classes=classes, checkpoint=ckpt, key=key, source=source)


def load_shipped_judge(config: str | None = None, device: str = 'cpu') -> Judge:
    """The judge weights shipped in the package for ``config``, without checking the data key
    (for tests and demos on data made by the default generator, e.g. a smaller toy split)."""
    from mmdet.apis import init_detector
    cfg = _load_cfg(config, 'data/toy_shapes')
    name = osp.splitext(osp.basename(resolve_config(config)))[0]
    ckpt = osp.join(ASSET_DIR, name + '.pth')
    if not osp.isfile(ckpt):
        raise FileNotFoundError(f'no shipped judge weights {ckpt}; in a source checkout, '
                                f'train them: python tools/train.py {resolve_config(config)}')
    model = init_detector(copy.deepcopy(cfg), ckpt, device=device)
    return Judge(model=model, cfg=cfg, classes=tuple(cfg.metainfo['classes']), checkpoint=ckpt,
                 key=_key_of(ckpt) or '', source='package')
