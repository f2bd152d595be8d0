"""``tools/benchmark.py quality``: do the papers' data make a detector better? (toy scale)

This module only dispatches: each protocol lives in its own module, over the shared
experiment toolkit (:mod:`.experiment`: recorded steps, subsets, detector runs, seeds, the
mean ± std summary):

* ``sparse``, ``full``: DiffusionEngine's data-sparse and full-data protocols
  (:mod:`.diffusion_engine_quality`);
* ``instagen``, ``instagen-pairs``: InstaGen's novel-category ablation, on shapes (Tier A)
  and on colour-shape pairs (Tier B) (:mod:`.instagen_quality`);
* ``detdiffusion``: DetDiffusion's fidelity ablation and trainability
  (:mod:`.detdiffusion_quality`).

Every finished step writes a record under ``--work-dir``; a rerun skips what is recorded,
so a protocol can be completed over several sessions. Tables give mean ± std over seeds and
whether each arm's difference to the baseline exceeds two standard errors.

    python tools/benchmark.py quality [--protocols sparse full] [--seeds 0 1 2 3 4] \\
        [--arms real real+de real+de-x2 real+de-x4 real+pseudo-x4 real@x4] \\
        [--work-dir work_dirs/bench_quality/{ldm}]

Records are keyed by the LDM: ``{ldm}`` in ``--work-dir`` becomes ``ldm-<fingerprint>``, and
a records folder stamped with another LDM is refused (:func:`.experiment.ldm_work_dir`).
"""
from __future__ import annotations

import argparse
import os.path as osp
import time

from ..evaluation.judge_filter import judged_subset  # noqa: F401
from ..utils.thresholds import check_threshold
from . import diffusion_engine_quality as de
from .diffusion_engine_quality import detector_config  # noqa: F401  (DetDiffusion's arms)
from .experiment import (detector_runs, record, recorded_step, summarize,  # noqa: F401
                         train_and_test, write_subset)
from .harness import finish_report

PROTOCOLS = dict(de.PROTOCOLS)  # + 'instagen', 'detdiffusion', run on request


def run(args, parser=None) -> dict:
    import diffdet_plugin  # noqa: F401

    from mmdet.utils import register_all_modules

    from ..datasets import ensure_toy_shapes
    from ..runner_utils import allow_mmengine_checkpoints
    allow_mmengine_checkpoints()
    # models built outside a Runner (a recorded adapter, reloaded) need mmdet's default scope
    register_all_modules(init_default_scope=True)
    t0 = time.time()
    root = args.data_root.rstrip('/') + '/'
    if ensure_toy_shapes(root):
        print(f'wrote the toy-shapes data to {root}')
    if args.lane is not None and not 0 <= args.lane[0] < args.lane[1]:
        msg = f'--lane {args.lane[0]} {args.lane[1]}: I must be in 0 .. N-1'
        if parser is not None:
            parser.error(msg)
        raise ValueError(msg)
    for flag in ('ig_alpha', 'ig_beta'):
        if getattr(args, flag, None) is not None:
            try:
                check_threshold(getattr(args, flag), '--' + flag.replace('_', '-'))
            except ValueError as e:
                if parser is not None:
                    parser.error(str(e))
                raise
    unknown = set(args.arms or []) - set(de.ARMS)
    if unknown:
        msg = f'unknown arms {sorted(unknown)}; choose from {list(de.ARMS)}'
        if parser is not None:
            parser.error(msg)
        raise ValueError(msg)
    result = dict(bench='quality', args=dict(
        protocols=args.protocols, seeds=args.seeds, arms=args.arms,
        adapter_data=args.adapter_data, adapter_iters=args.adapter_iters,
        det_iters=args.det_iters, delta=args.delta, encode_ratio=args.encode_ratio,
        steps=args.steps),
        protocols={})
    from ..ldm import FrozenLDM
    from .experiment import ldm_work_dir
    ldm = FrozenLDM.build(pretrained='embedded:toy')
    fingerprint = ldm.fingerprint
    try:
        args.work_dir = ldm_work_dir(args.work_dir, ldm)
    except ValueError as e:
        if parser is not None:
            parser.error(str(e))
        raise
    del ldm
    result['ldm'] = dict(source='embedded:toy', fingerprint=fingerprint, work_dir=args.work_dir)
    print(f'[quality] LDM embedded:toy (fingerprint {fingerprint[:12]}): records in '
          f'{args.work_dir}')
    md_parts = []
    for name in args.protocols:
        if name in ('instagen', 'instagen-pairs'):
            from . import instagen_quality
            p = instagen_quality.instagen_protocol(args, root, name)
            result[name] = p
            md_parts.append(instagen_quality.markdown(p))
            continue
        if name == 'detdiffusion':
            from . import detdiffusion_quality
            args.dd_arms = args.dd_arms or list(detdiffusion_quality.DD_ARMS)
            p = detdiffusion_quality.detdiffusion_protocol(args, root)
            result['detdiffusion'] = p
            md_parts.append(detdiffusion_quality.markdown(p))
            if getattr(args, 'dd_probes_only', False):
                break
            continue
        p = de.protocol(args, name, root, fingerprint)
        result['protocols'][name] = p
        md_parts.append(de.markdown(name, p))
    return finish_report(args.json or osp.join(args.work_dir, 'quality.json'), result,
                         '\n'.join(md_parts), t0)


