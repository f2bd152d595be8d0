"""``tools/benchmark.py quality``: does DiffusionEngine data make a detector better? (toy scale)

The DiffusionEngine paper's two protocols on the procedural toy-shapes domain, end to
end on one machine, with the embedded toy LDM (``embedded:toy``):

* ``sparse`` (data-sparse): a fixed 10 % of toy train is all the labelled data there is.
  The Detection-Adapter trains on it; DE synthesizes from its references and captions;
  the downstream detector trains on the 10 % vs. the 10 % + DE data.
* ``full`` (the COCO → COCO-DE experiment): the same with 100 % of toy train.

The adapter is the toy FCOS Detection-Adapter (:data:`ADAPTER_CONFIGS`): 1500 iterations on
the 10 %, the 3× longer schedule on 100 % (the one that reaches 0.8 × the judge's mAP);
``--adapter-iters`` overrides both.

Arms (each at equal iterations, same detector and schedule):

* ``real``: the real data only (the baseline);
* ``real+de``: real + the synthetic images, 1 : 1 per batch (the paper);
* ``real+de-judged``: real + only the synthetic images whose labels the judge detector
  does not contradict (detector-feedback filtering: every adapter box matches a judge box
  of score ≥ 0.5 with the same class at IoU ≥ 0.5 and vice versa). *Beyond the paper*, and
  the judge saw all real toy train, so in ``sparse`` this arm uses more labelled data than
  the 10 %: an upper bound on what filtering can give, not a fair competitor.
* ``real+de-3to1`` (on request): real + synthetic 3 : 1 per batch (beyond the paper), so the
  real images keep 3/4 of their share of the batches instead of half.
* ``real+de-bg-ignore`` (on request): 1 : 1, with Gen2Det's background ignore
  (``BackgroundIgnoreFCOSHead``): the drawn objects the adapter missed are not taught as
  background.

Each (protocol, arm, seed) trains the downstream detector
(``configs/diffusion_engine/downstream/fcos_r18-half_fpn_1500it_toy-shapes{,-de}.py``) with
that training seed and tests it on the **held-out test split**; the adapter and the
synthetic data are made once per protocol (seed 0): the seeds measure the detector's
training noise. Every finished step writes a record under ``--work-dir``
(``<protocol>/adapter.json``, ``synthesis.json``, ``runs/<arm>-seed<k>.json``); a rerun
skips what is recorded, so the benchmark can be completed over several sessions. The
table gives mean ± std over seeds and whether each arm's difference to ``real`` exceeds
two standard errors (|Δ| > 2·√(s_a²/n_a + s_b²/n_b)).

    python tools/benchmark.py quality [--protocols sparse full] [--seeds 0 1 2] \\
        [--arms real real+de real+de-judged real+de-3to1 real+de-bg-ignore] \\
        [--work-dir work_dirs/bench_quality]

``--protocols instagen`` runs InstaGen's ablation instead (novel / base AP50 of a detector on
real base data ± InstaGen data, with and without self-training;
:mod:`.instagen_quality`).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import os.path as osp
import random
import statistics
import time

from ..utils.fileio import atomic_write_json
from .harness import write_report

ADAPTER_CONFIGS = {  # protocol -> Detection-Adapter config
    'sparse': 'diffusion_engine/de_adapter_fcos_fpn_1500it_toy-shapes.py',
    'full': 'diffusion_engine/de_adapter_fcos_fpn_4500it_toy-shapes.py',
}
SYNTH_CONFIG = 'diffusion_engine/de_synth_toy-shapes_toy.py'
_DOWNSTREAM = 'diffusion_engine/downstream/fcos_r18-half_fpn_1500it_toy-shapes'
DET_CONFIGS = {  # arm -> downstream config (real+de-judged: the -de config on the judged file)
    'real': _DOWNSTREAM + '.py',
    'real+de': _DOWNSTREAM + '-de.py',
    'real+de-judged': _DOWNSTREAM + '-de.py',
    'real+de-3to1': _DOWNSTREAM + '-de-3to1.py',
    'real+de-bg-ignore': _DOWNSTREAM + '-de-bg-ignore.py',
}
PROTOCOLS = {'sparse': 0.1, 'full': 1.0}  # + 'instagen' (.instagen_quality), run on request
ARMS = tuple(DET_CONFIGS)
DEFAULT_ARMS = ('real', 'real+de', 'real+de-judged')


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


def _record(path: str, data: dict | None = None) -> dict | None:
    """Read a finished step's record, or write it (atomically) when ``data`` is given."""
    if data is None:
        if osp.isfile(path):
            with open(path) as f:
                return json.load(f)
        return None
    atomic_write_json(path, data, indent=2)
    return data


