"""Synthesize a labeled detection dataset (DiffusionEngine; the mode comes from the config).

    python tools/synthesize.py configs/diffusion_engine/de_synth_toy-shapes_tiny.py \
        --checkpoint work_dirs/demo/adapter/iter_200.pth --out data/toy_shapes_de --num-images 64
    bash tools/dist_synthesize.sh CONFIG 8 --checkpoint ADAPTER --out DIR

The config holds the mode's models (for DiffusionEngine: the adapter, its ``model``) and a
``synthesis`` dict whose ``mode`` (default ``diffusion_engine``) picks the synthesizer
(diffdet_plugin/synthesis/: ``base.py`` runs every mode, ``diffusion_engine.py`` ...).
Finished batches are kept: running the same command again after an interruption continues
where it stopped and ends with exactly the data of an uninterrupted run.
"""
import argparse
import os
import os.path as osp
import sys

import diffdet_plugin  # noqa: F401
import torch
from diffdet_plugin.runner_utils import finish_distributed, init_distributed
from diffdet_plugin.synthesis import build_synthesizer
from diffdet_plugin.synthesis.coco_writer import atomic_write_json
from mmengine.config import Config, DictAction
from mmengine.dist import get_dist_info
from mmengine.logging import MMLogger, print_log

from mmdet.utils import register_all_modules


def parse_args():
    p = argparse.ArgumentParser(
        description='Detection data synthesis (DiffusionEngine, InstaGen, ...)')
    p.add_argument('config', help='synthesis config (the mode\'s models + `synthesis`)')
    p.add_argument('--checkpoint', default=None,
                   help='the labeller: a Detection-Adapter (diffusion_engine), an InstaGen head '
                   '(instagen) or any mmdet detector (text_to_image); detdiffusion: optional, '
                   'the fine-tuned layout-to-image model (its diffusers folder or a LayoutLDM '
                   'checkpoint) instead of synthesis.ldm')
    p.add_argument('--out', required=True, help='output folder (images/, annotations.json)')
    p.add_argument('--num-images', type=int, help='images to generate (before balancing)')
    p.add_argument('--resume', action='store_true',
                   help='continue the run in --out even if its settings changed (e.g. a larger '
                   '--num-images); a run with the same settings always continues')
    p.add_argument('--device', default=None, help='cuda / cpu (default: cuda if available)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, e.g. synthesis.batch_size=8')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args()
    if args.num_images is not None and args.num_images < 1:  # before any model is built
        p.error(f'--num-images {args.num_images}: give a positive number of images, or leave '
                "it out for the config's synthesis.num_images")
    return args


def main():
    args = parse_args()
    init_distributed(args.launcher)
    rank, world = get_dist_info()
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if 'synthesis' not in cfg:
        raise KeyError(f'{args.config} has no `synthesis` dict: use a synthesis config, e.g. '
                       'configs/diffusion_engine/de_synth_coco_sd2-base.py')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and world > 1:
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
    os.makedirs(args.out, exist_ok=True)
    MMLogger.get_instance('diffdet_synthesize',
                          log_file=osp.join(args.out, f'synthesize_rank{rank}.log'))

    synthesizer = build_synthesizer(cfg, args.checkpoint, args.out, device)
    synthesizer.check_resume(synthesizer.run_settings(args.num_images, cfg.synthesis.to_dict()),
                             args.resume)
    summary = synthesizer.run(args.num_images)
    if rank == 0:
        print_log('\n==== synthesis done ====', logger='current')
        for k in ('images', 'boxes', 'failures', 'skipped_negatives', 'objects_dropped',
                  'wall_time_s',
                  'annotations_file', 'failures_file', 'contact_sheet'):
            print_log(f'{k:>18}: {summary.get(k)}', logger='current')
        print_log(f'{"per category":>18}: {summary["per_category"]}', logger='current')
        atomic_write_json(osp.join(args.out, 'summary.json'), summary, indent=2)
    finish_distributed()


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
