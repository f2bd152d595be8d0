"""Thresholds and gates chosen on the val split, before a protocol runs.

* :func:`calibrate_score_threshold`: the lowest score at which a labelling detector's boxes are
  precise enough (InstaGen's α for an FCOS judge, whose scores are not Mask R-CNN's);
* :func:`generator_gate` / :func:`check_generator_gate`: does the LDM draw each class when
  asked? (a novel class it cannot draw cannot be learnt from its images, whatever labels it).
"""
from __future__ import annotations

import numpy as np

from .fidelity import box_precision_recall, text_to_image_fidelity


def calibrate_score_threshold(refs: list[dict], preds: list[dict], target_precision: float = 0.99,
                              iou_thr: float = 0.5, grid=None) -> dict:
    """The lowest score threshold at which a labeller's boxes reach ``target_precision``
    against the references (same class, IoU ≥ ``iou_thr``): how InstaGen's α is chosen for a
    labelling detector whose scores are not Mask R-CNN's (an FCOS score is class ×
    centerness). ``preds`` carry ``scores``; ``grid``: thresholds to try (default 0.05–0.95
    by 0.01). Returns ``threshold`` (None when none reaches the target) with its precision and
    recall, and the curve."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2) if grid is None else np.asarray(grid)
    curve = []
    for thr in grid:
        kept = []
        for p in preds:
            keep = np.asarray(p['scores']) >= thr
            kept.append(dict(bboxes=np.asarray(p['bboxes']).reshape(-1, 4)[keep],
                             labels=np.asarray(p['labels'])[keep],
                             scores=np.asarray(p['scores'])[keep]))
        pr = box_precision_recall(refs, kept, iou_thr)
        curve.append(dict(threshold=float(thr), precision=pr['precision'], recall=pr['recall'],
                          boxes=pr['num_pred']))
    ok = [c for c in curve if c['boxes'] and c['precision'] >= target_precision]
    best = ok[0] if ok else dict(threshold=None, precision=None, recall=None)
    return dict(best, target_precision=target_precision, iou_thr=iou_thr, curve=curve)


def generator_gate(ldm, judge, classes, per_class: int = 64, seed: int = 0, steps: int = 30,
                   guidance: float = 5.0, score_thr: float = 0.5, batch_size: int = 16,
                   progress=None) -> dict:
    """Does the LDM draw each class when asked? Per-class text-to-image recall from
    single-object prompts in the LDM's own grammar, ``"a photo of a {colour} {class}"`` (the
    colours cycle), ``per_class`` images each, graded by the judge (issue #20's gate: a novel
    class the generator cannot draw cannot be learnt from its images, whatever the labeller).

    Tier B's colour-shape pairs (every class ``"{colour} {shape}"``, graded by a
    :class:`~.colour_shape_judge.ColourShapeJudge`) are prompted in their own colour,
    ``"a photo of a red circle"``, and a box counts only with the pair's colour.

    Returns ``{'recall': {class: r}, 'per_class': n, 'prompts': [...first few]}``.
    """
    from ..datasets.colour_shape import parse_pair_caption, split_pair
    from ..datasets.toy_shapes import TOY_SHAPES_CLASSES, TOY_SHAPES_COLORS, caption_for
    colours = list(TOY_SHAPES_COLORS)
    pairs = all(c not in TOY_SHAPES_CLASSES for c in classes)
    objects = [dict(zip(('color', 'category'), split_pair(c))) if pairs else
               dict(color=colours[i % len(colours)], category=c)
               for c in classes for i in range(per_class)]
    captions = [caption_for([o]) for o in objects]
    res = text_to_image_fidelity(ldm, judge, captions, seed, steps, guidance, score_thr,
                                 batch_size, progress, parse_pair_caption if pairs else None)
    return dict(recall={c: res['per_class_recall'].get(c, 0.0) for c in classes},
                precision=res['precision'], per_class=per_class, prompts=captions[::per_class])


def check_generator_gate(recall: dict, novel, threshold: float = 0.7, force: bool = False):
    """Refuse novel classes the generator does not draw (recall < ``threshold``) unless
    ``force``; the message gives every class's recall."""
    failing = [c for c in novel if recall.get(c, 0.0) < threshold]
    if failing and not force:
        table = ', '.join(f'{c} {r:.2f}' for c, r in sorted(recall.items(), key=lambda x: -x[1]))
        raise ValueError(f'generator gate: the LDM draws the novel classes {failing} with '
                         f'text-to-image recall below {threshold} (per class: {table}). Pick '
                         'novel classes that pass, or force the gate.')
    return failing
