"""The main job on the embedded default, end to end, on a CPU (``make demo``).

The DiffusionEngine path on the small *trained* toy LDM shipped in the package
(``embedded:toy``, docs/toy_ldm.md), in a few minutes on 2 CPU cores:

1. write the procedural toy-shapes dataset (COCO, if absent)     data/toy_shapes/
2. load the Detection-Adapter shipped in the package (frozen toy LDM + FCOS neck and head,
   ``diffdet_plugin/assets/adapter/``, its recipe: ``make adapter``); with
   ``--train-adapter``, train one instead (1500 iterations)       work_dirs/demo/adapter/
3. evaluate it with mmdet's CocoMetric on the held-out toy test split
4. synthesize labeled images from toy references with it         work_dirs/demo/synthetic/
   (COCO json + contact sheet PNG)
5. print a summary with the paths

    python tools/demo.py [--train-adapter [--iters N]] [--num-synth 200] [--score-thr 0.3]
    python tools/demo.py --tiny

``--tiny`` trains and runs the same steps on the random-weight ``tiny`` preset (a smoke
test: its features carry no signal, so its boxes are noise).
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import time

import diffdet_plugin  # noqa: F401
from diffdet_plugin.config_package import config_dir
from diffdet_plugin.datasets import ensure_toy_shapes
from diffdet_plugin.runner_utils import (allow_mmengine_checkpoints, set_coco_data_root,
                                         set_iterations)
from diffdet_plugin.shipped_weights import DEFAULT_ADAPTER, shipped_adapter
from diffdet_plugin.synthesis import synthesize_with_config
from mmengine.config import Config
from mmengine.runner import Runner

CONFIGS = {  # (adapter config, synthesis config)
    'shipped': (DEFAULT_ADAPTER, 'diffusion_engine/de_synth_toy-shapes_toy.py'),
    'toy': ('diffusion_engine/de_adapter_fcos_fpn_1500it_toy-shapes.py',
            'diffusion_engine/de_synth_toy-shapes_toy.py'),
    'tiny': ('diffusion_engine/de_adapter_dino-4scale_tiny_300it_toy-shapes.py',
             'diffusion_engine/de_synth_toy-shapes_tiny.py'),
}


def parse_args():
    p = argparse.ArgumentParser(description='diffdet_plugin demo: toy data -> adapter -> mAP')
    p.add_argument('--data-root', default='data/toy_shapes', help='toy-shapes dataset folder')
    p.add_argument('--train-adapter', action='store_true',
                   help='train the Detection-Adapter (1500 iterations, about 10 minutes on 2 '
                   'cores) instead of loading the one shipped in the package')
    p.add_argument('--iters', type=int, default=None,
                   help='with --train-adapter: training iterations (default: the config\'s)')
    p.add_argument('--num-synth', type=int, default=200, help='images to synthesize')
    p.add_argument('--score-thr', type=float, default=None,
                   help='keep synthesized boxes scoring at least this (default: the config\'s, '
                   'the paper\'s 0.3)')
    p.add_argument('--tiny', action='store_true',
                   help='train on the random-weight tiny preset instead of the trained toy LDM')
    p.add_argument('--work-dir', default='work_dirs/demo')
    return p.parse_args()


def ensure_toy_data(root):
    if ensure_toy_shapes(root):
        print(f'[1/4] toy data: wrote the standard toy-shapes splits to {root}')
    else:
        print(f'[1/4] toy data: found {root}')


def synthesize(adapter, classes, data_root, ckpt, args, synth_config):
    """Step 4: DiffusionEngine synthesis with the adapter (shipped or just trained)."""
    out = osp.join(args.work_dir, 'synthetic')
    if osp.isdir(out):  # made by an earlier demo's adapter: this one's labels differ
        shutil.rmtree(out)
    print(f'[4/4] synthesizing {args.num_synth} labeled images into {out}')
    return synthesize_with_config(
        adapter, classes, osp.join(config_dir(), synth_config), out, args.num_synth, ckpt,
        reference=dict(ann_file=data_root + 'annotations/instances_train.json',
                       img_dir=data_root + 'train/',
                       caption_file=data_root + 'annotations/captions_train.json'),
        score_thr=args.score_thr)


def main():
    args = parse_args()
    t0 = time.time()
    allow_mmengine_checkpoints()
    ensure_toy_data(args.data_root)

    train = args.train_adapter or args.tiny
    if args.iters is not None and not train:
        raise SystemExit('--iters sets the adapter training: give it with --train-adapter')
    adapter_config, synth_config = CONFIGS['tiny' if args.tiny else
                                           'toy' if train else 'shipped']
    cfg = Config.fromfile(osp.join(config_dir(), adapter_config))
    root = args.data_root.rstrip('/') + '/'
    set_coco_data_root(cfg, root)
    work_dir = osp.join(args.work_dir, 'adapter')
    cfg.work_dir = work_dir
    ldm = 'the random-weight tiny preset' if args.tiny else 'the embedded toy LDM'

    if train:
        iters = args.iters or cfg.train_cfg.max_iters
        set_iterations(cfg, iters)
        print(f'[2/4] training the Detection-Adapter ({ldm} + {cfg.model.type}) for {iters} '
              'iterations')
        runner = Runner.from_cfg(cfg)
        runner.train()
        ckpt = osp.join(work_dir, f'iter_{iters}.pth')
    else:
        ckpt, meta = shipped_adapter(cfg, adapter_config)
        print(f'[2/4] loading the Detection-Adapter shipped in the package ({ldm} + '
              f'{cfg.model.type}, {meta.get("iterations")} iterations: {ckpt})')
        cfg.load_from = ckpt
        runner = Runner.from_cfg(cfg)
    print('[3/4] evaluating on the held-out toy test split with CocoMetric')
    metrics = runner.test()
    synth = synthesize(runner.model, cfg.metainfo['classes'], root, ckpt, args, synth_config)

    summary = {
        'toy data': osp.abspath(args.data_root),
        'LDM': (cfg.model.backbone.ldm.get('pretrained')
                or f"preset {cfg.model.backbone.ldm.preset}"),
        'adapter config': osp.abspath(osp.join(work_dir, osp.basename(adapter_config))),
        'adapter checkpoint': osp.abspath(ckpt),
        'adapter': 'trained in this run' if train else 'shipped in the package',
        'logs': osp.abspath(osp.join(work_dir, runner.timestamp)),
        'bbox mAP (toy test)': round(float(metrics.get('coco/bbox_mAP', float('nan'))), 4),
        'bbox mAP@50 (toy test)': round(float(metrics.get('coco/bbox_mAP_50', float('nan'))), 4),
        'synthetic images': synth['images'],
        'synthetic boxes': synth['boxes'],
        'synthetic annotations': osp.abspath(synth['annotations_file']),
        'contact sheet': (osp.abspath(synth['contact_sheet']) if synth.get('contact_sheet')
                          else None),
        'wall time (s)': round(time.time() - t0, 1),
    }
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print('\n==== diffdet_plugin demo: done ====')
    for k, v in summary.items():
        print(f'{k:>24}: {v}')
    print(f'{"summary":>24}: {osp.abspath(osp.join(args.work_dir, "summary.json"))}')
    if args.tiny:
        print('Note: the `tiny` LDM preset has random weights; its features carry little signal, '
              'so this mAP shows the pipeline runs, not the method\'s quality.')
    else:
        print(f'Open the contact sheet to see the synthesized images with their boxes: '
              f'{synth.get("contact_sheet")}')


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
