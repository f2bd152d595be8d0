"""The InstaGen rows of ``tools/benchmark.py quality``: novel-category AP at toy scale, in
two tiers (issue #20): ``--protocols instagen`` (Tier A: shapes as classes) and
``--protocols instagen-pairs`` (Tier B: colour × shape pairs, below).

The paper's ablation on the toy world's open-vocabulary split (4 base, 2 novel classes,
``configs/_base_/datasets/toy_shapes_ov_split.py``: novel = the classes the generator gate
passes), every step a shipped config:

1. the off-the-shelf detector: the judge restricted to the base classes (cached build);
1b. α: the lowest threshold at which the base judge's boxes on real val images are 99 %
   precise (recorded; ``--ig-alpha`` overrides): the paper's 0.8 was set for Mask R-CNN's
   saturated scores, an FCOS score is class × centerness;
2. the synthesizer: the embedded toy LDM fine-tuned on crops of base-class boxes
   (``--ig-finetune-iters 0``: the embedded LDM as it is);
2b. the generator gate: per-class text-to-image recall of the LDM that draws, from
   ``--ig-gate-images`` coloured single-object prompts per class, graded by the judge; a
   novel class under 0.7 is refused with the gate's numbers (``--ig-force-gate`` goes on);
3. base triplets: 1–2 base classes per prompt, labelled by the base judge (score ≥ α);
4. the InstaGen head on the triplets (phase 1: supervised);
5. novel images: "{novel} [and {any class}]" prompts, with the base judge's boxes (score ≥ α)
   of the base classes in them (official: the teacher adds the novel boxes);
6. self-training (phase 2): the EMA teacher labels the novel images for the dropout student;
7. InstaGen data, "{novel} [and {any class}]" prompts (``--ig-per-class`` per novel class),
   labelled by the phase-1 head and by the phase-2 teacher (same prompts, seeds and
   generator: the same images, drawn once, ``synthesis.latents_dir``), and two references on
   those images
   (:mod:`.instagen_controls`): *naive* (the prompt's novel name on every box the base
   detector does not give a prompted base class) and *oracle* (the full 6-class judge);
8. diagnoses: how often the LDM draws the prompted novel class and how each head scores its
   name (:func:`.instagen_controls.novel_grounding`); each head's 2-name assignment accuracy on
   "{novel} and {other}" images, judge as referee (:func:`.instagen_controls.name_assignment`);
9. a stock detector (the toy downstream FCOS, ``configs/instagen/downstream/
   fcos_r18-half_fpn_1500it_toy-shapes-base{,-instagen}.py``) trained with each training seed on
   (a) ``real-base``: real toy train with the novel boxes removed (the images stay, their
       novel objects unlabelled, as in OV-COCO; ``tools/make_ov_base_annotations.py``);
   (b) ``real-base+instagen-sup``: (a) + InstaGen data of the supervised head, 1 : 1;
   (c) ``real-base+instagen-self``: (a) + InstaGen data after self-training, 1 : 1;
   ``real-base+naive`` / ``real-base+oracle``: (a) + the same images, the references' labels;
   and tested on the held-out test split: base and novel AP50 (mmdet's ``OVCocoMetric``).

**Tier B** (``instagen-pairs``): every class is a colour-shape pair ("red cross"; 5 shapes × 6
colours, ``configs/_base_/datasets/toy_shapes_pairs_split.py``: one novel pair per colour, every
word in ≥ 4 base pairs), so a novel name's words occur in base names: the text-side transfer
InstaGen relies on. The same steps on the pair view of the real data (written if missing,
``tools/make_toy_pairs.py``), with the base-pair detector (``--ig-pair-judge``) as labeller,
the pair judge (the shape judge plus the colour read from the pixels,
:class:`~..evaluation.colour_shape_judge.ColourShapeJudge`) as gate grader, oracle and referee,
prompts from the pair names ("a photo of a red cross and a blue star"), the gate on the novel
pairs, 250 InstaGen images per novel pair, and one more arm, (d) ``real-base+instagen-random``:
a phase-1 head whose class texts are fixed random vectors (no text-side transfer), on the same
images. Its goals: novel AP50 of (c) ≥ 0.5 × base AP50, and (b) beats (d) and (e) (naive) by
more than 2 s.e.; a novel pair's wrong names are split into same-colour / same-shape base pairs.

Steps 1–8 run once (seed 0); step 9 per seed (paired: every arm runs each seed). Every step
writes a record under ``<work-dir>/<protocol>/`` and a rerun skips it; ``--lane`` or
``--claim`` split step 9 over processes. Issue #20's goal: novel AP50 of (c) ≥ 0.5 × its base
AP50, and (b) and (c) beat naive by more than 2 s.e. Sizes: 1500 triplets, 1500 head
iterations, 500 novel images, 1000 self-training iterations, 1000 InstaGen images per novel
class, 1500 detector iterations × 5 arms × 5 seeds.
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass

IG_CONFIGS = dict(
    judge='judge/fcos_r18-half_fpn_3000it_toy-shapes-base4.py',
    finetune='instagen/instagen-finetune_toy-ldm_500it_toy-shapes-base.py',
    triplets='instagen/base-triplets_judge-base4_toy-shapes.py',
    head='instagen/instagen_toy-ldm_2000it_toy-shapes-base-triplets.py',
    selftrain='instagen/instagen-selftrain_toy-ldm_2000it_toy-shapes.py',
    synth='instagen/instagen_synth_toy_toy-shapes.py',
    downstream='instagen/downstream/fcos_r18-half_fpn_1500it_toy-shapes-base.py',
    downstream_instagen='instagen/downstream/fcos_r18-half_fpn_1500it_toy-shapes-base-instagen.py',
    split='_base_/datasets/toy_shapes_ov_split.py')
IG_ARMS = ('real-base', 'real-base+instagen-sup', 'real-base+instagen-self', 'real-base+naive',
           'real-base+oracle')
# Tier B (colour x shape pairs): the same steps on the pair view, and arm (d), a head whose
# class texts are random vectors (no text-side transfer)
IG_PAIR_CONFIGS = dict(
    judge='judge/fcos_r18-half_fpn_3000it_toy-shapes-pairs-base.py',
    finetune='instagen/instagen-finetune_toy-ldm_500it_toy-shapes-pairs-base.py',
    triplets='instagen/base-triplets_judge-pairs-base_toy-shapes-pairs.py',
    head='instagen/instagen_toy-ldm_2000it_toy-shapes-pairs-base-triplets.py',
    head_random='instagen/instagen_toy-ldm_2000it_toy-shapes-pairs-base-triplets-random-names.py',
    selftrain='instagen/instagen-selftrain_toy-ldm_2000it_toy-shapes-pairs.py',
    synth='instagen/instagen_synth_toy_toy-shapes-pairs.py',
    synth_random='instagen/instagen_synth_toy_toy-shapes-pairs-random-names.py',
    downstream='instagen/downstream/fcos_r18-half_fpn_1500it_toy-shapes-pairs-base.py',
    downstream_instagen=('instagen/downstream/'
                         'fcos_r18-half_fpn_1500it_toy-shapes-pairs-base-instagen.py'),
    split='_base_/datasets/toy_shapes_pairs_split.py')
IG_PAIR_ARMS = ('real-base', 'real-base+instagen-sup', 'real-base+instagen-self',
                'real-base+instagen-random', 'real-base+naive', 'real-base+oracle')


@dataclass(frozen=True)
class Tier:
    """One InstaGen protocol: which configs, classes and arms (issue #20's Tier A / B)."""
    protocol: str  # its --protocols name and records folder
    configs: dict
    arms: tuple
    split_names: tuple  # the split config's (base, novel) variables
    ann_suffix: str = ''  # the real annotation files: instances_{split}{ann_suffix}.json
    pair_shapes: tuple = ()  # Tier B: classes are "{colour} {shape}" of these shapes
    per_class: int = 1000  # InstaGen images per novel class (--ig-per-class)
    gate_novel_only: bool = False  # the generator gate prompts the novel classes alone


def _tiers() -> dict:
    from ..datasets.colour_shape import DRAWABLE_SHAPES
    return {
        'instagen': Tier('instagen', IG_CONFIGS, IG_ARMS,
                         ('toy_base_classes', 'toy_novel_classes')),
        'instagen-pairs': Tier('instagen-pairs', IG_PAIR_CONFIGS, IG_PAIR_ARMS,
                               ('toy_pairs_base_classes', 'toy_pairs_novel_classes'),
                               ann_suffix='_pairs', pair_shapes=tuple(DRAWABLE_SHAPES),
                               per_class=250, gate_novel_only=True)}


def add_arguments(p):
    """This protocol's options (``tools/benchmark.py quality``)."""
    ig = p.add_argument_group('instagen protocol')
    ig.add_argument('--ig-judge', default=None,
                    help='config of the base-class detector (default: the base-4 judge)')
    ig.add_argument('--ig-pair-judge', default=None,
                    help='Tier B (instagen-pairs): config of the base-pair detector (default: '
                    'configs/judge/fcos_r18-half_fpn_3000it_toy-shapes-pairs-base.py)')
    ig.add_argument('--ig-alpha', type=float, default=None,
                    help='score threshold of the base triplets (default: calibrated on real '
                    'val, the lowest at which the base judge is 99 %% precise; recorded)')
    ig.add_argument('--ig-beta', type=float, default=None,
                    help='score threshold of the pseudo-labels and the InstaGen data '
                    '(default: the configs\' 0.4)')
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
    ig.add_argument('--ig-per-class', type=int, default=None,
                    help='InstaGen images per novel class for the downstream detector '
                    '(default: 1000 per shape in Tier A, 250 per pair in Tier B)')
    ig.add_argument('--ig-gate-images', type=int, default=64,
                    help='single-object prompts per class of the generator gate')
    ig.add_argument('--ig-oracle-thr', type=float, default=0.5,
                    help="score threshold of the oracle reference's (the judge's) labels")
    ig.add_argument('--ig-force-gate', action='store_true',
                    help='go on with novel classes that fail the generator gate (recorded)')


def _cfg(name, tier: Tier | None = None):
    from mmengine.config import Config

    from ..config_package import config_dir
    configs = IG_CONFIGS if tier is None else tier.configs
    return Config.fromfile(osp.join(config_dir(), configs[name]))


def ov_test_evaluator(cfg, root: str, split: dict, classes, ann_suffix: str = ''):
    """Test on the held-out split with base / novel AP50 (mmdet's OVCocoMetric), on the real
    annotation files ``instances_{val,test}{ann_suffix}.json``."""
    meta = dict(classes=tuple(classes), base_classes=split['base'],
                novel_classes=split['novel'])
    for key in ('val_dataloader', 'test_dataloader'):
        cfg[key].dataset.metainfo = meta
        part = 'test' if key == 'test_dataloader' else 'val'
        cfg[key].dataset.ann_file = f'annotations/instances_{part}{ann_suffix}.json'
    for key in ('val_evaluator', 'test_evaluator'):
        part = 'test' if key == 'test_evaluator' else 'val'
        cfg[key] = dict(type='OVCocoMetric', metric='bbox',
                        ann_file=root + f'annotations/instances_{part}{ann_suffix}.json')


def instagen_protocol(args, root: str, protocol: str = 'instagen') -> dict:
    """Steps 1–9 of the module docstring for one tier (``protocol``: ``'instagen'``, Tier A,
    or ``'instagen-pairs'``, Tier B); returns the records (see ``quality.run``)."""
    from ..datasets.open_vocabulary import base_only_annotations
    from ..evaluation import load_judge
    from ..runner_utils import set_coco_data_root, set_iterations
    from ..synthesis import build_synthesizer
    from ..utils.categories import check_split
    from .experiment import recorded_step, train_and_test, train_only
    tier = _tiers()[protocol]
    work = osp.join(args.work_dir, tier.protocol)
    if tier.pair_shapes:  # the pair view of the real splits (tools/make_toy_pairs.py)
        from ..datasets.colour_shape import ensure_pair_views
        ensure_pair_views(root, shapes=tier.pair_shapes)
    split_cfg = _cfg('split', tier)
    split = dict(base=tuple(split_cfg[tier.split_names[0]]),
                 novel=tuple(split_cfg[tier.split_names[1]]))
    classes = tuple(_cfg('head', tier).metainfo['classes'])  # in the data's order
    check_split(split['base'], split['novel'], classes)
    per_class = args.ig_per_class or tier.per_class

    def referee():
        """The judge of every class: the full shape judge (Tier A), or the pair judge, its
        boxes with the colour read from their pixels (Tier B)."""
        judge = load_judge(args.judge, root)
        if not tier.pair_shapes:
            return judge
        from ..evaluation.colour_shape_judge import ColourShapeJudge
        return ColourShapeJudge(judge, shapes=tier.pair_shapes)

    step = recorded_step(work, tier.protocol)

    # 1. the base-class detector (Tier B: of the base pairs)
    judge_cfg = (args.ig_pair_judge if tier.pair_shapes else args.ig_judge) or _judge_path(tier)
    judge = step('judge', lambda: dict(config=judge_cfg,
                                       checkpoint=load_judge(judge_cfg, root).checkpoint))

    # 1b. alpha: the lowest threshold at which the base judge's boxes on real val images are
    # >= 99 % precise (InstaGen's 0.8 was set for Mask R-CNN; an FCOS score is cls x centerness)
    def calibrate_alpha():
        from ..evaluation.calibration import calibrate_score_threshold
        from ..evaluation.fidelity import load_split
        det = load_judge(judge['config'], root)
        val = load_split(root, 'val')
        refs = [_base_references(g, objs, det.classes, bool(tier.pair_shapes))
                for g, objs in zip(val['gts'], val['objects'])]
        preds = det.detect(val['images'], score_thr=0.05)
        res = calibrate_score_threshold(refs, preds, target_precision=0.99)
        return dict({k: v for k, v in res.items() if k != 'curve'}, images=len(refs),
                    curve=res['curve'][::5])
    alpha_rec = step('alpha', calibrate_alpha)
    alpha = args.ig_alpha if args.ig_alpha is not None else alpha_rec['threshold']
    if alpha is None:
        raise ValueError(f"the base judge {judge['config']} reaches precision 0.99 on real val "
                         'at no threshold: give --ig-alpha.')

    # 2. fine-tuned synthesizer
    def finetune():
        if not args.ig_finetune_iters:
            return dict(ldm='embedded:toy')
        cfg = _cfg('finetune', tier)
        cfg.train_dataloader.dataset.data_root = root
        cfg.train_cfg.max_iters = args.ig_finetune_iters
        cfg.default_hooks.checkpoint.interval = args.ig_finetune_iters
        cfg.custom_hooks = [dict(type='SaveDiffusersHook', interval=0)]
        train_only(cfg, osp.join(work, 'finetune'))
        return dict(ldm=osp.abspath(osp.join(work, 'finetune', 'diffusers')),
                    iters=args.ig_finetune_iters)
    ldm = step('finetune', finetune)['ldm']

    # 2b. the generator gate: does the LDM that draws make each class when asked?
    def gate():
        from ..evaluation.calibration import generator_gate
        from ..ldm import FrozenLDM
        sampling = _cfg('synth', tier).synthesis
        gated = split['novel'] if tier.gate_novel_only else classes
        res = generator_gate(FrozenLDM.build(pretrained=ldm), referee(), gated,
                             args.ig_gate_images, seed=0,
                             steps=args.steps or sampling.num_inference_steps,
                             guidance=sampling.guidance_scale)
        return dict(res, ldm=ldm, guidance=sampling.guidance_scale)
    gate_rec = step('generator_gate', gate)
    from ..evaluation.calibration import check_generator_gate
    forced = check_generator_gate(gate_rec['recall'], split['novel'], force=args.ig_force_gate)
    if forced:
        print(f'warning: InstaGen generator gate forced: {forced} below 0.7 '
              f"({gate_rec['recall']})")

    # 3. base triplets
    def judge_labelled(name, num, **overrides):
        """Text-to-image labelled by the base judge (score ≥ α), the triplets' settings."""
        def fn():
            from mmengine.config import Config
            cfg = Config.fromfile(judge['config'])  # the labelling detector ...
            cfg.synthesis = _cfg('triplets', tier).synthesis  # ... and the triplets' settings
            cfg.synthesis.update(ldm=dict(pretrained=ldm), score_thr=alpha, **overrides)
            if args.steps:
                cfg.synthesis.num_inference_steps = args.steps
            out = osp.join(work, name)
            s = build_synthesizer(cfg, judge['checkpoint'], out).run(num)
            return dict(dir=osp.abspath(out), images=s['images'], boxes=s['boxes'],
                        per_category=s['per_category'])
        return step(name, fn)
    trip = judge_labelled('base_triplets', args.ig_triplets)

    # 4. phase 1: the head on the triplets (Tier B: also arm (d)'s random-name head)
    def train_head(name, config):
        def fn():
            cfg = _cfg(config, tier)  # the head reads the original LDM (official)
            if args.ig_feature_prompt:
                cfg.model.feature_prompt = args.ig_feature_prompt
            cfg.train_dataloader.dataset.data_root = trip['dir'] + '/'
            set_coco_data_root(cfg, root)
            ov_test_evaluator(cfg, root, split, classes, tier.ann_suffix)
            set_iterations(cfg, args.ig_head_iters)
            _, m = train_and_test(cfg, osp.join(work, name), seed=0)
            ckpt = osp.join(work, name, f'iter_{args.ig_head_iters}.pth')
            return dict(checkpoint=osp.abspath(ckpt), test=m)
        return step(name, fn)
    head_rec = train_head('head', 'head')

    def synthesize(name, ckpt, categories, num, config='synth', **overrides):
        def fn():
            cfg = _cfg(config, tier)
            if ldm != 'embedded:toy':  # the fine-tuned LDM draws, the head reads the original
                cfg.synthesis.generator = dict(pretrained=ldm)
            if args.ig_feature_prompt:
                cfg.model.feature_prompt = args.ig_feature_prompt
            cfg.synthesis.update(categories=list(categories), **overrides)
            if args.ig_beta is not None:
                cfg.synthesis.score_thr = args.ig_beta
            if args.steps:
                cfg.synthesis.num_inference_steps = args.steps
            out = osp.join(work, name)
            s = build_synthesizer(cfg, ckpt, out).run(num)
            from .experiment import usable_images
            return dict(dir=osp.abspath(out), images=s['images'], boxes=s['boxes'],
                        per_category=s['per_category'], images_with_a_box=usable_images(
                            osp.join(out, 'annotations.json'), 0.0))
        return step(name, fn)

    # 5. novel images (base boxes only) and 6. self-training
    # (official: a novel image carries the base detector's boxes; the teacher adds the novel)
    novel_led = dict(lead_categories=list(split['novel']), categories_per_prompt=(1, 2))
    novel = judge_labelled('novel_images', args.ig_novel_images, categories=list(classes),
                           unlabelled_categories=list(split['novel']), keep_negatives=True,
                           **novel_led)

    def selftrain():
        cfg = _cfg('selftrain', tier)
        if args.ig_feature_prompt:
            cfg.model.detector.feature_prompt = args.ig_feature_prompt
        sup, unsup = cfg.train_dataloader.dataset.datasets
        sup.data_root, unsup.data_root = trip['dir'] + '/', novel['dir'] + '/'
        if args.ig_beta is not None:
            cfg.model.semi_train_cfg.cls_pseudo_thr = args.ig_beta
        set_coco_data_root(cfg, root)
        ov_test_evaluator(cfg, root, split, classes, tier.ann_suffix)
        set_iterations(cfg, args.ig_selftrain_iters)
        cfg.load_from = head_rec['checkpoint']
        wd = osp.join(work, 'selftrain')
        _, m = train_and_test(cfg, wd, seed=0)
        # the synthesizer takes the self-training checkpoint's teacher weights itself
        ckpt = osp.join(wd, f'iter_{args.ig_selftrain_iters}.pth')
        return dict(checkpoint=osp.abspath(ckpt), test=m)
    self_rec = step('selftrain', selftrain)

    # 7. InstaGen data, "{novel} [and {any}]", from each head: the same images, every one
    # written (the downstream dataset drops those without a box), so that the heads and the
    # references label one image set ...
    num = per_class * len(split['novel'])
    novel_led = dict(novel_led, latents_dir=osp.join(work, 'instagen_latents'))  # drawn once
    heads = dict(sup=head_rec['checkpoint'], self=self_rec['checkpoint'])
    data = {'real-base+instagen-sup': synthesize('instagen_sup', head_rec['checkpoint'],
                                                 classes, num, keep_negatives=True, **novel_led),
            'real-base+instagen-self': synthesize('instagen_self', self_rec['checkpoint'],
                                                  classes, num, keep_negatives=True,
                                                  **novel_led)}
    random_rec = None
    if 'real-base+instagen-random' in tier.arms:  # arm (d): random class texts
        random_rec = train_head('head_random', 'head_random')
        data['real-base+instagen-random'] = synthesize(
            'instagen_random', random_rec['checkpoint'], classes, num, config='synth_random',
            keep_negatives=True, **novel_led)
    # ... and the two references' labels on those images
    from .diffusion_engine_controls import oracle_label_synthesis
    from .instagen_controls import naive_label_synthesis, name_assignment
    images = data['real-base+instagen-self']['dir']
    beta = args.ig_beta if args.ig_beta is not None else _cfg('synth', tier).synthesis.score_thr
    data['real-base+naive'] = step('naive', lambda: dict(dir=images, **naive_label_synthesis(
        load_judge(judge['config'], root), images, osp.join(images, 'annotations_naive.json'),
        split['novel'], beta)))
    data['real-base+oracle'] = step('oracle', lambda: dict(dir=images, **oracle_label_synthesis(
        referee(), images, osp.join(images, 'annotations_oracle.json'), args.ig_oracle_thr)))

    # 8. what the LDM draws for a novel prompt, and what each head says about it
    def grounding():
        from .instagen_controls import novel_grounding
        return novel_grounding(referee(), _head_for(args.ig_feature_prompt, tier), heads,
                               novel['dir'], beta)
    diagnosis = step('novel_grounding', grounding)
    labelled = {h: data[f'real-base+instagen-{h}']['dir'] for h in ('sup', 'self', 'random')
                if f'real-base+instagen-{h}' in data}
    assignment = step('name_assignment', lambda: name_assignment(
        referee(), labelled, split['novel'], beta, top=None if tier.pair_shapes else 6))
    confusion = None
    if tier.pair_shapes:  # a novel pair's wrong names: same colour, same shape or neither
        from .instagen_controls import pair_confusion
        confusion = {h: pair_confusion(r['confusions'], split['novel'])
                     for h, r in assignment['heads'].items()}

    # 9. the downstream detector per arm and seed
    from .experiment import detector_runs, run_sharing
    base_ann = osp.join(work, 'real_base', 'instances_train.json')
    real = step('real_base', lambda: base_only_annotations(
        root + f'annotations/instances_train{tier.ann_suffix}.json', base_ann, split['base'],
        split['novel']))

    def configure(arm):
        cfg = _cfg('downstream' if arm == 'real-base' else 'downstream_instagen', tier)
        set_coco_data_root(cfg, root, base_ann)
        if arm != 'real-base':
            synthetic = cfg.train_dataloader.dataset.synthetic
            synthetic.data_root = data[arm]['dir'] + '/'
            if data[arm].get('ann_file'):  # a reference's labels on the heads' images
                synthetic.ann_file = osp.basename(data[arm]['ann_file'])
        return cfg
    runs = detector_runs(work, tier.protocol, tier.arms, args.seeds, args.det_iters, configure,
                         **run_sharing(args))
    out = dict(protocol=tier.protocol, split=split, judge=judge, alpha=dict(alpha_rec, used=alpha),
               ldm=ldm, generator_gate=dict(gate_rec, forced=forced), base_triplets=trip,
               head=head_rec, novel_images=novel, selftrain=self_rec, instagen_data=data,
               real_base=real, novel_grounding=diagnosis, name_assignment=assignment, runs=runs)
    if random_rec is not None:
        out['head_random'] = random_rec
    if confusion is not None:
        out['pair_confusion'] = confusion
    return out


def _base_references(gt: dict, objects: list, base_classes, pairs: bool) -> dict:
    """One real image's boxes of the base classes, labels indexing ``base_classes`` (pairs:
    each object's class is "{its colour} {its shape}")."""
    import numpy as np

    from ..datasets.colour_shape import pair_name
    names = [pair_name(o['color'], o['category']) if pairs else o['category'] for o in objects]
    keep = [i for i, n in enumerate(names) if n in base_classes]
    return dict(bboxes=gt['bboxes'][keep].reshape(-1, 4),
                labels=np.array([list(base_classes).index(names[i]) for i in keep], np.int64))


def _head_for(feature_prompt: str | None = None, tier: Tier | None = None):
    """The toy InstaGen detector (the synthesis config's model, on the original LDM)."""
    from mmdet.registry import MODELS
    cfg = _cfg('synth', tier)
    if feature_prompt:
        cfg.model.feature_prompt = feature_prompt
    return MODELS.build(cfg.model).eval()


def _judge_path(tier: Tier | None = None) -> str:
    from ..config_package import config_dir
    return osp.join(config_dir(), (IG_CONFIGS if tier is None else tier.configs)['judge'])


def markdown(p: dict) -> str:
    """The InstaGen table of one tier: base / novel AP50 per arm (mean ± std over seeds), the
    goals, the gate, the 2-name test, the novel-prompt diagnosis (Tier B: the confusions)."""
    from .experiment import fmt_delta, fmt_mean_std, paired_delta, summarize

    def ap50(rec, split):  # OVCocoMetric's keys, prefixed by the evaluator ('coco/')
        return rec['test'].get(f'coco/{split}_ap50', float('nan'))
    protocol = p.get('protocol', 'instagen')
    heads = f"head alone on real test: base AP50 {ap50(p['head'], 'base'):.3f}, novel AP50 " \
        f"{ap50(p['head'], 'novel'):.3f}; after self-training {ap50(p['selftrain'], 'base'):.3f}" \
        f" / {ap50(p['selftrain'], 'novel'):.3f}"
    if p.get('head_random'):
        heads += (f"; random-name head {ap50(p['head_random'], 'base'):.3f} / "
                  f"{ap50(p['head_random'], 'novel'):.3f}")
    lines = [f"**{protocol}** (base {list(p['split']['base'])}, novel "
             f"{list(p['split']['novel'])}; α {p['alpha']['used']}; "
             f"{p['base_triplets']['images']} base triplets with {p['base_triplets']['boxes']} "
             f"boxes; {heads})", '',
             '| arm | novel AP50 (mean ± std) | base AP50 (mean ± std) | seeds | novel Δ vs '
             'real-base | > 2 s.e.? |', '| --- | --- | --- | --- | --- | --- |']
    novel = {r['arm']: r for r in summarize(p['runs'], key='coco/novel_ap50', base='real-base')}
    base = {r['arm']: r for r in summarize(p['runs'], key='coco/base_ap50', base='real-base')}
    for arm in p['runs']:
        n, b = novel[arm], base[arm]
        d, s = fmt_delta(n)
        lines.append(f"| {arm} | {fmt_mean_std(n)} | {fmt_mean_std(b)} | {n['n']} | {d} | {s} |")
    per_class = [a for a in p['runs'] if any(f"coco/{n}_precision" in r['test']
                                             for r in p['runs'][a] for n in p['split']['novel'])]
    if per_class:  # OVCocoMetric(classwise=True): per-class AP over IoU 0.50:0.95
        lines += ['', 'Per novel class: AP (IoU 0.50:0.95, mean over seeds)', '',
                  '| arm | ' + ' | '.join(p['split']['novel']) + ' |',
                  '| --- |' + ' --- |' * len(p['split']['novel'])]
        for arm in per_class:
            cells = []
            for n in p['split']['novel']:
                v = [r['test'][f'coco/{n}_precision'] for r in p['runs'][arm]
                     if r['test'].get(f'coco/{n}_precision') is not None]
                cells.append(f'{sum(v) / len(v):.3f}' if v else 'n/a')
            lines.append(f'| {arm} | ' + ' | '.join(cells) + ' |')
    c = 'real-base+instagen-self'
    if c in novel and novel[c]['mean'] is not None and base[c]['mean']:
        ratio = novel[c]['mean'] / base[c]['mean']
        lines += ['', f'Goal (c): novel AP50 ≥ 0.5 × base AP50: {ratio:.2f} × '
                  f"({'met' if ratio >= 0.5 else 'not met'})"]
    if p.get('generator_gate'):
        g = p['generator_gate']
        recall = ', '.join(f'{c} {r:.2f}' for c, r in g['recall'].items())
        lines += ['', f"Generator gate ({g['per_class']} coloured single-object prompts per "
                  f"class, judge): {recall}" + (f"; forced for {g['forced']}" if g['forced']
                                                 else '; every novel class passes 0.7')]
    references = [r for r in ('real-base+instagen-random', 'real-base+naive') if r in p['runs']]
    for ref in references:  # Tier A: (b), (c) vs naive; Tier B: (b) vs (d) and (e) too
        lines += ['', f'Against {ref} (same images; paired seeds): '
                  + '; '.join(paired_delta(p['runs'], arm, ref, 'coco/novel_ap50')
                              for arm in ('real-base+instagen-sup', 'real-base+instagen-self')
                              if arm in p['runs'])]
    if p.get('name_assignment'):
        lines += ['', '2-name assignment on "{novel} and {other}" images (head boxes ≥ β '
                  'against the judge\'s, IoU ≥ 0.5; goal ≥ 0.8):', '',
                  '| head | images | right name | other name | accuracy | top confusions |',
                  '| --- | --- | --- | --- | --- | --- |']
        for head, r in p['name_assignment']['heads'].items():
            conf = ', '.join(f"{c['ref']}→{c['pred']} {c['boxes']}" for c in r['confusions'][:3])
            lines.append(f"| {head} | {r['images']} | {r['agree']} | {r['other_class']} | "
                         f"{'n/a' if r['accuracy'] is None else r['accuracy']} | {conf} |")
    if p.get('pair_confusion'):
        lines += ['', 'A novel pair\'s boxes named as a base pair (2-name images): of the same '
                  'colour / of the same shape / neither', '',
                  '| novel pair | ' + ' | '.join(p['pair_confusion']) + ' |',
                  '| --- |' + ' --- |' * len(p['pair_confusion'])]
        for name in p['split']['novel']:
            cells = [f"{r[name]['same_colour']} / {r[name]['same_shape']} / {r[name]['other']}"
                     for r in p['pair_confusion'].values()]
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    if p.get('novel_grounding'):
        lines += ['', 'Novel prompts (unlabelled novel-image run): how often the judge finds the '
                  'prompted class, and each head\'s best score for the name where the judge '
                  'finds it / does not (median), share labelled (score ≥ β)', '',
                  '| name | images | judge finds it | sup head: drawn / not drawn | labelled | '
                  'self-trained: drawn / not drawn | labelled |',
                  '| --- | --- | --- | --- | --- | --- | --- |']
        for name, r in p['novel_grounding']['names'].items():
            cells = [f"{r[h]['median_drawn']} / {r[h]['median_not_drawn']} | {r[h]['labelled']}"
                     for h in ('sup', 'self')]
            lines.append(f"| {name} | {r['images']} | {r['judge_finds_it']} | {cells[0]} | "
                         f"{cells[1]} |")
    return '\n'.join(lines + [''])
