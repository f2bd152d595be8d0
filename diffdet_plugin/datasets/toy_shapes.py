"""Procedural "toy shapes" detection domain, written as COCO.

Every scene is a small RGB image with a random muted background (solid colour
or linear gradient) and 1-4 coloured shapes that do not touch each other
(version 2 of the domain; see ``docs/toy_ldm.md`` for why it is this simple).
Each annotated object carries the exact visible
binary mask that was painted, its tight COCO ``xywh`` box and its pixel area,
plus a short caption such as ``"a photo of a red circle and two blue
squares"``.  Everything is deterministic from an integer seed and needs no
downloads: only numpy, PIL and pycocotools are used (no torch / mmdet).

Typical use::

    from diffdet_plugin.datasets.toy_shapes import generate_toy_shapes
    info = generate_toy_shapes('data/toy_shapes', num_train=2000, num_val=200)

Above 400 lines because it is the whole procedural domain (render a scene, caption it, write
COCO) behind one seed stream per image: the one place that defines what a toy scene is.
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

from ..utils.fileio import atomic_write_json

TOY_SHAPES_CLASSES = ('circle', 'square', 'triangle', 'star', 'hexagon',
                      'cross')

TOY_SHAPES_COLORS = {
    'red': (220, 30, 30),
    'green': (30, 170, 50),
    'blue': (30, 70, 220),
    'yellow': (240, 210, 20),
    'purple': (140, 40, 180),
    'orange': (245, 130, 20),
}

#: Rotational symmetry period (degrees) of each shape; 0 means no rotation.
_ROT_PERIOD = {'circle': 0, 'square': 90, 'triangle': 120, 'star': 72,
               'hexagon': 60, 'cross': 90}
#: spawn keys of the splits' seed streams (an index here is that split's stream forever);
#: ``ldm`` is the toy LDM's own, larger training set (never a detector's, val or test scene)
_SPLITS = ('train', 'val', 'test', 'ldm')
_STANDARD = ('train', 'val', 'test')
MAX_OBJECTS = 4
#: object diameter range, as fractions of the image side
DIAMETER_RANGE = (0.22, 0.42)
#: free pixels kept between two objects' bounding squares
MARGIN = 2
_NUMBER_WORDS = ('zero', 'one', 'two', 'three', 'four', 'five', 'six',
                 'seven', 'eight', 'nine', 'ten')
MIN_VISIBLE_FRACTION = 0.3
MIN_VISIBLE_PIXELS = 20


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------
def _random_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Return an ``(size, size, 3)`` uint8 background: a solid colour or a linear gradient.

    Background colours are muted (near-grey, mid luminance) so that the
    saturated shape colours stay clearly visible on top of them.
    """

    def muted() -> np.ndarray:
        grey = rng.uniform(70, 200)
        return np.clip(grey + rng.uniform(-25, 25, size=3), 0, 255)

    if rng.random() < 0.5:
        bg = np.broadcast_to(muted(), (size, size, 3)).astype(np.float64)
    else:
        c0, c1 = muted(), muted()
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / max(size - 1, 1)
        t = xx * np.cos(angle) + yy * np.sin(angle)
        t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
        bg = c0 + t[..., None] * (c1 - c0)
    return np.clip(bg, 0, 255).round().astype(np.uint8)


def _regular_polygon(cx, cy, r, n, rot, inner=None) -> List[Tuple]:
    """Vertices of a regular ``n``-gon (or ``n``-pointed star if ``inner``)."""
    pts = []
    steps = 2 * n if inner else n
    for i in range(steps):
        a = rot + np.pi * 2 * i / steps - np.pi / 2
        rad = r if (inner is None or i % 2 == 0) else r * inner
        pts.append((cx + rad * np.cos(a), cy + rad * np.sin(a)))
    return pts


def _cross_polygon(cx, cy, r, rot, arm=0.36) -> List[Tuple]:
    """Vertices of a plus-shaped cross with half-width ``arm * r``."""
    w = arm * r
    base = [(-w, -r), (w, -r), (w, -w), (r, -w), (r, w), (w, w), (w, r),
            (-w, r), (-w, w), (-r, w), (-r, -w), (-w, -w)]
    c, s = np.cos(rot), np.sin(rot)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in base]


