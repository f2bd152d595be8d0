"""``tools/benchmark.py synthesize``: DiffusionEngine synthesis vs. images only vs. diffusers.

The engine (:class:`DiffusionEngineSynthesizer.synthesize_batch`: img2img +
Detection-Adapter labels + JPEG shards) against the same engine with
``with_labels=False`` and against diffusers' own ``StableDiffusionImg2ImgPipeline`` built
from the very same components (VAE, text encoder, tokenizer, UNet) with the same scheduler,
prompts, steps, guidance and strength; it reports images/s, their ratios and peak memory::

    python tools/benchmark.py synthesize --preset sd2-base --batch 16 --res 512 --steps 30 \\
        [--strength 0.6] [--guidance 7.5] [--dtype fp32|fp16|bf16] [--device cpu|cuda] \\
        [--warmup 1] [--repeat 3] [--seed 0] [--threads N] [--json OUT.json]

The adapter is the Detection-Adapter config of the preset (:data:`SYNTH_ADAPTER_CONFIGS`)
with random head weights; the references are ``--batch`` toy-shapes images. That the
variants did the same work is recorded per variant (``info.variants``): UNet calls per
batch (``unet_calls_per_batch``; the engine's count of its UNet taps, diffusers' a
counting pre-hook on the UNet) and images per batch (``images_written`` by the engine,
``images_returned`` by diffusers); the engine labels in the adapter's regime
(``label_features='adapter'``), one UNet call per batch more than the other two. Timing and
peak memory:
:mod:`diffdet_plugin.benchmarks.harness`.
"""
from __future__ import annotations

import json
import os.path as osp
import tempfile
import time

import torch

from ..config_package import config_dir
from .harness import (current_rss_bytes, measure_variants, peak_memory, report, reset_peak_memory,
                      summarize, synchronize, time_fn)
from .options import (SYNTHESIS_UNITS, add_benchmark_parser, add_sampler_args,
                      check_preset_and_device, check_sizes)

SYNTH_VARIANTS = ('engine', 'engine_no_labels', 'diffusers')
RECORDED_ARGS = ('steps', 'strength', 'guidance', 'score_thr')  # + harness.COMMON_RECORDED_ARGS
SYNTH_VARIANT_HELP = {
    'engine': 'engine: images + labels',
    'engine_no_labels': 'engine, with_labels=False',
    'diffusers': 'diffusers StableDiffusionImg2ImgPipeline',
}
# The Detection-Adapter config whose model the engine labels with, per preset
# (other presets: the sd2-base config with model.backbone.ldm.preset overridden).
SYNTH_ADAPTER_CONFIGS = {
    'tiny': 'configs/diffusion_engine/de_adapter_dino-4scale_tiny_300it_toy-shapes.py',
    'sd2-base': 'configs/diffusion_engine/de_adapter_dino-5scale_sd2-base_90k_coco.py',
}


def adapter_config_path(preset: str) -> str:
    """The adapter config of ``preset`` (in the shipped configs: a checkout's or .mim's)."""
    return osp.join(osp.dirname(config_dir()),
                    SYNTH_ADAPTER_CONFIGS.get(preset, SYNTH_ADAPTER_CONFIGS['sd2-base']))


def build_adapter(args):
    """The Detection-Adapter of ``args.preset`` (random head weights) and its class names."""
    import diffdet_plugin  # noqa: F401  (registers LDMBackbone)
    from diffdet_plugin.ldm import ALL_BLOCKS, get_preset, tap_layout
    from mmengine.config import Config

    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(adapter_config_path(args.preset))
    cfg.model.backbone.ldm = dict(preset=args.preset, dtype=args.dtype, seed=args.seed)
    # The neck must take the preset's pyramid channels (the same for sd15 / sd2-base / sd2).
    channels = [lvl.channels for lvl in tap_layout(get_preset(args.preset)['unet'], ALL_BLOCKS, 8)]
    cfg.model.neck.in_channels = channels
    classes = cfg.get('metainfo', {}).get('classes')
    if classes is None:
        from mmdet.datasets import CocoDataset
        classes = CocoDataset.METAINFO['classes']
    classes = list(classes)[:cfg.model.bbox_head.num_classes]
    torch.manual_seed(args.seed)
    detector = MODELS.build(cfg.model)
    detector.init_weights()  # as the Runner does: DINO leaves e.g. level_embed uninitialised
    detector = detector.eval().to(args.device)
    detector.backbone.ldm.to(args.device)  # not a registered sub-module: moved on its own
    return detector, classes


