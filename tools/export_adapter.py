"""Ship a toy Detection-Adapter's weights in the package (``diffdet_plugin/assets/adapter/``).

    python tools/train.py configs/diffusion_engine/de_adapter_fcos_fpn_4500it_toy-shapes.py
    python tools/export_adapter.py \\
        configs/diffusion_engine/de_adapter_fcos_fpn_4500it_toy-shapes.py \\
        --checkpoint work_dirs/de_adapter_fcos_fpn_4500it_toy-shapes/iter_4500.pth
    # both steps: make adapter

The checkpoint is evaluated on the config's test split first (mmdet's CocoMetric); the
export holds the neck and head weights in fp16 (the frozen LDM is never in an adapter
checkpoint, only its identity and feature regime), and its ``.json`` the cache key
(config + training data), the LDM it was trained on, the feature regime and the test
metrics. ``tools/demo.py`` uses it (diffdet_plugin.shipped_weights.shipped_adapter).
"""
import argparse
import os.path as osp
import sys

import diffdet_plugin  # noqa: F401
from diffdet_plugin import shipped_weights
from diffdet_plugin.models.backbones.ldm_backbone import IDENTITY_KEY, REGIME_KEY, decode_identity
from diffdet_plugin.runner_utils import allow_mmengine_checkpoints, set_coco_data_root
from mmengine.config import Config
from mmengine.runner import Runner


def main():
    p = argparse.ArgumentParser(description='Export a toy Detection-Adapter into the package')
    p.add_argument('config', nargs='?', default=shipped_weights.DEFAULT_ADAPTER,
                   help='adapter config (default %(default)s)')
    p.add_argument('--checkpoint', required=True, help='a checkpoint trained from this config')
    p.add_argument('--data-root', default='data/toy_shapes')
    p.add_argument('--work-dir', default=None, help='where the evaluation logs go (default '
                   'work_dirs/<config>_export)')
    p.add_argument('--max-mb', type=float, default=5.0)
    args = p.parse_args()
    import torch

    allow_mmengine_checkpoints()
    path = shipped_weights.resolve_config(args.config, 'adapter config')
    name = shipped_weights.config_name(path)
    cfg = Config.fromfile(path)
    set_coco_data_root(cfg, args.data_root.rstrip('/') + '/')
    key = shipped_weights.cache_key(cfg)

    sd = torch.load(args.checkpoint, map_location='cpu', weights_only=False)['state_dict']
    if 'backbone.' + IDENTITY_KEY not in sd:
        raise SystemExit(f'{args.checkpoint} holds no backbone.{IDENTITY_KEY}: not an '
                         'LDMBackbone Detection-Adapter checkpoint')
    ldm = decode_identity(sd['backbone.' + IDENTITY_KEY])
    regime = decode_identity(sd['backbone.' + REGIME_KEY]) if 'backbone.' + REGIME_KEY in sd \
        else None

    test_cfg = cfg.copy()
    test_cfg.work_dir = args.work_dir or osp.join('work_dirs', name + '_export')
    test_cfg.load_from = args.checkpoint
    metrics = Runner.from_cfg(test_cfg).test()
    keep = {k: round(float(v), 4) for k, v in metrics.items() if k.startswith('coco/bbox_mAP')}

    out = osp.join(shipped_weights.ADAPTER_DIR, name + '.pth')
    shipped_weights.export_slim(args.checkpoint, out, key, cfg.metainfo['classes'],
                                ldm=ldm, feature_regime=regime, test_metrics=keep,
                                iterations=cfg.train_cfg.max_iters)
    size = osp.getsize(out) / 2**20
    if size > args.max_mb:
        raise SystemExit(f'{out} takes {size:.1f} MiB, over --max-mb {args.max_mb}')
    print(f'exported {args.checkpoint} -> {out} ({size:.1f} MiB, key {key[:16]}, LDM '
          f"{ldm.get('source')} {ldm.get('fingerprint')}, test bbox mAP "
          f"{keep.get('coco/bbox_mAP')})")


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