def recorded_step(work: str, tag: str):
    """``step(name, fn)``: run ``fn`` (returning a dict) once; its record, with the seconds it
    took, is ``<work>/<name>.json`` and a rerun returns that record instead of running again."""
    def step(name: str, fn) -> dict:
        path = osp.join(work, f'{name}.json')
        rec = _record(path)
        if rec is None:
            print(f'[quality/{tag}] {name} ...', flush=True)
            t0 = time.time()
            rec = fn()
            rec['seconds'] = round(time.time() - t0, 1)
            _record(path, rec)
        return rec
    return step


def train_and_test(cfg, work_dir: str, seed: int) -> tuple:
    """Train then test one config; (runner, test metrics + final train loss + diverged)."""
    from mmengine.runner import Runner

    from ..runner_utils import name_run
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    name_run(cfg, osp.basename(work_dir))
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters + 1  # the test split is what counts
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    out = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
    loss = runner.message_hub.log_scalars.get('train/loss')
    if loss is not None:  # a diverged run is reported as such, not as a bad mAP
        out['final_train_loss'] = float(loss.current())
        out['diverged'] = not math.isfinite(out['final_train_loss'])
    return runner, out


def detector_config(root: str, real_ann: str, synth_dir: str | None = None,
                    synth_ann: str | None = None, arm: str | None = None):
    """The toy downstream detector on ``real_ann`` (real only), or on it + the synthetic COCO
    folder ``synth_dir`` (its ``annotations.json``, or ``synth_ann`` there), mixed as ``arm``
    says (:data:`DET_CONFIGS`; default ``real+de``, 1 : 1 per batch)."""
    from mmengine.config import Config

    from ..config_package import config_dir
    from ..runner_utils import set_coco_data_root
    key = 'real' if synth_dir is None else (arm or 'real+de')
    cfg = Config.fromfile(osp.join(config_dir(), DET_CONFIGS[key]))
    set_coco_data_root(cfg, root, real_ann)
    if synth_dir is not None:
        syn_ds = cfg.train_dataloader.dataset.datasets[1]
        syn_ds.data_root = osp.abspath(synth_dir) + '/'
        if synth_ann:
            syn_ds.ann_file = synth_ann
    return cfg


def detector_runs(work: str, protocol: str, arms, seeds, iters: int, configure) -> dict:
    """The downstream detector per arm and seed: ``configure(arm)`` gives the arm's config
    (e.g. :func:`detector_config`); each run trains ``iters`` iterations with the seed, is tested
    on the held-out split and recorded in ``<work>/runs/<arm>-seed<seed>.json`` (a rerun skips
    it). Returns arm → records, in seed order."""
    from ..runner_utils import set_iterations
    runs = {}
    for arm in arms:
        for seed in seeds:
            path = osp.join(work, 'runs', f'{arm}-seed{seed}.json')
            rec = _record(path)
            if rec is None:
                cfg = configure(arm)
                set_iterations(cfg, iters)
                print(f'[quality/{protocol}] detector: {arm}, seed {seed}, {iters} it')
                t0 = time.time()
                _, m = train_and_test(cfg, osp.join(work, 'detectors', f'{arm}-seed{seed}'),
                                      seed)
                rec = _record(path, dict(protocol=protocol, arm=arm, seed=seed, iters=iters,
                                         test=m, seconds=round(time.time() - t0, 1)))
            runs.setdefault(arm, []).append(rec)
    return runs


def judged_subset(judge, synth_dir: str, out_ann: str, score_thr: float = 0.5) -> dict:
    """Keep the synthetic images whose labels agree with the judge (see module doc)."""
    from ..evaluation.fidelity import box_precision_recall, read_synthesis_run
    run = read_synthesis_run(synth_dir)
    coco = run['coco']
    refs = judge.detect(run['images'], score_thr=score_thr)
    kept = set()
    for im, ref, labels in zip(sorted(coco['images'], key=lambda i: i['id']), refs,
                               run['labels']):
        pr = box_precision_recall([ref], [labels])
        if pr['tp'] == pr['num_pred'] == pr['num_ref']:
            kept.add(im['id'])
    sub = dict(coco, images=[i for i in coco['images'] if i['id'] in kept],
               annotations=[a for a in coco['annotations'] if a['image_id'] in kept])
    atomic_write_json(out_ann, sub)
    return dict(images=len(coco['images']), kept=len(kept),
                boxes_kept=len(sub['annotations']))


