"""The tools, as a user runs them: train, resume, test, distributed, external configs."""
import os
import os.path as osp
import textwrap

import torch
from conftest import (REPO, SD2_BASE_CONFIG, TINY_CONFIG, free_port, ok, python, run_tool,
                      toy_cfg_options)


def scalars(work: str) -> list[dict]:
    """The newest run's machine-readable log in ``work``: mmengine's LoggerHook writes one JSON
    line per logged step to <timestamp>/vis_data/<timestamp>.json (training) or
    <timestamp>/<timestamp>.json (tools/test.py)."""
    import glob
    import json
    run = sorted(d for d in glob.glob(osp.join(work, '2*')) if osp.isdir(d))[-1]
    ts = osp.basename(run)
    path = next(p for p in (osp.join(run, 'vis_data', ts + '.json'), osp.join(run, ts + '.json'))
                if osp.isfile(p))
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_train_resume_and_test_tiny_adapter(toy_data, tmp_path):
    work = str(tmp_path / 'work')
    common = ['default_hooks.checkpoint.interval=6', 'default_hooks.logger.interval=2',
              *toy_cfg_options(toy_data)]
    # 1) train 6 iterations, no evaluation yet
    ok(run_tool([python(), 'tools/train.py', TINY_CONFIG, '--work-dir', work, '--cfg-options',
                  'train_cfg.max_iters=6', 'train_cfg.val_interval=100', *common]))
    assert osp.isfile(osp.join(work, 'iter_6.pth'))
    # 2) resume to 12 iterations (torch >= 2.6 weights-only loading), evaluate with CocoMetric
    ok(run_tool([python(), 'tools/train.py', TINY_CONFIG, '--work-dir', work, '--resume',
                  '--cfg-options', 'train_cfg.max_iters=12', 'train_cfg.val_interval=12',
                  *common]))
    logged = scalars(work)
    train_iters = [r['iter'] for r in logged if 'loss' in r]
    assert train_iters and min(train_iters) > 6 and max(train_iters) == 12  # did not start over
    assert any('coco/bbox_mAP' in r for r in logged)  # CocoMetric ran at iteration 12
    from diffdet_plugin.runner_utils import allow_mmengine_checkpoints
    allow_mmengine_checkpoints()  # torch.load stays weights-only
    ckpt = torch.load(osp.join(work, 'iter_12.pth'), map_location='cpu')
    assert ckpt['meta']['iter'] == 12
    backbone_keys = [k for k in ckpt['state_dict'] if k.startswith('backbone.')]
    assert backbone_keys == ['backbone.ldm_identity', 'backbone.feature_regime']
    # 3) tools/test.py evaluates the checkpoint
    ok(run_tool([python(), 'tools/test.py', TINY_CONFIG, osp.join(work, 'iter_12.pth'),
                  '--work-dir', str(tmp_path / 'test'), '--cfg-options',
                  *toy_cfg_options(toy_data)]))
    assert any('coco/bbox_mAP' in r for r in scalars(str(tmp_path / 'test')))


def test_dist_train_two_cpu_processes(toy_data, tmp_path):
    work = str(tmp_path / 'dist')
    proc = run_tool(['bash', 'tools/dist_train.sh', TINY_CONFIG, '2', '--work-dir', work,
                     '--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=100',
                     'default_hooks.checkpoint.interval=4', 'default_hooks.logger.interval=2',
                     *toy_cfg_options(toy_data)],
                    env=dict(PORT=str(free_port()), PYTHON=python()))
    out = ok(proc)
    assert 'Distributed training: True' in out
    assert max(r['iter'] for r in scalars(work) if 'loss' in r) == 4
    assert osp.isfile(osp.join(work, 'iter_4.pth'))


def test_external_config_inherits_plugin_config(toy_data, tmp_path):
    """A config outside the repository inherits ours through `diffdet_plugin::`."""
    project = tmp_path / 'other_project'
    project.mkdir()
    cfg_file = project / 'my_adapter.py'
    cfg_file.write_text(textwrap.dedent("""
        _base_ = 'diffdet_plugin::diffusion_engine/de_adapter_dino-4scale_tiny_300it_toy-shapes.py'
        model = dict(backbone=dict(timestep=2))
        train_cfg = dict(max_iters=2, val_interval=100)
        default_hooks = dict(checkpoint=dict(interval=2))
    """))
    import diffdet_plugin  # noqa: F401
    from mmengine.config import Config
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.model.backbone.type == 'LDMBackbone' and cfg.model.backbone.timestep == 2
    assert cfg.model.backbone.ldm.preset == 'tiny'
    # and it trains from the other project's folder with the plugin's train tool
    ok(run_tool([python(), osp.join(os.getcwd(), 'tools', 'train.py'), str(cfg_file),
                  '--work-dir', str(project / 'work'), '--cfg-options',
                  *toy_cfg_options(toy_data)], cwd=str(project)))
    assert osp.isfile(project / 'work' / 'iter_2.pth')


