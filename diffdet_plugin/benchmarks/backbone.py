"""``tools/benchmark.py backbone``: LDMBackbone feature extraction against plain diffusers calls.

:class:`LDMBackbone` feature extraction (plugin path) against the same work done with
plain diffusers calls on the very same components (stock path)::

    python tools/benchmark.py backbone --preset sd2-base --batch 16 --res 512 \\
        [--dtype fp32|fp16|bf16] [--device cpu|cuda] [--warmup 1] [--repeat 3] \\
        [--seed 0] [--threads N] [--json OUT.json]

Both paths: x in [-1, 1] → VAE posterior mean · s → ``scheduler.add_noise`` at
t = 1 → one UNet pass with the empty prompt (embedding computed once, outside
the timed region). The plugin additionally runs its forward hooks and groups
the tapped block outputs by stride, so plugin ÷ stock throughput shows the
plugin's overhead. It reports images/s, their ratio and peak memory.

That both did the same work is recorded per variant (``info.variants``): one untimed
call after the timed ones, with a forward hook on the UNet, gives the UNet calls per
batch and their input / context / output shapes (``unet_call_shapes``) and the shapes of
what the call returns (``output_shapes``: the feature pyramid for the plugin, the UNet
output for stock). Timing and peak memory: :mod:`diffdet_plugin.benchmarks.harness`.
"""
from __future__ import annotations

import time

import torch

from .harness import (current_rss_bytes, measure_variants, peak_memory, report, reset_peak_memory,
                      summarize, synchronize, time_fn)
from .options import add_benchmark_parser, check_preset_and_device, check_sizes

BACKBONE_VARIANTS = ('plugin', 'stock')
RECORDED_ARGS = ()  # the common options only (harness.COMMON_RECORDED_ARGS)


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


def unet_work(unet: torch.nn.Module, fn) -> dict:
    """The work one (untimed) call of ``fn`` asks of ``unet``, and the shapes ``fn`` returns.

    A forward hook on the UNet records each call's input, context and output shape; the
    hook is removed before this returns.
    """
    calls = []

    def hook(module, args, kwargs, output):
        sample = kwargs['sample'] if 'sample' in kwargs else args[0]
        context = kwargs.get('encoder_hidden_states')
        out = output.sample if hasattr(output, 'sample') else output[0]
        calls.append(dict(input=list(sample.shape), output=list(out.shape),
                          context=None if context is None else list(context.shape)))

    handle = unet.register_forward_hook(hook, with_kwargs=True)
    try:
        with torch.no_grad():
            out = fn()
    finally:
        handle.remove()
    outs = out if isinstance(out, (tuple, list)) else (out, )
    return dict(unet_call_shapes=calls, output_shapes=[list(o.shape) for o in outs])


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
    x = torch.rand(args.batch, 3, args.res, args.res, generator=g) * 2 - 1
    x = x.to(args.device, ldm.dtype)
    fns = backbone_fns(backbone, x)
    n_params = sum(p.numel() for m in (ldm.vae, ldm.unet) for p in m.parameters())
    info = dict(build_s=round(build_s, 2), rss_after_build_bytes=current_rss_bytes(),
                vae_unet_params=n_params, out_channels=backbone.out_channels,
                strides=backbone.strides,
                feature_shapes=None, variants={})
    results = {}
    for v in variants:
        if v == 'stock':
            backbone.taps.remove()
        reset_peak_memory(args.device)
        times = time_fn(fns[v], args.warmup, args.repeat, args.device)
        results[v] = dict(summarize(times, args.batch), **peak_memory(args.device))
        info['variants'][v] = unet_work(ldm.unet, fns[v])  # after the peak memory is read
        if v == 'plugin':
            info['feature_shapes'] = info['variants'][v]['output_shapes']
    return results, info


def bench_backbone(args, parser):
    check_sizes(parser, args)
    check_preset_and_device(parser, args)
    header = [f'backbone benchmark: preset {args.preset}, batch {args.batch}, '
              f'{args.res}x{args.res}, warmup {args.warmup}, repeat {args.repeat} '
              '(median reported)']
    measured = measure_variants(args, BACKBONE_VARIANTS, run_backbone_variants, header,
                                'VAE, UNet, text encoder')
    if measured is None:  # a child process: its result is printed
        return
    env, results, info, mem_note = measured
    ratio = results['plugin']['items_per_s'] / results['stock']['items_per_s']
    report(args, 'backbone', RECORDED_ARGS, [f'ratio plugin/stock (images/s): {ratio:.3f}'],
           measured, facts=(f"VAE+UNet params {info['vae_unet_params'] / 1e6:.1f} M",
                            f"features {info['feature_shapes']}"),
           ratio_plugin_over_stock=ratio)


def add_parser(subparsers):
    return add_benchmark_parser(subparsers, 'backbone', bench_backbone, BACKBONE_VARIANTS)
