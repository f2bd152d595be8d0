"""``tools/benchmark.py fidelity``: does the LDM draw what it is asked, and are labels right?

Graded by the judge detector (:mod:`diffdet_plugin.evaluation.judge`) on a toy-shapes
split (``test`` by default: the held-out split; tune on ``val``):

1. the judge's bbox mAP on the real images of the split (the ceiling);
2. per LDM (``--ldm``, repeatable, ``NAME=SOURCE`` to name it): text-to-image precision /
   recall of the judge's detections (score ≥ ``--score-thr``) against the classes each
   caption names, and img2img layout fidelity at each ``--ratios`` r (judge mAP on images
   made from the split's references at r ÷ the judge's mAP on the references);
3. per synthesis run (``--synthesis``, repeatable, ``NAME=DIR``): label fidelity, its
   labels against the judge's detections on its images (precision, recall at IoU 0.5,
   mAP);
4. per layout-conditioned run (``--layout-run``, repeatable or comma-separated,
   ``NAME=DIR``; a DetDiffusion ``tools/synthesize.py`` output): DetDiffusion's evaluation,
   the layout-to-image score (the "YOLO score" protocol, with any mmdet detector: the judge
   by default, or ``--layout-detector CONFIG --layout-checkpoint CKPT``): the detector's bbox
   mAP / mAP_50 / mAP_75 (mmdet ``CocoMetric``) on the generated images with the run's
   conditioning layouts as ground truth, categories matched by name
   (:func:`~diffdet_plugin.evaluation.fidelity.layout_score`); and, with ``--fid-reference``
   (a folder of real images) and ``--inception`` (a local TorchScript Inception,
   NVIDIA's ``inception-2015-12-05.pt``), the FID of the generated images against the real
   ones (:mod:`diffdet_plugin.evaluation.fid`).

The toy split and the judge are loaded only when something is graded by the judge (an LDM,
a synthesis run, or a layout run without ``--layout-detector``). Writes ``fidelity.json``,
``fidelity.md`` and one text-to-image sample grid per LDM (judge boxes drawn) into
``--out-dir``.

    python tools/benchmark.py fidelity --ldm old=work_dirs/toy_ldm_v1 --ldm new=embedded:toy \\
        --synthesis demo=work_dirs/demo/synthetic [--split test] [--num-images 200]
    python tools/benchmark.py fidelity --layout-run hard=work_dirs/dd_hard,work_dirs/dd_easy \\
        --layout-detector DET_CONFIG.py --layout-checkpoint DET.pth --device cuda \\
        --fid-reference data/coco/val2017 --inception ~/models/inception-2015-12-05.pt
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import time

from .fidelity_report import markdown
from .harness import finish_report


def _named(value: str, default_name: str) -> tuple[str, str]:
    if '=' in value and not value.startswith(('/', '.')):
        name, _, src = value.partition('=')
        return name, src
    return default_name, value


def _layout_runs(values) -> list[tuple[str, str]]:
    """``--layout-run`` values (repeated and / or comma-separated ``[NAME=]DIR``) →
    (name, dir) pairs; the default name is the folder's name (made unique)."""
    out = []
    for value in values or []:
        for item in (v.strip() for v in value.split(',')):
            if not item:
                continue
            name, d = _named(item, '')
            name = name or osp.basename(osp.normpath(d)) or 'layout'
            base, k = name, 1
            while name in {n for n, _ in out}:
                name, k = f'{base}-{k}', k + 1
            out.append((name, d))
    return out


