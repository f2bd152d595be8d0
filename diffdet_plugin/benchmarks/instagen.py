"""``tools/benchmark.py instagen``: InstaGen synthesis throughput against generate-then-detect.

Three ways to make labelled images from category names, on the same LDM and head:

* ``instagen``: :class:`InstaGenSynthesizer.synthesize_batch` (text-to-image with CFG,
  decode, the head on the final latent's t = 1 features, JPEG + shard writing);
* ``instagen_no_labels``: the same with ``with_labels=False`` (what labelling costs);
* ``generate_then_detect``: the stock way — diffusers' ``StableDiffusionPipeline`` built from
  the same components and scheduler makes the images, then the InstaGen detector labels the
  decoded images (VAE encode, UNet at t = 1, head), as one would with any detector.

Same components, scheduler, prompts, steps, guidance and seeds in all three; it reports
images/s, their ratios and peak memory.

::

    python tools/benchmark.py instagen --preset sd15 --batch 8 --res 512 --steps 30 \\
        [--guidance 7.5] [--dtype fp32|fp16|bf16] [--device cpu|cuda] [--warmup 1] \\
        [--repeat 3] [--seed 0] [--threads N] [--json OUT.json]

The head is ``configs/instagen/instagen-head_toy_toy-shapes.py`` (``--head toy``) or the
paper's (``--head paper``, 6 + 6 layers, 900 queries) with random weights on the preset's LDM
(random weights too): the timings are the architecture's. Timing and peak memory:
:mod:`diffdet_plugin.benchmarks.harness`.
"""
from __future__ import annotations

import os.path as osp
import tempfile
import time

import torch

from ..config_package import config_dir
from .harness import (current_rss_bytes, measure_variants, peak_memory, report, reset_peak_memory,
                      summarize, synchronize, time_fn)
from .options import (SYNTHESIS_UNITS, add_benchmark_parser, add_sampler_args,
                      check_preset_and_device, check_sizes)
from .synthesize import UNetCallCounter

VARIANTS = ('instagen', 'instagen_no_labels', 'generate_then_detect')
RECORDED_ARGS = ('head', 'steps', 'guidance')  # + harness.COMMON_RECORDED_ARGS
VARIANT_HELP = {
    'instagen': 'InstaGen mode: images + head labels from the final latents',
    'instagen_no_labels': 'InstaGen mode, with_labels=False',
    'generate_then_detect': 'diffusers StableDiffusionPipeline, then the detector on the images',
}
HEAD_CONFIGS = {'toy': 'configs/instagen/instagen-head_toy_toy-shapes.py',
                'paper': 'configs/_base_/models/instagen_sd14.py'}
CATEGORIES = ['circle', 'square', 'zebra', 'traffic light']


def build_head(args):
    """The InstaGen detector of ``--head`` on the ``--preset`` LDM, random weights."""
    import diffdet_plugin  # noqa: F401
    from diffdet_plugin.ldm import ALL_BLOCKS, get_preset, tap_layout
    from mmengine.config import Config

    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(osp.dirname(config_dir()), HEAD_CONFIGS[args.head]))
    cfg.model.backbone.ldm = dict(preset=args.preset, dtype=args.dtype, seed=args.seed)
    k = 2 if cfg.model.backbone.get('condition') == 'uncond+cond' else 1  # [uncond || cond]
    cfg.model.neck.in_channels = [
        k * lvl.channels for lvl in tap_layout(get_preset(args.preset)['unet'], ALL_BLOCKS, 8)]
    torch.manual_seed(args.seed)
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    detector = detector.eval().to(args.device)
    detector.backbone.ldm.to(args.device)
    return detector