def _shape_mask(category: str, cx: float, cy: float, r: float, rot: float,
                size: int) -> np.ndarray:
    """Paint one shape on a blank canvas; returns its binary mask (uint8).

    PIL draws without anti-aliasing on mode ``'1'``/``'L'`` canvases, so the
    mask is exactly the set of pixels that gets coloured.
    """
    canvas = Image.new('L', (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    if category == 'circle':
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    elif category == 'square':
        # r is the circumradius; shrink so the side is ~ 2r / 1.25.
        draw.polygon(_regular_polygon(cx, cy, r * 1.13, 4, rot + np.pi / 4),
                     fill=255)
    elif category == 'triangle':
        draw.polygon(_regular_polygon(cx, cy, r * 1.1, 3, rot), fill=255)
    elif category == 'star':
        draw.polygon(_regular_polygon(cx, cy, r * 1.1, 5, rot, inner=0.45),
                     fill=255)
    elif category == 'hexagon':
        draw.polygon(_regular_polygon(cx, cy, r, 6, rot), fill=255)
    elif category == 'cross':
        draw.polygon(_cross_polygon(cx, cy, r, rot), fill=255)
    else:
        raise ValueError(f'unknown toy shape category: {category!r}')
    return (np.asarray(canvas) > 0).astype(np.uint8)


def _mask_bbox(mask: np.ndarray) -> List[float]:
    """Tight COCO ``[x, y, w, h]`` box of a non-empty binary mask."""
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return [float(x0), float(y0), float(xs.max() - x0 + 1),
            float(ys.max() - y0 + 1)]


def _place(rng: np.random.Generator, squares: List[Tuple], d: float, min_d: float,
           size: int, tries: int = 20):
    """Find a centre for an object of diameter ``d`` whose bounding square keeps
    :data:`MARGIN` pixels from every square in ``squares`` (appended on success).

    Shrinks ``d`` by 15 % after each ``tries`` failed draws; ``None`` once it is
    below ``min_d``.
    """
    while d >= min_d:
        r = d / 2
        for _ in range(tries):
            cx, cy = rng.uniform(r, size - r, size=2)
            box = (cx - r - MARGIN, cy - r - MARGIN, cx + r + MARGIN, cy + r + MARGIN)
            if all(box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1]
                   for b in squares):
                squares.append((cx - r, cy - r, cx + r, cy + r))
                return cx, cy, r
        d *= 0.85
    return None


def _render_once(rng: np.random.Generator, image_size: int):
    image = _random_background(rng, image_size)
    num = int(rng.integers(1, MAX_OBJECTS + 1))
    min_d = max(DIAMETER_RANGE[0] * image_size, 10.0)
    max_d = max(DIAMETER_RANGE[1] * image_size, min_d)
    drawn, squares = [], []
    for _ in range(num):
        category = TOY_SHAPES_CLASSES[int(rng.integers(len(TOY_SHAPES_CLASSES)))]
        placed = _place(rng, squares, rng.uniform(min_d, max_d), min_d, image_size)
        if placed is None:
            break  # no free room left for another object
        cx, cy, r = placed
        period = _ROT_PERIOD[category]
        rot = np.deg2rad(rng.uniform(0, period)) if period else 0.0
        mask = _shape_mask(category, cx, cy, r, rot, image_size)
        # Never paint over a same-coloured object: the two would merge.
        touching = {o['color'] for o in drawn if (o['full_mask'] & mask).any()}
        palette = [c for c in TOY_SHAPES_COLORS if c not in touching]
        color = palette[int(rng.integers(len(palette)))]
        rgb = np.clip(np.array(TOY_SHAPES_COLORS[color]) +
                      rng.integers(-12, 13, size=3), 0, 255)
        image[mask.astype(bool)] = rgb.astype(np.uint8)
        drawn.append(dict(category=category, color=color, full_mask=mask))

    # Later objects occlude earlier ones: walk back to front.
    covered = np.zeros((image_size, image_size), dtype=bool)
    objects = []
    for obj in reversed(drawn):
        full = obj.pop('full_mask')
        visible = (full.astype(bool) & ~covered).astype(np.uint8)
        covered |= full.astype(bool)
        full_area, area = int(full.sum()), int(visible.sum())
        if area < MIN_VISIBLE_PIXELS or area < MIN_VISIBLE_FRACTION * full_area:
            continue  # drawn but too occluded to be recognisable
        obj.update(mask=visible, bbox=_mask_bbox(visible), area=area,
                   full_area=full_area)
        objects.append(obj)
    objects.reverse()  # back to drawing order
    return Image.fromarray(image), objects


def render_scene(rng: np.random.Generator,
                 image_size: int = 128) -> Tuple[Image.Image, List[Dict]]:
    """Render one random toy scene.

    Args:
        rng: numpy random generator; the scene is a pure function of its state.
        image_size: side length in pixels of the square image.

    Returns:
        ``(image, objects)``: an RGB PIL image and a list (in drawing order,
        back to front) of dicts with keys ``category``, ``color``, ``mask``
        (``(H, W)`` uint8 visible mask), ``bbox`` (tight COCO ``xywh`` floats),
        ``area`` (visible pixel count) and ``full_area`` (unoccluded count).
        Objects never overlap (so every mask is the whole shape); the list
        always has between 1 and :data:`MAX_OBJECTS` entries.
    """
    while True:  # the last drawn object is unoccluded, so this rarely loops
        image, objects = _render_once(rng, image_size)
        if objects:
            return image, objects


# ---------------------------------------------------------------------------
# Captions
# ---------------------------------------------------------------------------
def _plural(noun: str) -> str:
    if noun.endswith(('s', 'x', 'z', 'ch', 'sh')):
        return noun + 'es'
    return noun + 's'


def _article(word: str) -> str:
    return 'an' if word[0] in 'aeiou' else 'a'


def caption_for(objects: Sequence[Dict], colour: bool = True, count: bool = True) -> str:
    """Describe a list of objects, e.g. ``"a photo of a red circle and two
    blue squares"``.

    Identical colour+shape pairs are counted; groups appear in the order of
    their first occurrence and are joined as ``"a, b and c"``.

    The two switches give the prompt variants the toy LDM also learns from (so that a
    prompt without colours is in its distribution): ``colour=False`` groups by shape only
    (``"a photo of a circle and two squares"``); ``count=False`` names a group of more than
    one without its number (``"a photo of a red circle and blue squares"``).
    """
    counts: Dict[Tuple[str, str], int] = {}
    for obj in objects:
        key = (obj['color'] if colour else '', obj['category'])
        counts[key] = counts.get(key, 0) + 1
    if not counts:
        return 'a photo of an empty background'
    parts = []
    for (color, category), n in counts.items():
        if n == 1:
            first = color or category
            parts.append(f'{_article(first)} ' + f'{color} {category}'.strip())
        elif not count:
            parts.append(f'{color} {_plural(category)}'.strip())
        else:
            word = _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)
            parts.append(f'{word} ' + f'{color} {_plural(category)}'.strip())
    if len(parts) == 1:
        text = parts[0]
    else:
        text = ', '.join(parts[:-1]) + ' and ' + parts[-1]
    return 'a photo of ' + text


