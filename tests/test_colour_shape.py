"""Issue #20's Tier B classes: the colour-shape pair view, the split chooser, the pair judge."""
import itertools
import json
import os.path as osp

import numpy as np
import pytest
from diffdet_plugin.datasets.colour_shape import (choose_pair_split, colour_shape_annotations,
                                                  pair_classes, pair_name, parse_pair_caption,
                                                  split_pair)
from diffdet_plugin.datasets.toy_shapes import TOY_SHAPES_COLORS

SHAPES = ('circle', 'square', 'triangle', 'star', 'cross')  # 5 drawable shapes (no hexagon)
COLOURS = tuple(TOY_SHAPES_COLORS)


def test_pair_view_relabels_every_box_by_its_colour_and_leaves_out_other_shapes(toy_data,
                                                                                tmp_path):
    src = osp.join(toy_data, 'annotations', 'instances_val.json')
    out = str(tmp_path / 'pairs.json')
    counts = colour_shape_annotations(src, out, COLOURS, SHAPES)
    old, new = json.load(open(src)), json.load(open(out))
    assert [c['name'] for c in new['categories']] == list(pair_classes(COLOURS, SHAPES))
    assert len(new['categories']) == 30 and new['images'] == old['images']
    shape_of = {c['id']: c['name'] for c in old['categories']}
    pair_of = {c['id']: c['name'] for c in new['categories']}
    by_id = {a['id']: a for a in old['annotations']}
    assert all(pair_of[a['category_id']] == pair_name(a['color'], shape_of[by_id[a['id']][
        'category_id']]) for a in new['annotations'])
    hexagons = sum(shape_of[a['category_id']] == 'hexagon' for a in old['annotations'])
    assert hexagons > 0 and counts == dict(images=len(old['images']),
                                           boxes=len(old['annotations']) - hexagons,
                                           left_out=hexagons)
    plain = dict(old, annotations=[{k: v for k, v in a.items() if k != 'color'}
                                   for a in old['annotations']])
    (tmp_path / 'plain.json').write_text(json.dumps(plain))
    with pytest.raises(ValueError, match='has no "color".*tools/make_toy_data.py'):
        colour_shape_annotations(str(tmp_path / 'plain.json'), out)


def test_pair_names_and_captions():
    assert split_pair('red circle') == ('red', 'circle')
    for bad in ('circle', 'pink circle', 'red dodecagon', 'a red circle'):
        with pytest.raises(ValueError, match='not a colour-shape pair'):
            split_pair(bad)
    assert parse_pair_caption('a photo of a red circle, two blue stars and a red circle') == {
        'red circle': 2, 'blue star': 2}
    assert parse_pair_caption('a photo of an empty background') == {}
    with pytest.raises(ValueError, match='names no colour'):
        parse_pair_caption('a photo of a red circle and a triangle')


def test_split_keeps_one_novel_pair_per_colour_drawn_best_and_every_word_in_4_base_pairs():
    classes = pair_classes(COLOURS, SHAPES)
    rng = np.random.default_rng(0)
    recall = {c: float(rng.uniform(0.75, 0.95)) for c in classes}
    for c in COLOURS:  # the two shapes the generator draws best, in every colour ...
        recall[pair_name(c, 'star')], recall[pair_name(c, 'cross')] = 0.99, 0.98
    split = choose_pair_split(recall, COLOURS, SHAPES)
    novel = split['novel']
    assert len(novel) == 6 and sorted(split_pair(n)[0] for n in novel) == sorted(COLOURS)
    assert set(split['base']) | set(novel) == set(classes) and not set(split['base']) & set(novel)
    for word in COLOURS + SHAPES:  # ... but no shape may lose more than 2 of its 6 pairs
        assert sum(word in split_pair(b) for b in split['base']) >= 4, word
    assert sorted(split_pair(n)[1] for n in novel).count('star') == 2
    # the best split by its worst novel pair, checked against every valid split
    worst = min(recall[n] for n in novel)
    for pick in itertools.product(SHAPES, repeat=len(COLOURS)):
        if max(pick.count(s) for s in SHAPES) <= 2:
            assert min(recall[pair_name(c, s)] for c, s in zip(COLOURS, pick)) <= worst
    # a pair the gate fails is never novel; a colour with no passing pair: one clear error
    recall[pair_name('red', 'star')] = 0.5
    assert pair_name('red', 'star') not in choose_pair_split(recall, COLOURS, SHAPES)['novel']
    for s in SHAPES:
        recall[pair_name('blue', s)] = 0.6
    with pytest.raises(ValueError, match=r'no split .* recall ≥ 0.7.*blue \w+ 0.60'):
        choose_pair_split(recall, COLOURS, SHAPES)
    with pytest.raises(ValueError, match="no recall for \\['red circle'\\]"):
        choose_pair_split({k: v for k, v in recall.items() if k != 'red circle'}, COLOURS,
                          SHAPES)


