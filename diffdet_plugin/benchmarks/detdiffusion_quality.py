"""The DetDiffusion rows of ``tools/benchmark.py quality``: fidelity and trainability at toy scale.

The paper's two tables on the toy world, every step a shipped config, gated by the pipeline
probes (docs/detdiffusion.md):

0. **probe A**: the L2I model overfits ``--dd-probe-layouts`` (8) toy train layouts for
   ``--dd-probe-a-iters`` (240) iterations, at the default location-token scale (``auto``)
   and at scale 1 (the control); pass: location-token gap ≥ 0.10
   (:func:`~diffdet_plugin.evaluation.layout_probe.location_token_gap`). **Probe B**: the
   same layouts for ``--dd-probe-b-iters`` (1200) iterations, saved as a diffusers folder and
   loaded back; it draws each layout and each layout with another image's location tokens,
   and the judge says where the objects are: pass when the named class is found at IoU > 0.5
   with its own box in ≥ 7 of 8, and with swapped tokens at the new box in ≥ 6 of 8 and at the
   old box in ≤ 1. ``--dd-probes-only`` stops after them;
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
``<work-dir>/detdiffusion/`` and a rerun skips it. ``--lane I N`` splits the four rows'
fine-tunes (row k when k % N == I; a lane stops before fidelity until every row is recorded)
and step 4's detector runs over N processes; record the shared steps (attributes) first.
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
    from .experiment import recorded_step, train_only, write_subset
    work = osp.abspath(osp.join(args.work_dir, 'detdiffusion'))  # (the L2I dataset reads
    # attribute files relative to its data_root: every path here is absolute)
    step = recorded_step(work, 'detdiffusion')
    ann = {s: root + f'annotations/instances_{s}.json' for s in ('train', 'test')}
    ann['real10'] = osp.join(work, 'real10', 'instances_train.json')
    img_dir = {'train': root + 'train/', 'test': root + 'test/', 'real10': root + 'train/'}

    # 1. the weak attribute detector and its attributes
    from ..config_package import config_dir
    detector_cfg = args.dd_attribute_detector or osp.join(config_dir(), ATTRIBUTE_DETECTOR)
    probes = {}
    if 'a' in args.dd_probes:
        probes['a'] = step('probe_a', lambda: probe_a(args, root))
    if 'b' in args.dd_probes:
        probes['b'] = step('probe_b', lambda: probe_b(args, root, osp.join(work, 'probe_b')))
    if args.dd_probe_d:
        probes['d'] = {arm: step(f'probe_d_{arm}', lambda a=arm: probe_d(args, root, a))
                       for arm in args.dd_probe_d}
    if args.dd_probes_only:
        return dict(probes=probes)
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
    # with --lane I N, this process trains rows k % N == I (numbered in DD_CONFIGS order) and
    # reads the others' records: N lanes train the rows side by side
    lane = getattr(args, 'lane', None)
    wanted = [row for row in DD_CONFIGS if row in args.dd_rows]
    rows = {row: train_row(row) for k, row in enumerate(wanted)
            if lane is None or k % lane[1] == lane[0]
            or osp.isfile(osp.join(work, f'l2i_{row}.json'))}
    if len(rows) < len(wanted):  # another lane's row is not finished yet
        print(f"[quality/detdiffusion] lane {lane[0]} of {lane[1]}: rows "
              f"{[r for r in wanted if r not in rows]} are another lane's and not recorded "
              'yet; stopping before fidelity (rerun when they are)', flush=True)
        return dict(probes=probes, attribute_detector=det, attributes=attr_recs, rows=rows)

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
            if args.steps:
                syn['num_inference_steps'] = args.steps
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
    from .experiment import detector_runs, run_sharing
    runs = detector_runs(work, 'detdiffusion', args.dd_arms, args.seeds, args.det_iters,
                         lambda arm: detector_config(root, ann['real10'], None if arm == 'real10'
                                                     else data[arm]['dir'], arm='real+de-1to1'),
                         **run_sharing(args))
    return dict(probes=probes, attribute_detector=det, attributes=attr_recs, rows=rows,
                fidelity=fidelity, generated=data, runs=runs)


def add_arguments(p):
    """This protocol's options (``tools/benchmark.py quality``)."""
    dd = p.add_argument_group('detdiffusion protocol')
    dd.add_argument('--dd-attribute-detector', default=None,
                    help='config of the P.A. Attr detector (default: the weak 300-iteration '
                    'judge recipe, configs/judge/fcos_r18-half_fpn_300it_toy-shapes.py)')
    dd.add_argument('--dd-gamma', type=float, default=0.3, help='P.A. Attr score threshold')
    dd.add_argument('--dd-beta', type=float, default=0.5, help='P.A. Attr IoU threshold')
    dd.add_argument('--dd-l2i-iters', type=int, default=12000,
                    help='iterations of each ablation row\'s L2I fine-tuning (the configs\' 12000)')
    dd.add_argument('--dd-fidelity-layouts', type=int, default=200,
                    help='toy test layouts each row generates for the fidelity table')
    dd.add_argument('--dd-per-layout', type=int, default=2,
                    help='generated images per 10 %% layout and strategy (trainability)')
    dd.add_argument('--dd-rows', nargs='+', default=['l2i', 'pa-attr', 'pa-loss', 'detdiffusion'],
                    choices=['l2i', 'pa-attr', 'pa-loss', 'detdiffusion'],
                    help='ablation rows to train and score (default: all four)')
    dd.add_argument('--dd-arms', nargs='+', default=None,
                    help='trainability arms (default: real10, real10+origin/easy/hard)')
    dd.add_argument('--dd-probe-layouts', type=int, default=8,
                    help='toy train layouts the probes overfit')
    dd.add_argument('--dd-probe-a-iters', type=int, default=240)
    dd.add_argument('--dd-probe-b-iters', type=int, default=1200)
    dd.add_argument('--dd-probes', nargs='*', default=['a', 'b'], choices=['a', 'b'],
                    help='which of probes A and B to run first (default both; the full '
                    'protocol needs them passed in spirit, see docs/detdiffusion.md)')
    dd.add_argument('--dd-probe-d', nargs='*', default=[], metavar='N[+OPTION]',
                    help='probe D arms: the location-token gap after training on N train '
                    'layouts (+fg: with foreground re-weighting; +teK: the text encoder at K x '
                    'the lr; +tokK: the location-token rows alone at K x the lr; +mask: the '
                    'control given the layout as pixels too), e.g. '
                    '8 64 512 4000 512+fg 512+te10 512+tok30 512+mask')
    dd.add_argument('--dd-probe-d-iters', type=int, default=1200)
    dd.add_argument('--dd-probe-d-batch', type=int, default=8)
    dd.add_argument('--dd-probes-only', action='store_true',
                    help='stop after the probes (minutes, before any long run)')


