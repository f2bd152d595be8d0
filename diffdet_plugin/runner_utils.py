"""Small helpers shared by ``tools/train.py`` and ``tools/test.py``."""
from __future__ import annotations

import itertools
import os
import os.path as osp


def _reduce_history_buffer(buf):
    return buf.__class__, (buf._log_history, buf._count_history, buf.max_length)


def allow_mmengine_checkpoints() -> None:
    """Make mmengine checkpoints load under ``torch.load(weights_only=True)``.

    torch >= 2.6 defaults to the weights-only unpickler; mmengine 0.10.7 calls
    ``torch.load`` without ``weights_only``, and its checkpoints hold the
    message hub (``HistoryBuffer`` with numpy arrays), so resuming fails. Two
    narrow fixes, the safe loader stays on:

    * ``HistoryBuffer`` is pickled as ``HistoryBuffer(log, counts, max_length)``
      (a ``copyreg`` reducer) instead of its ``__dict__``, which holds function
      references that only the unsafe ``getattr`` global could restore;
    * ``HistoryBuffer`` and the numpy types mmengine stores are added to
      torch's safe-globals allow list.
    """
    import copyreg

    import numpy as np
    import torch
    from mmengine.logging import HistoryBuffer

    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    core = getattr(np, '_core', None) or np.core
    allowed = [HistoryBuffer, np.ndarray, np.dtype, core.multiarray._reconstruct,
               core.multiarray.scalar]
    allowed += [type(np.dtype(t)) for t in ('float64', 'float32', 'float16', 'int64', 'int32',
                                            'int16', 'int8', 'uint8', 'bool')]
    torch.serialization.add_safe_globals(allowed)


def parse_runner_args(parser, work_dir_help: str,
                      cfg_options_help: str = 'override config settings, key=value'):
    """Add the arguments mmdet's tools/train.py and tools/test.py share (--work-dir, --amp,
    --cfg-options, --launcher, --local-rank), parse, and export LOCAL_RANK as they do."""
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help=work_dir_help)
    parser.add_argument('--amp', action='store_true', help='enable automatic-mixed-precision')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=cfg_options_help)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    set_local_rank(args)
    return args


def load_cfg(args):
    """mmdet's train / test preamble: dynamo cache limit, checkpoint loading allowed, the
    config file with ``--cfg-options`` merged, then :func:`setup_cfg`."""
    from mmengine.config import Config

    from mmdet.utils import setup_cache_size_limit_of_dynamo
    setup_cache_size_limit_of_dynamo()
    allow_mmengine_checkpoints()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return setup_cfg(cfg, args)


def setup_cfg(cfg, args):
    """Apply mmdet's standard command-line overrides to a Config."""
    if getattr(args, 'work_dir', None):
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if getattr(args, 'amp', False):
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    cfg.launcher = args.launcher
    if args.launcher != 'none':
        import torch
        dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        if not torch.cuda.is_available() and dist_cfg.get('backend', 'nccl') == 'nccl':
            # NCCL needs GPUs; CPU-only distributed runs (tests, debugging) use gloo,
            # and a DDP wrapper that accepts CPU modules.
            dist_cfg['backend'] = 'gloo'
            if cfg.get('model_wrapper_cfg') is None:
                cfg.model_wrapper_cfg = dict(type='mmdet.DeviceAwareDistributedDataParallel',
                                             broadcast_buffers=False,
                                             find_unused_parameters=cfg.get(
                                                 'find_unused_parameters', False))
            if args.launcher == 'pytorch':
                # mmengine skips its own init when a process group exists
                init_distributed(args.launcher)
    return cfg