def test_sd2_base_adapter_config_builds_and_runs_forward():
    """The paper's adapter config (SD 2 base + DINO 5 scales) on one 256x256 image, CPU
    (the architecture is resolution-agnostic; 256 keeps the test quick)."""
    from mmengine.config import Config
    from mmengine.structures import InstanceData

    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    cfg = Config.fromfile(SD2_BASE_CONFIG)
    assert cfg.train_cfg.max_iters == 90000 and cfg.optim_wrapper.optimizer.lr == 2e-4
    assert cfg.param_scheduler[0].milestones == [80000]
    assert cfg.model.num_queries == 900 and cfg.model.num_feature_levels == 5
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    # as the Runner does; without it DINO's level_embed is uninitialised memory (NaN at times)
    model.init_weights()
    model.eval()
    assert model.backbone.out_channels == [960, 1600, 1920, 3840]
    img = torch.randint(0, 255, (3, 256, 256), dtype=torch.uint8)
    sample = DetDataSample(metainfo=dict(img_shape=(256, 256), ori_shape=(256, 256),
                                         scale_factor=(1.0, 1.0), batch_input_shape=(256, 256)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10., 20., 200., 300.]]),
                                       labels=torch.tensor([3]))
    seen = {}  # the neck's levels, caught in the one forward (a second UNet pass costs ~5 s)
    hook = model.neck.register_forward_hook(lambda m, a, out: seen.__setitem__('feats', out))
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)
        preds = model.predict(data['inputs'], data['data_samples'])
    hook.remove()
    assert [f.shape[-1] for f in seen['feats']] == [32, 16, 8, 4, 2]
    assert preds[0].pred_instances.bboxes.shape == (300, 4)
    assert torch.isfinite(preds[0].pred_instances.scores).all()


def test_set_iterations_stretches_the_schedule():
    """A longer run keeps its warm-up and stretches the decay that ended at the old last
    iteration; a run shorter than the warm-up leaves the decay alone (mmengine refuses
    end <= begin)."""
    from diffdet_plugin.config_package import config_dir
    from diffdet_plugin.runner_utils import set_iterations
    from mmengine.config import Config
    path = osp.join(config_dir(), 'diffusion_engine/de_adapter_fcos_fpn_1500it_toy-shapes.py')
    cfg = Config.fromfile(path)
    set_iterations(cfg, 4500)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 100)
    assert (cosine.begin, cosine.end) == (100, 4500)
    assert cfg.train_cfg.max_iters == cfg.default_hooks.checkpoint.interval == 4500
    cfg = Config.fromfile(path)
    set_iterations(cfg, 4)
    assert cfg.param_scheduler[1].end == 1500


def test_name_run_gives_each_runner_of_a_process_its_own_visualizer(tmp_path):
    """mmdet's configs name their visualizer 'visualizer': without name_run a second Runner in
    the process (the benchmarks' detector runs) gets the first one and its log folder."""
    import copy

    from diffdet_plugin.runner_utils import name_run
    from mmengine.config import Config

    from mmdet.registry import VISUALIZERS
    cfg = Config(dict(visualizer=dict(type='DetLocalVisualizer', name='visualizer',
                                      vis_backends=[dict(type='LocalVisBackend')])))

    def build(c, folder):
        return VISUALIZERS.build(dict(c.visualizer, save_dir=str(tmp_path / folder)))
    assert build(cfg, 'a') is build(cfg, 'b')  # the pitfall
    runs = [copy.deepcopy(cfg) for _ in range(2)]
    for c in runs:
        name_run(c, 'seed0')
    assert all(c.experiment_name == 'seed0' for c in runs)
    a, b = build(runs[0], 'a'), build(runs[1], 'b')
    assert a is not b and a.instance_name != b.instance_name


def test_tools_refuse_with_the_message_alone_and_keep_the_traceback_with_debug(tmp_path):
    """A refusal is one line on stderr and exit code 2; --debug shows the traceback; a
    nonsensical --num-images is refused before any model is built (no output folder)."""
    from conftest import run_tool_in_process
    synth = osp.join(REPO, 'configs', 'diffusion_engine', 'de_synth_toy-shapes_toy.py')
    out = tmp_path / 'out'
    for n in ('0', '-3'):
        proc = run_tool_in_process('tools/synthesize.py', synth, '--out', out, '--num-images', n)
        assert proc.returncode == 2 and '--num-images' in proc.stderr, proc.stderr
        assert not out.exists()  # nothing built, no run.json recording the bad number
    not_synthesis = osp.join(REPO, 'configs', 'judge', 'fcos_r18-half_fpn_3000it_toy-shapes.py')
    proc = run_tool_in_process('tools/synthesize.py', not_synthesis, '--out', out)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert proc.stderr.startswith('error: ') and 'has no `synthesis` dict' in proc.stderr
    proc = run_tool_in_process('tools/synthesize.py', not_synthesis, '--out', out, '--debug')
    assert proc.returncode == 1 and 'Traceback' in proc.stderr and 'KeyError' in proc.stderr
