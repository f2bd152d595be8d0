"""Evaluate a trained detector checkpoint (mmdet's ``tools/test.py`` arguments).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
"""
import argparse
import os.path as osp
import sys

import diffdet_plugin  # noqa: F401
from diffdet_plugin.runner_utils import finish_distributed, load_cfg, parse_runner_args
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', type=str, help='dump predictions to a pickle file')
    parser.add_argument('--show-dir', help='save images with predictions into this folder '
                        '(inside the work dir)')
    return parse_runner_args(parser, 'the dir to save the evaluation metrics')


def main():
    args = parse_args()
    cfg = load_cfg(args)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        vis = cfg.default_hooks.visualization
        vis.draw, vis.test_out_dir = True, args.show_dir
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out {args.out!r} must end with .pkl or .pickle')
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(cfg.test_evaluator, dict) \
            else list(cfg.test_evaluator)
        cfg.test_evaluator.append(dict(type='DumpDetResults', out_file_path=args.out))
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg))
    metrics = runner.test()
    print(f'metrics: {metrics}\nwork dir: {osp.abspath(cfg.work_dir)}')
    finish_distributed()


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