def _probe_dataset(root: str, split: str = 'train', image_size=None):
    """The L2I config's layout dataset on ``split``, unshuffled and unflipped (seed 0), at the
    config's image size or ``image_size`` (W, H)."""
    from mmdet.registry import DATASETS
    ds = dict(_config(DD_CONFIGS['l2i']).train_dataloader.dataset, data_root=root,
              shuffle_objects=False, hflip_prob=0.0, seed=0,
              ann_file=f'annotations/instances_{split}.json', img_dir=f'{split}/')
    if image_size is not None:
        ds['image_size'] = tuple(image_size)
    return DATASETS.build(ds)


def _probe_model(root: str, scale, n: int, image_size=None, **model_options):
    """The L2I toy model and ``n`` fixed train layouts (:func:`_probe_dataset`);
    ``model_options`` override the config's model (e.g. ``foreground_weight``)."""
    import torch

    from mmdet.registry import MODELS

    from ..evaluation.layout_probe import probe_batch
    dataset = _probe_dataset(root, 'train', image_size)
    torch.manual_seed(0)
    model = MODELS.build(dict(_config(DD_CONFIGS['l2i']).model, location_token_scale=scale,
                              latent_cache_size=0, **model_options))
    images, samples = probe_batch(dataset, range(n)) if n else (None, [])
    return model, dataset, images, samples


def probe_a(args, root: str) -> dict:
    """Probe A: the location-token gap after overfitting, default scale vs scale 1."""
    from ..evaluation.layout_probe import location_token_gap, overfit_layouts
    out = {}
    for scale in ('auto', 1.0):
        model, _, images, samples = _probe_model(root, scale, args.dd_probe_layouts)
        prompts = [s['prompt'] for s in samples]
        before = location_token_gap(model, images, prompts)['gap']
        overfit_layouts(model, images, samples, args.dd_probe_a_iters, log_every=40)
        after = location_token_gap(model, images, prompts)
        out[str(scale)] = dict(after, gap_before=before, passed=after['gap'] >= 0.10)
    return dict(out, layouts=args.dd_probe_layouts, iters=args.dd_probe_a_iters)


