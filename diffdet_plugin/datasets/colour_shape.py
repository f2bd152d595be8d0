"""The toy world's colour × shape classes: issue #20's Tier B, the text-side transfer test.

InstaGen transfers to a novel category through the text space: a head that grounds "red
circle" and "blue triangle" should also ground "red triangle", whose words it has seen in other
classes. Tier B makes that testable in the toy world. Each class is a *pair*
``"{colour} {shape}"`` (``pair_name``); the toy data already stores each object's colour
(``annotations[i]['color']``), so a pair view of the toy splits is only a new category list
(:func:`colour_shape_annotations`). The novel classes are one pair per colour, chosen so that
every colour and every shape word still occurs in at least 4 base pairs, among the pairs the
generator draws (:func:`choose_pair_split`, fed by the pair-level generator gate).

Objects of a shape left out of the pair classes (one the generator cannot draw) stay in their
images unlabelled, as OV-COCO's non-category objects do; their count is returned.
"""
from __future__ import annotations

import itertools
import json
from typing import Sequence

from ..utils.fileio import atomic_write_json
from .toy_shapes import TOY_SHAPES_CLASSES, TOY_SHAPES_COLORS

#: the shapes of Tier B's pairs: those the shape-level generator gate passes on LDM v3 (hexagon
#: draws at 0.30; docs/instagen.md)
DRAWABLE_SHAPES = ('circle', 'square', 'triangle', 'star', 'cross')


def pair_name(colour: str, shape: str) -> str:
    """``('red', 'circle')`` → ``'red circle'``: the class name and its prompt words."""
    return f'{colour} {shape}'


def split_pair(name: str) -> tuple[str, str]:
    """``'red circle'`` → ``('red', 'circle')``; one clear error for anything else."""
    words = str(name).split()
    if len(words) != 2 or words[0] not in TOY_SHAPES_COLORS or words[1] not in TOY_SHAPES_CLASSES:
        raise ValueError(f'{name!r} is not a colour-shape pair: write "<colour> <shape>" with a '
                         f'colour of {list(TOY_SHAPES_COLORS)} and a shape of '
                         f'{list(TOY_SHAPES_CLASSES)}, e.g. "red circle".')
    return words[0], words[1]


def pair_classes(colours: Sequence[str] = tuple(TOY_SHAPES_COLORS),
                 shapes: Sequence[str] = TOY_SHAPES_CLASSES) -> tuple[str, ...]:
    """Every pair, shape-major (all colours of the first shape, then the next shape)."""
    for c in colours:
        split_pair(pair_name(c, 'circle'))
    for s in shapes:
        split_pair(pair_name('red', s))
    return tuple(pair_name(c, s) for s in shapes for c in colours)


def colour_shape_annotations(src_ann: str, out_ann: str,
                             colours: Sequence[str] = tuple(TOY_SHAPES_COLORS),
                             shapes: Sequence[str] = TOY_SHAPES_CLASSES) -> dict:
    """Write the pair view of a toy-shapes COCO file: the same images and boxes, each box's
    category the pair ``"{its colour} {its shape}"`` (:func:`pair_classes` order).

    Boxes of a shape or colour not in ``shapes`` / ``colours`` are left out (their objects stay
    in the images, unlabelled). Raises ``ValueError`` for a file whose annotations carry no
    colour (not toy-shapes data). Returns counts: ``images``, ``boxes``, ``left_out``.
    """
    with open(src_ann) as f:
        coco = json.load(f)
    shape_of = {c['id']: c['name'] for c in coco['categories']}
    classes = pair_classes(colours, shapes)
    ids = {name: i + 1 for i, name in enumerate(classes)}
    kept = []
    for a in coco['annotations']:
        if 'color' not in a:
            raise ValueError(f'{src_ann}: annotation {a.get("id")} has no "color": the pair view '
                             'needs toy-shapes data (tools/make_toy_data.py writes the colours).')
        name = pair_name(a['color'], shape_of[a['category_id']])
        if name in ids:
            kept.append(dict(a, category_id=ids[name]))
    atomic_write_json(out_ann, dict(
        coco, annotations=kept,
        categories=[dict(id=ids[n], name=n, supercategory=split_pair(n)[1]) for n in classes]))
    return dict(images=len(coco['images']), boxes=len(kept),
                left_out=len(coco['annotations']) - len(kept))


