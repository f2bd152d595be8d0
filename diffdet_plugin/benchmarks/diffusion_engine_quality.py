"""``tools/benchmark.py quality --protocols sparse full``: DiffusionEngine's protocols (toy).

Does DiffusionEngine (DE) data make a detector better? The paper's experiments on the
procedural toy-shapes domain, end to end on one machine, with the embedded toy LDM:

* ``sparse``, the paper's data-sparse experiment (Table 4: Faster R-CNN on the 1464-image
  VOC-12 set + 2× … 9× DE images): a fixed 10 % of toy train is the student's labelled data;
* ``full``, COCO → COCO-DE (Table 2): 100 % of toy train.

As in the paper, **one** Detection-Adapter labels both: the one trained on 100 % of toy train
(the paper's COCO adapter labels VOC-12 sparse too; ``--adapter-data protocol`` trains one per
protocol on that protocol's data instead, beyond the paper); when the package ships that
adapter for this recipe, data and LDM (``make adapter``), it is used as is. It labels in its
own feature regime (``synthesis.label_features='adapter'``). Images without a box ≥ δ are
dropped and real and synthetic sets are **concatenated** (every image equally likely), as the
official code does. One synthesis run per protocol makes max-scale × n_real images from the
protocol's references (round 0 cycles through them, so the first k·n_real images hold each
reference about k times): the scaling arms are nested prefixes of it.

Arms (:data:`ARMS`; each at equal iterations, same detector and schedule, tested on the
held-out test split, one record per arm and seed under ``--work-dir``):

* ``real``: the real data only (the baseline);
* ``real+de``, ``real+de-x2``, ``real+de-x4``: real + 1 / 2 / 4 synthetic images per real
  image, concatenated (the paper's scaling, Table 4);
* controls that say which component a result comes from:
  ``real+pseudo-x4``: real + the adapter's labels (δ, images without a box dropped) on
  4 × n_real *real* train images outside the subset: what the adapter's knowledge gives
  without generation; ``real@x1`` / ``real@x4``: real only for the iterations of real
  exposure the ×1 / ×4 arm leaves (1/2, 1/5 of them); ``real+oracle`` /
  ``real+oracle-x2`` / ``real+oracle-x4``: the ×1 / ×2 / ×4 arm's synthetic images labelled
  by the judge instead of the adapter (labels vs. generated content; the judge is a pixel
  FCOS trained on the same 100 % of toy train as the adapter, so this is also DE with a
  pixel-space labeller of equal data); ``real+de-x4-delta0.4``: the ×4 arm with the
  adapter's boxes kept from score 0.4 (images left without one dropped) instead of δ;
  ``real+de-r0.2-0.4`` / ``real+de-r0.4-0.6``: the ×1 arm from the images synthesized at an
  encode ratio in that half of the run's U(0.2, 0.6) (the encode-ratio range, chosen on val);
* beyond the paper: ``real+de-1to1`` / ``real+de-3to1`` (fixed per-batch shares),
  ``real+de-bg-ignore`` (Gen2Det's background ignore), ``real+de-judged`` (only images the
  judge agrees with).

Every step writes a record (``adapter.json``, ``<protocol>/synthesis.json``,
``<protocol>/runs/<arm>-seed<k>.json``), with the LDM's fingerprint: a rerun skips what is
recorded and refuses records of another LDM.
"""
from __future__ import annotations

import json
import os.path as osp
import time

from .diffusion_engine_controls import label_study, pseudo_label_real
from .experiment import (detector_runs, record, recorded_step, run_sharing, summarize,
                         train_and_test, usable_images, write_subset)

