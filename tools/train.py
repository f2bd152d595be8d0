"""Train a detector (e.g. a DiffusionEngine Detection-Adapter) from an mmdet config.

Same arguments as mmdet's ``tools/train.py``; the plugin is imported first, so
configs may inherit ``diffdet_plugin::...`` and use its components.

    python tools/train.py configs/diffusion_engine/de_adapter_dino-4scale_tiny_300it_toy-shapes.py
    bash tools/dist_train.sh CONFIG 8 [--work-dir DIR] ...
"""
import argparse
import sys

import diffdet_plugin  # noqa: F401  (registers components and the config package)
from diffdet_plugin.runner_utils import finish_distributed, load_cfg, parse_runner_args
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by total batch size / auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or (no value) from the latest one '
                        'in the work dir')
    return parse_runner_args(
        parser, 'the dir to save logs and models', 'override config settings, key=value (e.g. '
        'model.backbone.ldm.pretrained=stabilityai/stable-diffusion-2-base)')


def main():
    args = parse_args()
    cfg = load_cfg(args)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError(f'{args.config} has no auto_scale_lr.base_batch_size: add '
                           'auto_scale_lr = dict(enable=True, base_batch_size=N)')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg))
    runner.train()
    finish_distributed()


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
