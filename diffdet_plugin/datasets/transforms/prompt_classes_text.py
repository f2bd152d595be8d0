"""``PromptClassesText``: a generated image's grounding text is its own prompt's classes."""
from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PromptClassesText(BaseTransform):
    """Ground each generated image against the 1–2 classes its prompt names (official InstaGen:
    fcjian/InstaGen ``LoadFeatures``, ``mmdet/datasets/transforms/transforms.py``: the text is
    ``cls_embs[cls_inds]`` of the prompt's classes, the labels re-indexed into them).

    Instead of the dataset's whole class list (``text`` from ``return_classes=True``), the
    sample's ``text`` becomes the prompt's class names (the synthesis record's
    ``category_names``, a provenance key of ``SyntheticCocoDataset``), and its box labels are
    re-indexed into that list. Boxes of classes the prompt does not name are dropped (the
    official base triplets label the prompted classes only).

    Required keys: ``text`` (the dataset's classes), ``category_names``, ``gt_bboxes``,
    ``gt_bboxes_labels`` (and ``gt_ignore_flags`` when present). Modified: the same, plus
    ``custom_entities = True``.

    Args:
        key (str): the record field with the prompt's class names.
    """

    def __init__(self, key: str = 'category_names'):
        self.key = key

    def transform(self, results: dict) -> dict:
        classes = list(results['text'])
        names = list(results.get(self.key) or [])
        where = results.get('img_path', results.get('img_id'))
        if not names:
            raise ValueError(f'PromptClassesText: image {where} has no {self.key!r} (the classes '
                             'its prompt names); synthesize it with a text-to-image mode, which '
                             'records them.')
        unknown = [n for n in names if n not in classes]
        if unknown:
            raise ValueError(f'PromptClassesText: the prompt of image {where} names {unknown}, '
                             f'not among the dataset classes {classes}.')
        if 'gt_bboxes_labels' in results:
            labels = np.asarray(results['gt_bboxes_labels'], dtype=np.int64)
            keep = np.array([classes[i] in names for i in labels], dtype=bool)
            results['gt_bboxes_labels'] = np.array(
                [names.index(classes[i]) for i in labels[keep]], dtype=np.int64)
            results['gt_bboxes'] = results['gt_bboxes'][keep]
            if 'gt_ignore_flags' in results:
                results['gt_ignore_flags'] = results['gt_ignore_flags'][keep]
        results['text'] = tuple(names)
        results['custom_entities'] = True
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(key={self.key!r})'