def init_distributed(launcher: str) -> None:
    """Start ``torch.distributed`` for a launcher: NCCL through mmengine's ``init_dist`` on
    GPUs, gloo from the launcher's environment on CPUs (mmengine's ``init_dist`` calls
    ``torch.cuda.set_device`` even for gloo)."""
    if launcher == 'none':
        return
    import torch
    import torch.distributed as dist
    if torch.cuda.is_available():
        from mmengine.dist import init_dist
        init_dist(launcher, backend='nccl')
    elif not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def finish_distributed() -> None:
    """End a distributed tool run whose work is done: every rank waits for the others, the
    process group is destroyed, and the process leaves without the interpreter's C++ teardown.

    That teardown aborted a finished rank now and then in CI (gloo on CPU, torch 2.13:
    ``terminate called without an active exception``, SIGABRT after the last log line), which
    torchrun reports as a failed job. Outputs are flushed first; a run that is not distributed
    returns normally.
    """
    import logging
    import sys

    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)


_RUN_NUMBERS = itertools.count()  # a process-wide counter: visualizer names stay unique


def name_run(cfg, name: str) -> None:
    """Name a Runner built in a process that builds others (the benchmarks' detector runs, the
    judge): ``experiment_name`` (mmengine appends the run's timestamp) and a visualizer name
    of its own.

    mmengine keeps one visualizer per name for the whole process, and mmdet's configs name
    theirs ``'visualizer'``: a second Runner would get the first one back and write its scalars
    into the first run's log folder.
    """
    cfg.experiment_name = name
    if cfg.get('visualizer') is not None:
        cfg.visualizer['name'] = f'{name}-visualizer-{next(_RUN_NUMBERS)}'


def set_local_rank(args):
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(getattr(args, 'local_rank', 0))


def set_iterations(cfg, iters: int) -> None:
    """Give an iteration-based config ``iters`` iterations (the tools' ``--iters`` options).

    Validation and the checkpoint run once, at the end; ``MultiStepLR`` milestones are scaled
    with the schedule (e.g. the x0.1 drop at 8/9 stays at 8/9); warm-up schedulers keep theirs.
    Any other scheduler that ended at the old last iteration (e.g. ``CosineAnnealingLR`` after
    a warm-up) ends at the new one, unless the new schedule stops before it begins.
    """
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    for sched in cfg.get('param_scheduler') or []:
        if sched.type == 'MultiStepLR':
            sched.end = iters
            sched.milestones = [max(1, round(m * iters / old)) for m in sched.milestones]
        elif sched.get('end') == old and iters > sched.get('begin', 0):
            sched.end = iters
    cfg.default_hooks.checkpoint.interval = iters


def dataset_sources(ds) -> list:
    """The source dataset configs of a train dataset config: ``[ds]`` for a plain dataset,
    ``datasets`` of a ``ConcatDataset``, ``[real, synthetic]`` of a ``RealSyntheticDataset``."""
    if ds.get('type') == 'RealSyntheticDataset':
        return [ds.real, ds.synthetic]
    return list(ds.get('datasets', [ds]))


def set_coco_data_root(cfg, data_root: str, train_ann_file: str | None = None) -> None:
    """Point a config's real COCO datasets and its CocoMetric at ``data_root``.

    Every ``CocoDataset`` in the train/val/test dataloaders (also inside a
    ``ConcatDataset`` or ``RealSyntheticDataset``) gets ``data_root``; each evaluator reads
    its own annotation file (``annotations/instances_val.json``, ``instances_test.json``)
    there.
    ``train_ann_file`` (e.g. a subset) replaces the annotation file of the first, real,
    training dataset.
    """
    root = data_root.rstrip('/') + '/'
    if 'data_root' in cfg:
        cfg.data_root = root
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(split) is None:
            continue
        ds = cfg[split].dataset
        sources = dataset_sources(ds)
        for d in sources:
            if d.get('type') == 'CocoDataset':
                d.data_root = root
        if split == 'train_dataloader' and train_ann_file:
            sources[0].ann_file = osp.abspath(train_ann_file)
    for ev in ('val_evaluator', 'test_evaluator'):
        if cfg.get(ev) is not None:
            name = osp.basename(cfg[ev].get('ann_file') or 'instances_val.json')
            cfg[ev].ann_file = root + 'annotations/' + name