def add_parser(subparsers):
    p = subparsers.add_parser(
        'quality', help="the papers' protocols at toy scale (DiffusionEngine sparse and full, "
        'InstaGen, DetDiffusion): detector mAP with real vs real + generated data',
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data-root', default='data/toy_shapes')
    p.add_argument('--protocols', nargs='+', default=list(PROTOCOLS),
                   choices=list(PROTOCOLS) + ['instagen', 'instagen-pairs', 'detdiffusion'],
                   help='DiffusionEngine protocols (default), and/or instagen: the InstaGen '
                   'ablation (novel / base AP50; diffdet_plugin/benchmarks/instagen_quality.py), '
                   'instagen-pairs: the same on colour-shape pair classes (Tier B), '
                   'and/or detdiffusion: its fidelity ablation and easy / hard trainability '
                   '(diffdet_plugin/benchmarks/detdiffusion_quality.py)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    p.add_argument('--det-iters', type=int, default=1500)
    p.add_argument('--steps', '--ig-steps', '--dd-steps', dest='steps', type=int, default=None,
                   help='denoising steps of every synthesis and generation the protocols run '
                   '(default: each config\'s: 30 for DiffusionEngine and InstaGen, 50 for '
                   'DetDiffusion); --ig-steps and --dd-steps are its former names')
    p.add_argument('--lane', type=int, nargs=2, metavar=('I', 'N'), default=None,
                   help='train only the detector runs k (numbered in arm, seed order) with '
                   'k %% N == I, and DetDiffusion\'s L2I rows k (in table order) likewise, so '
                   'N processes (e.g. one thread each) share them; a later run '
                   'without --lane reads every record for the table. Record the shared steps '
                   '(adapter, synthesis) first, with one process')
    p.add_argument('--claim', action='store_true',
                   help='train each detector run in whichever process claims it first (a lock '
                   'file beside its record): any number of processes, started at any time, '
                   'share the runs without a fixed split, and a killed process frees its run '
                   '(with --lane: within that lane\'s share)')
    de.add_arguments(p)
    from . import detdiffusion_quality, instagen_quality
    instagen_quality.add_arguments(p)
    detdiffusion_quality.add_arguments(p)
    p.add_argument('--work-dir', default='work_dirs/bench_quality/{ldm}',
                   help='records folder; {ldm} becomes ldm-<fingerprint> of the toy LDM, so a '
                   'rerun on another LDM never mixes with these records (a folder of another '
                   'LDM is refused)')
    p.add_argument('--json', metavar='OUT.json')
    p.set_defaults(func=run, parser=p)
    return p
