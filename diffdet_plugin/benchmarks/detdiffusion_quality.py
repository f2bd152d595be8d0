"""The DetDiffusion rows of ``tools/benchmark.py quality``: fidelity and trainability at toy scale.

The paper's two tables on the toy world, every step a shipped config:

1. the attribute detector: a deliberately weak toy detector
   (``configs/judge/fcos_r18-half_fpn_300it_toy-shapes.py``, cached build), because the judge
   finds every toy object (all ``[easy]``); its P.A. Attr of the toy train, test and 10 % files
   (``tools/extract_attributes.py``'s function);
2. the four ablation rows, each the embedded toy LDM fine-tuned ``--dd-l2i-iters`` iterations
   on toy train layouts: L2I (location tokens only), + P.A. Attr, + P.A. loss, both
   (``configs/detdiffusion/*_toy-ldm_2000it_toy-shapes.py``);
3. **fidelity**: each row generates from the first ``--dd-fidelity-layouts`` toy *test*
   layouts (the extracted attributes where the row has them), and the judge's detections on the
   generated images are scored against the conditioning layouts with COCO mAP (the paper's
   "YOLO score" protocol);
4. **trainability**: the full model generates ``--dd-per-layout`` images per layout of a fixed
   10 % of toy train with each strategy (``origin`` / ``easy`` / ``hard``), and the toy
   downstream FCOS trains on (a) ``real10`` the 10 % alone, (b)–(d) ``real10+origin`` /
   ``+easy`` / ``+hard`` (real : generated 1 : 1 per batch), per seed; test bbox mAP on the
   held-out test split.

Steps 1–3 run once (seed 0); step 4's detectors per seed. Every step writes a record under
``<work-dir>/detdiffusion/`` and a rerun skips it.
"""
from __future__ import annotations

import os.path as osp

DD_CONFIGS = {
    'l2i': 'detdiffusion/detdiffusion-l2i_toy-ldm_12000it_toy-shapes.py',
    'pa-attr': 'detdiffusion/detdiffusion-pa-attr_toy-ldm_12000it_toy-shapes.py',
    'pa-loss': 'detdiffusion/detdiffusion-pa-loss_toy-ldm_12000it_toy-shapes.py',
    'detdiffusion': 'detdiffusion/detdiffusion_toy-ldm_12000it_toy-shapes.py',
}
WITH_ATTRIBUTES = ('pa-attr', 'detdiffusion')
SYNTH_CONFIG = 'detdiffusion/detdiffusion_synth_toy-ldm_toy-shapes.py'
ATTRIBUTE_DETECTOR = 'judge/fcos_r18-half_fpn_300it_toy-shapes.py'
DD_ARMS = ('real10', 'real10+origin', 'real10+easy', 'real10+hard')


def _config(rel: str):
    from mmengine.config import Config

    from ..config_package import config_dir
    return Config.fromfile(osp.join(config_dir(), rel))