def _protocol(args, name: str, fraction: float, root: str) -> dict:
    from mmengine.config import Config

    from ..config_package import config_dir
    from ..runner_utils import set_coco_data_root, set_iterations
    from ..synthesis import synthesize_with_config
    work = osp.join(args.work_dir, name)
    train_ann = root + 'annotations/instances_train.json'
    if fraction < 1:
        ann = osp.join(work, 'real_subset', 'instances_train.json')
        if not osp.isfile(ann):
            write_subset(train_ann, ann, fraction, seed=0)
    else:
        ann = train_ann
    with open(ann) as f:
        n_real = len(json.load(f)['images'])
    print(f'[quality/{name}] real data: {n_real} images ({fraction:.0%} of toy train)')

    # 1. the Detection-Adapter on the protocol's real data
    adapter = _record(osp.join(work, 'adapter.json'))
    synth_dir = osp.join(work, 'synthetic')
    synthesis = _record(osp.join(work, 'synthesis.json'))
    cfg = Config.fromfile(osp.join(config_dir(), ADAPTER_CONFIGS[name]))
    set_coco_data_root(cfg, root, ann)
    iters = args.adapter_iters or cfg.train_cfg.max_iters
    set_iterations(cfg, iters)
    ckpt = osp.join(work, 'adapter', f'iter_{iters}.pth')
    if adapter is None or synthesis is None:
        if adapter is None:
            print(f'[quality/{name}] training the Detection-Adapter, {iters} it')
            runner, metrics = train_and_test(cfg, osp.join(work, 'adapter'), seed=0)
            adapter = _record(osp.join(work, 'adapter.json'),
                              dict(checkpoint=ckpt, iters=iters, test=metrics))
            model = runner.model
        else:
            from mmengine.runner import load_checkpoint

            from mmdet.registry import MODELS
            model = MODELS.build(cfg.model)
            load_checkpoint(model, ckpt, map_location='cpu')
        # 2. synthesis from the protocol's references (resumable by itself)
        num = args.num_synth[name]
        print(f'[quality/{name}] synthesizing {num} images into {synth_dir}')
        summary = synthesize_with_config(
            model, cfg.metainfo['classes'], osp.join(config_dir(), SYNTH_CONFIG), synth_dir,
            num, ckpt, reference=dict(ann_file=ann, img_dir=root + 'train/',
                                      caption_file=root + 'annotations/captions_train.json'))
        synthesis = _record(osp.join(work, 'synthesis.json'),
                            dict(dir=synth_dir, images=summary['images'],
                                 boxes=summary['boxes']))
        del model
    judged = None
    if 'real+de-judged' in args.arms:
        judged = _record(osp.join(work, 'judged.json'))
        if judged is None:
            from ..evaluation import load_judge
            judge = load_judge(args.judge, root)
            judged = _record(osp.join(work, 'judged.json'), judged_subset(
                judge, synth_dir, osp.join(synth_dir, 'annotations_judged.json')))

    # 3. the downstream detector, per arm and seed
    runs = detector_runs(work, name, args.arms, args.seeds, args.det_iters, lambda arm: (
        detector_config(root, ann) if arm == 'real' else detector_config(
            root, ann, synth_dir, 'annotations_judged.json' if arm == 'real+de-judged' else None,
            arm)))
    return dict(real_images=n_real, adapter=adapter, synthesis=synthesis, judged=judged,
                runs=runs)


def summarize(runs: dict, key: str = 'coco/bbox_mAP', base: str = 'real') -> list[dict]:
    """Per arm: mean ± std over seeds, Δ to ``base`` and whether |Δ| > 2 standard errors."""
    def stats(recs):
        vals = [r['test'].get(key) for r in recs if r['test'].get(key) is not None
                and not r['test'].get('diverged')]
        mean = statistics.fmean(vals) if vals else None
        std = statistics.stdev(vals) if len(vals) > 1 else 0.0
        return vals, mean, std

    base_vals, base_mean, base_std = stats(runs.get(base, []))
    rows = []
    for arm, recs in runs.items():
        vals, mean, std = stats(recs)
        row = dict(arm=arm, n=len(vals), mean=mean, std=std, values=vals)
        if arm != base and mean is not None and base_mean is not None:
            se = math.sqrt(std ** 2 / len(vals) + base_std ** 2 / len(base_vals))
            row.update(delta=mean - base_mean, se=se,
                       significant=abs(mean - base_mean) > 2 * se)
        rows.append(row)
    return rows