def _check_layout_args(args, fail) -> list[tuple[str, str]]:
    """Validate the layout-run / detector / FID options before any long work."""
    from ..evaluation.fid import image_paths, inception_help
    from ..synthesis.coco_reader import SynthesisRun
    layout_runs = _layout_runs(args.layout_run)
    for name, d in layout_runs:
        if not SynthesisRun.is_run(d):
            fail(f'--layout-run {name}={d}: no annotations.json and images/ there; give the --out '
                 "folder of tools/synthesize.py with synthesis.mode='detdiffusion'")
    if bool(args.layout_detector) != bool(args.layout_checkpoint):
        fail('--layout-detector CONFIG and --layout-checkpoint CKPT go together (any mmdet '
             'detector; without both, the judge scores the layout runs)')
    if args.layout_detector:
        if not layout_runs:
            fail('--layout-detector scores --layout-run folders: give at least one')
        for flag, path in (('--layout-detector', args.layout_detector),
                           ('--layout-checkpoint', args.layout_checkpoint)):
            if not osp.isfile(path):
                fail(f'{flag} {path!r} does not exist')
    if args.fid_reference or args.inception:
        if not layout_runs:
            fail('--fid-reference / --inception: FID is computed for --layout-run folders; '
                 'give at least one')
        if not args.inception:
            fail(f'--fid-reference needs --inception PATH: {inception_help()}')
        if not args.fid_reference:
            fail('--inception needs --fid-reference DIR: the real images to compare with (a '
                 'folder of images, e.g. data/coco/val2017, or a COCO folder with '
                 'annotations.json and images/)')
        if not osp.isfile(args.inception):
            fail(f'--inception {args.inception!r} does not exist. {inception_help()}.')
        try:
            image_paths(args.fid_reference, args.fid_max_images)
        except FileNotFoundError as e:
            fail(f'--fid-reference: {e}')
    return layout_runs


def _check_layout_classes(layout_runs, classes, detector_name, fail):
    """Every layout run shares at least one category (by name) with the detector."""
    from ..synthesis.coco_reader import SynthesisRun
    for name, d in layout_runs:
        cats = list(SynthesisRun(d).classes)
        if not set(cats) & set(classes):
            fail(f'--layout-run {name}={d}: none of its categories {cats} is a class of the '
                 f'detector {detector_name} {list(classes)} (matched by name)')