ADAPTER_CONFIG = 'diffusion_engine/de_adapter_fcos_fpn_4500it_toy-shapes.py'
PROTOCOL_ADAPTER_CONFIGS = {  # --adapter-data protocol: one adapter per protocol's data
    'sparse': 'diffusion_engine/de_adapter_fcos_fpn_1500it_toy-shapes.py',
    'full': ADAPTER_CONFIG,
}
SYNTH_CONFIG = 'diffusion_engine/de_synth_toy-shapes_toy.py'
_DOWNSTREAM = 'diffusion_engine/downstream/fcos_r18-half_fpn_1500it_toy-shapes'
#: arm -> downstream config suffix, synthetic images per real image (scale), the adapter's
#: labels on real images per real image (pseudo), real-exposure of a ×k arm (exposure), the
#: judge's labels instead of the adapter's (oracle), the synthetic boxes' score threshold
#: instead of --delta (min_score), only the images synthesized at an encode ratio in a
#: sub-range of the run's (encode_ratio: how the range is chosen on val from one run)
ARMS = {
    'real': dict(config=''),
    'real+de': dict(config='-de', scale=1),
    'real+de-x2': dict(config='-de', scale=2),
    'real+de-x4': dict(config='-de', scale=4),
    'real+pseudo-x4': dict(config='-de', pseudo=4),
    'real@x1': dict(config='', exposure=1),
    'real@x4': dict(config='', exposure=4),
    'real+de-1to1': dict(config='-de-1to1', scale=1),
    'real+de-3to1': dict(config='-de-3to1', scale=1),
    'real+de-bg-ignore': dict(config='-de-bg-ignore', scale=1),
    'real+de-judged': dict(config='-de', scale=1, judged=True),
    'real+de-x4-delta0.4': dict(config='-de', scale=4, min_score=0.4),
    'real+de-r0.2-0.4': dict(config='-de', scale=1, encode_ratio=(0.2, 0.4)),
    'real+de-r0.4-0.6': dict(config='-de', scale=1, encode_ratio=(0.4, 0.6)),
    'real+oracle': dict(config='-de', scale=1, oracle=True),
    'real+oracle-x2': dict(config='-de', scale=2, oracle=True),
    'real+oracle-x4': dict(config='-de', scale=4, oracle=True),
}
PROTOCOLS = {'sparse': 0.1, 'full': 1.0}
DEFAULT_ARMS = {
    'sparse': ('real', 'real+de', 'real+de-x2', 'real+de-x4', 'real+pseudo-x4', 'real@x4'),
    'full': ('real', 'real+de', 'real@x1'),
}


def detector_config(root: str, real_ann: str, synth_dir: str | None = None,
                    synth_ann: str | None = None, arm: str | None = None,
                    max_images: int | None = None, min_score: float | None = None,
                    encode_ratio_range: tuple | None = None):
    """The toy downstream detector on ``real_ann`` (real only), or on it + the synthetic COCO
    folder ``synth_dir`` (its ``annotations.json``, or ``synth_ann``), mixed as ``arm`` says
    (default ``real+de``: concatenated); ``max_images``: the first N synthetic images;
    ``min_score``: their boxes' score threshold (default the config's δ = 0.3);
    ``encode_ratio_range``: only the images synthesized at an encode ratio in (lo, hi)."""
    from mmengine.config import Config

    from ..config_package import config_dir
    from ..runner_utils import set_coco_data_root
    suffix = '' if synth_dir is None else ARMS[arm or 'real+de']['config']
    cfg = Config.fromfile(osp.join(config_dir(), _DOWNSTREAM + suffix + '.py'))
    set_coco_data_root(cfg, root, real_ann)
    if synth_dir is not None:
        syn_ds = cfg.train_dataloader.dataset.synthetic
        syn_ds.data_root = osp.abspath(synth_dir) + '/'
        if synth_ann:
            syn_ds.ann_file = synth_ann
        syn_ds.max_images = max_images
        if min_score is not None:
            syn_ds.min_score = min_score
        if encode_ratio_range is not None:
            syn_ds.encode_ratio_range = tuple(encode_ratio_range)
    return cfg


def check_arm_sizes(arms, n_real: int, synthesized, unlabelled_real: int | None):
    """One clear error for an arm that needs more images than there are (``synthesized``:
    the run's usable images, or a function of an arm's encode-ratio range giving them)."""
    for arm in arms:
        spec = ARMS[arm]
        if synthesized is None or not spec.get('scale'):
            usable = None
        else:
            usable = (synthesized(spec.get('encode_ratio')) if callable(synthesized)
                      else synthesized)
        if usable is not None and spec['scale'] * n_real > usable:
            where = (' at an encode ratio in {}'.format(spec['encode_ratio'])
                     if spec.get('encode_ratio') else '')
            raise ValueError(
                f'arm {arm} needs {spec["scale"] * n_real} synthetic images ({spec["scale"]} x '
                f'{n_real} real), but the synthesis run has {usable} usable ones{where} (images '
                'without a box >= delta are dropped). Synthesize more: raise --synth-margin.')
        if unlabelled_real is not None and spec.get('pseudo', 0) * n_real > unlabelled_real:
            raise ValueError(
                f'arm {arm} needs {spec["pseudo"] * n_real} unlabelled real train images, but '
                f'only {unlabelled_real} lie outside the {n_real}-image subset. Use a smaller '
                '--sparse-fraction or drop the arm.')