def make_references(root: str, batch: int, res: int, classes: list[str], seed: int) -> dict:
    """``batch`` toy-shapes images of res x res under ``root``, categories renamed to ``classes``.

    The renaming only makes the generic prompts name the adapter's classes
    (``A photo, with person, car in the photo.`` for a COCO adapter).
    """
    from diffdet_plugin.datasets.toy_shapes import TOY_SHAPES_CLASSES, generate_toy_shapes
    info = generate_toy_shapes(root, num_train=batch, num_val=0, image_size=res, seed=seed)
    ann_file = info['train']['ann_file']
    names = dict(zip(TOY_SHAPES_CLASSES, list(classes) + list(TOY_SHAPES_CLASSES)))
    with open(ann_file) as f:
        coco = json.load(f)
    for c in coco['categories']:
        c['name'] = names[c['name']]
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    return dict(ann_file=ann_file, img_dir=info['train']['img_dir'])


def synthesis_config(args, reference: dict, with_labels: bool):
    from diffdet_plugin.synthesis import DiffusionEngineConfig
    return DiffusionEngineConfig(
        reference=reference,
        prompt=dict(domain='photo', use_captions=False),  # the generic template (+ photo suffix)
        num_images=args.batch, batch_size=args.batch, seed=args.seed,
        scheduler='DPMSolverMultistepScheduler', num_inference_steps=args.steps,
        guidance_scale=args.guidance, encode_ratio=(args.strength, args.strength),
        resize_range=(args.res, args.res), crop_max=(args.res, args.res), size_divisor=64,
        score_thr=args.score_thr, label_features='adapter', keep_negatives=True,
        balance=dict(min_per_category=0), contact_sheet=dict(num_images=0),
        with_labels=with_labels)


