"""InstaGen's text-to-image synthesis modes end to end (CPU): `instagen` (the grounding head
on the image's own t = 1 features) and `text_to_image` (base triplets: an mmdet detector)."""
import json
import os.path as osp

import pytest
import torch
from conftest import REPO, ok, python, run_tool
from diffdet_plugin.synthesis import TextToImageConfig, build_synthesizer, prompt_sources
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
            '             neck=dict(in_channels=[64, 96, 96, 192]),',
            '             encoder=dict(num_layers=1), decoder=dict(num_layers=1))',
            f'synthesis = dict(categories=["circle", {NEVER_SEEN!r}], num_inference_steps=4,',
            '                 batch_size=2, score_thr=0.0,',
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
    full = str(tmp_path / 'full')
    ok(synthesize(cfg_path, ckpt, full, 4))
    coco = read_json(osp.join(full, 'annotations.json'))
    assert [c['name'] for c in coco['categories']] == ['circle', NEVER_SEEN]
    assert len(coco['images']) == 4
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

    # an interrupted run (2 of 4 images), continued: the same data, no duplicates
    part = str(tmp_path / 'part')
    ok(synthesize(cfg_path, ckpt, part, 2))
    ok(synthesize(cfg_path, ckpt, part, 4, '--resume'))
    again = read_json(osp.join(part, 'annotations.json'))
    ids = [i['id'] for i in again['images']]
    assert len(ids) == len(set(ids)) == 4
    assert again['images'] == coco['images'] and again['annotations'] == coco['annotations']


def test_base_triplets_are_labelled_by_a_detector_on_base_classes(tmp_path):
    """Mode `text_to_image`: the embedded toy LDM draws 1-2 categories per prompt, the judge
    labels the decoded images; boxes of classes outside the run's list are dropped."""
    cfg = Config.fromfile(JUDGE)
    cfg.merge_from_dict(dict(synthesis=Config.fromfile(BASE_TRIPLETS).synthesis.to_dict()))
    cfg.synthesis.update(categories=['circle', 'square'], num_inference_steps=10, score_thr=0.5,
                         contact_sheet=dict(num_images=0), keep_negatives=True)
    out = str(tmp_path / 'out')
    syn = build_synthesizer(cfg, JUDGE_WEIGHTS, out)
    summary = syn.run(8, progress=False)
    coco = read_json(summary['annotations_file'])
    assert len(coco['images']) == 8 and coco['info']['labeller'] == 'detector'
    assert {len(i['category_names']) for i in coco['images']} <= {1, 2}
    assert all(1 <= a['category_id'] <= 2 and a['score'] >= 0.5 for a in coco['annotations'])
    assert len(coco['annotations']) > 0, 'the judge finds circles/squares the toy LDM drew'


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