def _adapter(args, root: str, work: str, name: str, ann: str, fingerprint: str) -> tuple:
    """The recorded adapter (train it if absent): (record, config, checkpoint)."""
    from mmengine.config import Config

    from ..config_package import config_dir
    from ..runner_utils import set_coco_data_root, set_iterations
    own = args.adapter_data == 'protocol'
    cfg = Config.fromfile(osp.join(
        config_dir(), PROTOCOL_ADAPTER_CONFIGS[name] if own else ADAPTER_CONFIG))
    set_coco_data_root(cfg, root, ann if own else None)  # not own: toy train, as shipped
    adir = osp.join(work, name) if own else args.work_dir
    path = osp.join(adir, 'adapter.json')
    rec = record(path)
    if rec is None and not own and args.adapter_iters is None:
        rec = _shipped_adapter(cfg, fingerprint, path)
    iters = args.adapter_iters or cfg.train_cfg.max_iters
    set_iterations(cfg, iters)
    ckpt = osp.join(adir, 'adapter', f'iter_{iters}.pth')
    if rec is None:
        print(f'[quality/{name}] training the Detection-Adapter ({iters} it) into {adir}')
        t0 = time.time()
        _, metrics = train_and_test(cfg, osp.join(adir, 'adapter'), seed=0)
        rec = record(path, dict(checkpoint=ckpt, iters=iters, test=metrics,
                                data='protocol' if own else 'full', ldm_fingerprint=fingerprint,
                                seconds=round(time.time() - t0, 1)))
    check_ldm(rec, fingerprint, path)
    return rec, cfg, rec['checkpoint']


def _shipped_adapter(cfg, fingerprint: str, path: str) -> dict | None:
    """Record the adapter shipped in the package (``make adapter``) when it is this recipe's
    on this data and LDM, instead of training the same one again; None otherwise."""
    from ..shipped_weights import shipped_adapter
    try:
        ckpt, meta = shipped_adapter(cfg, ADAPTER_CONFIG)
    except FileNotFoundError as e:
        print(f'[quality] training the adapter: {e}')
        return None
    if (meta.get('ldm') or {}).get('fingerprint') != fingerprint:
        print(f"[quality] training the adapter: the shipped one was trained on the LDM "
              f"{meta.get('ldm')}, not {fingerprint}")
        return None
    print(f'[quality] the Detection-Adapter shipped in the package: {ckpt}')
    return record(path, dict(checkpoint=ckpt, iters=meta.get('iterations'),
                             test=meta.get('test_metrics'), data='full', source='package',
                             ldm_fingerprint=fingerprint, seconds=0.0))


def check_ldm(rec: dict, fingerprint: str, path: str):
    theirs = rec.get('ldm_fingerprint')
    if theirs is not None and theirs != fingerprint:
        raise RuntimeError(f'{path} was recorded on another LDM (fingerprint {theirs}, now '
                           f'{fingerprint}): use another --work-dir for this LDM.')