def run(args, parser=None) -> dict:
    import torch
    from mmengine.utils import ProgressBar

    from ..evaluation import judge as judge_lib
    from ..evaluation.fid import (feature_statistics, frechet_distance, image_paths,
                                  inception_features, iter_images, load_inception)
    from ..evaluation.fidelity import (detector_classes, img2img_fidelity, judge_map,
                                       label_fidelity, layout_score, load_split,
                                       text_to_image_fidelity)
    from ..ldm import FrozenLDM, LDMLoadError
    from ..synthesis.coco_reader import SynthesisRun
    from ..synthesis.contact_sheet import draw_detection_grid
    from ..utils.fileio import file_sha256

    def fail(msg):
        if parser is not None:
            parser.error(msg)
        raise ValueError(msg)

    def bar_progress(n):
        bar = ProgressBar(n)
        return lambda k: [bar.update() for _ in range(k)]

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    layout_runs = _check_layout_args(args, fail)
    # no --ldm: embedded:toy, unless only synthesis / layout runs are to be graded
    default = [] if args.synthesis or layout_runs else ['embedded:toy']
    ldms = [_named(v, f'ldm{i}') for i, v in enumerate(args.ldm or default)]
    syn_dirs = [_named(v, f'run{i}') for i, v in enumerate(args.synthesis or [])]
    for name, d in syn_dirs:
        if not SynthesisRun.is_run(d):
            fail(f'--synthesis {name}={d}: no annotations.json and images/ there; give the --out '
                 'folder of tools/synthesize.py')
    use_judge = bool(ldms or syn_dirs or (layout_runs and not args.layout_detector))
    os.makedirs(args.out_dir, exist_ok=True)
    inception = layout_det = None
    if args.inception:  # loaded first: a broken file fails before any long work
        try:
            inception = load_inception(args.inception, args.device)
        except (FileNotFoundError, ValueError) as e:
            fail(str(e))
    if args.layout_detector:
        from mmdet.apis import init_detector
        layout_det = init_detector(args.layout_detector, args.layout_checkpoint,
                                   device=args.device)
        try:
            det_classes = detector_classes(layout_det)
        except ValueError as e:
            fail(f'--layout-detector {args.layout_detector}: {e}')
        _check_layout_classes(layout_runs, det_classes, args.layout_detector, fail)
    split = judge = real = None
    models = {}
    if use_judge:
        try:
            split = load_split(args.data_root, args.split, args.num_images)
        except (FileNotFoundError, ValueError) as e:
            fail(str(e))
        from ..datasets.toy_shapes import TOY_SHAPES_CLASSES
        try:
            judge_cfg = judge_lib._load_cfg(args.judge, args.data_root)
        except FileNotFoundError as e:
            fail(str(e))
        classes = tuple(judge_cfg.get('metainfo', {}).get('classes', ()))
        if classes != TOY_SHAPES_CLASSES:
            fail(f'the judge {args.judge} detects {list(classes)}, but the data has '
                 f'{list(TOY_SHAPES_CLASSES)}: give a judge config trained on all toy classes '
                 f'(default {judge_lib.DEFAULT_JUDGE})')
        if layout_det is None:
            _check_layout_classes(layout_runs, classes, 'the judge', fail)
        for name, src in ldms:  # every LDM loads before any long work starts
            try:
                models[name] = FrozenLDM.build(pretrained=src)
            except LDMLoadError as e:
                fail(f'--ldm {name}={src}: {e}')
        judge = judge_lib.load_judge(args.judge, args.data_root, device=args.device,
                                     train_if_missing=not args.no_train)
        real = judge_map(judge, split['images'], split['gts'])
        print(f"[fidelity] judge {judge.checkpoint} ({judge.source}); real {args.split} mAP "
              f"{real['mAP']:.3f} on {len(split['images'])} images")
    result = dict(bench='fidelity', args=dict(
        split=args.split, num_images=args.num_images, ratios=args.ratios, steps=args.steps,
        colourless=args.colourless, gate=args.gate, gate_pairs=args.gate_pairs,
        pair_shapes=args.pair_shapes, guidance=args.guidance,
        score_thr=args.score_thr, seed=args.seed,
        layout_detector=args.layout_detector, layout_checkpoint=args.layout_checkpoint,
        max_layout_images=args.max_layout_images, fid_reference=args.fid_reference,
        inception=args.inception, fid_max_images=args.fid_max_images, device=args.device),
        num_images=len(split['images']) if split else None,
        judge=None if judge is None else dict(
            config=judge_lib.resolve_config(args.judge), checkpoint=judge.checkpoint,
            key=judge.key, source=judge.source, real_mAP=real['mAP'], real=real),
        ldms={}, synthesis={}, layout={}, torch_threads=torch.get_num_threads())
    n = len(split['images']) if split else 0
    for name, src in ldms:
        ldm = models.pop(name)
        t1 = time.time()
        print(f'[fidelity] {name} ({src}): text-to-image, {n} captions')
        t2i = text_to_image_fidelity(ldm, judge, split['captions'], args.seed, args.steps,
                                     args.guidance, args.score_thr, args.batch_size,
                                     progress=bar_progress(n))
        grid_n = min(16, n)
        dets = judge.detect(t2i['images'][:grid_n], score_thr=args.score_thr)
        grid = draw_detection_grid(t2i['images'][:grid_n], dets, judge.classes,
                                   osp.join(args.out_dir, f'text_to_image_{name}.png'))
        rec = dict(source=src, fingerprint=ldm.fingerprint,
                   text_to_image={k: v for k, v in t2i.items() if k != 'images'},
                   text_to_image_grid=grid, img2img={})
        if args.colourless:
            from ..datasets.toy_shapes import caption_for
            plain = [caption_for(o, colour=False) for o in split['objects']]
            print(f'\n[fidelity] {name}: text-to-image, {n} colourless captions')
            res = text_to_image_fidelity(ldm, judge, plain, args.seed, args.steps,
                                         args.guidance, args.score_thr, args.batch_size,
                                         progress=bar_progress(n))
            rec['text_to_image_colourless'] = {k: v for k, v in res.items() if k != 'images'}
        if args.gate:
            from ..datasets.toy_shapes import TOY_SHAPES_CLASSES
            from ..evaluation.calibration import generator_gate
            print(f'\n[fidelity] {name}: generator gate, {args.gate} single-object prompts '
                  'per class')
            rec['generator_gate'] = generator_gate(
                ldm, judge, TOY_SHAPES_CLASSES, args.gate, args.seed, args.steps, args.guidance,
                args.score_thr, args.batch_size,
                progress=bar_progress(args.gate * len(TOY_SHAPES_CLASSES)))
        if args.gate_pairs:
            rec['pair_gate'] = pair_gate(ldm, judge, args, bar_progress)
        for r in args.ratios:
            print(f'\n[fidelity] {name}: img2img at encode ratio {r}')
            res = img2img_fidelity(ldm, judge, split, r, real['mAP'], args.seed, args.steps,
                                   args.guidance, args.batch_size, progress=bar_progress(n))
            rec['img2img'][str(r)] = {k: v for k, v in res.items() if k != 'images'}
        rec['seconds'] = round(time.time() - t1, 1)
        result['ldms'][name] = rec
        print(f"\n[fidelity] {name}: t2i P {t2i['precision']:.3f} R {t2i['recall']:.3f}; "
              + ', '.join(f"r={r}: {rec['img2img'][str(r)]['fidelity']:.3f}"
                          for r in args.ratios))
        del ldm
    for name, d in syn_dirs:
        res = label_fidelity(judge, d, args.score_thr, args.max_synthesis_images)
        result['synthesis'][name] = dict(res, dir=d)
        print(f"[fidelity] labels of {name}: P {res['precision']:.3f} R {res['recall']:.3f} "
              f"mAP {res['mAP']:.3f} ({res['images']} images)")
    if layout_runs:
        det = judge if layout_det is None else layout_det
        det_classes = detector_classes(det)
        result['layout_detector'] = dict(
            source='judge' if layout_det is None else 'mmdet',
            config=judge_lib.resolve_config(args.judge) if layout_det is None
            else args.layout_detector,
            checkpoint=judge.checkpoint if layout_det is None else args.layout_checkpoint,
            classes=list(det_classes))
        ref_stats = None
        if inception is not None:
            paths = image_paths(args.fid_reference, args.fid_max_images)
            print(f'[fidelity] FID reference: Inception features of {len(paths)} images in '
                  f'{args.fid_reference}')
            feats = inception_features(inception, iter_images(paths), args.batch_size,
                                       progress=bar_progress(len(paths)))
            ref_stats = feature_statistics(feats)
            result['fid_reference'] = dict(dir=args.fid_reference, images=len(paths),
                                           inception=args.inception,
                                           inception_sha256=file_sha256(args.inception),
                                           feature_dim=int(feats.shape[1]))
        for name, d in layout_runs:
            t1 = time.time()
            num = len(image_paths(d, args.max_layout_images))
            print(f'\n[fidelity] layout run {name} ({d}): detector on {num} images')
            rec = dict(layout_score(d, det, det_classes, args.max_layout_images,
                                    args.batch_size, progress=bar_progress(num)), dir=d)
            if ref_stats is not None:
                paths = image_paths(d, args.max_layout_images)
                print(f'\n[fidelity] layout run {name}: Inception features of {len(paths)} '
                      'images')
                feats = inception_features(inception, iter_images(paths), args.batch_size,
                                           progress=bar_progress(len(paths)))
                rec.update(fid=frechet_distance(*feature_statistics(feats), *ref_stats),
                           fid_images=len(paths))
            rec['seconds'] = round(time.time() - t1, 1)
            result['layout'][name] = rec
            fid_msg = f" FID {rec['fid']:.2f}" if 'fid' in rec else ''
            print(f"\n[fidelity] layout run {name}: mAP {rec['mAP']:.3f} mAP_50 "
                  f"{rec['mAP_50']:.3f} mAP_75 {rec['mAP_75']:.3f}{fid_msg} "
                  f"({rec['images']} images, {len(rec['classes_scored'])} classes scored)")
    return finish_report(osp.join(args.out_dir, 'fidelity.json'), result, markdown(result), t0)


