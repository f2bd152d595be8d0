"""Benchmarks of diffdet_plugin components.

One subcommand per benchmark; they share the timing / memory / environment
helpers below. Results: ``docs/benchmarks.md``.

``backbone``: :class:`LDMBackbone` feature extraction (plugin path) against
the same work done with plain diffusers calls on the very same components
(stock path)::

    python tools/benchmark.py backbone --preset sd2-base --batch 16 --res 512 \\
        [--dtype fp32|fp16|bf16] [--device cpu|cuda] [--warmup 1] [--repeat 3] \\
        [--seed 0] [--threads N] [--json OUT.json]

Both paths: x in [-1, 1] → VAE posterior mean · s → ``scheduler.add_noise`` at
t = 1 → one UNet pass with the empty prompt (embedding computed once, outside
the timed region). The plugin additionally runs its forward hooks and groups
the tapped block outputs by stride, so plugin ÷ stock throughput shows the
plugin's overhead.

Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` (both variants in
one process, peak stats reset between them); on CPU each variant runs in its
own child process (this script re-invoked with the hidden ``--variant`` flag)
and reports its peak RSS (``ru_maxrss``), which includes the model weights.

``synthesize``: the DiffusionEngine synthesis engine
(:class:`DiffusionEngineSynthesizer.synthesize_batch`: img2img + Detection-Adapter
labels + JPEG shards) against the same engine with ``with_labels=False`` and
against diffusers' own ``StableDiffusionImg2ImgPipeline`` built from the very
same components::

    python tools/benchmark.py synthesize --preset sd2-base --batch 16 --res 512 --steps 30 \\
        [--strength 0.6] [--guidance 7.5] [--dtype fp32|fp16|bf16] [--device cpu|cuda] \\
        [--warmup 1] [--repeat 3] [--seed 0] [--threads N] [--json OUT.json]

``quality``: the papers' data-sparse protocol at toy scale (detector mAP on 10 % real,
10 % real + engine data, 100 % real); see ``tools/benchmark_quality.py``::

    python tools/benchmark.py quality [--real-fraction 0.1] [--det-iters 1500]
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import time

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from diffdet_plugin.benchmarks import fidelity, quality  # noqa: E402

RESULT_TAG = 'BENCH_RESULT '  # prefix of the JSON line a child process prints
DTYPES = ('fp32', 'fp16', 'bf16')
BACKBONE_VARIANTS = ('plugin', 'stock')


# ----------------------------------------------------------------------------
# shared helpers: environment, timing, memory, child processes, output
# ----------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def environment(device: str, dtype: str) -> dict:
    """What the numbers depend on: versions, device, threads, dtype, load."""
    import diffusers
    env = dict(python=platform.python_version(), torch=torch.__version__,
               diffusers=diffusers.__version__, device=device, dtype=dtype,
               cpu=cpu_model(), cpu_count=usable_cpus(), torch_threads=torch.get_num_threads(),
               load_avg_1_5_15=load_average())
    if device == 'cuda':
        env.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version())
    return env


def synchronize(device: str):
    if device == 'cuda':
        torch.cuda.synchronize()


def time_fn(fn, warmup: int, repeat: int, device: str) -> list[float]:
    """Call ``fn()`` ``warmup`` times untimed, then ``repeat`` times timed.

    Returns the wall-clock seconds of each timed call; on CUDA the device is
    synchronized before and after each call. ``fn``'s result is dropped at
    once, so no two calls' outputs are alive together.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return times


def summarize(times: list[float], items_per_call: int) -> dict:
    med = statistics.median(times)
    return dict(times_s=[round(t, 4) for t in times], median_s=round(med, 4),
                min_s=round(min(times), 4), items_per_s=items_per_call / med)


def current_rss_bytes() -> int | None:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux, B on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == 'darwin' else peak * 1024


def reset_peak_memory(device: str):
    if device == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_memory(device: str) -> dict:
    if device == 'cuda':
        return dict(peak_mem_bytes=torch.cuda.max_memory_allocated(),
                    peak_mem_kind='cuda max_memory_allocated')
    return dict(peak_mem_bytes=peak_rss_bytes(), peak_mem_kind='peak process RSS')