def protocol(args, name: str, root: str, fingerprint: str) -> dict:
    """One DE protocol (``sparse`` or ``full``), its steps recorded under ``--work-dir``."""
    from mmengine.runner import load_checkpoint

    from mmdet.registry import MODELS

    from ..config_package import config_dir
    from ..synthesis import synthesize_with_config
    fraction = args.sparse_fraction if name == 'sparse' else PROTOCOLS[name]
    arms = args.arms or list(DEFAULT_ARMS[name])
    unknown = set(arms) - set(ARMS)
    if unknown:
        raise ValueError(f'unknown arms {sorted(unknown)}; choose from {list(ARMS)}')
    work = osp.join(args.work_dir, name)
    train_ann = root + 'annotations/instances_train.json'
    ann = train_ann
    if fraction < 1:
        ann = osp.join(work, 'real_subset', 'instances_train.json')
        if not osp.isfile(ann):
            write_subset(train_ann, ann, fraction, seed=0)
    with open(ann) as f:
        real_ids = {im['id'] for im in json.load(f)['images']}
    with open(train_ann) as f:
        unlabelled = len(json.load(f)['images']) - len(real_ids)
    n_real = len(real_ids)
    scale = max([ARMS[a].get('scale', 0) for a in arms] + [0])
    if scale and args.synth_per_real:  # one run for arms split over several invocations
        scale = max(scale, args.synth_per_real)
    num_synth = int(round(scale * n_real * (1 + args.synth_margin)))
    check_arm_sizes(arms, n_real, None, unlabelled)
    print(f'[quality/{name}] real data: {n_real} images ({fraction:.0%} of toy train); '
          f'arms {arms}')

    # 1. the Detection-Adapter (one, on 100 % of toy train, for both protocols)
    adapter, cfg, ckpt = _adapter(args, root, work, name, ann, fingerprint)

    # 2. synthesis from the protocol's references (resumable by itself)
    synth_dir = osp.join(work, 'synthetic')
    syn_path = osp.join(work, 'synthesis.json')
    synthesis = record(syn_path)
    if synthesis is None and scale:
        model = MODELS.build(cfg.model)
        load_checkpoint(model, ckpt, map_location='cpu')
        print(f'[quality/{name}] synthesizing {num_synth} images into {synth_dir}')
        t0 = time.time()
        summary = synthesize_with_config(
            model, cfg.metainfo['classes'], osp.join(config_dir(), SYNTH_CONFIG), synth_dir,
            num_synth, ckpt, reference=dict(
                ann_file=ann, img_dir=root + 'train/',
                caption_file=root + 'annotations/captions_train.json'),
            encode_ratio=tuple(args.encode_ratio) if args.encode_ratio else None,
            score_thr=args.delta, num_inference_steps=getattr(args, 'steps', None))
        synthesis = record(syn_path, dict(
            dir=synth_dir, items=num_synth, images=summary['images'], boxes=summary['boxes'],
            skipped_negatives=summary.get('skipped_negatives'), ldm_fingerprint=fingerprint,
            seconds=round(time.time() - t0, 1)))
        del model
    if synthesis is not None:
        check_ldm(synthesis, fingerprint, syn_path)
        check_arm_sizes(arms, n_real, lambda r: usable_images(
            osp.join(synth_dir, 'annotations.json'), args.delta, r), None)

    # 2b. the label study: the same images labelled in three feature regimes
    study = None
    if args.label_study_images and name == 'sparse':
        study_path = osp.join(work, 'label_study.json')
        study = record(study_path)
        if study is None:
            from ..evaluation import load_judge
            model = MODELS.build(cfg.model)
            load_checkpoint(model, ckpt, map_location='cpu')
            study = record(study_path, dict(label_study(
                model, cfg.metainfo['classes'], ckpt, ann, root, osp.join(work, 'label_study'),
                SYNTH_CONFIG, args.label_study_images, load_judge(args.judge, root), dict(
                    encode_ratio=tuple(args.encode_ratio) if args.encode_ratio else None,
                    score_thr=args.delta, num_inference_steps=getattr(args, 'steps', None))),
                ldm_fingerprint=fingerprint))
            del model

    # 3. controls: the adapter's labels on real images outside the subset
    pseudo = None
    k_pseudo = max([ARMS[a].get('pseudo', 0) for a in arms] + [0])
    if k_pseudo:
        pseudo_path = osp.join(work, 'pseudo.json')
        pseudo = record(pseudo_path) or record(pseudo_path, pseudo_label_real(
            cfg, ckpt, train_ann, root + 'train/', real_ids, k_pseudo * n_real,
            osp.join(work, 'pseudo', 'annotations.json'), args.delta))
    # the judge's annotation files over the synthesis run (recorded as <tag>.json): the judge
    # filter's subset and the oracle's labels; the judge is loaded once, if a record is missing
    step, judge = recorded_step(work, name), []

    def judge_annotations(tag, make):
        def run():
            from ..evaluation import load_judge
            judge[:] = judge or [load_judge(args.judge, root)]
            return make(judge[0], synth_dir, osp.join(synth_dir, f'annotations_{tag}.json'))
        return step(tag, run)

    judged = oracle = None
    if any(ARMS[a].get('judged') for a in arms):
        from ..evaluation.judge_filter import judged_subset
        judged = judge_annotations('judged', judged_subset)
    if any(ARMS[a].get('oracle') for a in arms):
        from .diffusion_engine_controls import label_threshold_curve, oracle_label_synthesis
        oracle = judge_annotations('oracle', oracle_label_synthesis)
        oracle['label_curve'] = step('label_curve', lambda: label_threshold_curve(  # vs adapter
            synth_dir, osp.join(synth_dir, 'annotations_oracle.json'), scale * n_real))

    # 4. the downstream detector, per arm and seed
    def configure(arm):
        spec = ARMS[arm]
        if 'pseudo' in spec:
            cfg = detector_config(root, ann, root, osp.abspath(pseudo['ann_file']), arm,
                                  min_score=args.delta)
            cfg.train_dataloader.dataset.synthetic.data_prefix = dict(img='train/')
            return cfg
        if 'scale' not in spec:
            return detector_config(root, ann)
        synth_ann = ('annotations_judged.json' if spec.get('judged') else
                     'annotations_oracle.json' if spec.get('oracle') else None)
        return detector_config(root, ann, synth_dir, synth_ann, arm,
                               max_images=spec['scale'] * n_real,
                               min_score=spec.get('min_score', args.delta),
                               encode_ratio_range=spec.get('encode_ratio'))

    def iters(arm):
        return max(1, int(round(args.det_iters / (1 + ARMS[arm].get('exposure', 0)))))
    runs = detector_runs(work, name, arms, args.seeds, iters, configure,
                         **run_sharing(args))
    return dict(real_images=n_real, adapter=adapter, synthesis=synthesis, pseudo=pseudo,
                judged=judged, oracle=oracle, label_study=study, runs=runs, summary=summarize(runs))


