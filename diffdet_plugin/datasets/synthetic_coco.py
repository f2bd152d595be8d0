"""``SyntheticCocoDataset``: read what the DiffusionEngine synthesis writes.

``tools/synthesize.py`` writes ``DIR/images/*.jpg`` and ``DIR/annotations.json``
in COCO format. Each image record carries its provenance (reference image,
prompt, seed, encode ratio, ...) and each annotation the adapter's ``score``::

    {"categories": [{"id": 1, "name": "circle"}, ...],
     "images": [{"id": 1, "file_name": "000000000001.jpg", "width": 128, "height": 128,
                 "ref_image_id": 17, "prompt": "...", "seed": 12345, "encode_ratio": 0.62, ...}],
     "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [x, y, w, h],
                      "area": w * h, "iscrowd": 0, "score": 0.87}]}

The dataset is a :class:`mmdet.datasets.CocoDataset` (same pipelines, same
``filter_cfg``), plus:

* **classes from the file**: without ``metainfo=dict(classes=...)`` the class
  list is the file's categories, in file order. With it, the names must be the
  file's category names (any order; labels follow the given order, matched by
  name), otherwise a ``ValueError`` names the file and the mismatching names.
* **provenance in every sample**: the keys in :data:`PROVENANCE_KEYS` are copied
  from the image record into the data info (``None`` where a record lacks one).
  ``PackDetInputs`` only packs the meta keys it is told about: use
  ``PackDetInputs(meta_keys=SYNTHETIC_META_KEYS)`` (mmdet's defaults plus the
  provenance keys) and they reach ``data_samples.metainfo``. Packing real COCO
  samples with the same meta keys is fine: missing keys are skipped.
* **filters**, applied in this order when the file is loaded (train and test
  mode alike, before ``filter_cfg`` and ``indices``):

  1. ``encode_ratio_range=(lo, hi)``: keep images with ``lo <= encode_ratio <= hi``;
  2. ``min_score``: drop annotations with ``score < min_score`` (annotations
     without a ``score`` are kept);
  3. ``keep_negatives``: images left without boxes (negatives written by the
     engine, or emptied by ``min_score``) are kept (``True``) or dropped;
  4. ``max_images``: keep the first N remaining images, by image id.

  ``filter_cfg=dict(filter_empty_gt=True)`` still applies afterwards, as in
  ``CocoDataset``; leave it ``False`` to let ``keep_negatives`` decide.
  :attr:`SyntheticCocoDataset.filter_stats` records what each filter removed.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.fileio import exists, join_path, load
from mmengine.logging import print_log
from mmengine.utils import is_abs

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from ..synthesis.diffusion_engine import DiffusionEngineSynthesizer
from ..synthesis.text_to_image import TextToImageSynthesizer

#: Provenance fields of a synthesized image record, copied into each sample: what a
#: DiffusionEngine record holds (declared once, by the mode, its sampler and its labeller).
PROVENANCE_KEYS: Tuple[str, ...] = DiffusionEngineSynthesizer.record_fields()

#: Fields of text-to-image records only (InstaGen's base triplets and novel images): the
#: classes the image's prompt names, read by ``PromptClassesText``.
PROMPT_KEYS: Tuple[str, ...] = tuple(k for k in TextToImageSynthesizer.RECORD_FIELDS
                                     if k not in PROVENANCE_KEYS)

#: ``PackDetInputs``' default meta keys (mmdet 3.3).
DEFAULT_META_KEYS: Tuple[str, ...] = ('img_id', 'img_path', 'ori_shape', 'img_shape',
                                      'scale_factor', 'flip', 'flip_direction')

#: Meta keys for ``PackDetInputs(meta_keys=...)`` in pipelines that read synthetic data.
SYNTHETIC_META_KEYS: Tuple[str, ...] = DEFAULT_META_KEYS + PROVENANCE_KEYS + PROMPT_KEYS

_MAKE_IT = ('Make it with tools/synthesize.py (python tools/synthesize.py <synthesis config> '
            '--checkpoint <adapter checkpoint>), or point data_root / ann_file at an existing '
            'synthesis output folder (DIR/annotations.json + DIR/images/).')


@DATASETS.register_module()
class SyntheticCocoDataset(CocoDataset):
    """COCO-format data written by the DiffusionEngine synthesis.

    Args:
        ann_file: annotation file, relative to ``data_root`` unless absolute.
            Defaults to ``'annotations.json'``.
        data_prefix: defaults to ``dict(img='images/')``.
        min_score: drop annotations whose ``score`` is below it. ``None``: keep all.
        max_images: keep at most this many images (the lowest image ids after
            the other filters). ``None``: no limit.
        encode_ratio_range: ``(lo, hi)``, keep images whose ``encode_ratio`` is
            within (inclusive). ``None``: no filter.
        keep_negatives: keep images that have no box after filtering.
        **kwargs: everything :class:`CocoDataset` takes (``data_root``,
            ``metainfo``, ``filter_cfg``, ``pipeline``, ``test_mode``, ...).
    """

    def __init__(self,
                 ann_file: str = 'annotations.json',
                 data_prefix: dict = dict(img='images/'),
                 min_score: Optional[float] = None,
                 max_images: Optional[int] = None,
                 encode_ratio_range: Optional[Sequence[float]] = None,
                 keep_negatives: bool = True,
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = '',
                 backend_args: Optional[dict] = None,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        if encode_ratio_range is not None:
            if len(encode_ratio_range) != 2 or encode_ratio_range[0] > encode_ratio_range[1]:
                raise ValueError('encode_ratio_range must be (lo, hi) with lo <= hi, got '
                                 f'{encode_ratio_range!r}')
            encode_ratio_range = (float(encode_ratio_range[0]), float(encode_ratio_range[1]))
        if max_images is not None and int(max_images) < 0:
            raise ValueError(f'max_images must be >= 0 or None, got {max_images!r}')
        self.min_score = None if min_score is None else float(min_score)
        self.max_images = None if max_images is None else int(max_images)
        self.encode_ratio_range = encode_ratio_range
        self.keep_negatives = bool(keep_negatives)
        self.filter_stats: Dict[str, int] = {}

        # The class list comes from the file, so read it before BaseDataset
        # resolves the metainfo; keep the parsed file for load_data_list.
        path = ann_file
        if path and not is_abs(path) and data_root:
            path = join_path(data_root, path)
        self._raw = self._read(path, backend_args)
        file_classes = self._file_classes(self._raw, path)
        metainfo = copy.deepcopy(dict(metainfo)) if metainfo is not None else {}
        given = metainfo.get('classes')
        if given is None:
            metainfo['classes'] = file_classes
        else:
            self._check_classes(tuple(given), file_classes, path)
        if lazy_init:  # do not hold a large file in memory until it is needed
            self._raw = None
        super().__init__(ann_file=ann_file, data_prefix=data_prefix,
                         metainfo=metainfo, data_root=data_root,
                         backend_args=backend_args, lazy_init=lazy_init, **kwargs)

    # ------------------------------------------------------------------ file
    @staticmethod
    def _read(path: str, backend_args: Optional[dict]) -> dict:
        if not path or not exists(path, backend_args=backend_args):
            raise FileNotFoundError(
                f'SyntheticCocoDataset: annotation file {path!r} does not exist. {_MAKE_IT}')
        data = load(path, file_format='json', backend_args=backend_args)
        for key in ('images', 'annotations', 'categories'):
            if not isinstance(data.get(key), list):
                raise ValueError(f'SyntheticCocoDataset: {path} has no {key!r} list: it is not '
                                 f'a COCO file written by tools/synthesize.py. {_MAKE_IT}')
        return data

    @staticmethod
    def _file_classes(data: dict, path: str) -> Tuple[str, ...]:
        names = tuple(str(c['name']) for c in data['categories'])
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f'SyntheticCocoDataset: {path} lists categories {dup} more than '
                             'once; category names must be unique.')
        if not names:
            raise ValueError(f'SyntheticCocoDataset: {path} has no categories.')
        return names

    @staticmethod
    def _check_classes(given: Tuple[str, ...], file_classes: Tuple[str, ...], path: str):
        missing = [c for c in given if c not in file_classes]
        extra = [c for c in file_classes if c not in given]
        if missing or extra or len(set(given)) != len(given):
            raise ValueError(
                f'SyntheticCocoDataset: the classes in metainfo do not match the categories of '
                f'{path}: not in the file: {missing}; in the file but not in metainfo: {extra}'
                f'{"; metainfo lists a class twice" if len(set(given)) != len(given) else ""}. '
                'Use the class list the adapter was trained with (the file\'s categories: '
                f'{list(file_classes)}), or drop metainfo.classes to take them from the file.')

    # ------------------------------------------------------------------ loading
    def load_data_list(self) -> List[dict]:
        data = self._raw if self._raw is not None else self._read(self.ann_file,
                                                                   self.backend_args)
        self._raw = None
        path = self.ann_file
        classes = tuple(self.metainfo['classes'])
        name2id = {str(c['name']): c['id'] for c in data['categories']}
        self._check_classes(classes, tuple(name2id), path)
        # Labels follow the metainfo order, matched by name (not by file order).
        self.cat_ids = [name2id[name] for name in classes]
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}

        images = sorted(data['images'], key=lambda im: im['id'])
        anns_by_img = defaultdict(list)
        ann_ids = set()
        for ann in data['annotations']:
            if ann['category_id'] not in self.cat2label:
                raise ValueError(f'SyntheticCocoDataset: annotation {ann.get("id")} in {path} '
                                 f'has category_id {ann["category_id"]}, which is not in its '
                                 f'categories {sorted(self.cat2label)}.')
            if ann.get('id') in ann_ids:
                raise ValueError(f'SyntheticCocoDataset: annotation ids in {path} are not '
                                 f'unique (id {ann.get("id")} repeats).')
            ann_ids.add(ann.get('id'))
            anns_by_img[ann['image_id']].append(ann)

        stats = dict(images_in_file=len(images), boxes_in_file=len(data['annotations']),
                     dropped_encode_ratio=0, dropped_low_score_boxes=0,
                     dropped_negatives=0, dropped_max_images=0)
        data_list = []
        for img in images:
            if self.encode_ratio_range is not None:
                ratio = img.get('encode_ratio')
                if ratio is None:
                    raise KeyError(f'SyntheticCocoDataset: image {img["id"]} in {path} has no '
                                   '"encode_ratio": encode_ratio_range needs it. Drop '
                                   'encode_ratio_range, or re-synthesize with tools/synthesize.py.')
                lo, hi = self.encode_ratio_range
                if not lo <= float(ratio) <= hi:
                    stats['dropped_encode_ratio'] += 1
                    continue
            anns = anns_by_img.get(img['id'], [])
            if self.min_score is not None:
                kept = [a for a in anns if a.get('score') is None or a['score'] >= self.min_score]
                stats['dropped_low_score_boxes'] += len(anns) - len(kept)
                anns = kept
            raw_img_info = dict(img, img_id=img['id'])
            info = self.parse_data_info(dict(raw_img_info=raw_img_info, raw_ann_info=anns))
            if not info['instances'] and not self.keep_negatives:
                stats['dropped_negatives'] += 1
                continue
            data_list.append(info)
        if self.max_images is not None and len(data_list) > self.max_images:
            stats['dropped_max_images'] = len(data_list) - self.max_images
            data_list = data_list[:self.max_images]
        stats['images'] = len(data_list)
        stats['boxes'] = sum(len(d['instances']) for d in data_list)
        self.filter_stats = stats

        # CocoDataset.filter_data (filter_empty_gt) reads cat_img_map: build it
        # from the filtered boxes, not from the file.
        cat_img_map = defaultdict(list)
        for info in data_list:
            for label in {inst['bbox_label'] for inst in info['instances']}:
                cat_img_map[self.cat_ids[label]].append(info['img_id'])
        self.cat_img_map = {cat_id: cat_img_map.get(cat_id, []) for cat_id in self.cat_ids}
        print_log(f'SyntheticCocoDataset {path}: {stats["images"]} of {len(images)} images, '
                  f'{stats["boxes"]} boxes (dropped: {stats["dropped_encode_ratio"]} by '
                  f'encode_ratio_range, {stats["dropped_low_score_boxes"]} boxes below '
                  f'min_score, {stats["dropped_negatives"]} negatives, '
                  f'{stats["dropped_max_images"]} over max_images)', logger='current')
        if images and not data_list:
            raise ValueError(
                f'SyntheticCocoDataset {path}: none of its {len(images)} images is left after '
                f'the filters (min_score={self.min_score}: {stats["dropped_low_score_boxes"]} '
                f'boxes below it; keep_negatives={self.keep_negatives}: '
                f'{stats["dropped_negatives"]} images without a box dropped; '
                f'encode_ratio_range={self.encode_ratio_range}). Lower min_score (the labeller\'s '
                'threshold already applied at synthesis), or set keep_negatives=True.')
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        info = super().parse_data_info(raw_data_info)
        img = raw_data_info['raw_img_info']
        for key in PROVENANCE_KEYS + PROMPT_KEYS:
            info[key] = img.get(key)
        return info
