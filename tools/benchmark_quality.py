"""``tools/benchmark.py quality``: does DiffusionEngine data improve a detector? (toy scale)

The papers' data-sparse protocol on the procedural toy-shapes domain, end to end on
one machine, with the embedded trained toy LDM (``embedded:toy``):

1. real subset: a fixed random ``--real-fraction`` (10 %) of toy-shapes train;
2. Detection-Adapter: the toy adapter config trained on that subset only (it never
   sees the other 90 % of the boxes; the LDM saw the images, without boxes, as SD saw
   the web);
3. synthesis: ``--num-synth`` images from the subset's references and captions, boxes
   from the adapter at the paper's δ = 0.3;
4. the same stock mmdet detector (RetinaNet R18-FPN, random init) trained at equal
   iterations on (a) the real subset, (b) the subset + the synthetic images (1:1 per
   batch, MultiSourceSampler) and (c) 100 % real (the ceiling);
5. bbox mAP of each on toy-shapes val (CocoMetric), as a markdown table and JSON.

    python tools/benchmark.py quality [--real-fraction 0.1] [--adapter-iters 1000] \\
        [--num-synth 400] [--det-iters 1500] [--work-dir work_dirs/bench_quality] \\
        [--json OUT.json]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import os.path as osp
import random
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ADAPTER_CONFIG = 'configs/diffusion_engine/de_adapter_dino-4scale_toy_1500it_toy-shapes.py'
SYNTH_CONFIG = 'configs/diffusion_engine/de_synth_toy-shapes_toy.py'
DET_CONFIGS = {
    'real': 'configs/diffusion_engine/downstream/retinanet_r18_fpn_300it_toy-shapes.py',
    'real+de': 'configs/diffusion_engine/downstream/retinanet_r18_fpn_300it_toy-shapes-de.py',
}


def write_subset(src_ann: str, out_ann: str, fraction: float, seed: int) -> int:
    """A fixed random subset of a COCO file's images (with their boxes); returns its size."""
    with open(src_ann) as f:
        coco = json.load(f)
    ids = sorted(i['id'] for i in coco['images'])
    keep = set(random.Random(seed).sample(ids, max(1, round(len(ids) * fraction))))
    sub = dict(coco, images=[i for i in coco['images'] if i['id'] in keep],
               annotations=[a for a in coco['annotations'] if a['image_id'] in keep])
    os.makedirs(osp.dirname(out_ann), exist_ok=True)
    with open(out_ann, 'w') as f:
        json.dump(sub, f)
    return len(keep)


