"""Ship a judge detector's weights in the package (``diffdet_plugin/assets/judge/``).

    # train with tools/train.py, then export its last checkpoint
    python tools/train.py configs/judge/fcos_r18-half_fpn_3000it_toy-shapes.py
    python tools/export_judge.py configs/judge/fcos_r18-half_fpn_3000it_toy-shapes.py \
        --checkpoint work_dirs/fcos_r18-half_fpn_3000it_toy-shapes/iter_3000.pth
    # or let it train (into the cache) when no checkpoint is given: make judge

The exported file holds the model weights in fp16 and the config's class list; its
``.json`` holds the cache key (config + training data hash) that
``diffdet_plugin.evaluation.load_judge`` checks before using it.
"""
import argparse
import os.path as osp
import sys

from diffdet_plugin.evaluation import judge as judge_lib


def main():
    p = argparse.ArgumentParser(description='Export a judge detector into the package')
    p.add_argument('config', nargs='?', default=None,
                   help=f'judge config (default {judge_lib.DEFAULT_JUDGE})')
    p.add_argument('--checkpoint', help='a checkpoint trained from this config on --data-root '
                   '(default: train one into the cache)')
    p.add_argument('--data-root', default='data/toy_shapes')
    p.add_argument('--max-mb', type=float, default=25.0)
    args = p.parse_args()
    cfg = judge_lib._load_cfg(args.config, args.data_root)
    key = judge_lib.cache_key(cfg)
    ckpt = args.checkpoint or judge_lib.train_judge(cfg, args.config, key)
    name = osp.splitext(osp.basename(judge_lib.resolve_config(args.config)))[0]
    out = judge_lib.export_judge(ckpt, osp.join(judge_lib.ASSET_DIR, name + '.pth'), key, cfg)
    size = osp.getsize(out) / 2**20
    if size > args.max_mb:
        raise SystemExit(f'{out} takes {size:.1f} MiB, over --max-mb {args.max_mb}')
    print(f'exported {ckpt} -> {out} ({size:.1f} MiB, key {key[:16]})')


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