def synthesize_fns(args, detector, classes, reference: dict, work_dir: str, variants) -> tuple:
    """The timed callables (one batch of ``args.batch`` images each) and per-variant info."""
    from diffdet_plugin.synthesis import DiffusionEngineSynthesizer, item_seed
    from diffdet_plugin.synthesis.references import read_rgb
    fns, info = {}, {}
    items = [(i, i) for i in range(args.batch)]  # item i from reference i
    engines = {}
    for v in variants:
        if v not in ('engine', 'engine_no_labels'):
            continue
        cfg = synthesis_config(args, reference, with_labels=(v == 'engine'))
        eng = DiffusionEngineSynthesizer(detector, cfg, classes, osp.join(work_dir, v),
                                         checkpoint=None)
        engines[v] = eng
        fns[v] = (lambda eng=eng, v=v: info[v].__setitem__('last_record',
                                                              eng.synthesize_batch(0, items)))
        info[v] = {}
    if 'diffusers' in variants:
        from diffdet_plugin.ldm import build_sampling_scheduler
        from diffdet_plugin.synthesis.prompts import PromptBuilder
        from diffdet_plugin.synthesis.references import load_references
        from diffusers import StableDiffusionImg2ImgPipeline
        from PIL import Image
        ldm = detector.backbone.ldm
        pipe = StableDiffusionImg2ImgPipeline(
            vae=ldm.vae, text_encoder=ldm.text_encoder, tokenizer=ldm.tokenizer, unet=ldm.unet,
            scheduler=build_sampling_scheduler(ldm), safety_checker=None,
            feature_extractor=None, requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        cfg = synthesis_config(args, reference, with_labels=False)
        refs = load_references(classes=classes, **cfg.reference)
        builder = PromptBuilder(**cfg.prompt)
        prompts = [builder(refs[r].class_names, None) for _, r in items]
        images = [Image.fromarray(read_rgb(refs[r].path)) for _, r in items]  # loaded once
        seeds = [item_seed(args.seed, i) for i, _ in items]
        gen_device = 'cpu' if args.device == 'cpu' else args.device

        def diffusers_fn():
            gens = [torch.Generator(gen_device).manual_seed(s) for s in seeds]
            out = pipe(prompt=[p for p, _ in prompts], negative_prompt=[n for _, n in prompts],
                       image=images, strength=args.strength, num_inference_steps=args.steps,
                       guidance_scale=args.guidance, generator=gens, output_type='pil').images
            info['diffusers']['images_returned'] = len(out)
            return out

        fns['diffusers'] = diffusers_fn
        info['diffusers'] = dict(prompt=prompts[0][0], negative_prompt=prompts[0][1],
                                 output_type='pil')
    return fns, info, engines


class UNetCallCounter:
    """Counts a UNet's calls with a forward pre-hook (as the engine's UNet taps do)."""

    def __init__(self, unet: torch.nn.Module):
        self.calls = 0
        self._handle = unet.register_forward_pre_hook(self._count)

    def _count(self, module, args):
        self.calls += 1

    def remove(self):
        self._handle.remove()


def run_synthesize_variants(args, variants, work_dir: str) -> tuple[dict, dict]:
    """Build the adapter + references once and time ``variants`` in this process.

    The engine variants run first; before diffusers the adapter backbone's
    forward hooks (its UNet taps) are removed, so diffusers pays nothing for them
    (only a pre-hook that counts its UNet calls, as the taps do for the engine).
    """
    from diffdet_plugin.ldm import num_denoising_steps
    t0 = time.perf_counter()
    detector, classes = build_adapter(args)
    synchronize(args.device)
    build_s = time.perf_counter() - t0
    reference = make_references(osp.join(work_dir, 'references'), args.batch, args.res, classes,
                                args.seed)
    fns, vinfo, engines = synthesize_fns(args, detector, classes, reference, work_dir, variants)
    ldm = detector.backbone.ldm
    n_params = sum(p.numel() for m in (ldm.vae, ldm.unet, ldm.text_encoder)
                   for p in m.parameters())
    head_params = sum(p.numel() for p in detector.parameters())
    info = dict(build_s=round(build_s, 2), rss_after_build_bytes=current_rss_bytes(),
                ldm_params=n_params, adapter_params_without_ldm=head_params,
                denoising_steps=num_denoising_steps(args.steps, args.strength),
                unet_calls_per_batch=num_denoising_steps(args.steps, args.strength),
                unet_batch=2 * args.batch, classes=len(classes), variants={})
    batches = args.warmup + args.repeat
    results = {}
    for v in variants:
        counter = None
        if v == 'diffusers':
            detector.backbone.taps.remove()
            counter = UNetCallCounter(ldm.unet)
        reset_peak_memory(args.device)
        times = time_fn(fns[v], args.warmup, args.repeat, args.device)
        results[v] = dict(summarize(times, args.batch), **peak_memory(args.device))
        vi = vinfo[v]
        rec = vi.pop('last_record', None)
        if rec is not None:
            vi.update(images_written=len(rec['images']), boxes_written=len(rec['annotations']),
                      failures=len(rec['failures']), denoising_steps=rec['denoising_steps'],
                      prompt=rec['images'][0]['prompt'] if rec['images'] else None,
                      unet_calls=engines[v].unet_calls)
        if counter is not None:
            counter.remove()
            vi['unet_calls'] = counter.calls
        vi.update(batches=batches, unet_calls_per_batch=vi['unet_calls'] / batches)
        info['variants'][v] = vi
    return results, info


def run_synthesize_variants_in_tmp(args, variants) -> tuple[dict, dict]:
    """:func:`run_synthesize_variants` with its references and outputs in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix='bench_synth_') as work_dir:
        return run_synthesize_variants(args, variants, work_dir)


def _check_synthesize_args(parser, args):
    check_sizes(parser, args, [('--steps', args.steps)])
    if not 0 < args.strength <= 1:
        parser.error(f'--strength must be in (0, 1] (the encode ratio: the last '
                     f'int(steps * strength) of --steps steps run), got {args.strength}')
    if int(args.steps * args.strength) < 1:
        parser.error(f'--steps {args.steps} x --strength {args.strength} < 1: no denoising step '
                     'would run (diffusers refuses it). Raise --steps or --strength.')
    if args.guidance <= 1:
        parser.error(f'--guidance must be > 1, got {args.guidance}: the engine always runs '
                     'classifier-free guidance (both halves in one UNet call) but diffusers '
                     'switches it off for guidance <= 1, so they would not do the same work.')
    if not 0 <= args.score_thr <= 1:
        parser.error(f'--score-thr must be in [0, 1], got {args.score_thr}')
    check_preset_and_device(parser, args)


def bench_synthesize(args, parser):
    _check_synthesize_args(parser, args)
    config = osp.relpath(adapter_config_path(args.preset), osp.dirname(config_dir()))
    header = [
        f'synthesize benchmark: preset {args.preset}, batch {args.batch}, {args.res}x{args.res}, '
        f'{args.steps} steps, strength {args.strength} '
        f'({int(args.steps * args.strength)} denoising steps), guidance {args.guidance}, '
        f'warmup {args.warmup}, repeat {args.repeat} (median reported)',
        f'adapter config: {config} '
        f'(model.backbone.ldm.preset={args.preset}, random weights, no checkpoint)']
    measured = measure_variants(args, SYNTH_VARIANTS, run_synthesize_variants_in_tmp, header,
                                'VAE, UNet, text encoder, adapter neck/head')
    if measured is None:  # a child process: its result is printed
        return
    env, results, info, mem_note = measured
    ips = {v: r['items_per_s'] for v, r in results.items()}
    ratios = dict(engine_over_diffusers=ips['engine'] / ips['diffusers'],
                  engine_no_labels_over_diffusers=ips['engine_no_labels'] / ips['diffusers'],
                  engine_over_engine_no_labels=ips['engine'] / ips['engine_no_labels'])
    eng = info['variants'].get('engine', {})
    notes = [
        f"ratio engine/diffusers (images/s): {ratios['engine_over_diffusers']:.3f}; "
        f"engine without labels/diffusers: {ratios['engine_no_labels_over_diffusers']:.3f}; "
        f"engine with/without labels: {ratios['engine_over_engine_no_labels']:.3f}",
        'the engine variants also read the references from disk, JPEG-encode and write every '
        'image and a shard record per batch (part of what the engine does); diffusers returns '
        'PIL images in memory']
    facts = (f"adapter params (without the LDM) {info['adapter_params_without_ldm'] / 1e6:.1f} M",
             f"{info['unet_calls_per_batch']} UNet calls of batch {info['unet_batch']} per batch",
             f"engine kept {eng.get('boxes_written')} boxes (score >= {args.score_thr}, random "
             'head)')
    report(args, 'synthesize', RECORDED_ARGS, notes, measured, SYNTH_VARIANT_HELP, facts,
           ratios=ratios)


def add_parser(subparsers):
    p = add_benchmark_parser(
        subparsers, 'synthesize', bench_synthesize, SYNTH_VARIANTS,
        seed_help='seed of the weights, references and per-image noise', **SYNTHESIS_UNITS)
    add_sampler_args(p)
    p.add_argument('--strength', type=float, default=0.6,
                   help='encode ratio / img2img strength: the last int(N * strength) steps run')
    p.add_argument('--score-thr', type=float, default=0.3,
                   help='the engine\'s box score threshold (delta)')
    return p