def test_box_colour_reads_every_real_objects_colour(toy_data):
    from diffdet_plugin.evaluation.colour_shape_judge import box_colour
    from diffdet_plugin.evaluation.fidelity import load_split
    val = load_split(toy_data, 'val')
    read = [(box_colour(im, box), o['color']) for im, g, objs in
            zip(val['images'], val['gts'], val['objects'])
            for box, o in zip(g['bboxes'], objs)]
    assert len(read) > 20 and all(r == c for r, c in read), read
    grey = np.full((32, 32, 3), 128, np.uint8)
    assert box_colour(grey, (4, 4, 28, 28)) is None


def test_pair_judge_grades_real_images_as_well_as_the_shape_judge(toy_data, shipped_judge):
    """On real val images the pair judge's mAP against the pair boxes is the shape judge's
    against the shape boxes: the colour read-out loses nothing."""
    from diffdet_plugin.evaluation.colour_shape_judge import ColourShapeJudge
    from diffdet_plugin.evaluation.fidelity import judge_map, load_split
    val = load_split(toy_data, 'val')
    pairs = ColourShapeJudge(shipped_judge, COLOURS)
    assert len(pairs.classes) == 36
    pair_gts = [dict(bboxes=g['bboxes'], labels=np.array(
        [pairs.classes.index(pair_name(o['color'], o['category'])) for o in objs], np.int64))
        for g, objs in zip(val['gts'], val['objects'])]
    shape_map = judge_map(shipped_judge, val['images'], val['gts'])['mAP']
    pair_map = judge_map(pairs, val['images'], pair_gts)['mAP']
    assert shape_map > 0.8 and pair_map >= shape_map - 0.02, (pair_map, shape_map)
    wrong = [dict(g, labels=(g['labels'] + 1) % 36) for g in pair_gts]  # another colour
    assert judge_map(pairs, val['images'], wrong)['mAP'] < 0.1
    with pytest.raises(ValueError, match="does not detect \\['disc'\\]"):
        ColourShapeJudge(shipped_judge, COLOURS, ('circle', 'disc'))


def _one_object_image(colour, shape, size=128):
    """A toy scene of one object: the toy renderer's mask on a grey background."""
    from diffdet_plugin.datasets.toy_shapes import _shape_mask
    image = np.full((size, size, 3), 128, np.uint8)
    image[_shape_mask(shape, size / 2, size / 2, size / 4, 0.0, size).astype(bool)] = \
        TOY_SHAPES_COLORS[colour]
    return image


def test_pair_level_generator_gate_prompts_each_pair_in_its_own_colour(shipped_judge,
                                                                        monkeypatch):
    """The gate at pair level: "a photo of a {colour} {shape}" per pair, and a box counts only
    when the pair judge reads the prompted colour. The generator is replaced by one that
    returns a red star for every prompt, so the recall of each pair is known."""
    from diffdet_plugin.evaluation import calibration, fidelity
    from diffdet_plugin.evaluation.colour_shape_judge import ColourShapeJudge
    prompts, star = [], _one_object_image('red', 'star')

    def red_stars(ldm, images, captions, *args):
        prompts.extend(captions)
        return [star] * len(captions)
    monkeypatch.setattr(fidelity, '_generate', red_stars)
    judge = ColourShapeJudge(shipped_judge, COLOURS, SHAPES)
    res = calibration.generator_gate(None, judge, ('red star', 'blue star'), per_class=2)
    assert prompts == ['a photo of a red star'] * 2 + ['a photo of a blue star'] * 2
    assert res['recall'] == {'red star': 1.0, 'blue star': 0.0}