def markdown(result: dict) -> str:
    lines = []
    for name, p in result['protocols'].items():
        adapter = p['adapter'].get('test', p['adapter'].get('val', {}))  # 'val': older records
        lines += [f"**{name}** ({p['real_images']} real images; adapter test mAP "
                  f"{adapter.get('coco/bbox_mAP', float('nan')):.3f}; "
                  f"{p['synthesis']['images']} synthetic images, {p['synthesis']['boxes']} "
                  'boxes' + (f"; judge keeps {p['judged']['kept']}" if p.get('judged') else '')
                  + ')', '',
                  '| arm | test bbox mAP (mean ± std) | seeds | Δ vs real | > 2 s.e.? |',
                  '| --- | --- | --- | --- | --- |']
        for r in p['summary']:
            m = 'n/a' if r['mean'] is None else f"{r['mean']:.3f} ± {r['std']:.3f}"
            d = f"{r['delta']:+.3f}" if 'delta' in r else '–'
            s = ('yes' if r['significant'] else 'no') if 'significant' in r else '–'
            lines.append(f"| {r['arm']} | {m} | {r['n']} | {d} | {s} |")
        lines.append('')
    return '\n'.join(lines)


def run(args, parser=None) -> dict:
    import diffdet_plugin  # noqa: F401

    from mmdet.utils import register_all_modules

    from ..datasets import ensure_toy_shapes
    from ..runner_utils import allow_mmengine_checkpoints
    allow_mmengine_checkpoints()
    # models built outside a Runner (a recorded adapter, reloaded) need mmdet's default scope
    register_all_modules(init_default_scope=True)
    t0 = time.time()
    root = args.data_root.rstrip('/') + '/'
    if ensure_toy_shapes(root):
        print(f'wrote the toy-shapes data to {root}')
    unknown = set(args.arms) - set(ARMS)
    if unknown:
        msg = f'unknown arms {sorted(unknown)}; choose from {ARMS}'
        if parser is not None:
            parser.error(msg)
        raise ValueError(msg)
    args.num_synth = dict(sparse=args.num_synth_sparse, full=args.num_synth_full)
    result = dict(bench='quality', args=dict(
        protocols=args.protocols, seeds=args.seeds, arms=args.arms,
        adapter_iters=args.adapter_iters, det_iters=args.det_iters, num_synth=args.num_synth),
        protocols={})
    md_parts = []
    for name in args.protocols:
        if name == 'instagen':
            from . import instagen_quality
            p = instagen_quality.instagen_protocol(args, root)
            result['instagen'] = p
            md_parts.append(instagen_quality.markdown(p))
            continue
        if name == 'detdiffusion':
            from . import detdiffusion_quality
            args.dd_arms = args.dd_arms or list(detdiffusion_quality.DD_ARMS)
            p = detdiffusion_quality.detdiffusion_protocol(args, root)
            result['detdiffusion'] = p
            md_parts.append(detdiffusion_quality.markdown(p))
            continue
        fraction = args.sparse_fraction if name == 'sparse' else PROTOCOLS[name]
        p = _protocol(args, name, fraction, root)
        p['summary'] = summarize(p['runs'])
        result['protocols'][name] = p
    result['wall_time_s'] = round(time.time() - t0, 1)
    md = '\n'.join([markdown(result)] + md_parts)
    print('\n' + md)
    os.makedirs(args.work_dir, exist_ok=True)
    out = args.json or osp.join(args.work_dir, 'quality.json')
    write_report(out, result, md)
    print(f'written to {out} (wall time of this invocation {result["wall_time_s"]} s)')
    return result