def run_variants(args, variants, work_dir: str) -> tuple[dict, dict]:
    from diffdet_plugin.ldm import build_sampling_scheduler
    from diffdet_plugin.models.detectors import make_data_samples
    from diffdet_plugin.synthesis import InstaGenConfig, InstaGenSynthesizer, item_seed
    from diffusers import StableDiffusionPipeline
    t0 = time.perf_counter()
    detector = build_head(args)
    synchronize(args.device)
    build_s = time.perf_counter() - t0
    ldm = detector.backbone.ldm
    items = [(i, i % len(CATEGORIES)) for i in range(args.batch)]
    fns, vinfo, engines = {}, {}, {}

    def config(with_labels):
        return InstaGenConfig(categories=list(CATEGORIES), num_images=args.batch,
                              batch_size=args.batch, seed=args.seed,
                              num_inference_steps=args.steps, guidance_scale=args.guidance,
                              image_size=args.res, score_thr=0.0, keep_negatives=True,
                              contact_sheet=dict(num_images=0), with_labels=with_labels)

    for v in ('instagen', 'instagen_no_labels'):
        if v in variants:
            eng = InstaGenSynthesizer(detector, config(v == 'instagen'), osp.join(work_dir, v))
            engines[v] = eng
            vinfo[v] = {}
            fns[v] = (lambda eng=eng, v=v: vinfo[v].__setitem__(
                'last_record', eng.synthesize_batch(0, items)))
    if 'generate_then_detect' in variants:
        pipe = StableDiffusionPipeline(
            vae=ldm.vae, text_encoder=ldm.text_encoder, tokenizer=ldm.tokenizer, unet=ldm.unet,
            scheduler=build_sampling_scheduler(ldm), safety_checker=None,
            feature_extractor=None, requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        eng = InstaGenSynthesizer(detector, config(False), osp.join(work_dir, 'prompts'))
        sources = [eng.sources[s] for _, s in items]
        seeds = [item_seed(args.seed, i) for i, _ in items]
        gen_device = 'cpu' if args.device == 'cpu' else args.device
        vinfo['generate_then_detect'] = dict(prompt=sources[0].prompt, output_type='pt')

        @torch.no_grad()
        def generate_then_detect():
            gens = [torch.Generator(gen_device).manual_seed(s) for s in seeds]
            images = pipe(prompt=[s.prompt for s in sources], num_inference_steps=args.steps,
                          guidance_scale=args.guidance, generator=gens, height=args.res,
                          width=args.res, output_type='pt').images  # (B, 3, H, W) in [0, 1]
            x = (images * 2 - 1).to(args.device)
            feats = detector.backbone(x.to(ldm.dtype))
            feats = tuple(f.to(detector.query_embedding.weight) for f in feats)
            labels = [detector.predict_from_feats(
                tuple(f[j:j + 1] for f in feats), make_data_samples(1, (args.res, args.res)),
                class_names=list(s.class_names))[0] for j, s in enumerate(sources)]
            vinfo['generate_then_detect']['images_returned'] = len(images)
            return labels

        fns['generate_then_detect'] = generate_then_detect
    info = dict(build_s=round(build_s, 2), rss_after_build_bytes=current_rss_bytes(),
                ldm_params=sum(p.numel() for p in ldm.parameters()),
                head_params=sum(p.numel() for p in detector.parameters()),
                unet_batch=2 * args.batch, variants={})
    results = {}
    for v in variants:
        counter = UNetCallCounter(ldm.unet)
        reset_peak_memory(args.device)
        times = time_fn(fns[v], args.warmup, args.repeat, args.device)
        counter.remove()
        results[v] = dict(summarize(times, args.batch), **peak_memory(args.device))
        vi = vinfo[v]
        rec = vi.pop('last_record', None)
        if rec is not None:
            vi.update(images_written=len(rec['images']), boxes_written=len(rec['annotations']),
                      prompt=rec['images'][0]['prompt'] if rec['images'] else None)
        batches = args.warmup + args.repeat
        vi.update(batches=batches, unet_calls_per_batch=counter.calls / batches)
        info['variants'][v] = vi
    return results, info


def run_variants_in_tmp(args, variants):
    with tempfile.TemporaryDirectory(prefix='bench_instagen_') as work_dir:
        return run_variants(args, variants, work_dir)


def bench_instagen(args, parser):
    check_sizes(parser, args, [('--steps', args.steps)])
    if args.guidance <= 1:
        parser.error(f'--guidance must be > 1, got {args.guidance}: the synthesizer always runs '
                     'classifier-free guidance; diffusers switches it off for guidance <= 1.')
    check_preset_and_device(parser, args)
    header = [
        f'instagen benchmark: preset {args.preset}, head {args.head} ({HEAD_CONFIGS[args.head]}), '
        f'batch {args.batch}, {args.res}x{args.res}, {args.steps} steps, guidance '
        f'{args.guidance}, warmup {args.warmup}, repeat {args.repeat} (median reported)',
        'random weights (LDM preset and head), no checkpoint; categories cycle through '
        f'{CATEGORIES}']
    measured = measure_variants(args, VARIANTS, run_variants_in_tmp, header,
                                'VAE, UNet, text encoder, grounding head')
    if measured is None:
        return
    env, results, info, mem_note = measured
    ips = {v: r['items_per_s'] for v, r in results.items()}
    ratios = dict(
        instagen_over_generate_then_detect=ips['instagen'] / ips['generate_then_detect'],
        instagen_over_instagen_no_labels=ips['instagen'] / ips['instagen_no_labels'])
    calls = {v: i['unet_calls_per_batch'] for v, i in info['variants'].items()}
    notes = [
        f"ratio instagen/generate-then-detect (images/s): "
        f"{ratios['instagen_over_generate_then_detect']:.3f}; instagen with/without labels: "
        f"{ratios['instagen_over_instagen_no_labels']:.3f}",
        f'UNet calls per batch: {calls} (CFG: each sampling call is batch 2B; labelling adds '
        'one call of batch B at t = 1 in both labelled variants)',
        'instagen also JPEG-encodes and writes every image and a shard record; '
        'generate_then_detect VAE-encodes the decoded images again before the t = 1 pass']
    report(args, 'instagen', RECORDED_ARGS, notes, measured, VARIANT_HELP,
           facts=(f"head params {info['head_params'] / 1e6:.1f} M", ), ratios=ratios)


def add_parser(subparsers):
    p = add_benchmark_parser(
        subparsers, 'instagen', bench_instagen, VARIANTS,
        seed_help='seed of the weights and per-image noise', **SYNTHESIS_UNITS)
    p.add_argument('--head', choices=sorted(HEAD_CONFIGS), default='toy',
                   help='head size: toy (2 + 2 layers, 100 queries) or paper (6 + 6, 900)')
    add_sampler_args(p)
    return p