def _run(cfg, work_dir: str, seed: int) -> tuple:
    """Train then test one config; (runner, test metrics + final train loss + diverged)."""
    from mmengine.runner import Runner
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)  # each training run is reproducible from --seed
    cfg.experiment_name = osp.basename(work_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    out = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
    loss = runner.message_hub.log_scalars.get('train/loss')
    if loss is not None:  # a diverged run is reported as such, not as a bad mAP
        out['final_train_loss'] = float(loss.current())
        out['diverged'] = not math.isfinite(out['final_train_loss'])
    return runner, out


def bench_quality(args, parser=None):
    import torch
    from mmengine.config import Config

    import diffdet_plugin  # noqa: F401
    from diffdet_plugin.datasets import generate_toy_shapes
    from diffdet_plugin.runner_utils import (allow_mmengine_checkpoints, set_coco_data_root,
                                             set_iterations)
    from diffdet_plugin.synthesis import DiffusionEngineSynthesizer, SynthesisConfig

    allow_mmengine_checkpoints()
    torch.manual_seed(args.seed)
    t0 = time.time()
    root = args.data_root.rstrip('/') + '/'
    if not osp.isfile(root + 'annotations/instances_train.json'):
        print(f'writing the toy-shapes data to {root}')
        generate_toy_shapes(root, num_train=2000, num_val=200, image_size=128, seed=0)
    work = args.work_dir
    subset_ann = osp.join(work, 'real_subset', 'instances_train.json')
    n_sub = write_subset(root + 'annotations/instances_train.json', subset_ann,
                         args.real_fraction, args.seed)
    print(f'[quality] real subset: {n_sub} images ({args.real_fraction:.0%}) -> {subset_ann}')

    # 2. the Detection-Adapter on the real subset only
    cfg = Config.fromfile(osp.join(REPO_ROOT, ADAPTER_CONFIG))
    set_coco_data_root(cfg, root, subset_ann)
    set_iterations(cfg, args.adapter_iters)
    print(f'[quality] training the Detection-Adapter on the subset, {args.adapter_iters} it')
    runner, adapter_metrics = _run(cfg, osp.join(work, 'adapter'), args.seed)
    ckpt = osp.join(work, 'adapter', f'iter_{args.adapter_iters}.pth')

    # 3. synthesis from the subset's references
    syn = Config.fromfile(osp.join(REPO_ROOT, SYNTH_CONFIG)).synthesis.to_dict()
    syn['reference'] = dict(ann_file=subset_ann, img_dir=root + 'train/',
                            caption_file=root + 'annotations/captions_train.json')
    syn['seed'] = args.seed
    synth_dir = osp.join(work, 'synthetic')
    print(f'[quality] synthesizing {args.num_synth} images into {synth_dir}')
    engine = DiffusionEngineSynthesizer(runner.model, SynthesisConfig.from_dict(syn),
                                        cfg.metainfo['classes'], synth_dir, checkpoint=ckpt)
    synth = engine.run(args.num_synth)
    del runner, engine

    # 4. the detector three times, equal iterations
    runs = [(f'{args.real_fraction:.0%} real', 'real', subset_ann),
            (f'{args.real_fraction:.0%} real + DE synthetic', 'real+de', subset_ann),
            ('100% real (ceiling)', 'real', root + 'annotations/instances_train.json')]
    rows = []
    for i, (name, kind, ann) in enumerate(runs):
        cfg = Config.fromfile(osp.join(REPO_ROOT, DET_CONFIGS[kind]))
        set_coco_data_root(cfg, root, ann)
        if kind == 'real+de':
            cfg.train_dataloader.dataset.datasets[1].data_root = osp.abspath(synth_dir) + '/'
        set_iterations(cfg, args.det_iters)
        print(f'[quality] detector {i + 1}/3: {name}, {args.det_iters} it')
        _, m = _run(cfg, osp.join(work, f'detector_{i}_{kind.replace("+", "_")}'
                                  + ('_full' if i == 2 else '')), args.seed)
        rows.append(dict(run=name, mAP=m.get('coco/bbox_mAP'), mAP_50=m.get('coco/bbox_mAP_50'),
                         mAP_75=m.get('coco/bbox_mAP_75'), diverged=m.get('diverged', False)))

    table = ['| training data | bbox mAP | mAP@50 | mAP@75 |', '| --- | --- | --- | --- |']
    fmt = lambda v: 'n/a' if v is None else f'{v:.3f}'  # noqa: E731 (no detections: no mAP)
    table += [f"| {r['run']}{' (training diverged: loss NaN)' if r['diverged'] else ''} | "
              f"{fmt(r['mAP'])} | {fmt(r['mAP_50'])} | {fmt(r['mAP_75'])} |" for r in rows]
    result = dict(bench='quality', args={k: v for k, v in vars(args).items()
                                         if k not in ('func', 'parser', 'argv')},
                  real_subset_images=n_sub, adapter=dict(ckpt=ckpt, **adapter_metrics),
                  synthetic=dict(images=synth['images'], boxes=synth['boxes'],
                                 dir=synth_dir), detectors=rows,
                  wall_time_s=round(time.time() - t0, 1))
    print('\n'.join(['', f'adapter on the subset: bbox mAP {adapter_metrics.get("coco/bbox_mAP")}',
                     f'synthetic: {synth["images"]} images, {synth["boxes"]} boxes', ''] + table))
    print(f'wall time {result["wall_time_s"]} s')
    out = args.json or osp.join(work, 'quality.json')
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'written to {out}')
    return result


def add_quality_parser(subparsers):
    p = subparsers.add_parser(
        'quality', help='data-sparse protocol at toy scale: detector mAP with 10%% real, '
        '10%% real + DiffusionEngine data, 100%% real',
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data-root', default='data/toy_shapes')
    p.add_argument('--real-fraction', type=float, default=0.1)
    p.add_argument('--adapter-iters', type=int, default=1000)
    p.add_argument('--num-synth', type=int, default=400)
    p.add_argument('--det-iters', type=int, default=1500)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', default='work_dirs/bench_quality')
    p.add_argument('--json', metavar='OUT.json')
    p.set_defaults(func=bench_quality, parser=p)
    return p
