"""The one reader of a synthesis output folder, beside its one writer (``coco_writer``).

Every consumer of a ``tools/synthesize.py`` folder (fidelity, judge filtering, FID, contact
sheets, the benchmarks' label studies) reads it through ``SynthesisRun``::

    run = SynthesisRun('data/toy_shapes_de')        # DIR/annotations.json + DIR/images/
    run.classes                                      # category names, by category id
    for rec in run.image_records(max_images=16):     # image records, by image id
        rgb = run.rgb(rec)                           # (H, W, 3) uint8
        boxes = run.boxes(rec)                       # bboxes (N, 4) xyxy, labels (N,), scores (N,)

(mmdet's ``SyntheticCocoDataset`` reads the same file through ``CocoDataset`` for training.)
"""
from __future__ import annotations

import hashlib
import json
import os.path as osp

import numpy as np


class SynthesisRun:
    """A synthesis output folder ``out_dir``: its merged COCO file and images.

    Args:
        out_dir (str): the ``--out`` folder of ``tools/synthesize.py``.
        ann_file (str, optional): another annotation file over the same images (e.g. a
            filtered subset); default ``out_dir/annotations.json``.
        what (str): how the folder is named in the error when it is not a run (e.g. the
            command-line flag that gave it).

    Raises:
        FileNotFoundError: no annotation file there, with the fix.
    """

    def __init__(self, out_dir: str, ann_file: str | None = None, what: str = 'folder'):
        self.out_dir = out_dir
        self.ann_file = ann_file or osp.join(out_dir, 'annotations.json')
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{what} {out_dir!r}: {self.ann_file!r} does not exist; give the --out folder of '
                'tools/synthesize.py (it holds annotations.json and images/; a run stopped '
                'before its merge is merged by tools/merge_shards.py).')
        with open(self.ann_file) as f:
            self.coco = json.load(f)
        self.categories = sorted(self.coco['categories'], key=lambda c: c['id'])
        self._label = {c['id']: i for i, c in enumerate(self.categories)}
        self._by_image: dict[int, list] = {}
        for a in self.coco['annotations']:
            self._by_image.setdefault(a['image_id'], []).append(a)

    @staticmethod
    def is_run(out_dir: str) -> bool:
        """Whether ``out_dir`` holds a merged synthesis run (``annotations.json`` + images/)."""
        return (osp.isfile(osp.join(out_dir, 'annotations.json'))
                and osp.isdir(osp.join(out_dir, 'images')))

    @property
    def classes(self) -> tuple[str, ...]:
        """Category names in category-id order (label ``i`` of ``boxes`` is ``classes[i]``)."""
        return tuple(c['name'] for c in self.categories)

    @property
    def info(self) -> dict:
        """The file-level ``info`` (LDM identity, labeller, settings)."""
        return self.coco.get('info', {})

    def image_records(self, max_images: int | None = None) -> list[dict]:
        """The image records by image id; the first ``max_images`` (None: all)."""
        return sorted(self.coco['images'], key=lambda r: r['id'])[:max_images]

    def image_path(self, rec: dict) -> str:
        return osp.join(self.out_dir, 'images', rec['file_name'])

    def rgb(self, rec: dict) -> np.ndarray:
        """Image ``rec`` as (H, W, 3) uint8 RGB."""
        from PIL import Image
        with Image.open(self.image_path(rec)) as pil:
            return np.asarray(pil.convert('RGB'))

    def boxes(self, rec: dict) -> dict:
        """Image ``rec``'s labels: ``bboxes`` (N, 4) float32 xyxy, ``labels`` (N,) int64
        indices into ``classes``, ``scores`` (N,) float32 (1 where a record has none)."""
        anns = self._by_image.get(rec['id'], [])
        return dict(
            bboxes=np.array([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)],
                            np.float32).reshape(-1, 4),
            labels=np.array([self._label[a['category_id']] for a in anns], np.int64),
            scores=np.array([a.get('score', 1.0) for a in anns], np.float32))

    def read(self, max_images: int | None = None) -> tuple[list, list]:
        """(RGB arrays, labels) of the first ``max_images`` images by id."""
        recs = self.image_records(max_images)
        return [self.rgb(r) for r in recs], [self.boxes(r) for r in recs]

    def images_sha256(self) -> str:
        """SHA-256 over the image files' bytes in file-name order: equal for two runs that
        made the same images."""
        h = hashlib.sha256()
        for name in sorted(r['file_name'] for r in self.coco['images']):
            with open(osp.join(self.out_dir, 'images', name), 'rb') as f:
                h.update(f.read())
        return h.hexdigest()