def ensure_pair_views(data_root: str, splits: Sequence[str] = ('train', 'val', 'test'),
                      colours: Sequence[str] = tuple(TOY_SHAPES_COLORS),
                      shapes: Sequence[str] = DRAWABLE_SHAPES, overwrite: bool = False) -> dict:
    """Write ``annotations/instances_{split}_pairs.json`` (:func:`colour_shape_annotations`)
    for each split that lacks it (every one with ``overwrite``); returns ``{split: counts}``
    of the files written (``tools/make_toy_pairs.py``; the Tier B protocol)."""
    import os.path as osp
    written = {}
    for split in splits:
        src = osp.join(data_root, 'annotations', f'instances_{split}.json')
        out = osp.join(data_root, 'annotations', f'instances_{split}_pairs.json')
        if osp.isfile(out) and not overwrite:
            continue
        if not osp.isfile(src):
            raise FileNotFoundError(f'{src} does not exist: make the toy data first '
                                    f'(python tools/make_toy_data.py --out {data_root}).')
        written[split] = dict(colour_shape_annotations(src, out, colours, shapes), out=out)
    return written


def choose_pair_split(recall: dict, colours: Sequence[str] = tuple(TOY_SHAPES_COLORS),
                      shapes: Sequence[str] = TOY_SHAPES_CLASSES, threshold: float = 0.7,
                      min_base_per_word: int = 4) -> dict:
    """Tier B's novel pairs: one per colour, among the pairs the generator draws.

    Every assignment of one shape per colour is tried (``len(shapes) ** len(colours)``: 15,625
    for 5 × 6). It is valid when each novel pair's gate recall is ≥ ``threshold`` and every
    colour and shape word still occurs in ≥ ``min_base_per_word`` base pairs. Of the valid ones
    the split keeps the one whose worst novel recall is highest (then the highest mean, then
    the first in colour / shape order), so the novel pairs are those drawn best.

    Args:
        recall: ``{pair name: text-to-image recall}`` from the pair-level generator gate.
    Returns:
        ``{'base': (...), 'novel': (...)}`` in :func:`pair_classes` order.
    Raises:
        ValueError: no valid split, with the recall of each colour's best pair.
    """
    classes = pair_classes(colours, shapes)
    missing = [c for c in classes if c not in recall]
    if missing:
        raise ValueError(f'choose_pair_split: the gate has no recall for {missing}: run the '
                         'pair-level generator gate on every pair.')
    if len(shapes) - 1 < min_base_per_word:
        raise ValueError(f'choose_pair_split: with {len(shapes)} shapes each colour keeps '
                         f'{len(shapes) - 1} base pairs, fewer than {min_base_per_word}.')
    best, best_key = None, None
    for pick in itertools.product(shapes, repeat=len(colours)):
        novel = [pair_name(c, s) for c, s in zip(colours, pick)]
        scores = [recall[n] for n in novel]
        if min(scores) < threshold:
            continue
        if min(len(colours) - pick.count(s) for s in shapes) < min_base_per_word:
            continue  # a shape word left in too few base pairs
        key = (min(scores), sum(scores))
        if best_key is None or key > best_key:
            best, best_key = set(novel), key
    if best is None:
        per_colour = {c: max(((recall[pair_name(c, s)], s) for s in shapes)) for c in colours}
        raise ValueError(
            f'choose_pair_split: no split has one novel pair per colour with gate recall ≥ '
            f'{threshold} and every word in ≥ {min_base_per_word} base pairs (each colour\'s '
            f'best pair: {", ".join(f"{c} {s} {r:.2f}" for c, (r, s) in per_colour.items())}). '
            'Lower the threshold only with the gate\'s numbers in the record, or draw better.')
    return dict(base=tuple(c for c in classes if c not in best),
                novel=tuple(c for c in classes if c in best))


def parse_pair_caption(caption: str) -> dict:
    """The pair multiset of a coloured toy caption: ``'a photo of a red circle and two blue
    stars'`` → ``{'red circle': 1, 'blue star': 2}``. Raises ``ValueError`` for a colourless
    part (it names no pair) or text that is not a toy caption."""
    from .toy_shapes import parse_caption
    text = caption.strip().lower()
    if not parse_caption(text):  # the one toy-caption grammar (its errors); empty background
        return {}
    counts: dict = {}
    for part in text[len('a photo of '):].replace(' and ', ', ').split(', '):
        if len(part.split()) != 3:
            raise ValueError(f'{part!r} in {caption!r} names no colour: a pair caption gives '
                             'each object as "<count> <colour> <shape>".')
        (shape, n), = parse_caption(f'a photo of {part}').items()
        name = pair_name(part.split()[1], shape)
        counts[name] = counts.get(name, 0) + n
    return counts