def detdiffusion_protocol(args, root: str) -> dict:
    """Steps 1–4 of the module docstring; returns the records (see ``quality.run``)."""
    from ..attributes import extract_attributes
    from ..evaluation import load_judge
    from ..evaluation.fidelity import layout_score
    from ..ldm import FrozenLDM
    from ..runner_utils import set_iterations
    from ..synthesis import DetDiffusionSynthesizer
    from .experiment import recorded_step, write_subset
    from .instagen_quality import train_only
    work = osp.abspath(osp.join(args.work_dir, 'detdiffusion'))  # (the L2I dataset reads
    # attribute files relative to its data_root: every path here is absolute)
    step = recorded_step(work, 'detdiffusion')
    ann = {s: root + f'annotations/instances_{s}.json' for s in ('train', 'test')}
    ann['real10'] = osp.join(work, 'real10', 'instances_train.json')
    img_dir = {'train': root + 'train/', 'test': root + 'test/', 'real10': root + 'train/'}

    # 1. the weak attribute detector and its attributes
    from ..config_package import config_dir
    detector_cfg = args.dd_attribute_detector or osp.join(config_dir(), ATTRIBUTE_DETECTOR)
    det = step('attribute_detector', lambda: dict(
        config=detector_cfg, checkpoint=load_judge(detector_cfg, root).checkpoint))
    real10 = step('real10', lambda: dict(
        images=write_subset(ann['train'], ann['real10'], 0.1, seed=0)))
    def attributes(split, out):
        return dict(file=out, counts=extract_attributes(
            det['config'], det['checkpoint'], ann[split], img_dir[split], out,
            score_thr=args.dd_gamma, iou_thr=args.dd_beta)['counts'])
    attr_recs = {split: step(f'attributes_{split}', lambda s=split: attributes(
        s, osp.join(work, 'attributes', f'{s}.json'))) for split in ('train', 'test', 'real10')}
    attrs = {split: osp.abspath(rec['file']) for split, rec in attr_recs.items()}

    # 2. the four ablation rows
    def train_row(row):
        def fn():
            cfg = _config(DD_CONFIGS[row])
            ds = cfg.train_dataloader.dataset
            ds.data_root = root
            if row in WITH_ATTRIBUTES:
                ds.attributes_file = attrs['train']
            set_iterations(cfg, args.dd_l2i_iters)
            cfg.custom_hooks = [dict(type='SaveDiffusersHook', interval=0)]
            wd = osp.join(work, 'l2i', row)
            train_only(cfg, wd)
            return dict(ldm=osp.abspath(osp.join(wd, 'diffusers')), iters=args.dd_l2i_iters)
        return step(f'l2i_{row}', fn)
    if 'detdiffusion' not in args.dd_rows:
        raise ValueError('--dd-rows must include detdiffusion: its model makes the '
                         'trainability generations')
    rows = {row: train_row(row) for row in DD_CONFIGS if row in args.dd_rows}

    # 3. fidelity on toy test layouts, scored by the judge
    judge = load_judge(args.judge, root)

    def generate(name, ldm_dir, split, strategy, num_images, with_attributes=True):
        def fn():
            syn = _config(SYNTH_CONFIG).synthesis.to_dict()
            syn.pop('ldm')
            layouts = dict(syn['layouts'], data_root='', ann_file=ann[split],
                           img_dir=img_dir[split],
                           attributes_file=attrs[split] if with_attributes else None)
            if split == 'test':
                layouts['indices'] = args.dd_fidelity_layouts  # the first N layouts
            syn.update(layouts=layouts, strategy=strategy, num_images=num_images,
                       contact_sheet=dict(num_images=16, cols=4))
            if args.dd_steps:
                syn['num_inference_steps'] = args.dd_steps
            out = osp.join(work, 'generated', name)
            s = DetDiffusionSynthesizer(FrozenLDM.build(pretrained=ldm_dir), syn, out).run()
            return dict(dir=osp.abspath(out), images=s['images'], boxes=s['boxes'])
        return step(f'generated_{name}', fn)

    fidelity = {}
    for row, rec in rows.items():
        attr = row in WITH_ATTRIBUTES
        gen = generate(f'fidelity_{row}', rec['ldm'], 'test', 'origin' if attr else 'layout',
                       0, with_attributes=attr)
        fidelity[row] = step(f'fidelity_{row}', lambda g=gen: dict(
            layout_score(g['dir'], judge.model, judge.classes), images=g['images']))

    # 4. trainability: 10 % real + generations of the same layouts, per strategy and seed
    full = rows['detdiffusion']['ldm']
    data = {f'real10+{s}': generate(f'real10_{s}', full, 'real10', s,
                                    args.dd_per_layout * real10['images'])
            for s in ('origin', 'easy', 'hard')}
    from .diffusion_engine_quality import detector_config
    from .experiment import detector_runs
    runs = detector_runs(work, 'detdiffusion', args.dd_arms, args.seeds, args.det_iters,
                         lambda arm: detector_config(root, ann['real10'], None if arm == 'real10'
                                                     else data[arm]['dir'], arm='real+de-1to1'))
    return dict(attribute_detector=det, attributes=attr_recs, rows=rows, fidelity=fidelity,
                generated=data, runs=runs)


def markdown(p: dict) -> str:
    """The two DetDiffusion tables: fidelity per ablation row, trainability per strategy."""
    from .experiment import summarize
    counts = p['attributes']['train']['counts']
    lines = [f"**detdiffusion: fidelity** (judge mAP of images generated from toy test "
             f"layouts, against the layouts; attributes by the weak detector: train "
             f"{counts})", '',
             '| row | P.A. Attr | P.A. loss | layout mAP | mAP_50 | images |',
             '| --- | --- | --- | --- | --- | --- |']
    for row, f in p['fidelity'].items():
        lines.append(f"| {row} | {'yes' if row in WITH_ATTRIBUTES else 'no'} | "
                     f"{'yes' if row in ('pa-loss', 'detdiffusion') else 'no'} | "
                     f"{f.get('mAP', float('nan')):.3f} | "
                     f"{f.get('mAP_50', float('nan')):.3f} | {f.get('images')} |")
    lines += ['', '**detdiffusion: trainability** (toy FCOS on 10 % real + generated images '
              'of the same layouts; test bbox mAP)', '',
              '| arm | test bbox mAP (mean ± std) | seeds | Δ vs real10 | > 2 s.e.? |',
              '| --- | --- | --- | --- | --- |']
    for r in summarize(p['runs'], base='real10'):
        m = 'n/a' if r['mean'] is None else f"{r['mean']:.3f} ± {r['std']:.3f}"
        d = f"{r['delta']:+.3f}" if 'delta' in r else '–'
        s = ('yes' if r['significant'] else 'no') if 'significant' in r else '–'
        lines.append(f"| {r['arm']} | {m} | {r['n']} | {d} | {s} |")
    return '\n'.join(lines + [''])