def probe_d(args, root: str, arm: str) -> dict:
    """Probe D, one arm: the location-token gap against the number of train layouts N.

    ``arm`` is ``'N'``, ``'N+fg'`` (GeoDiffusion's foreground re-weighting, weight 2),
    ``'N+teK'`` (the text encoder, location-token rows included, at K × the lr: the config's
    ``paramwise_cfg.custom_keys`` option; GeoDiffusion uses 0.75), ``'N+tokK'`` (the
    location-token rows alone at K × the lr, ``fit_layouts(token_lr_mult=K)``) or
    ``'N+mask'`` (the control:
    the same model also given the layout as pixels,
    :class:`~diffdet_plugin.evaluation.layout_probe.BoxMaskInput`). The model of probe A
    (scale ``auto``) trains ``--dd-probe-d-iters`` steps on random minibatches of
    ``--dd-probe-d-batch`` of the first N toy train layouts (no flip, objects unshuffled);
    the gaps are then measured on the first 8 of those train layouts (every arm's N includes
    them) and on the first 32 toy *val* layouts. Probe A is the point N = 8 with a fixed batch;
    probe C's run the point N = 4000 with the config's full recipe. The mask arm also reports
    the mask gap: the loss rise when each image gets the next image's masks (own prompts).
    """
    import re
    import statistics

    from ..evaluation.layout_probe import (BoxMaskInput, denoising_loss, fit_layouts,
                                           location_token_gap, probe_batch, sampled_batches)
    n_text, _, option = arm.partition('+')
    te = re.fullmatch(r'te(\d+(?:\.\d+)?)', option)
    tok = re.fullmatch(r'tok(\d+(?:\.\d+)?)', option)
    if not n_text.isdigit() or not (option in ('', 'fg', 'mask') or te or tok):
        raise ValueError(f'--dd-probe-d arm {arm!r}: write N, N+fg, N+teK, N+tokK or N+mask '
                         '(e.g. 512+fg, 512+te10, 512+tok30)')
    n = int(n_text)
    lr_mults = {'ldm.text_encoder': float(te.group(1))} if te else None
    token_lr_mult = float(tok.group(1)) if tok else None
    fg = 2.0 if option == 'fg' else None
    model, dataset, _, _ = _probe_model(root, 'auto', 0, foreground_weight=fg)
    control = (BoxMaskInput(model, len(dataset.metainfo['classes'])) if option == 'mask'
               else None)
    evals = dict(train=probe_batch(dataset, range(min(n, 8))),
                 val=probe_batch(_probe_dataset(root, 'val'), range(32)))

    def gaps():
        out = {}
        for split, (images, samples) in evals.items():
            prompts = [s['prompt'] for s in samples]
            if control is not None:
                control.use(samples)
            out[f'gap_{split}'] = location_token_gap(model, images, prompts)['gap']
            if control is not None:
                own = denoising_loss(model, images, prompts)
                control.use(samples[1:] + samples[:1])
                out[f'mask_gap_{split}'] = denoising_loss(model, images, prompts) / own - 1
        return out
    batch = min(n, args.dd_probe_d_batch)
    draw = sampled_batches(dataset, range(n), batch)

    def next_batch(i):
        images, samples = draw(i)
        if control is not None:
            control.use(samples)
        return images, samples
    before = gaps()
    history = fit_layouts(model, next_batch, args.dd_probe_d_iters, log_every=100,
                          lr_mults=lr_mults, token_lr_mult=token_lr_mult)
    return dict(gaps(), layouts=n, option=option or None, foreground_weight=fg,
                text_encoder_lr_mult=lr_mults and lr_mults['ldm.text_encoder'],
                token_lr_mult=token_lr_mult,
                iters=args.dd_probe_d_iters, batch_size=batch,
                epochs=round(args.dd_probe_d_iters * batch / n, 1),
                before={k: round(v, 5) for k, v in before.items()},
                final_loss=statistics.mean(history[-100:]))


def probe_b(args, root: str, out_dir: str) -> dict:
    """Probe B: generation overfit through the saved folder; own and swapped tokens."""
    import numpy as np

    from ..evaluation import load_judge
    from ..evaluation.layout_probe import overfit_layouts, swap_location_tokens
    from ..ldm import FrozenLDM
    model, dataset, images, samples = _probe_model(root, 'auto', args.dd_probe_layouts)
    overfit_layouts(model, images, samples, args.dd_probe_b_iters, log_every=100)
    model.save_pretrained(out_dir)
    ldm = FrozenLDM.build(pretrained=out_dir)
    judge = load_judge(args.judge, root)
    layouts = [dataset.layout_for(i) for i in range(args.dd_probe_layouts)]
    prompts = [lay['prompt'] for lay in layouts]
    swapped = swap_location_tokens(prompts)
    classes = list(dataset.metainfo['classes'])
    wanted = [[classes[int(k)] for k in lay['labels']] for lay in layouts]
    own_boxes = [np.asarray(lay['bboxes']).reshape(-1, 4) for lay in layouts]
    # object k of prompt i carries the tokens of object k (mod its count) of prompt i + 1
    new_boxes = [own_boxes[(i + 1) % len(layouts)][np.arange(len(own_boxes[i])) %
                                                   len(own_boxes[(i + 1) % len(layouts)])]
                 for i in range(len(layouts))]
    result = {}
    for name, ps in (('own', prompts), ('swapped', swapped)):
        dets = _draw_and_detect(ldm, ps, judge, dataset.image_size, args)
        result[name] = dict(
            at_own_box=sum(_found(d, w, b) for d, w, b in zip(dets, wanted, own_boxes)),
            at_new_box=sum(_found(d, w, b) for d, w, b in zip(dets, wanted, new_boxes)))
    n = args.dd_probe_layouts
    result['passed'] = bool(result['own']['at_own_box'] >= n - 1 and
                            result['swapped']['at_new_box'] >= n - 2 and
                            result['swapped']['at_own_box'] <= 1)
    return dict(result, layouts=n, iters=args.dd_probe_b_iters, ldm=osp.abspath(out_dir))


