"""The judge of issue #20's Tier B classes (``"{colour} {shape}"`` pairs): the shape judge's
boxes, each given the colour its pixels have.

Toy objects are painted in one of six saturated palette colours (± 12 per channel) on a muted,
near-grey background, so an object's colour is read from its pixels, with no second detector
to train: :func:`box_colour` votes over the pixels of the box's central half (where the object
is, whatever its shape) that lie within ``tolerance`` of a palette colour. The pair judge is
then the shape judge (the shipped one, trained on all six shapes) with that read-out, and it
serves as the Tier B oracle, the pair-level generator gate's grader and the test referee.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..datasets.colour_shape import pair_classes, pair_name
from ..datasets.toy_shapes import TOY_SHAPES_COLORS


def box_colour(image: np.ndarray, box: Sequence[float], tolerance: float = 60.0,
               colours: Sequence[str] = tuple(TOY_SHAPES_COLORS)) -> str | None:
    """The palette colour of the object in ``box``, or ``None`` when no pixel is near one.

    Args:
        image: (H, W, 3) RGB uint8.
        box: (x1, y1, x2, y2) in pixels.
        tolerance: the largest RGB distance at which a pixel counts as a palette colour.
    Returns:
        the colour with the most votes among the central half of the box (its whole area when
        that half holds no palette pixel).
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    palette = np.array([TOY_SHAPES_COLORS[c] for c in colours], np.float32)  # (K, 3)
    for shrink in (0.25, 0.0):  # the central half first, then the whole box
        dx, dy = (x2 - x1) * shrink, (y2 - y1) * shrink
        xa, xb = int(np.clip(np.floor(x1 + dx), 0, w - 1)), int(np.clip(np.ceil(x2 - dx), 1, w))
        ya, yb = int(np.clip(np.floor(y1 + dy), 0, h - 1)), int(np.clip(np.ceil(y2 - dy), 1, h))
        pixels = image[ya:max(yb, ya + 1), xa:max(xb, xa + 1)].reshape(-1, 3).astype(np.float32)
        dist = np.linalg.norm(pixels[:, None] - palette[None], axis=-1)  # (P, K)
        near = dist.min(1) <= tolerance
        if near.any():
            votes = np.bincount(dist[near].argmin(1), minlength=len(colours))
            return colours[int(votes.argmax())]
    return None


class ColourShapeJudge:
    """A shape judge whose classes are colour-shape pairs (duck-types :class:`Judge`).

    Args:
        judge: the shape judge (``load_judge``'s); its classes must include ``shapes``.
        colours, shapes: the pair classes (:func:`~..datasets.colour_shape.pair_classes`).
        tolerance: :func:`box_colour`'s.
    """

    def __init__(self, judge, colours: Sequence[str] = tuple(TOY_SHAPES_COLORS),
                 shapes: Sequence[str] | None = None, tolerance: float = 60.0):
        shapes = tuple(shapes or judge.classes)
        unknown = [s for s in shapes if s not in judge.classes]
        if unknown:
            raise ValueError(f'ColourShapeJudge: the shape judge {judge.checkpoint} does not '
                             f'detect {unknown} (its classes: {list(judge.classes)}).')
        self.judge, self.colours, self.shapes = judge, tuple(colours), shapes
        self.classes = pair_classes(self.colours, shapes)
        self.tolerance = tolerance
        self.checkpoint, self.key = judge.checkpoint, judge.key

    def detect(self, images, score_thr: float = 0.0, batch_size: int = 16) -> list[dict]:
        """The shape judge's boxes (score ≥ ``score_thr``) of the pair shapes, labelled by pair
        (indices into :attr:`classes`); a box whose colour is not read is left out."""
        index = {name: i for i, name in enumerate(self.classes)}
        out = []
        for image, det in zip(images, self.judge.detect(images, score_thr, batch_size)):
            image = np.asarray(image)
            keep, labels = [], []
            for i, (box, label) in enumerate(zip(det['bboxes'], det['labels'])):
                colour = box_colour(image, box, self.tolerance, self.colours)
                name = colour and pair_name(colour, self.judge.classes[int(label)])
                if name in index:
                    keep.append(i)
                    labels.append(index[name])
            out.append(dict(bboxes=det['bboxes'][keep].reshape(-1, 4),
                            scores=det['scores'][keep],
                            labels=np.array(labels, np.int64)))
        return out