def parse_caption(caption: str) -> Dict[str, int]:
    """The objects a toy caption names, as ``{category: count}`` (inverse of
    :func:`caption_for` up to colours, with or without them), e.g. ``"a photo of a red
    circle and two blue squares"`` → ``{'circle': 1, 'square': 2}``.

    Raises ``ValueError`` for text that is not a toy caption.
    """
    text = caption.strip().lower()
    if not text.startswith('a photo of '):
        raise ValueError(f'not a toy-shapes caption (must start with "a photo of "): {caption!r}')
    text = text[len('a photo of '):]
    counts: Dict[str, int] = {}
    if text == 'an empty background':
        return counts
    plural = {_plural(c): c for c in TOY_SHAPES_CLASSES}
    for part in text.replace(' and ', ', ').split(', '):
        words = part.split()
        if len(words) == 3 and words[1] in TOY_SHAPES_COLORS:
            number, noun = words[0], words[2]
        elif len(words) == 2 and words[1] not in TOY_SHAPES_COLORS:  # colourless
            number, noun = words
        else:
            raise ValueError(f'cannot parse {part!r} in the toy caption {caption!r} (each part '
                             'is "<count> [<colour>] <shape>")')
        if number in ('a', 'an'):
            n = 1
        elif number in _NUMBER_WORDS:
            n = _NUMBER_WORDS.index(number)
        elif number.isdigit():
            n = int(number)
        else:
            raise ValueError(f'cannot parse the count {number!r} in {caption!r}')
        category = noun if noun in TOY_SHAPES_CLASSES else plural.get(noun)
        if category is None:
            raise ValueError(f'unknown shape {noun!r} in the toy caption {caption!r}')
        counts[category] = counts.get(category, 0) + n
    return counts


# ---------------------------------------------------------------------------
# COCO writer
# ---------------------------------------------------------------------------
def _encode_rle(mask: np.ndarray) -> Dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {'size': [int(s) for s in rle['size']],
            'counts': rle['counts'].decode('ascii')}


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """Independent generator for image ``index`` (0-based) of ``split``.

    Equivalent to ``SeedSequence(seed).spawn(...)[split][index]`` but O(1), so
    image ``k`` never depends on how many images precede it.
    """
    ss = np.random.SeedSequence(seed, spawn_key=(_SPLITS.index(split), index))
    return np.random.default_rng(ss)


