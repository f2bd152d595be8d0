"""Trained weights shipped in the package, found by the recipe that made them.

Two small detectors ship under ``diffdet_plugin/assets/`` so that a fresh clone works
without training first: the toy world's **judge** (``assets/judge/``, grades generated
images) and the toy **Detection-Adapter** (``assets/adapter/``, labels what the embedded toy
LDM draws; ``make demo`` uses it). Each ``<config>.pth`` is a slim fp16 mmengine
checkpoint (weights + ``meta.dataset_meta``); its ``<config>.json`` holds the **cache key**
that says which recipe made it:

    key = SHA-256( the resolved config (keys sorted, without data root and run paths)
                   + the training annotation file + every training image )

so an edited recipe or another training domain never reuses stale weights. An adapter
checkpoint also records the LDM it was trained on (``LDMBackbone`` refuses another).
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import os.path as osp

from .config_package import PACKAGE_DIR, config_dir
from .runner_utils import set_coco_data_root

ASSETS_DIR = osp.join(PACKAGE_DIR, 'assets')


def cache_root() -> str:
    """``$DIFFDET_CACHE``, default ``~/.cache/diffdet_plugin``."""
    return os.environ.get('DIFFDET_CACHE', osp.join(osp.expanduser('~'), '.cache',
                                                    'diffdet_plugin'))


def resolve_config(config: str, what: str = 'config') -> str:
    """A config path: an existing file, or a path relative to the shipped configs."""
    if osp.isfile(config):
        return config
    path = osp.join(config_dir(), config)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {config!r} not found (neither a file nor under '
                                f'{config_dir()})')
    return path


def config_name(config: str) -> str:
    """``configs/a/b_c.py`` → ``b_c``: the name shipped weights are filed under."""
    return osp.splitext(osp.basename(config))[0]


def _train_dataset_cfg(cfg):
    ds = cfg.train_dataloader.dataset
    while 'dataset' in ds and ds.get('type') in ('RepeatDataset', 'ClassBalancedDataset'):
        ds = ds.dataset
    if 'datasets' in ds or ds.get('type') == 'RealSyntheticDataset':
        raise ValueError(f'shipped weights train on one real dataset; got a {ds.get("type")}')
    return ds


def data_fingerprint(cfg) -> str:
    """SHA-256 of the training annotation file and every training image it lists."""
    ds = _train_dataset_cfg(cfg)
    ann = osp.join(ds.get('data_root', ''), ds.ann_file)
    img_dir = osp.join(ds.get('data_root', ''), ds.get('data_prefix', {}).get('img', ''))
    if not osp.isfile(ann):
        raise FileNotFoundError(
            f'training data missing: {ann!r}. Make the toy data with '
            f'`python tools/make_toy_data.py --out {ds.get("data_root", "data/toy_shapes")}`.')
    h = hashlib.sha256()
    with open(ann, 'rb') as f:
        h.update(f.read())
    with open(ann) as f:
        names = sorted(i['file_name'] for i in json.load(f)['images'])
    for name in names:
        with open(osp.join(img_dir, name), 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def cache_key(cfg) -> str:
    """SHA-256 over the resolved config (keys sorted; without its data root and run paths)
    + the training data."""
    c = copy.deepcopy(cfg)
    set_coco_data_root(c, 'DATA_ROOT')
    d = c.to_dict()
    for k in ('work_dir', 'launcher', 'resume', 'load_from', 'experiment_name'):
        d.pop(k, None)
    # canonical: the same settings give the same key however the config file is laid out
    h = hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode())
    h.update(data_fingerprint(cfg).encode())
    return h.hexdigest()


def read_meta(path: str) -> dict | None:
    """The ``.json`` beside shipped weights ``path``, or None when either file is missing."""
    meta = osp.splitext(path)[0] + '.json'
    if osp.isfile(path) and osp.isfile(meta):
        with open(meta) as f:
            return json.load(f)
    return None


def export_slim(checkpoint: str, out: str, key: str, classes, **meta) -> str:
    """Write a slim fp16 copy of an mmengine checkpoint (weights + class list, no optimizer)
    to ``out`` and its key and ``meta`` to ``out``'s ``.json``; both atomically."""
    import torch
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)
    sd = state.get('state_dict', state)
    slim = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    classes = list(classes)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = out + '.tmp'
    torch.save(dict(state_dict=slim, meta=dict(dataset_meta=dict(classes=tuple(classes)))), tmp)
    os.replace(tmp, out)
    meta_file = osp.splitext(out)[0] + '.json'
    with open(meta_file + '.tmp', 'w') as f:
        json.dump(dict(key=key, classes=classes, source_checkpoint=osp.basename(checkpoint),
                       **meta), f, indent=2)
        f.write('\n')
    os.replace(meta_file + '.tmp', meta_file)
    return out


# ------------------------------------------------------------------ the toy Detection-Adapter
ADAPTER_DIR = osp.join(ASSETS_DIR, 'adapter')
DEFAULT_ADAPTER = 'diffusion_engine/de_adapter_fcos_fpn_4500it_toy-shapes.py'


def shipped_adapter(cfg, config: str = DEFAULT_ADAPTER) -> tuple[str, dict]:
    """(checkpoint, meta) of the adapter weights shipped for ``config``, trained on ``cfg``'s
    data (its ``train_dataloader`` data root) by ``cfg``'s recipe.

    Raises ``FileNotFoundError`` naming the fix when none ship for this config, or when
    the shipped ones were made by another recipe or on other data (the cache key differs).
    The LDM is checked when the checkpoint loads (``LDMBackbone`` refuses another).
    """
    name = config_name(config)
    ckpt = osp.join(ADAPTER_DIR, name + '.pth')
    meta = read_meta(ckpt)
    fix = (f'train one: `make adapter` (or python tools/train.py {config}, then '
           f'tools/export_adapter.py), or run the demo with --train-adapter')
    if meta is None:
        raise FileNotFoundError(f'no Detection-Adapter weights ship for {name} '
                                f'({ADAPTER_DIR}): {fix}')
    key = cache_key(cfg)
    if meta.get('key') != key:
        raise FileNotFoundError(
            f'the shipped Detection-Adapter {ckpt} was trained by another recipe or on other '
            f'data (cache key {str(meta.get("key"))[:16]}, this config and data give '
            f'{key[:16]}): {fix}')
    return ckpt, meta
