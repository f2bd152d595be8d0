"""Reference images for image-to-image synthesis: a COCO-format dataset.

Each reference carries its file path, the names of its annotated categories
(for the generic prompt and category balancing) and a caption when the
dataset has one (a COCO captions file, or a ``caption`` field in the image
record as the toy-shapes data writes).
"""
from __future__ import annotations

import json
import os.path as osp
from dataclasses import dataclass

import numpy as np

from ..utils.coco import read_captions


@dataclass(frozen=True)
class Reference:
    image_id: int
    path: str
    file_name: str
    class_names: tuple[str, ...]
    caption: str | None


def load_references(ann_file: str, img_dir: str, caption_file: str | None = None,
                    classes=None) -> list[Reference]:
    """Read a COCO instances file (and optional captions file) into references, sorted by id.

    ``classes``: keep only these category names in ``class_names`` (the adapter's classes).
    """
    for name, path in (('ann_file', ann_file), ('caption_file', caption_file)):
        if path is not None and not osp.isfile(path):
            raise FileNotFoundError(f'synthesis.reference.{name} {path!r} does not exist: point it '
                                    'at a COCO-format json (e.g. data/coco/annotations/'
                                    'instances_train2017.json).')
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'synthesis.reference.img_dir {img_dir!r} is not a folder.')
    with open(ann_file) as f:
        coco = json.load(f)
    for key in ('images', 'categories'):
        if key not in coco:
            raise KeyError(f'{ann_file} has no "{key}": it is not a COCO instances file.')
    id2name = {c['id']: c['name'] for c in coco['categories']}
    keep = set(classes) if classes is not None else None
    names: dict[int, list[str]] = {}
    for a in coco.get('annotations', []):
        n = id2name.get(a['category_id'])
        if n is not None and (keep is None or n in keep):
            names.setdefault(a['image_id'], []).append(n)
    captions = read_captions(caption_file) if caption_file is not None else {}
    refs = []
    for img in sorted(coco['images'], key=lambda i: i['id']):
        cap = captions.get(img['id'], img.get('caption'))
        refs.append(Reference(image_id=img['id'], path=osp.join(img_dir, img['file_name']),
                              file_name=img['file_name'],
                              class_names=tuple(dict.fromkeys(names.get(img['id'], []))),
                              caption=cap))
    if not refs:
        raise ValueError(f'{ann_file} lists no images: nothing to use as references.')
    return refs


def read_rgb(path: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB; raises on a missing or unreadable file."""
    from PIL import Image
    with Image.open(path) as im:
        im.load()
        return np.asarray(im.convert('RGB'))


def batch_geometry(rng: np.random.Generator, sizes: list[tuple[int, int]], resize_range,
                   crop_max, divisor: int = 64):
    """Resize and crop plan of one batch (all its images must share one size).

    Each reference (H, W) is resized, keeping its aspect ratio, so that its short
    side is s ~ U[resize_range]; the batch's crop size is the largest multiple
    of ``divisor`` within ``crop_max`` that fits every resized image; each image
    gets its own random crop offset.

    Returns:
        crop (h, w), and per image ((H', W'), (y0, x0)).
    """
    lo, hi = resize_range
    resized = []
    for (h, w) in sizes:
        s = int(rng.integers(lo, hi + 1))
        scale = s / min(h, w)
        resized.append((max(1, round(h * scale)), max(1, round(w * scale))))
    ch = min(crop_max[0], *(r[0] for r in resized)) // divisor * divisor
    cw = min(crop_max[1], *(r[1] for r in resized)) // divisor * divisor
    if ch < divisor or cw < divisor:
        raise ValueError(f'resize_range {resize_range} leaves images smaller than {divisor} px')
    per_image = []
    for (rh, rw) in resized:
        y0 = int(rng.integers(0, rh - ch + 1))
        x0 = int(rng.integers(0, rw - cw + 1))
        per_image.append(((rh, rw), (y0, x0)))
    return (ch, cw), per_image


def resize_and_crop(rgb: np.ndarray, resized, offset, crop) -> np.ndarray:
    """Resize (bicubic) then crop: returns (crop_h, crop_w, 3) uint8."""
    from PIL import Image
    im = Image.fromarray(rgb).resize((resized[1], resized[0]), Image.BICUBIC)
    y0, x0 = offset
    return np.asarray(im)[y0:y0 + crop[0], x0:x0 + crop[1]]