def run_child(argv: list[str]) -> dict:
    """Run this script with ``argv`` in a fresh process; return the JSON it reports.

    The child's stderr goes straight to ours; its result is the last stdout
    line starting with :data:`RESULT_TAG`.
    """
    cmd = [sys.executable, osp.abspath(__file__)] + argv
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    results = [ln[len(RESULT_TAG):] for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not results:
        sys.stdout.write(proc.stdout)
        raise SystemExit(f'benchmark child process failed (exit code {proc.returncode}): '
                         f'{" ".join(cmd)}')
    return json.loads(results[-1])


def emit_child_result(result: dict):
    print(RESULT_TAG + json.dumps(result), flush=True)


def fmt_bytes(n: int | None) -> str:
    return '-' if n is None else f'{n / 2**30:.2f} GiB' if n >= 2**30 else f'{n / 2**20:.0f} MiB'


def print_table(headers: list[str], rows: list[list[str]]):
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    line = ' | '.join(f'{h:<{w}}' for h, w in zip(headers, widths))
    print(line)
    print('-+-'.join('-' * w for w in widths))
    for r in rows:
        print(' | '.join(f'{str(c):<{w}}' for c, w in zip(r, widths)))


def print_environment(env: dict):
    dev = (f"cuda: {env['gpu']} (CUDA {env['cuda']}, cuDNN {env['cudnn']})"
           if env['device'] == 'cuda' else f"cpu: {env['cpu']}, {env['cpu_count']} usable cores")
    print(f"torch {env['torch']}, diffusers {env['diffusers']}, python {env['python']}")
    print(f"device {dev}; torch threads {env['torch_threads']}; dtype {env['dtype']}; "
          f"load average (1/5/15 min) {env['load_avg_1_5_15']}")


def write_json(path: str, data: dict):
    d = osp.dirname(osp.abspath(path))
    os.makedirs(d, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(data, f, indent=2)
    print(f'wrote {path}')


def check_device(parser: argparse.ArgumentParser, args):
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device cuda: CUDA is not available here (torch {torch.__version__}, '
                     f'built with CUDA {torch.version.cuda}). Use --device cpu, or run on a '
                     'machine with an NVIDIA GPU and a CUDA build of torch.')


def setup_threads(args):
    if getattr(args, 'threads', None):
        torch.set_num_threads(args.threads)


# ----------------------------------------------------------------------------
# backbone
# ----------------------------------------------------------------------------
def build_backbone(args):
    """LDMBackbone from mmdet's registry, its frozen LDM on ``args.device``."""
    import diffdet_plugin  # noqa: F401  (registers LDMBackbone)
    from mmdet.registry import MODELS
    backbone = MODELS.build(dict(type='LDMBackbone',
                                 ldm=dict(preset=args.preset, dtype=args.dtype, seed=args.seed),
                                 noise='fixed', noise_seed=args.seed))
    backbone.ldm.to(args.device)
    return backbone


def backbone_fns(backbone, x: torch.Tensor) -> dict:
    """The two timed callables, on the same components and the same input.

    The empty-prompt embedding, the stock path's noise and timesteps (and the
    plugin's cached fixed noise) are made here, outside the timed region.
    """
    ldm = backbone.ldm
    vae, unet, scheduler = ldm.vae, ldm.unet, ldm.scheduler
    b = x.shape[0]
    s = ldm.latent_stride
    latent_shape = (b, ldm.latent_channels, x.shape[-2] // s, x.shape[-1] // s)
    # Empty-prompt embedding: once, through the tokenizer + text encoder, for both.
    ctx = ldm.prompt_embedding(backbone.prompt, b)
    # Plugin: prime its fixed-noise cache; stock: the same noise, as a tensor.
    noise = backbone._noise_like(torch.empty(latent_shape, device=x.device, dtype=ldm.dtype))
    noise = noise.contiguous()
    t = torch.full((b, ), backbone.timestep, device=x.device, dtype=torch.long)

    def plugin():
        return backbone(x)

    @torch.no_grad()
    def stock():
        z0 = vae.encode(x).latent_dist.mean * vae.config.scaling_factor
        z1 = scheduler.add_noise(z0, noise, t)
        return unet(z1, t, encoder_hidden_states=ctx).sample

    return dict(plugin=plugin, stock=stock)


def run_backbone_variants(args, variants) -> tuple[dict, dict]:
    """Build the backbone once and time ``variants`` in this process.

    Returns (per-variant results, extra info). The plugin runs first; before
    the stock path the backbone's forward hooks are removed, so stock pays
    nothing for them.
    """
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    backbone = build_backbone(args)
    synchronize(args.device)
    build_s = time.perf_counter() - t0
    ldm = backbone.ldm
    g = torch.Generator().manual_seed(args.seed)
    # In the LDM's dtype for both paths (the plugin would otherwise add a cast).
    x = (torch.rand(args.batch, 3, args.res, args.res, generator=g) * 2 - 1).to(args.device, ldm.dtype)
    fns = backbone_fns(backbone, x)
    n_params = sum(p.numel() for m in (ldm.vae, ldm.unet) for p in m.parameters())
    info = dict(build_s=round(build_s, 2), rss_after_build_bytes=current_rss_bytes(),
                vae_unet_params=n_params, out_channels=backbone.out_channels,
                strides=backbone.strides,
                feature_shapes=None)
    results = {}
    for v in variants:
        if v == 'stock':
            backbone.taps.remove()
        reset_peak_memory(args.device)
        times = time_fn(fns[v], args.warmup, args.repeat, args.device)
        results[v] = dict(summarize(times, args.batch), **peak_memory(args.device))
        if v == 'plugin':
            with torch.no_grad():
                info['feature_shapes'] = [list(f.shape) for f in backbone(x)]
    return results, info


def bench_backbone(args, parser):
    if args.res % 64:
        parser.error(f'--res {args.res} is not a multiple of 64: the SD UNet downsamples the '
                     'image 64x (VAE 8x, UNet 8x). Use e.g. --res '
                     f'{max(64, args.res // 64 * 64)} or {(args.res // 64 + 1) * 64}.')
    for flag, val, lo in (('--batch', args.batch, 1), ('--repeat', args.repeat, 1),
                          ('--warmup', args.warmup, 0)):
        if val < lo:
            parser.error(f'{flag} must be >= {lo}, got {val}')
    from diffdet_plugin.ldm.presets import preset_names
    if args.preset not in preset_names():
        parser.error(f'--preset {args.preset!r} is unknown; available: {", ".join(preset_names())}')
    check_device(parser, args)
    setup_threads(args)

    if args.variant:  # child process: one variant, result as a JSON line
        results, info = run_backbone_variants(args, [args.variant])
        emit_child_result(dict(result=results[args.variant], info=info,
                               env=environment(args.device, args.dtype)))
        return

    env = environment(args.device, args.dtype)
    print(f'backbone benchmark: preset {args.preset}, batch {args.batch}, {args.res}x{args.res}, '
          f'warmup {args.warmup}, repeat {args.repeat} (median reported)')
    print_environment(env)
    if args.device == 'cuda':
        results, info = run_backbone_variants(args, BACKBONE_VARIANTS)
        mem_note = ('peak memory: torch.cuda.max_memory_allocated per variant (same process, '
                    'peak reset between variants; includes the model weights)')
    else:
        results, info = {}, None
        base = _strip_flag(args.argv, '--json')
        for v in BACKBONE_VARIANTS:  # one after another: each child holds the whole model
            print(f'[{v}] running in a child process ...', flush=True)
            child = run_child(base + ['--variant', v])
            results[v] = dict(child['result'],
                              rss_after_build_bytes=child['info']['rss_after_build_bytes'])
            info = info or child['info']  # the plugin child's: it also has the feature shapes
            env['torch_threads'] = child['env']['torch_threads']
        mem_note = ('peak memory on CPU: peak process RSS (ru_maxrss) of the variant\'s own child '
                    'process, including the model weights (VAE, UNet, text encoder), the Python '
                    'interpreter and imported libraries')
    env['load_avg_1_5_15_end'] = load_average()
    ratio = results['plugin']['items_per_s'] / results['stock']['items_per_s']

    print()
    rows = [[v, f"{r['median_s']:.3f}", f"{r['min_s']:.3f}", f"{r['items_per_s']:.3f}",
             fmt_bytes(r['peak_mem_bytes'])] for v, r in results.items()]
    print_table(['variant', 'median s/batch', 'min s/batch', 'images/s (median)', 'peak mem'],
                rows)
    print(f'ratio plugin/stock (images/s): {ratio:.3f}')
    print(mem_note)
    print(f"model build {info['build_s']} s; VAE+UNet params {info['vae_unet_params'] / 1e6:.1f} M; "
          f"features {info['feature_shapes']}; load average at end {env['load_avg_1_5_15_end']}")

    if args.json:
        write_json(args.json, dict(
            bench='backbone',
            args=dict(preset=args.preset, batch=args.batch, res=args.res, dtype=args.dtype,
                      device=args.device, warmup=args.warmup, repeat=args.repeat,
                      seed=args.seed),
            env=env, results=results, ratio_plugin_over_stock=ratio, memory_note=mem_note,
            info=info))


def _strip_flag(argv: list[str], flag: str) -> list[str]:
    """``argv`` without ``flag VALUE`` / ``flag=VALUE``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == flag:
            skip = True
        elif not a.startswith(flag + '='):
            out.append(a)
    return out


# ----------------------------------------------------------------------------
# synthesize
# ----------------------------------------------------------------------------
SYNTH_VARIANTS = ('engine', 'engine_no_labels', 'diffusers')
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
    return osp.join(REPO_ROOT, SYNTH_ADAPTER_CONFIGS.get(preset, SYNTH_ADAPTER_CONFIGS['sd2-base']))


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
    from diffdet_plugin.synthesis.engine import SynthesisConfig
    return SynthesisConfig(
        reference=reference,
        prompt=dict(domain='photo', use_captions=False),  # the generic template (+ photo suffix)
        num_images=args.batch, batch_size=args.batch, seed=args.seed,
        scheduler='DPMSolverMultistepScheduler', num_inference_steps=args.steps,
        guidance_scale=args.guidance, encode_ratio=(args.strength, args.strength),
        resize_range=(args.res, args.res), crop_max=(args.res, args.res), size_divisor=64,
        score_thr=args.score_thr, label_half='cond', keep_negatives=True,
        balance=dict(min_per_category=0), contact_sheet=dict(num_images=0),
        with_labels=with_labels)


def synthesize_fns(args, detector, classes, reference: dict, work_dir: str, variants) -> tuple:
    """The timed callables (one batch of ``args.batch`` images each) and per-variant info."""
    from diffdet_plugin.synthesis.engine import DiffusionEngineSynthesizer, _item_seed
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
        from diffusers import StableDiffusionImg2ImgPipeline
        from PIL import Image

        from diffdet_plugin.ldm import build_sampling_scheduler
        from diffdet_plugin.synthesis.prompts import PromptBuilder
        from diffdet_plugin.synthesis.references import load_references
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
        seeds = [_item_seed(args.seed, i) for i, _ in items]
        gen_device = 'cpu' if args.device == 'cpu' else args.device

        def diffusers_fn():
            gens = [torch.Generator(gen_device).manual_seed(s) for s in seeds]
            return pipe(prompt=[p for p, _ in prompts], negative_prompt=[n for _, n in prompts],
                        image=images, strength=args.strength, num_inference_steps=args.steps,
                        guidance_scale=args.guidance, generator=gens, output_type='pil').images

        fns['diffusers'] = diffusers_fn
        info['diffusers'] = dict(prompt=prompts[0][0], negative_prompt=prompts[0][1],
                                 output_type='pil')
    return fns, info, engines


def run_synthesize_variants(args, variants, work_dir: str) -> tuple[dict, dict]:
    """Build the adapter + references once and time ``variants`` in this process.

    The engine variants run first; before diffusers the adapter backbone's
    forward hooks (its UNet taps) are removed, so diffusers pays nothing for them.
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
    results = {}
    for v in variants:
        if v == 'diffusers':
            detector.backbone.taps.remove()
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
        info['variants'][v] = vi
    return results, info


def _check_synthesize_args(parser, args):
    if args.res % 64:
        parser.error(f'--res {args.res} is not a multiple of 64: the SD UNet downsamples the '
                     'image 64x (VAE 8x, UNet 8x). Use e.g. --res '
                     f'{max(64, args.res // 64 * 64)} or {(args.res // 64 + 1) * 64}.')
    for flag, val, lo in (('--batch', args.batch, 1), ('--steps', args.steps, 1),
                          ('--repeat', args.repeat, 1), ('--warmup', args.warmup, 0)):
        if val < lo:
            parser.error(f'{flag} must be >= {lo}, got {val}')
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
    from diffdet_plugin.ldm.presets import preset_names
    if args.preset not in preset_names():
        parser.error(f'--preset {args.preset!r} is unknown; available: {", ".join(preset_names())}')
    check_device(parser, args)


def bench_synthesize(args, parser):
    _check_synthesize_args(parser, args)
    setup_threads(args)
    import tempfile

    if args.variant:  # child process: one variant, result as a JSON line
        with tempfile.TemporaryDirectory(prefix='bench_synth_') as work_dir:
            results, info = run_synthesize_variants(args, [args.variant], work_dir)
        emit_child_result(dict(result=results[args.variant], info=info,
                               env=environment(args.device, args.dtype)))
        return

    env = environment(args.device, args.dtype)
    print(f'synthesize benchmark: preset {args.preset}, batch {args.batch}, {args.res}x{args.res}, '
          f'{args.steps} steps, strength {args.strength} '
          f'({int(args.steps * args.strength)} denoising steps), guidance {args.guidance}, '
          f'warmup {args.warmup}, repeat {args.repeat} (median reported)')
    print(f'adapter config: {osp.relpath(adapter_config_path(args.preset), REPO_ROOT)} '
          f'(model.backbone.ldm.preset={args.preset}, random weights, no checkpoint)')
    print_environment(env)
    if args.device == 'cuda':
        with tempfile.TemporaryDirectory(prefix='bench_synth_') as work_dir:
            results, info = run_synthesize_variants(args, SYNTH_VARIANTS, work_dir)
        mem_note = ('peak memory: torch.cuda.max_memory_allocated per variant (same process, '
                    'peak reset between variants; includes the model weights)')
    else:
        results, info = {}, dict(variants={})
        base = _strip_flag(args.argv, '--json')
        for v in SYNTH_VARIANTS:  # one after another: each child holds the whole model
            print(f'[{v}] running in a child process ...', flush=True)
            child = run_child(base + ['--variant', v])
            results[v] = dict(child['result'],
                              rss_after_build_bytes=child['info']['rss_after_build_bytes'])
            variants = dict(info['variants'], **child['info']['variants'])
            info = dict(child['info'], variants=variants)
            env['torch_threads'] = child['env']['torch_threads']
        mem_note = ('peak memory on CPU: peak process RSS (ru_maxrss) of the variant\'s own child '
                    'process, including the model weights (VAE, UNet, text encoder, adapter '
                    'neck/head), the Python interpreter and imported libraries')
    env['load_avg_1_5_15_end'] = load_average()
    ips = {v: r['items_per_s'] for v, r in results.items()}
    ratios = dict(engine_over_diffusers=ips['engine'] / ips['diffusers'],
                  engine_no_labels_over_diffusers=ips['engine_no_labels'] / ips['diffusers'],
                  engine_over_engine_no_labels=ips['engine'] / ips['engine_no_labels'])

    print()
    rows = [[v, SYNTH_VARIANT_HELP[v], f"{r['median_s']:.3f}", f"{r['min_s']:.3f}",
             f"{r['items_per_s']:.3f}", fmt_bytes(r['peak_mem_bytes'])]
            for v, r in results.items()]
    print_table(['variant', 'what', 'median s/batch', 'min s/batch', 'images/s (median)',
                 'peak mem'], rows)
    print(f"ratio engine/diffusers (images/s): {ratios['engine_over_diffusers']:.3f}; "
          f"engine without labels/diffusers: {ratios['engine_no_labels_over_diffusers']:.3f}; "
          f"engine with/without labels: {ratios['engine_over_engine_no_labels']:.3f}")
    print('the engine variants also read the references from disk, JPEG-encode and write every '
          'image and a shard record per batch (part of what the engine does); diffusers returns '
          'PIL images in memory')
    print(mem_note)
    eng = info['variants'].get('engine', {})
    print(f"model build {info['build_s']} s; LDM params {info['ldm_params'] / 1e6:.1f} M; "
          f"adapter params (without the LDM) {info['adapter_params_without_ldm'] / 1e6:.1f} M; "
          f"{info['unet_calls_per_batch']} UNet calls of batch {info['unet_batch']} per batch; "
          f"engine kept {eng.get('boxes_written')} boxes (score >= {args.score_thr}, random "
          f"head); load average at end {env['load_avg_1_5_15_end']}")

    if args.json:
        write_json(args.json, dict(
            bench='synthesize',
            args=dict(preset=args.preset, batch=args.batch, res=args.res, steps=args.steps,
                      strength=args.strength, guidance=args.guidance, dtype=args.dtype,
                      device=args.device, warmup=args.warmup, repeat=args.repeat,
                      seed=args.seed, score_thr=args.score_thr),
            env=env, results=results, ratios=ratios, memory_note=mem_note, info=info))


# ----------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------
def add_backbone_parser(subparsers):
    p = subparsers.add_parser(
        'backbone', help='LDMBackbone feature extraction vs. the same stock diffusers calls',
        description='Time LDMBackbone(x) (feature pyramid) against plain diffusers calls doing '
        'the same work (VAE encode, add_noise at t=1, one UNet pass with the empty prompt) on '
        'the same components; report images/s, their ratio and peak memory.')
    p.add_argument('--preset', default='sd2-base',
                   help='LDM architecture preset (random weights): tiny, sd15, sd2-base, sd2')
    p.add_argument('--batch', type=int, default=16, help='images per forward pass')
    p.add_argument('--res', type=int, default=512, help='square image size; a multiple of 64')
    p.add_argument('--dtype', choices=DTYPES, default='fp32', help='LDM weights and input dtype')
    p.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    p.add_argument('--warmup', type=int, default=1, help='untimed calls per variant')
    p.add_argument('--repeat', type=int, default=3, help='timed calls per variant (median)')
    p.add_argument('--seed', type=int, default=0, help='seed of the weights, input and noise')
    p.add_argument('--threads', type=int, default=None,
                   help='torch.set_num_threads (default: torch\'s own choice)')
    p.add_argument('--json', metavar='OUT.json', help='also write the numbers to this file')
    p.add_argument('--variant', choices=BACKBONE_VARIANTS, help=argparse.SUPPRESS)
    p.set_defaults(func=bench_backbone, parser=p)
    return p


def add_synthesize_parser(subparsers):
    p = subparsers.add_parser(
        'synthesize', help='DiffusionEngine synthesis (images + labels) vs. images only vs. '
        'diffusers StableDiffusionImg2ImgPipeline',
        description='Time DiffusionEngineSynthesizer.synthesize_batch (img2img with CFG, '
        'Detection-Adapter labels from the last UNet call, JPEG + shard writing), the same '
        'engine with with_labels=False, and diffusers\' StableDiffusionImg2ImgPipeline built '
        'from the same VAE / text encoder / tokenizer / UNet with the same scheduler, prompts, '
        'steps, guidance and strength; report images/s, their ratios and peak memory.')
    p.add_argument('--preset', default='sd2-base',
                   help='LDM architecture preset (random weights): tiny, sd15, sd2-base, sd2')
    p.add_argument('--batch', type=int, default=16, help='images per batch (UNet batch: 2x)')
    p.add_argument('--res', type=int, default=512, help='square image size; a multiple of 64')
    p.add_argument('--steps', type=int, default=30, help='num_inference_steps N')
    p.add_argument('--strength', type=float, default=0.6,
                   help='encode ratio / img2img strength: the last int(N * strength) steps run')
    p.add_argument('--guidance', type=float, default=7.5, help='CFG scale (> 1)')
    p.add_argument('--score-thr', type=float, default=0.3,
                   help='the engine\'s box score threshold (delta)')
    p.add_argument('--dtype', choices=DTYPES, default='fp32', help='LDM weights dtype')
    p.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    p.add_argument('--warmup', type=int, default=1, help='untimed batches per variant')
    p.add_argument('--repeat', type=int, default=3, help='timed batches per variant (median)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the weights, references and per-image noise')
    p.add_argument('--threads', type=int, default=None,
                   help='torch.set_num_threads (default: torch\'s own choice)')
    p.add_argument('--json', metavar='OUT.json', help='also write the numbers to this file')
    p.add_argument('--variant', choices=SYNTH_VARIANTS, help=argparse.SUPPRESS)
    p.set_defaults(func=bench_synthesize, parser=p)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='diffdet_plugin benchmarks (results: docs/benchmarks.md)')
    subparsers = parser.add_subparsers(dest='bench', required=True)
    add_backbone_parser(subparsers)
    add_synthesize_parser(subparsers)
    quality.add_parser(subparsers)
    fidelity.add_parser(subparsers)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # re-used to start child processes
    args.func(args, args.parser)


if __name__ == '__main__':
    main()
