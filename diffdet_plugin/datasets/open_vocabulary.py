"""Open-vocabulary training files: a COCO file with the novel categories' boxes removed.

OV-COCO trains on the 48 base categories: every train2017 image is kept and its novel objects
stay in it as unlabelled background. The file keeps every category entry, so mmdet's
``CocoDataset`` gives the same label to a name in the base-only training file and in the full
evaluation file (it numbers labels in the file's category order).
"""
from __future__ import annotations

import json

from ..utils.categories import check_split, normalize_name
from ..utils.fileio import atomic_write_json


def split_from_config(path: str) -> tuple[tuple, tuple]:
    """(base, novel) from a split config such as ``configs/_base_/datasets/coco_ov_split.py``:
    its one ``*_base_classes`` and one ``*_novel_classes`` variable."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    found = {}
    for kind in ('base', 'novel'):
        keys = [k for k in cfg if k.endswith(f'_{kind}_classes')]
        if len(keys) != 1:
            raise ValueError(f'{path} must define one *_{kind}_classes list, found {keys or "none"}'
                             ' (see configs/_base_/datasets/coco_ov_split.py).')
        found[kind] = tuple(cfg[keys[0]])
    return found['base'], found['novel']


def base_only_annotations(src_ann: str, out_ann: str, base, novel) -> dict:
    """Write ``src_ann`` without the boxes of the ``novel`` categories (images and category
    entries kept) to ``out_ann``.

    Raises ``ValueError`` for a split that overlaps or names a category the file does not have.
    Returns counts: ``images``, ``boxes`` kept, ``novel_boxes_removed``.
    """
    with open(src_ann) as f:
        coco = json.load(f)
    check_split(base, novel, [c['name'] for c in coco['categories']],
                what=f'The open-vocabulary split for {src_ann}')
    names = {normalize_name(c) for c in novel}
    novel_ids = {c['id'] for c in coco['categories'] if normalize_name(c['name']) in names}
    kept = [a for a in coco['annotations'] if a['category_id'] not in novel_ids]
    atomic_write_json(out_ann, dict(coco, annotations=kept))
    return dict(images=len(coco['images']), boxes=len(kept),
                novel_boxes_removed=len(coco['annotations']) - len(kept))