def markdown(name: str, p: dict) -> str:
    """One protocol's table: mean ± std per arm, Δ to ``real`` and whether it is > 2 s.e."""
    from .experiment import summary_table
    adapter = p['adapter'].get('test', {})
    syn = p.get('synthesis') or {}
    lines = [f"**{name}** ({p['real_images']} real images; adapter test mAP "
             f"{adapter.get('coco/bbox_mAP', float('nan')):.3f} ({p['adapter'].get('data')}); "
             f"{syn.get('images', 0)} synthetic images kept of {syn.get('items', 0)}, "
             f"{syn.get('boxes', 0)} boxes"
             + (f"; pseudo-labelled real: {p['pseudo']['images']}" if p.get('pseudo') else '')
             + ')', ''] + summary_table(p['summary'])
    study = p.get('label_study')
    if study:
        lines += ['', f"label study: the same {study['images']} images (identical: "
                  f"{study['same_images']}), labels vs the judge", '',
                  '| labels from | precision | recall | mAP | boxes |',
                  '| --- | --- | --- | --- | --- |']
        for k, r in study['regimes'].items():
            lines.append(f"| {k} | {r['precision']:.3f} | {r['recall']:.3f} | {r['mAP']:.3f} | "
                         f"{r['boxes']} |")
    return '\n'.join(lines + [''])


def add_arguments(p):
    g = p.add_argument_group('DiffusionEngine protocols (sparse, full)')
    g.add_argument('--arms', nargs='+', default=None,
                   help='arms of every DE protocol (default: sparse: '
                   f'{" ".join(DEFAULT_ARMS["sparse"])}; full: {" ".join(DEFAULT_ARMS["full"])}'
                   f'); all: {" ".join(ARMS)}')
    g.add_argument('--adapter-data', choices=('full', 'protocol'), default='full',
                   help='full (the paper: one adapter on 100 %% of toy train labels both '
                   'protocols) or protocol (an adapter on each protocol\'s own data)')
    g.add_argument('--adapter-iters', type=int, default=None,
                   help='Detection-Adapter iterations (default: its config\'s; then the '
                   'full-data adapter shipped in the package is used when it was made by this '
                   'recipe on this data and LDM, instead of training it again)')
    g.add_argument('--sparse-fraction', type=float, default=PROTOCOLS['sparse'],
                   help='the real fraction of the data-sparse protocol')
    g.add_argument('--synth-per-real', type=int, default=None,
                   help='synthesize for this scale even if the arms asked need less (arms '
                   'split over several invocations share one synthesis run)')
    g.add_argument('--synth-margin', type=float, default=0.15,
                   help='extra synthesis items for the images dropped without a box')
    g.add_argument('--delta', type=float, default=0.3,
                   help='the adapter\'s box score threshold (synthesis and pseudo-labels)')
    g.add_argument('--encode-ratio', type=float, nargs=2, default=None,
                   help='encode ratio range (default: the toy synthesis config\'s)')
    g.add_argument('--label-study-images', type=int, default=0,
                   help='sparse: label this many images three ways (final call, adapter '
                   'regime, decoded image) and grade each against the judge (0: skip)')
    g.add_argument('--judge', default=None,
                   help='judge config (the judged and oracle arms, the label study)')
