"""Benchmarks as a library: one module per benchmark, one subcommand each.

* :mod:`.backbone`: LDMBackbone feature extraction vs. the same plain diffusers calls;
* :mod:`.synthesize`: the DiffusionEngine synthesis engine vs. diffusers' img2img pipeline;
* :mod:`.instagen`: InstaGen synthesis vs. diffusers' text-to-image + the detector on the images;
* :mod:`.fidelity`: judge-graded text-to-image / img2img / label fidelity (toy scale);
* :mod:`.quality`: detector mAP with real vs. real + DiffusionEngine data (toy scale).

:mod:`.harness` holds what they share (environment, timing, memory, child processes,
tables, result files). The CLI is ``python tools/benchmark.py SUBCOMMAND`` or
``python -m diffdet_plugin.benchmarks SUBCOMMAND`` (:func:`main`); results:
``docs/benchmarks.md``.
"""
from __future__ import annotations

import argparse
import sys

from . import backbone, fidelity, instagen, quality, synthesize

__all__ = ['backbone', 'synthesize', 'fidelity', 'quality', 'build_parser', 'main']


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The benchmarks' argument parser: one subcommand per benchmark."""
    parser = argparse.ArgumentParser(
        prog=prog, description='diffdet_plugin benchmarks (results: docs/benchmarks.md)')
    subparsers = parser.add_subparsers(dest='bench', required=True)
    backbone.add_parser(subparsers)
    synthesize.add_parser(subparsers)
    instagen.add_parser(subparsers)
    quality.add_parser(subparsers)
    fidelity.add_parser(subparsers)
    return parser


def main(argv=None, prog: str | None = None):
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the benchmark it names."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(prog).parse_args(argv)
    args.argv = argv  # re-used to start child processes
    args.func(args, args.parser)
