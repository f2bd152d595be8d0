"""The command-line options the throughput benchmarks share (``backbone``, ``synthesize``,
``instagen``) and their checks: one clear ``parser.error`` per bad value."""
from __future__ import annotations

import argparse
import sys

import torch

from .harness import DTYPES


def add_benchmark_parser(subparsers, name: str, func, variants,
                         **common) -> argparse.ArgumentParser:
    """One throughput benchmark's sub-command: its parser with :func:`add_common_args`
    (``common``: their help texts), running ``func(args)``. What the benchmark does is said
    once, in the docstring of ``func``'s module: its first line (after
    ``tools/benchmark.py NAME:``) is the sub-command's help, the whole its description."""
    doc = sys.modules[func.__module__].__doc__
    first = (doc or '').strip().splitlines()[0] if doc else ''
    if not first.startswith(f'``tools/benchmark.py {name}``:'):
        raise ValueError(f'{func.__module__} needs a module docstring whose first line is '
                         f'"``tools/benchmark.py {name}``: <what it times>."')
    help = first.split(':', 1)[1].strip().rstrip('.')
    p = subparsers.add_parser(name, help=help, description=doc,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, variants, **common)
    p.set_defaults(func=func, parser=p)
    return p


def add_sampler_args(p: argparse.ArgumentParser, steps_help: str = 'num_inference_steps N'):
    """The sampler options of the synthesis benchmarks (the synthesis configs' defaults), and
    what their common options mean there (a timed unit is a batch of CFG pairs)."""
    p.add_argument('--steps', type=int, default=30, help=steps_help)
    p.add_argument('--guidance', type=float, default=7.5, help='CFG scale (> 1)')


#: :func:`add_common_args`' help texts for the synthesis benchmarks
SYNTHESIS_UNITS = dict(unit='batches', batch_help='images per batch (UNet batch: 2x)',
                       dtype_help='LDM weights dtype')


def add_common_args(p: argparse.ArgumentParser, variants, unit: str = 'calls',
                    batch_help: str = 'images per forward pass',
                    dtype_help: str = 'LDM weights and input dtype',
                    seed_help: str = 'seed of the weights, input and noise'):
    """The options of the throughput benchmarks (``variants``: the hidden ``--variant``)."""
    p.add_argument('--preset', default='sd2-base',
                   help='LDM architecture preset (random weights): tiny, sd15, sd2-base, sd2')
    p.add_argument('--batch', type=int, default=16, help=batch_help)
    p.add_argument('--res', type=int, default=512, help='square image size; a multiple of 64')
    p.add_argument('--dtype', choices=DTYPES, default='fp32', help=dtype_help)
    p.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    p.add_argument('--warmup', type=int, default=1, help=f'untimed {unit} per variant')
    p.add_argument('--repeat', type=int, default=3, help=f'timed {unit} per variant (median)')
    p.add_argument('--seed', type=int, default=0, help=seed_help)
    p.add_argument('--threads', type=int, default=None,
                   help='torch.set_num_threads (default: torch\'s own choice)')
    p.add_argument('--json', metavar='OUT.json', help='also write the numbers to this file')
    p.add_argument('--in-process', action='store_true',
                   help='on CPU, time every variant in this process instead of one child '
                   'process each (faster to start; the peak-memory figures then mix variants)')
    p.add_argument('--variant', choices=variants, help=argparse.SUPPRESS)


def check_sizes(parser: argparse.ArgumentParser, args, counts=()):
    """--res a multiple of 64; --batch, ``counts`` ((flag, value)), --repeat >= 1; --warmup >= 0."""
    if args.res % 64:
        parser.error(f'--res {args.res} is not a multiple of 64: the SD UNet downsamples the '
                     'image 64x (VAE 8x, UNet 8x). Use e.g. --res '
                     f'{max(64, args.res // 64 * 64)} or {(args.res // 64 + 1) * 64}.')
    for flag, val, lo in (('--batch', args.batch, 1), *((f, v, 1) for f, v in counts),
                          ('--repeat', args.repeat, 1), ('--warmup', args.warmup, 0)):
        if val < lo:
            parser.error(f'{flag} must be >= {lo}, got {val}')


def check_preset_and_device(parser: argparse.ArgumentParser, args):
    from ..ldm.presets import preset_names
    if args.preset not in preset_names():
        parser.error(f'--preset {args.preset!r} is unknown; available: {", ".join(preset_names())}')
    check_device(parser, args)


def check_device(parser: argparse.ArgumentParser, args):
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device cuda: CUDA is not available here (torch {torch.__version__}, '
                     f'built with CUDA {torch.version.cuda}). Use --device cpu, or run on a '
                     'machine with an NVIDIA GPU and a CUDA build of torch.')
