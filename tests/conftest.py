"""Shared fixtures: the repository root, a tiny LDM, a small toy-shapes dataset."""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(REPO, 'configs', 'diffusion_engine',
                       'de_adapter_dino-4scale_tiny_300it_toy-shapes.py')
SD2_BASE_CONFIG = osp.join(REPO, 'configs', 'diffusion_engine',
                           'de_adapter_dino-5scale_sd2-base_90k_coco.py')

# Tests must never reach a model hub.
os.environ.setdefault('HF_HUB_OFFLINE', '1')

# Under pytest-xdist (`make test` runs a worker per core), each worker takes its share of the
# cores' threads: two workers of 2 torch threads each on 2 cores oversubscribe them. Set before
# torch is imported; the processes a test starts inherit it.
_WORKERS = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT') or 1)
if _WORKERS > 1:
    for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ.setdefault(_var, str(max(1, (os.cpu_count() or 1) // _WORKERS)))


def pytest_configure(config):
    # Build with mmdet's registries as the default scope, as mmdet's tools do.
    import diffdet_plugin  # noqa: F401
    import torch
    if _WORKERS > 1:
        torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))

    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    _format_each_config_once()


def _format_each_config_once():
    """mmengine re-formats the whole config with yapf (~1 s for these configs) each time
    ``Config.pretty_text`` is read: the Runner reads it 4 times plus once per checkpoint,
    which was half the time of the in-process benchmark tests. In this test process, the
    formatted text is kept per config content (the same text mmengine returns; processes the
    tests start are unchanged)."""
    from mmengine.config import Config
    formatted = Config.pretty_text.fget
    memo = {}

    def pretty_text(cfg):
        key = (cfg._format_python_code, repr(cfg.to_dict()))
        if key not in memo:
            memo[key] = formatted(cfg)
        return memo[key]
    Config.pretty_text = property(pretty_text, doc=Config.pretty_text.__doc__)


@pytest.fixture(scope='session')
def repo_root():
    return REPO


@pytest.fixture(scope='session')
def tiny_ldm():
    from diffdet_plugin.ldm import FrozenLDM
    return FrozenLDM.from_preset('tiny')


@pytest.fixture(scope='session')
def toy_data(tmp_path_factory):
    """A toy-shapes COCO dataset (48 train / 16 val / 16 test images, 128 px)."""
    from diffdet_plugin.datasets import generate_toy_shapes
    root = tmp_path_factory.mktemp('toy_shapes')
    generate_toy_shapes(str(root), num_train=48, num_val=16, image_size=128, seed=0, num_test=16)
    return str(root)


@pytest.fixture(scope='session')
def standard_toy_data(tmp_path_factory):
    """The standard toy-shapes splits (``make_toy_data.py``'s defaults: 4000 / 200 / 500), the
    data the shipped judge and adapter were trained on (about 11 s to write)."""
    from diffdet_plugin.datasets.toy_shapes import ensure_toy_shapes
    root = str(tmp_path_factory.mktemp('standard_toy'))
    ensure_toy_shapes(root)
    return root


@pytest.fixture(scope='session')
def shipped_judge():
    """The judge detector shipped in the package (its weights, whatever the data's key)."""
    from diffdet_plugin.evaluation.judge import load_shipped_judge
    return load_shipped_judge()


def write_tiny_judge_config(tmp_path, classes=None, name='judge_tiny.py',
                            base='fcos_r18-half_fpn_3000it_toy-shapes.py'):
    """The shipped judge recipe (``base``, in configs/judge/) cut to 2 iterations at batch 2
    (a config file, as users write); ``classes``: a class-restricted variant."""
    judge = osp.join(REPO, 'configs', 'judge', base)
    lines = [f'_base_ = {judge!r}',
             'train_cfg = dict(max_iters=2, val_interval=1000)',
             'train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)',
             'param_scheduler = []',
             'randomness = dict(seed=0)']  # its 2 iterations are the same in every run
    if classes:
        lines += [f'metainfo = dict(classes={tuple(classes)!r})',
                  'train_dataloader.update(dataset=dict(metainfo=metainfo))',
                  'val_dataloader = dict(dataset=dict(metainfo=metainfo))',
                  'test_dataloader = dict(dataset=dict(metainfo=metainfo))',
                  f'model = dict(bbox_head=dict(num_classes={len(classes)}))']
    path = osp.join(str(tmp_path), name)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def toy_cfg_options(data_root: str) -> list:
    """--cfg-options that point the tiny adapter config at a toy dataset folder."""
    root = data_root.rstrip('/') + '/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}annotations/instances_val.json',
        f'test_evaluator.ann_file={root}annotations/instances_val.json',
    ]


def run_tool(args, cwd=REPO, timeout=600, env=None):
    """Run a command (list) and return the CompletedProcess; output kept for messages."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=full_env)
    return proc


def run_tool_in_process(script, *args, cwd=REPO):
    """Run a tool (``tools/train.py`` …) in this process, as ``python script args`` would run
    it (``__main__``, its argv, in ``cwd``), without the ~5 s of imports a process of its own
    pays on 2 CPU cores. For tests that check what a tool does, not its process (those keep
    :func:`run_tool`). Returns a ``CompletedProcess`` (stdout and stderr captured): return
    code 0, a ``SystemExit``'s code (its message on stderr), or 1 with the traceback of an
    exception on stderr."""
    import contextlib
    import io
    import runpy
    import traceback

    from mmengine.visualization import Visualizer

    # a process of its own starts without mmengine's visualizers; mmdet's configs name theirs
    # 'visualizer', so an earlier Runner's one (and its log folder) would be reused
    classes = [Visualizer]
    while classes:
        cls = classes.pop()
        cls._instance_dict.clear()
        classes.extend(cls.__subclasses__())
    out, err = io.StringIO(), io.StringIO()
    argv, old_cwd, code = sys.argv, os.getcwd(), 0
    try:
        sys.argv = [script, *map(str, args)]
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                runpy.run_path(script, run_name='__main__')
            except SystemExit as e:
                if e.code is None or isinstance(e.code, int):
                    code = e.code or 0
                else:
                    print(e.code, file=sys.stderr)
                    code = 1
            except Exception:
                traceback.print_exc()
                code = 1
    finally:
        sys.argv = argv
        os.chdir(old_cwd)
    return subprocess.CompletedProcess([script, *args], code, out.getvalue(), err.getvalue())


def python():
    return sys.executable


def ok(proc):
    """Assert a finished tool run succeeded (its output tail in the message); stdout + stderr."""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
