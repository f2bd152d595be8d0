"""Synthesize a labeled detection dataset with a trained Detection-Adapter (DiffusionEngine).

    python tools/synthesize.py configs/diffusion_engine/de_synth_toy-shapes_tiny.py \
        --checkpoint work_dirs/demo/adapter/iter_200.pth --out data/toy_shapes_de --num-images 64
    bash tools/dist_synthesize.sh CONFIG 8 --checkpoint ADAPTER --out DIR

The config is an adapter config (its ``model`` is the adapter) plus a
``synthesis`` dict (see diffdet_plugin/synthesis/engine.py). Finished batches are
kept: running the same command again after an interruption continues where it
stopped and ends with exactly the data of an uninterrupted run.
"""
import argparse
import json
import os
import os.path as osp
import sys

import diffdet_plugin  # noqa: F401
import torch
from diffdet_plugin.runner_utils import allow_mmengine_checkpoints, init_distributed
from diffdet_plugin.synthesis import DiffusionEngineSynthesizer, SynthesisConfig
from diffdet_plugin.synthesis.coco_writer import atomic_write_json
from mmengine.config import Config, DictAction
from mmengine.dist import get_dist_info
from mmengine.logging import MMLogger, print_log
from mmengine.runner import load_checkpoint

from mmdet.registry import MODELS
from mmdet.utils import register_all_modules


def parse_args():
    p = argparse.ArgumentParser(description='DiffusionEngine data synthesis')
    p.add_argument('config', help='synthesis config (an adapter config + `synthesis`)')
    p.add_argument('--checkpoint', required=True, help='trained Detection-Adapter checkpoint')
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
    return p.parse_args()


def adapter_classes(cfg, ckpt_meta: dict, checkpoint: str):
    """The class list: the checkpoint's, checked against the config's if it names one."""
    ckpt_classes = (ckpt_meta.get('dataset_meta') or {}).get('classes')
    cfg_classes = cfg.get('synthesis_classes') or cfg.get('metainfo', {}).get('classes')
    if ckpt_classes is not None and cfg_classes is not None and \
            list(ckpt_classes) != list(cfg_classes):
        raise ValueError(f'The adapter checkpoint {checkpoint} was trained on the classes '
                         f'{list(ckpt_classes)}, but the config lists {list(cfg_classes)}. Use '
                         'the config the adapter was trained with, or train an adapter for '
                         'these classes.')
    classes = ckpt_classes if ckpt_classes is not None else cfg_classes
    if classes is None:
        raise KeyError(f'No class list: {checkpoint} has no dataset_meta.classes and the config '
                       'sets no metainfo.classes.')
    return list(classes)


def check_run_settings(out_dir, settings, resume):
    path = osp.join(out_dir, 'run.json')
    if osp.isfile(path):
        with open(path) as f:
            old = json.load(f)
        diff = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
        if diff and not resume:
            raise RuntimeError(f'{out_dir} holds a synthesis run with other settings ({diff}). '
                               'Use another --out, or --resume to continue it with these.')
        if 'classes' in diff or 'ldm_fingerprint' in diff:
            raise RuntimeError(f'{out_dir} was made with another adapter class list or LDM '
                               f'({diff}); it cannot be continued with this one. Use another --out.')
    return path


def main():
    args = parse_args()
    init_distributed(args.launcher)
    rank, world = get_dist_info()
    register_all_modules(init_default_scope=True)
    allow_mmengine_checkpoints()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if 'synthesis' not in cfg:
        raise KeyError(f'{args.config} has no `synthesis` dict: use a synthesis config, e.g. '
                       'configs/diffusion_engine/de_synth_coco_sd2-base.py')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'--checkpoint {args.checkpoint} does not exist: give a trained '
                                'adapter (tools/train.py writes work_dirs/<config>/iter_*.pth).')
    os.makedirs(args.out, exist_ok=True)
    MMLogger.get_instance('diffdet_synthesize', log_file=osp.join(args.out, f'synthesize_rank{rank}.log'))
    syn_cfg = SynthesisConfig.from_dict(cfg.synthesis.to_dict())
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and world > 1:
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))

    # Refuse a mismatching adapter before any work: LDM (checked while loading) and classes.
    detector = MODELS.build(cfg.model)
    ckpt = load_checkpoint(detector, args.checkpoint, map_location='cpu', strict=True,
                           logger='silent')
    classes = adapter_classes(cfg, ckpt.get('meta', {}), args.checkpoint)
    num_classes = getattr(detector.bbox_head, 'num_classes', len(classes))
    if num_classes != len(classes):
        raise ValueError(f'The adapter head predicts {num_classes} classes but its class list has '
                         f'{len(classes)}.')
    detector = detector.to(device).eval()
    ldm = detector.backbone.ldm
    settings = dict(synthesis={k: v for k, v in cfg.synthesis.to_dict().items()
                               if k != 'num_images'},
                    num_images=args.num_images or syn_cfg.num_images, classes=classes,
                    ldm_fingerprint=ldm.fingerprint)
    settings = json.loads(json.dumps(settings, default=str))
    run_json = check_run_settings(args.out, settings, args.resume)
    if rank == 0:
        atomic_write_json(run_json, settings, indent=2)

    engine = DiffusionEngineSynthesizer(detector, syn_cfg, classes, args.out, args.checkpoint)
    summary = engine.run(args.num_images)
    if rank == 0:
        print_log('\n==== synthesis done ====', logger='current')
        for k in ('images', 'boxes', 'failures', 'wall_time_s', 'annotations_file',
                  'failures_file', 'contact_sheet'):
            print_log(f'{k:>18}: {summary.get(k)}', logger='current')
        print_log(f'{"per category":>18}: {summary["per_category"]}', logger='current')
        atomic_write_json(osp.join(args.out, 'summary.json'), summary, indent=2)


if __name__ == '__main__':
    sys.exit(main())