def test_pair_confusion_sorts_wrong_names_by_the_word_they_share():
    from diffdet_plugin.benchmarks.diffusion_engine_controls import disagreements
    from diffdet_plugin.benchmarks.instagen_controls import pair_confusion
    classes = pair_classes(('red', 'blue'), ('circle', 'triangle', 'star'))
    idx = {c: i for i, c in enumerate(classes)}
    boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50], [60, 60, 70, 70]],
                     np.float32)
    ref = [dict(bboxes=boxes, labels=np.array([idx['red triangle']] * 4), scores=np.ones(4))]
    named = ['red circle', 'blue triangle', 'blue star', 'red triangle']
    pred = [dict(bboxes=boxes, labels=np.array([idx[n] for n in named]),
                 scores=np.array([0.9, 0.8, 0.7, 0.6]))]
    d = disagreements(ref, pred, classes, top=None)
    assert d['agree'] == 1 and d['other_class'] == 3 and len(d['confusions']) == 3
    assert pair_confusion(d['confusions'], ['red triangle', 'blue circle']) == {
        'red triangle': dict(same_colour=1, same_shape=1, other=1),
        'blue circle': dict(same_colour=0, same_shape=0, other=0)}


def test_make_toy_pairs_writes_every_split(toy_data, tmp_path, monkeypatch):
    import runpy
    import shutil
    root = tmp_path / 'toy'
    shutil.copytree(osp.join(toy_data, 'annotations'), root / 'annotations')
    monkeypatch.setattr('sys.argv', ['make_toy_pairs.py', str(root)])
    tool = osp.join(osp.dirname(osp.dirname(__file__)), 'tools', 'make_toy_pairs.py')
    with pytest.raises(SystemExit) as done:
        runpy.run_path(tool, run_name='__main__')
    assert done.value.code == 0
    for split in ('train', 'val', 'test'):
        cats = json.load(open(root / 'annotations' / f'instances_{split}_pairs.json'))
        assert [c['name'] for c in cats['categories']] == list(pair_classes(COLOURS, SHAPES))


def test_shipped_pair_split_is_the_recorded_gates_choice(repo_root):
    """configs/_base_/datasets/toy_shapes_pairs_split.py holds what choose_pair_split picks from
    the recorded pair-level gate on LDM v3, and the base-pair detector config trains on the
    pair files with the base pairs only."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(repo_root, 'configs', '_base_', 'datasets',
                                   'toy_shapes_pairs_split.py'))
    gate = json.load(open(osp.join(repo_root, 'docs', 'results', 'instagen_pair_gate_v3',
                                   'fidelity.json')))['ldms']['ldm0']['pair_gate']
    split = choose_pair_split(gate['recall'], cfg.toy_pairs_colours, cfg.toy_pairs_shapes)
    assert split == dict(base=cfg.toy_pairs_base_classes, novel=cfg.toy_pairs_novel_classes)
    assert cfg.toy_pairs_classes == pair_classes(cfg.toy_pairs_colours, cfg.toy_pairs_shapes)
    judge = Config.fromfile(osp.join(repo_root, 'configs', 'judge',
                                     'fcos_r18-half_fpn_3000it_toy-shapes-pairs-base.py'))
    assert judge.model.bbox_head.num_classes == 24
    assert judge.train_dataloader.dataset.metainfo.classes == cfg.toy_pairs_base_classes
    assert judge.train_dataloader.dataset.ann_file.endswith('instances_train_pairs.json')
    hue = [t for t in judge.train_dataloader.dataset.pipeline
           if t['type'] == 'PhotoMetricDistortion']
    assert hue and hue[0]['hue_delta'] == 0  # the colour is part of the class