def pair_gate(ldm, judge, args, progress=None) -> dict:
    """The pair-level generator gate (InstaGen Tier B, issue #20) and the split it picks:
    ``recall`` per colour-shape pair, ``split`` (``choose_pair_split``) or ``split_error``
    when no pair per colour passes."""
    from ..datasets.colour_shape import choose_pair_split, pair_classes
    from ..datasets.toy_shapes import TOY_SHAPES_COLORS
    from ..evaluation.calibration import generator_gate
    from ..evaluation.colour_shape_judge import ColourShapeJudge
    colours, shapes = tuple(TOY_SHAPES_COLORS), tuple(args.pair_shapes)
    classes = pair_classes(colours, shapes)
    print(f'\n[fidelity] pair-level generator gate: {args.gate_pairs} prompts per pair, '
          f'{len(classes)} pairs')
    res = generator_gate(ldm, ColourShapeJudge(judge, colours, shapes), classes, args.gate_pairs,
                         args.seed, args.steps, args.guidance, args.score_thr, args.batch_size,
                         progress=progress and progress(args.gate_pairs * len(classes)))
    out = dict(res, colours=list(colours), shapes=list(shapes))
    try:
        out['split'] = {k: list(v) for k, v in choose_pair_split(res['recall'], colours,
                                                                   shapes).items()}
    except ValueError as e:
        out['split_error'] = str(e)
    return out


