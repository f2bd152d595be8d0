"""Benchmarks of diffdet_plugin components, one subcommand each (results: docs/benchmarks.md).

* ``backbone``: LDMBackbone features vs. the same plain diffusers calls (backbone.py)::

    python tools/benchmark.py backbone --preset sd2-base --batch 16 --res 512 [--json OUT]

* ``synthesize``: the DiffusionEngine engine vs. diffusers' img2img pipeline (synthesize.py)::

    python tools/benchmark.py synthesize --preset sd2-base --batch 16 --res 512 --steps 30

* ``fidelity``: judge-graded text-to-image / img2img / label fidelity (fidelity.py)::

    python tools/benchmark.py fidelity --ldm new=embedded:toy --split test

* ``quality``: detector mAP on real vs. real + engine data, toy scale (quality.py)::

    python tools/benchmark.py quality --protocols sparse full --seeds 0 1 2

Each benchmark is the module named, in ``diffdet_plugin/benchmarks/`` (its docstring says
what it measures; ``python tools/benchmark.py SUBCOMMAND -h`` lists its options); the same
CLI is ``python -m diffdet_plugin.benchmarks``. mmdet keeps its CLIs in tools/analysis_tools/;
this one stays at tools/benchmark.py because README.md and docs/benchmarks.md cite it.
"""
import sys

from diffdet_plugin.benchmarks import main

if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
