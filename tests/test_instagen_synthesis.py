"""InstaGen's text-to-image synthesis modes end to end (CPU): `instagen` (the grounding head
on the image's own t = 1 features) and `text_to_image` (base triplets: an mmdet detector)."""
import json
import os
import os.path as osp
import signal
import subprocess
import time

import pytest
import torch
from conftest import REPO, ok, python, run_tool, run_tool_in_process
from diffdet_plugin.synthesis import TextToImageConfig, build_synthesizer, prompt_sources
from diffdet_plugin.utils.fileio import file_sha256
from mmengine.config import Config

from mmdet.registry import MODELS

INSTAGEN_SYNTH = osp.join(REPO, 'configs', 'instagen', 'instagen_synth_toy_toy-shapes.py')
BASE_TRIPLETS = osp.join(REPO, 'configs', 'instagen', 'base-triplets_judge-base4_toy-shapes.py')
JUDGE = osp.join(REPO, 'configs', 'judge', 'fcos_r18-half_fpn_3000it_toy-shapes.py')
JUDGE_WEIGHTS = osp.join(REPO, 'diffdet_plugin', 'assets', 'judge',
                         'fcos_r18-half_fpn_3000it_toy-shapes.pth')
NEVER_SEEN = 'zebra crossing'


def read_json(path):
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def tiny_head(tmp_path_factory):
    """A config of the toy InstaGen synthesis on the `tiny` preset, and an (untrained) head
    checkpoint for it: the test is the plumbing, not the head's quality."""
    tmp = tmp_path_factory.mktemp('instagen_head')
    cfg_path = str(tmp / 'instagen_synth_tiny.py')
    with open(cfg_path, 'w') as f:
        f.write('\n'.join([
            f'_base_ = {INSTAGEN_SYNTH!r}',
            'model = dict(num_queries=30, backbone=dict(ldm=dict(_delete_=True, preset="tiny")),',
            '             neck=dict(in_channels=[128, 192, 192, 384]),',
            '             encoder=dict(num_layers=1), decoder=dict(num_layers=1))',
            f'synthesis = dict(categories=["circle", {NEVER_SEEN!r}], num_inference_steps=4,',
            '                 batch_size=2, score_thr=0.001,',
            '                 contact_sheet=dict(num_images=0))', '']))
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg_path).model)
    model.init_weights()
    ckpt = str(tmp / 'head.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    return cfg_path, ckpt


def synthesize(cfg_path, ckpt, out, num_images, *extra):
    return run_tool([python(), 'tools/synthesize.py', cfg_path, '--checkpoint', ckpt, '--out',
                     out, '--num-images', str(num_images), *extra],
                    env=dict(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1'))


def test_instagen_synthesis_labels_a_name_the_head_never_saw_and_resumes(tiny_head, tmp_path):
    cfg_path, ckpt = tiny_head
    ref = str(tmp_path / 'ref')  # uninterrupted: the reference of the kill -9 run below
    ok(synthesize(cfg_path, ckpt, ref, 12))
    coco = read_json(osp.join(ref, 'annotations.json'))
    assert [c['name'] for c in coco['categories']] == ['circle', NEVER_SEEN]
    assert len(coco['images']) == 12
    by_image = {}
    for a in coco['annotations']:
        by_image.setdefault(a['image_id'], set()).add(a['category_id'])
    for img in coco['images']:
        # one category per prompt, cycling; the head grounds only the prompt's category
        assert img['category_names'] in (['circle'], [NEVER_SEEN])
        assert NEVER_SEEN in img['prompt'] or 'circle' in img['prompt']
        want = 1 + ['circle', NEVER_SEEN].index(img['category_names'][0])
        assert by_image.get(img['id'], {want}) == {want}
        assert img['head_sha256'] and img['ldm'].startswith('preset:tiny')
    assert any(img['category_names'] == [NEVER_SEEN] and img['id'] in by_image
               for img in coco['images']), 'the never-seen name must get boxes'
    assert coco['info']['labeller'] == 'instagen'

    # killed (SIGKILL) after its first shard, then the same command again: the same data as an
    # uninterrupted run, no duplicates
    part = str(tmp_path / 'part')
    cmd = [python(), 'tools/synthesize.py', cfg_path, '--checkpoint', ckpt, '--out', part,
           '--num-images', '12']
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    shards = osp.join(part, 'shards', 'rank0')
    deadline = time.time() + 240
    while time.time() < deadline and not (osp.isdir(shards) and any(
            f.endswith('.json') for f in os.listdir(shards))):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len([f for f in os.listdir(shards) if f.endswith('.json')])
    assert 0 < done < 6 and not osp.isfile(osp.join(part, 'annotations.json'))
    ok(run_tool(cmd, env=dict(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')))
    again, want = (read_json(osp.join(d, 'annotations.json')) for d in (part, ref))
    ids = [i['id'] for i in again['images']]
    assert len(ids) == len(set(ids)) == 12
    assert again['images'] == want['images'] and again['annotations'] == want['annotations']


@pytest.fixture(scope='module')
def base_triplets(tmp_path_factory):
    """8 base triplets: the embedded toy LDM draws, the shipped judge labels (score >= 0.5)."""
    out = str(tmp_path_factory.mktemp('base_triplets'))
    torch.manual_seed(0)
    cfg = base_triplets_cfg()
    syn = build_synthesizer(cfg, JUDGE_WEIGHTS, out)
    syn.check_resume(syn.run_settings(8, cfg.synthesis.to_dict()), resume=False)  # as the tool
    syn.run(8, progress=False)
    return out


def base_triplets_cfg():
    cfg = Config.fromfile(JUDGE)
    cfg.merge_from_dict(dict(synthesis=Config.fromfile(BASE_TRIPLETS).synthesis.to_dict()))
    cfg.synthesis.update(categories=['circle', 'square'], num_inference_steps=10, score_thr=0.5,
                         contact_sheet=dict(num_images=0), keep_negatives=True)
    return cfg


def test_base_triplets_are_labelled_by_a_detector_on_base_classes(base_triplets):
    """Mode `text_to_image`: the embedded toy LDM draws 1-2 categories per prompt, the judge
    labels the decoded images; boxes of classes outside the run's list are dropped."""
    coco = read_json(osp.join(base_triplets, 'annotations.json'))
    assert len(coco['images']) == 8 and coco['info']['labeller'] == 'detector'
    assert {len(i['category_names']) for i in coco['images']} <= {1, 2}
    assert all(1 <= a['category_id'] <= 2 and a['score'] >= 0.5 for a in coco['annotations'])
    assert len(coco['annotations']) > 0, 'the judge finds circles/squares the toy LDM drew'
    assert coco['info']['labeller_sha256'] == file_sha256(JUDGE_WEIGHTS)


def test_base_triplets_refuse_to_continue_with_another_labelling_detector(base_triplets,
                                                                           tmp_path):
    """A run labelled by one detector is never continued with another checkpoint's labels."""
    other = str(tmp_path / 'other_judge.pth')
    state = torch.load(JUDGE_WEIGHTS, map_location='cpu', weights_only=False)
    state.setdefault('meta', {})['note'] = 'another checkpoint'
    torch.save(state, other)
    cfg = base_triplets_cfg()
    syn = build_synthesizer(cfg, other, base_triplets)
    with pytest.raises(RuntimeError, match='labelling checkpoint'):
        syn.check_resume(syn.run_settings(8, cfg.synthesis.to_dict()), resume=True)


def test_bad_category_lists_and_labellers_fail_before_any_work(tmp_path):
    base = dict(num_images=4)
    for cats, msg in (([], 'empty'), (['circle', ' '], 'empty name'),
                      (['circle', 'circle'], 'more than once')):
        with pytest.raises(ValueError, match=msg):
            TextToImageConfig.from_dict(dict(base, categories=cats))
    with pytest.raises(ValueError, match='categories_per_prompt'):
        TextToImageConfig.from_dict(dict(base, categories=['a'], categories_per_prompt=(1, 2)))
    cfg = Config.fromfile(JUDGE)
    cfg.merge_from_dict(dict(synthesis=Config.fromfile(BASE_TRIPLETS).synthesis.to_dict()))
    cfg.synthesis.categories = ['circle', 'zebra']
    with pytest.raises(ValueError, match='zebra'):
        build_synthesizer(cfg, JUDGE_WEIGHTS, str(tmp_path / 'x'))
    cfg.synthesis.update(categories=['circle'], categories_per_prompt=(1, 1),
                         prompt_template='a ' * 80 + '{}')
    with pytest.raises(ValueError, match='longer than'):
        build_synthesizer(cfg, JUDGE_WEIGHTS, str(tmp_path / 'y'))
    assert not osp.exists(str(tmp_path / 'x')) and not osp.exists(str(tmp_path / 'y'))


def test_prompt_sources_cycle_or_draw_categories():
    one = TextToImageConfig.from_dict(dict(categories=['a', 'b', 'c'],
                                           categories_per_prompt=(1, 1)))
    assert [s.class_names for s in prompt_sources(one, 4)] == [('a', ), ('b', ), ('c', ), ('a', )]
    two = TextToImageConfig.from_dict(dict(categories=['a', 'b', 'c'], seed=3,
                                           name_format='a {}', prompt_template='a photo of {}'))
    srcs = prompt_sources(two, 50)
    assert {len(s.class_names) for s in srcs} == {1, 2}
    assert srcs == prompt_sources(two, 50), 'deterministic in the seed'
    pair = next(s for s in srcs if len(s.class_names) == 2)
    assert pair.prompt == f'a photo of a {pair.class_names[0]} and a {pair.class_names[1]}'
    # InstaGen's novel images: "{novel} [and {any other}]", a colour before every name
    led = TextToImageConfig.from_dict(dict(
        categories=['a', 'b', 'c', 'n'], lead_categories=['n', 'c'], name_attributes=['red'],
        name_format='a {}', prompt_template='a photo of {}'))
    srcs = prompt_sources(led, 40)
    assert [s.class_names[0] for s in srcs[:4]] == ['n', 'c', 'n', 'c']
    assert {len(s.class_names) for s in srcs} == {1, 2}
    assert all(len(set(s.class_names)) == len(s.class_names) for s in srcs)
    two = next(s for s in srcs if len(s.class_names) == 2)
    assert two.prompt == f'a photo of a red {two.class_names[0]} and a red {two.class_names[1]}'
    with pytest.raises(ValueError, match=r"lead_categories \['zebra'\]"):
        TextToImageConfig.from_dict(dict(categories=['a', 'b'], lead_categories=['zebra']))
    with pytest.raises(ValueError, match=r"unlabelled_categories \['zebra'\]"):
        TextToImageConfig.from_dict(dict(categories=['a', 'b'], unlabelled_categories=['zebra']))


# ------------------------------------------------------------------ training (tools/train.py)
PHASE1 = osp.join(REPO, 'configs', 'instagen',
                  'instagen_toy-ldm_2000it_toy-shapes-base-triplets.py')
PHASE2 = osp.join(REPO, 'configs', 'instagen', 'instagen-selftrain_toy-ldm_2000it_toy-shapes.py')
TINY_HEAD = ('dict(num_queries=30, backbone=dict(ldm=dict(_delete_=True, preset="tiny")), '
             'neck=dict(in_channels=[128, 192, 192, 384]), encoder=dict(num_layers=1), '
             'decoder=dict(num_layers=1))')


def tiny_phase_config(tmp_path, base, name, model_key):
    path = str(tmp_path / name)
    with open(path, 'w') as f:
        f.write('\n'.join([
            f'_base_ = {base!r}',
            f'model = dict({model_key}={TINY_HEAD})' if model_key else f'model = {TINY_HEAD}',
            'train_cfg = dict(max_iters=3, val_interval=100)',  # the models run; no val
            'default_hooks = dict(checkpoint=dict(interval=3), logger=dict(interval=1))', '']))
    return path


def train(cfg_path, work, *options):
    return run_tool_in_process('tools/train.py', cfg_path, '--work-dir', work,
                               '--cfg-options', *options)


def test_both_training_phases_run_through_tools_train(base_triplets, toy_data, tmp_path):
    """Phase 1 (supervised on base triplets, validated on real images with all 6 names) and
    phase 2 (EMA teacher labels novel images for the dropout student), 3 iterations each."""
    root = toy_data.rstrip('/') + '/'
    val = [f'val_dataloader.dataset.data_root={root}',
           f'val_evaluator.ann_file={root}annotations/instances_val.json']
    work1 = str(tmp_path / 'phase1')
    ok(train(tiny_phase_config(tmp_path, PHASE1, 'p1.py', None), work1,
             'train_dataloader.batch_size=2',
             f'train_dataloader.dataset.data_root={base_triplets}/', *val))
    ckpt = osp.join(work1, 'iter_3.pth')
    assert osp.isfile(ckpt)

    work2 = str(tmp_path / 'phase2')
    log = ok(train(tiny_phase_config(tmp_path, PHASE2, 'p2.py', 'detector'), work2,
                   f'load_from={ckpt}', 'batch_size=2', 'train_dataloader.batch_size=2',
                   'train_dataloader.sampler.batch_size=2',
                   f'train_dataloader.dataset.datasets.0.data_root={base_triplets}/',
                   f'train_dataloader.dataset.datasets.1.data_root={base_triplets}/', *val))
    steps = [json.loads(line) for line in open(next(
        osp.join(dp, f) for dp, _, fs in os.walk(work2) for f in fs if f.endswith('.json')
        and f[:8].isdigit()))]
    losses = [s for s in steps if 'sup_loss_cls' in s]
    assert len(losses) == 3 and all('unsup_loss_cls' in s for s in losses), log[-2000:]
    state = torch.load(osp.join(work2, 'iter_3.pth'), map_location='cpu', weights_only=False)
    keys = state['state_dict']
    assert any(k.startswith('teacher.') for k in keys) and any(k.startswith('student.')
                                                              for k in keys)
    first = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    k = 'bbox_head.reg_branches.0.2.weight'
    s0, t3, s3 = first[k], keys['teacher.' + k], keys['student.' + k]
    # the teacher moved 0.1 % of the way to the student each step: close to phase 1, not equal
    assert not torch.equal(s3, s0) and (t3 - s0).abs().max() < (s3 - s0).abs().max()


def test_a_fine_tuned_generator_draws_and_the_heads_own_ldm_labels(tiny_head, tmp_path):
    """Official InstaGen: the fine-tuned LDM draws; the head reads the original LDM's features
    of the same latent (one VAE); another VAE is refused."""
    import copy

    from diffdet_plugin.ldm import FrozenLDM
    from diffdet_plugin.synthesis.instagen import InstaGenSynthesizer
    cfg_path, _ = tiny_head
    cfg = Config.fromfile(cfg_path)
    torch.manual_seed(0)
    det = MODELS.build(cfg.model)
    det.init_weights()
    gen = copy.deepcopy(det.backbone.ldm)  # "fine-tuned": the same VAE, another UNet
    gen.source, gen._fingerprint = 'fine-tuned', None
    with torch.no_grad():
        for p in gen.unet.parameters():
            p.add_(0.01 * torch.randn_like(p))
    syn = dict(cfg.synthesis, num_images=2)
    out = InstaGenSynthesizer(det, syn, str(tmp_path / 'gen'), generator=gen)
    assert out.ldm is gen and out.labeller.ldm is not gen
    info = out.info
    assert info['ldm'] == 'fine-tuned' and info['head_ldm'].startswith('preset:tiny')
    assert info['ldm_fingerprint'] != info['head_ldm_fingerprint']
    out.run(progress=False)
    assert len(read_json(osp.join(str(tmp_path / 'gen'), 'annotations.json'))['images']) == 2
    # run() checks the folder itself: another drawing LDM cannot continue it
    with pytest.raises(RuntimeError, match='another class list, LDM'):
        InstaGenSynthesizer(det, syn, str(tmp_path / 'gen')).run(progress=False)
    with pytest.raises(ValueError, match='another VAE'):
        InstaGenSynthesizer(det, syn, str(tmp_path / 'bad'),
                            generator=FrozenLDM.from_preset('tiny', seed=1))


def test_a_new_mode_is_a_source_plus_a_labeller(tmp_path):
    """Synthesis = sources x sampler x labeller: a text-to-image source with a labeller of
    one's own (here: one fixed box per image) runs through the shared skeleton, which writes
    the mode's, the sampler's, the LDM's and the labeller's record fields in that order and
    the labeller's provenance after the LDM's identity."""
    from diffdet_plugin.ldm import FrozenLDM
    from diffdet_plugin.synthesis import LabelBatch, Labeller, TextToImageSynthesizer
    from mmengine.structures import InstanceData

    class CentreBox(Labeller):
        kind, IMAGE_FIELDS = 'centre', ('labeller_rule', )

        def label(self, batch: LabelBatch):
            h, w = batch.image_size
            return [InstanceData(bboxes=torch.tensor([[w / 4, h / 4, 3 * w / 4, 3 * h / 4]]),
                                 scores=torch.ones(1), labels=torch.tensor([0]))
                    for _ in range(len(batch))]

        def provenance(self):
            return dict(labeller=self.kind)

        def image_values(self):
            return ('centre quarter', )

    class CentreMode(TextToImageSynthesizer):
        labeller_class = CentreBox

        @classmethod
        def from_config(cls, cfg, synthesis, checkpoint, out_dir, device='cpu'):
            synthesis = dict(synthesis)
            ldm = FrozenLDM.build(**synthesis.pop('ldm')).to(device)
            return cls(ldm, synthesis, out_dir, CentreBox())

    out = str(tmp_path / 'centre')
    syn = CentreMode.from_config(None, dict(
        ldm=dict(preset='tiny', seed=0), categories=['star'], num_images=2, batch_size=2,
        num_inference_steps=2, categories_per_prompt=(1, 1), score_thr=0.5,
        contact_sheet=dict(num_images=0)), None, out)
    syn.run(progress=False)
    coco = read_json(osp.join(out, 'annotations.json'))
    assert len(coco['images']) == 2 and len(coco['annotations']) == 2
    keys = [k for k in coco['images'][0] if k not in ('id', 'file_name', 'width', 'height',
                                                       'synthesis_item')]
    assert tuple(keys) == CentreMode.record_fields() == (
        'prompt', 'category_names', 'negative_prompt', 'seed', 'guidance_scale',
        'num_inference_steps', 'scheduler', 'ldm', 'ldm_fingerprint', 'labeller_rule')
    assert coco['images'][0]['labeller_rule'] == 'centre quarter'
    info = coco['info']
    assert list(info)[:3] == ['ldm', 'ldm_fingerprint', 'labeller'] and \
        info['labeller'] == 'centre'


def test_heads_label_one_image_set_through_kept_latents(tiny_head, tmp_path, monkeypatch):
    """``latents_dir``: the first run keeps each item's z0 with its recipe; a second run (here
    another head) reads them instead of drawing (the same images, no sampling at all); a run
    with another sampler setting is refused, naming the key."""
    import numpy as np
    from diffdet_plugin.synthesis import text_to_image
    from PIL import Image
    cfg_path, ckpt = tiny_head
    keep = str(tmp_path / 'latents')

    def config(**synthesis):  # a fresh config each time: building a DINO edits cfg.model
        cfg = Config.fromfile(cfg_path)
        cfg.synthesis.update(num_images=2, latents_dir=keep, **synthesis)
        return cfg
    build_synthesizer(config(), ckpt, str(tmp_path / 'a')).run(progress=False)
    assert sorted(os.listdir(keep)) == ['00000000.pt', '00000001.pt']

    def no_sampling(*args, **kwargs):
        raise AssertionError('the kept latents were drawn again')
    monkeypatch.setattr(text_to_image, 'text_to_latents', no_sampling)
    torch.manual_seed(1)  # another head: other random weights
    det = MODELS.build(config().model)
    det.init_weights()
    other = str(tmp_path / 'other_head.pth')
    torch.save(dict(state_dict=det.state_dict(), meta=dict()), other)
    build_synthesizer(config(), other, str(tmp_path / 'b')).run(progress=False)
    a, b = (read_json(str(tmp_path / d / 'annotations.json')) for d in 'ab')
    assert [i['prompt'] for i in a['images']] == [i['prompt'] for i in b['images']]
    for ia, ib in zip(a['images'], b['images']):
        pa, pb = (np.asarray(Image.open(str(tmp_path / d / 'images' / i['file_name'])))
                  for d, i in (('a', ia), ('b', ib)))
        assert np.array_equal(pa, pb)
    steps = config().synthesis.num_inference_steps
    with pytest.raises(ValueError, match='another num_inference_steps'):
        build_synthesizer(config(num_inference_steps=steps + 1), ckpt,
                          str(tmp_path / 'c')).run(progress=False)