def add_parser(subparsers):
    from ..evaluation.fid import INCEPTION_URL
    p = subparsers.add_parser(
        'fidelity', help='judge-graded text-to-image and img2img fidelity of LDMs, label '
        'fidelity of synthesis runs (toy scale); layout-to-image score and FID of layout runs',
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--ldm', action='append', metavar='[NAME=]SOURCE',
                   help='an LDM (hub id, diffusers folder, single file, embedded:toy); '
                   'repeat to compare (default embedded:toy, none when --synthesis or '
                   '--layout-run is given)')
    p.add_argument('--synthesis', action='append', metavar='[NAME=]DIR',
                   help='a tools/synthesize.py output folder whose labels to grade; repeatable')
    p.add_argument('--layout-run', action='append', metavar='[NAME=]DIR[,...]',
                   help='a DetDiffusion tools/synthesize.py output folder (its annotations are '
                   'the conditioning layouts): layout-to-image score (+ FID); repeatable or '
                   'comma-separated (default name: the folder name)')
    p.add_argument('--layout-detector', metavar='CONFIG',
                   help='mmdet detector config scoring the layout runs (default: the judge); '
                   'with --layout-checkpoint; its classes are matched to the runs\' by name')
    p.add_argument('--layout-checkpoint', metavar='CKPT',
                   help='weights of --layout-detector')
    p.add_argument('--max-layout-images', type=int, default=None,
                   help='score the first N images (by id) of each layout run')
    p.add_argument('--fid-reference', metavar='DIR',
                   help='real images for FID of the layout runs: a folder of images (searched '
                   'recursively) or a COCO folder (annotations.json + images/); needs '
                   '--inception')
    p.add_argument('--inception', metavar='PATH',
                   help='local TorchScript Inception feature extractor, NVIDIA\'s '
                   f'inception-2015-12-05.pt (from {INCEPTION_URL}); nothing is downloaded')
    p.add_argument('--fid-max-images', type=int, default=None,
                   help='use the first N reference images (sorted) for FID')
    p.add_argument('--device', default='cpu',
                   help='device of the judge, --layout-detector and the Inception model')
    p.add_argument('--judge', default=None,
                   help='judge detector config (default configs/judge/fcos_r18-half_fpn_2000it_'
                   'toy-shapes.py)')
    p.add_argument('--no-train', action='store_true',
                   help='fail instead of training the judge when no weights match')
    p.add_argument('--data-root', default='data/toy_shapes')
    p.add_argument('--split', default='test', choices=('val', 'test'),
                   help='test (held out, for reporting) or val (for tuning)')
    p.add_argument('--num-images', type=int, default=200, help='first N images of the split')
    p.add_argument('--max-synthesis-images', type=int, default=None)
    p.add_argument('--ratios', type=float, nargs='+', default=[0.3, 0.6, 0.9],
                   help='img2img encode ratios')
    p.add_argument('--colourless', action='store_true',
                   help='also grade text-to-image on the same captions without colours '
                   '("a photo of a circle and two squares"), reported separately')
    p.add_argument('--gate', type=int, default=0, metavar='N',
                   help='also the generator gate: per-class recall from N single-object '
                   'prompts per class, "a photo of a {colour} {class}" (InstaGen, issue #20)')
    p.add_argument('--gate-pairs', type=int, default=0, metavar='N',
                   help='also the pair-level generator gate of InstaGen\'s Tier B: recall of '
                   'each colour-shape pair from N prompts "a photo of a {colour} {shape}", '
                   'graded by the judge with the colour read from the pixels, and the split it '
                   'picks (one novel pair per colour; issue #20)')
    from ..datasets.colour_shape import DRAWABLE_SHAPES
    p.add_argument('--pair-shapes', nargs='+', default=list(DRAWABLE_SHAPES),
                   help='the shapes of the Tier B pairs (default: the five that pass the '
                   'shape-level gate on LDM v3; hexagon does not)')
    p.add_argument('--steps', type=int, default=30, help='DPM-Solver++ steps')
    p.add_argument('--guidance', type=float, default=5.0, help='classifier-free guidance scale')
    p.add_argument('--score-thr', type=float, default=0.5, help='judge score threshold')
    p.add_argument('--batch-size', type=int, default=16,
                   help='images per LDM, detector and Inception call')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    p.add_argument('--out-dir', default='work_dirs/bench_fidelity')
    p.set_defaults(func=run, parser=p)
    return p