def _draw_and_detect(ldm, prompts, judge, size, args) -> list[dict]:
    """Draw ``prompts`` with the synthesis config's sampler; the judge's boxes (score ≥ 0.3)
    and class names per image."""
    from ..evaluation.layout_probe import draw_and_detect
    syn = _config(SYNTH_CONFIG).synthesis
    dets = draw_and_detect(ldm, prompts, judge.model,
                           args.steps or syn.get('num_inference_steps', 50),
                           syn.get('guidance_scale', 3.5), size, batch_size=len(prompts),
                           score_thr=0.3,
                           scheduler=syn.get('scheduler', 'DPMSolverMultistepScheduler'))
    return [dict(bboxes=d['bboxes'], names=[judge.classes[int(k)] for k in d['labels']])
            for d in dets]


def _found(det: dict, names: list[str], boxes, iou_thr: float = 0.5) -> bool:
    """Every object (``names[k]`` at ``boxes[k]``) has a detection of its class at IoU > thr."""
    import numpy as np

    from ..evaluation.fidelity import _iou
    det_boxes = np.asarray(det['bboxes'], np.float64).reshape(-1, 4)
    for name, box in zip(names, np.asarray(boxes, np.float64).reshape(-1, 4)):
        cand = det_boxes[[n == name for n in det['names']]]
        if not len(cand) or _iou(cand, box[None]).max() <= iou_thr:
            return False
    return True


def markdown(p: dict) -> str:
    """The two DetDiffusion tables: fidelity per ablation row, trainability per strategy."""
    from .experiment import summarize, summary_table
    lines = []
    if 'probes' in p:
        a, b = p['probes'].get('a'), p['probes'].get('b')
        if a or b:
            n = (a or b)['layouts']
            lines += [f"**detdiffusion: pipeline probes** ({n} toy train layouts)", '',
                      '| probe | setting | result | pass |', '| --- | --- | --- | --- |']
        for scale in ('auto', '1.0') if a else ():
            r = a[scale]
            lines.append(f"| A: location-token gap after {a['iters']} it (≥ 0.10) | scale "
                         f"{scale} | {r['gap']:.3f} (before {r['gap_before']:.3f}) | "
                         f"{'yes' if r['passed'] else 'no'} |")
        if b:
            lines.append(f"| B: generation overfit, {b['iters']} it "
                         f"(own ≥ {b['layouts'] - 1}, swapped new ≥ {b['layouts'] - 2}, "
                         f"old ≤ 1) | scale auto | own prompts: {b['own']['at_own_box']} at "
                         f"their box; swapped tokens: {b['swapped']['at_new_box']} at the new "
                         f"box, {b['swapped']['at_own_box']} at the old | "
                         f"{'yes' if b['passed'] else 'no'} |")
        if 'd' in p['probes']:
            lines += ['', '**probe D**: the location-token gap after training on N train layouts '
                      '(first 8 of them: train gap; 32 val layouts: held-out gap)', '',
                      '| N | option | iterations × batch (epochs) | token gap: train | held-out | '
                      'mask gap: train | held-out | final loss |',
                      '| --- | --- | --- | --- | --- | --- | --- | --- |']
            for r in p['probes']['d'].values():
                masks = (f"{r['mask_gap_train']:.4f} | {r['mask_gap_val']:.4f}"
                         if 'mask_gap_train' in r else '– | –')
                option = r.get('option') or ('fg' if r.get('foreground_weight') else '–')
                lines.append(f"| {r['layouts']} | {option} | "
                             f"{r['iters']} × {r['batch_size']} ({r['epochs']}) | "
                             f"{r['gap_train']:.4f} | {r['gap_val']:.4f} | {masks} | "
                             f"{r['final_loss']:.4f} |")
        lines.append('')
        if 'fidelity' not in p:
            return '\n'.join(lines)
    counts = p['attributes']['train']['counts']
    lines += [f"**detdiffusion: fidelity** (judge mAP of images generated from toy test "
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
              'of the same layouts; test bbox mAP)', '']
    lines += summary_table(summarize(p['runs'], base='real10'), base='real10')
    return '\n'.join(lines + [''])