def _write_split(out_dir: str, split: str, num_images: int, image_size: int,
                 seed: int, progress=None) -> Dict:
    img_dir = osp.join(out_dir, split)
    ann_dir = osp.join(out_dir, 'annotations')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    info = {'description': f'toy shapes ({split}), seed={seed}',
            'version': '1.0'}
    categories = [{'id': i + 1, 'name': n, 'supercategory': 'shape'}
                  for i, n in enumerate(TOY_SHAPES_CLASSES)]
    images, annotations, captions = [], [], []
    for index in range(num_images):
        image_id = index + 1
        image, objects = render_scene(image_rng(seed, split, index), image_size)
        file_name = f'{image_id:012d}.png'
        image.save(osp.join(img_dir, file_name))
        caption = caption_for(objects)
        images.append({'id': image_id, 'file_name': file_name,
                       'width': image_size, 'height': image_size,
                       'caption': caption})
        captions.append({'id': image_id, 'image_id': image_id,
                         'caption': caption})
        for obj in objects:
            annotations.append({
                'id': len(annotations) + 1, 'image_id': image_id,
                'category_id': TOY_SHAPES_CLASSES.index(obj['category']) + 1,
                'bbox': obj['bbox'], 'area': float(obj['area']), 'iscrowd': 0,
                'segmentation': _encode_rle(obj['mask']),
                'color': obj['color']})
        if progress is not None:
            progress()
    ann_file = osp.join(ann_dir, f'instances_{split}.json')
    cap_file = osp.join(ann_dir, f'captions_{split}.json')
    atomic_write_json(ann_file, {'info': info, 'licenses': [], 'images': images,
                                 'annotations': annotations, 'categories': categories},
                      separators=(',', ':'))
    cap_images = [{k: v for k, v in im.items() if k != 'caption'}
                  for im in images]
    atomic_write_json(cap_file, {'info': info, 'licenses': [], 'images': cap_images,
                                 'annotations': captions}, separators=(',', ':'))
    return {'img_dir': img_dir, 'ann_file': ann_file, 'caption_file': cap_file,
            'num_images': len(images), 'num_annotations': len(annotations)}


def generate_toy_shapes(out_dir: str, num_train: int = 2000,
                        num_val: int = 200, image_size: int = 128,
                        seed: int = 0, progress=None, num_test: int = 0,
                        num_ldm: int = 0) -> Dict:
    """Generate the toy shapes dataset as COCO under ``out_dir``.

    Layout::

        out_dir/train/000000000001.png ...   out_dir/val/000000000001.png ...
        out_dir/test/...                     (only when ``num_test > 0``)
        out_dir/annotations/instances_{train,val,test}.json
        out_dir/annotations/captions_{train,val,test}.json

    ``test`` is the held-out split: its images come from their own seed stream
    (spawn key 2), and it is never used to choose recipes or thresholds, only to
    report results. ``ldm`` (only when ``num_ldm > 0``) is the toy LDM's larger training
    set, from a fourth stream (spawn key 3): the analogue of a generator that has seen more
    than any detection set, sharing no scene with the other splits.

    Image ids start at 1 in each split; ``category_id`` is 1-based in
    :data:`TOY_SHAPES_CLASSES` order; segmentations are compressed RLE.
    Image ``k`` of a split is drawn from its own seed-derived generator
    (:func:`image_rng`), so the same seed gives byte-identical output.

    Args:
        progress: optional zero-argument callable invoked after each image.

    Returns:
        dict with ``out_dir``, ``classes`` and, per split (``'train'``,
        ``'val'``, and ``'test'`` when made), a dict of ``img_dir``, ``ann_file``, ``caption_file``,
        ``num_images`` and ``num_annotations``.
    """
    result = {'out_dir': out_dir, 'classes': TOY_SHAPES_CLASSES}
    splits = [('train', num_train), ('val', num_val)]
    if num_test:
        splits.append(('test', num_test))
    if num_ldm:
        splits.append(('ldm', num_ldm))
    for split, num in splits:
        result[split] = _write_split(out_dir, split, num, image_size, seed,
                                     progress)
    return result


#: The standard toy-shapes dataset every toy config, benchmark and the demo use
#: (``make`` / ``tools/make_toy_data.py`` defaults).
STANDARD_SPLITS = dict(num_train=4000, num_val=200, num_test=500, image_size=128, seed=0)


def ensure_toy_shapes(out_dir: str = 'data/toy_shapes', progress=None) -> bool:
    """Write the standard toy-shapes dataset (:data:`STANDARD_SPLITS`) unless ``out_dir``
    already holds the annotation files of all three splits (whatever their sizes);
    returns whether it was written."""
    if all(osp.isfile(osp.join(out_dir, 'annotations', f'instances_{s}.json'))
           for s in _STANDARD):
        return False
    generate_toy_shapes(out_dir, progress=progress, **STANDARD_SPLITS)
    return True