def add_parser(subparsers):
    p = subparsers.add_parser(
        'quality', help='the DiffusionEngine protocols at toy scale (data-sparse and full), '
        '3 seeds: detector mAP with real vs real + DE data',
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data-root', default='data/toy_shapes')
    p.add_argument('--protocols', nargs='+', default=list(PROTOCOLS),
                   choices=list(PROTOCOLS) + ['instagen', 'detdiffusion'],
                   help='DiffusionEngine protocols (default), and/or instagen: the InstaGen '
                   'ablation (novel / base AP50; diffdet_plugin/benchmarks/instagen_quality.py), '
                   'and/or detdiffusion: its fidelity ablation and easy / hard trainability '
                   '(diffdet_plugin/benchmarks/detdiffusion_quality.py)')
    p.add_argument('--arms', nargs='+', default=list(DEFAULT_ARMS),
                   help=f'default: {" ".join(DEFAULT_ARMS)}; all: {" ".join(ARMS)}')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--adapter-iters', type=int, default=None,
                   help='Detection-Adapter iterations (default: its config\'s, '
                   '1500 for sparse, 4500 for full)')
    p.add_argument('--sparse-fraction', type=float, default=PROTOCOLS['sparse'],
                   help='the real fraction of the data-sparse protocol')
    p.add_argument('--num-synth-sparse', type=int, default=400)
    p.add_argument('--num-synth-full', type=int, default=1000)
    p.add_argument('--det-iters', type=int, default=1500)
    p.add_argument('--judge', default=None, help='judge config for the judged arm')
    ig = p.add_argument_group('instagen protocol')
    ig.add_argument('--ig-judge', default=None,
                    help='config of the base-class detector (default: the base-4 judge)')
    ig.add_argument('--ig-alpha', type=float, default=None,
                    help='score threshold of the base triplets (default: the config\'s 0.8)')
    ig.add_argument('--ig-beta', type=float, default=None,
                    help='score threshold of the pseudo-labels and the InstaGen data '
                    '(default: the configs\' 0.4)')
    ig.add_argument('--ig-steps', type=int, default=None,
                    help='denoising steps of every synthesis (default: the configs\' 30)')
    ig.add_argument('--ig-finetune-iters', type=int, default=500,
                    help='toy LDM fine-tuning on base crops (0: the embedded LDM as it is)')
    ig.add_argument('--ig-feature-prompt', choices=('empty', 'image'), default=None,
                    help="the heads' t = 1 feature pass: the empty prompt, or each image's "
                    'generation prompt (InstaGen.feature_prompt; default: the configs\' value)')
    ig.add_argument('--ig-triplets', type=int, default=1500, help='base triplet images')
    ig.add_argument('--ig-head-iters', type=int, default=1500, help='phase-1 iterations')
    ig.add_argument('--ig-novel-images', type=int, default=500,
                    help='unlabelled novel-class images for self-training')
    ig.add_argument('--ig-selftrain-iters', type=int, default=1000, help='phase-2 iterations')
    ig.add_argument('--ig-per-class', type=int, default=100,
                    help='InstaGen images per class for the downstream detector')
    dd = p.add_argument_group('detdiffusion protocol')
    dd.add_argument('--dd-attribute-detector', default=None,
                    help='config of the P.A. Attr detector (default: the weak 300-iteration '
                    'judge recipe, configs/judge/fcos_r18-half_fpn_300it_toy-shapes.py)')
    dd.add_argument('--dd-gamma', type=float, default=0.3, help='P.A. Attr score threshold')
    dd.add_argument('--dd-beta', type=float, default=0.5, help='P.A. Attr IoU threshold')
    dd.add_argument('--dd-l2i-iters', type=int, default=2000,
                    help='iterations of each ablation row\'s L2I fine-tuning')
    dd.add_argument('--dd-fidelity-layouts', type=int, default=200,
                    help='toy test layouts each row generates for the fidelity table')
    dd.add_argument('--dd-per-layout', type=int, default=2,
                    help='generated images per 10 %% layout and strategy (trainability)')
    dd.add_argument('--dd-steps', type=int, default=None,
                    help='denoising steps of every generation (default: the config\'s 50)')
    dd.add_argument('--dd-rows', nargs='+', default=['l2i', 'pa-attr', 'pa-loss', 'detdiffusion'],
                    choices=['l2i', 'pa-attr', 'pa-loss', 'detdiffusion'],
                    help='ablation rows to train and score (default: all four)')
    dd.add_argument('--dd-arms', nargs='+', default=None,
                    help='trainability arms (default: real10, real10+origin/easy/hard)')
    p.add_argument('--work-dir', default='work_dirs/bench_quality')
    p.add_argument('--json', metavar='OUT.json')
    p.set_defaults(func=run, parser=p)
    return p
