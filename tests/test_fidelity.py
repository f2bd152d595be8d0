"""Fidelity measures on hand-made cases (no trained model needed)."""
import numpy as np
import pytest
from diffdet_plugin.datasets.toy_shapes import caption_for, parse_caption
from diffdet_plugin.evaluation.fidelity import (box_precision_recall, coco_map,
                                                multiset_precision_recall)


def test_parse_caption_inverts_caption_for():
    objs = [{'color': c, 'category': s} for c, s in
            [('red', 'circle'), ('blue', 'square'), ('blue', 'square'), ('green', 'cross'),
             ('orange', 'cross')]]
    assert parse_caption(caption_for(objs)) == {'circle': 1, 'square': 2, 'cross': 2}
    with pytest.raises(ValueError, match='toy'):
        parse_caption('a dog on a sofa')


def test_caption_with_one_missing_and_one_extra_object():
    expected = [parse_caption('a photo of a red circle and two blue squares')]
    detected = [{'circle': 1, 'square': 1, 'star': 1}]  # a square missing, a star extra
    pr = multiset_precision_recall(expected, detected)
    assert pr['tp'] == 2
    assert pr['precision'] == pytest.approx(2 / 3)
    assert pr['recall'] == pytest.approx(2 / 3)
    perfect = multiset_precision_recall(expected, [{'circle': 1, 'square': 2}])
    assert perfect['precision'] == perfect['recall'] == 1.0


def _gts(seed=0, n=6):
    from diffdet_plugin.datasets.toy_shapes import render_scene
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        _, objs = render_scene(rng, 128)
        out.append(dict(bboxes=np.array([[x, y, x + w, y + h] for x, y, w, h in
                                         (o['bbox'] for o in objs)], np.float32),
                        labels=np.array([['circle', 'square', 'triangle', 'star', 'hexagon',
                                          'cross'].index(o['category']) for o in objs])))
    return out


def test_boxes_scored_against_themselves_are_perfect():
    """What img2img fidelity does to real references scored against their own boxes: 1.0."""
    gts = _gts()
    dets = [dict(g, scores=np.ones(len(g['labels']))) for g in gts]
    m = coco_map(gts, dets, 6)
    assert m['mAP'] == pytest.approx(1.0) and m['mAP_50'] == pytest.approx(1.0)
    pr = box_precision_recall(gts, dets)
    assert pr['precision'] == pr['recall'] == 1.0


def test_layout_fidelity_of_real_images_is_one(toy_data, shipped_judge):
    """Real val images graded against their own boxes: img2img fidelity 1.0."""
    from diffdet_plugin.evaluation.fidelity import judge_map, layout_fidelity, load_split
    split = load_split(toy_data, 'val')
    real = judge_map(shipped_judge, split['images'], split['gts'])
    assert real['mAP'] > 0.4  # the shipped judge grades these images well
    res = layout_fidelity(shipped_judge, split['images'], split['gts'], real['mAP'])
    assert res['fidelity'] == pytest.approx(1.0)
    # blank images lose every object: fidelity collapses
    blank = [np.full_like(im, 128) for im in split['images']]
    assert layout_fidelity(shipped_judge, blank, split['gts'], real['mAP'])['fidelity'] < 0.1


def test_label_errors_lower_precision_and_recall():
    gts = _gts(1)
    # shift every predicted box by half its width (IoU < 0.5) in the first image, relabel
    # one box in the second, drop all boxes of the third
    preds = [dict(g, scores=np.ones(len(g['labels']))) for g in gts]
    b = preds[0]['bboxes'].copy()
    b[:, [0, 2]] += (b[:, 2:3] - b[:, 0:1]) * 0.6
    preds[0] = dict(preds[0], bboxes=b)
    preds[1] = dict(preds[1], labels=(preds[1]['labels'] + 1) % 6)
    preds[2] = dict(bboxes=np.zeros((0, 4)), labels=np.zeros(0, int), scores=np.zeros(0))
    pr = box_precision_recall(gts, preds)
    n = [len(g['labels']) for g in gts]
    assert pr['num_ref'] == sum(n)
    assert pr['tp'] == sum(n) - n[0] - n[1] - n[2]
    assert pr['precision'] == pytest.approx(pr['tp'] / (sum(n) - n[2]))
    assert pr['recall'] == pytest.approx(pr['tp'] / sum(n))
    assert coco_map(gts, preds, 6)['mAP'] < 1.0


def test_the_benchmarks_measure_tells_a_trained_detector_from_an_untrained_one(toy_data,
                                                                              shipped_judge):
    """judge_map (the quality and fidelity benchmarks' mAP) on the same toy val images: the
    shipped, trained judge scores high, the same detector at its random init near zero."""
    import dataclasses

    import torch
    from diffdet_plugin.evaluation.fidelity import judge_map, load_split

    from mmdet.registry import MODELS
    val = load_split(toy_data, 'val')
    trained = judge_map(shipped_judge, val['images'], val['gts'])['mAP']
    torch.manual_seed(0)
    untrained_model = MODELS.build(shipped_judge.cfg.model).eval()
    untrained_model.cfg = shipped_judge.model.cfg
    untrained = dataclasses.replace(shipped_judge, model=untrained_model)
    random_map = judge_map(untrained, val['images'], val['gts'])['mAP']
    assert trained > 0.8 and random_map < 0.05, \
        (trained, random_map)


def test_per_class_recall_and_colourless_captions_parse():
    expected = [parse_caption('a photo of a red circle and two blue squares'),
                parse_caption('a photo of a circle and a star')]  # colourless parses too
    detected = [{'circle': 1, 'square': 1}, {'star': 1}]
    pr = multiset_precision_recall(expected, detected)
    assert pr['per_class_recall'] == {'circle': 0.5, 'square': 0.5, 'star': 1.0}


def test_score_threshold_calibration_picks_the_lowest_precise_threshold():
    from diffdet_plugin.evaluation.calibration import calibrate_score_threshold
    box = [10., 10, 50, 50]
    refs = [dict(bboxes=np.array([box]), labels=np.array([0]))] * 4
    # per image: the right box (score 0.6 - 0.9) and a false one at score 0.4
    preds = [dict(bboxes=np.array([box, [60., 60, 90, 90]]), labels=np.array([0, 0]),
                  scores=np.array([s, 0.4])) for s in (0.6, 0.7, 0.8, 0.9)]
    res = calibrate_score_threshold(refs, preds, target_precision=0.99)
    assert res['threshold'] == 0.41 and res['precision'] == 1.0 and res['recall'] == 1.0
    assert calibrate_score_threshold(refs, preds, grid=[0.1, 0.2])['threshold'] is None


def test_generator_gate_refuses_a_novel_class_the_ldm_cannot_draw():
    from diffdet_plugin.evaluation.calibration import check_generator_gate
    recall = dict(circle=0.98, cross=0.84, triangle=0.55, hexagon=0.18)
    assert check_generator_gate(recall, ['cross']) == []
    with pytest.raises(ValueError, match=r"novel classes \['triangle', 'hexagon'\].*circle 0.98"):
        check_generator_gate(recall, ['triangle', 'hexagon'])
    assert check_generator_gate(recall, ['hexagon'], force=True) == ['hexagon']
