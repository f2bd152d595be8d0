"""The one COCO writer of every synthesis mode: per-batch shards, atomic, mergeable.

Layout of an output folder ``DIR``::

    DIR/images/000000000001.jpg ...          generated images (image id = item index + 1)
    DIR/shards/rank{r}/batch_{b:08d}.json    one record per finished batch (written last)
    DIR/plan/round_{k:04d}.json              category-balance rounds (k >= 1)
    DIR/annotations.json                     merged COCO file (written by merge_shards)
    DIR/failures.jsonl                       skipped items with their reasons
    DIR/info.json                            the run's provenance (LDM, adapter, settings)

Every file is written to a temporary name and renamed into place, so a run
killed at any moment leaves either a whole file or none. A batch counts as
done only when its shard record exists; its images were renamed into place
before it, so a record never names a half-written image. Running the same
command again redoes exactly the batches without a record. The shards and the run's
identity (``DIR/run.json``) are a :class:`~diffdet_plugin.utils.sharded_job.UnitFiles` store
of the plugin's one sharded-job engine (:mod:`diffdet_plugin.utils.sharded_job`).
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp

import numpy as np

from ..utils.fileio import atomic_write_bytes, atomic_write_json  # noqa: F401 (re-exported)
from ..utils.sharded_job import UnitFiles, read_unit_files


def image_file_name(image_id: int) -> str:
    return f'{image_id:012d}.jpg'


def image_record(image_id: int, width: int, height: int, **fields) -> dict:
    """A COCO image record: id, file name and size first, then the mode's provenance."""
    return dict(id=image_id, file_name=image_file_name(image_id), width=width, height=height,
                **fields)


def annotation_records(image_id: int, boxes, scores, labels) -> list[dict]:
    """COCO annotations of one image from xyxy ``boxes`` (N, 4), ``scores`` (N,) and 0-based
    ``labels`` (N,) (tensors or lists): xywh (float32) rounded to 0.01 px, category id =
    label + 1. ``rank_in_image`` keeps the detection order through the merge (which drops it).
    """
    import torch
    boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    wh = boxes[:, 2:] - boxes[:, :2]
    anns = []
    for r, (box, score, label, (w, h)) in enumerate(zip(
            boxes.tolist(), torch.as_tensor(scores).tolist(), torch.as_tensor(labels).tolist(),
            wh.tolist())):
        bbox = [round(box[0], 2), round(box[1], 2), round(w, 2), round(h, 2)]
        anns.append(dict(image_id=image_id, category_id=int(label) + 1, bbox=bbox,
                         area=round(bbox[2] * bbox[3], 4), iscrowd=0, score=round(score, 4),
                         rank_in_image=r))
    return anns


class ShardWriter:
    """Writes one rank's finished batches into ``out_dir`` (see the module docstring)."""

    def __init__(self, out_dir: str, rank: int = 0, jpeg_quality: int = 95):
        self.out_dir = out_dir
        self.rank = rank
        self.jpeg_quality = jpeg_quality
        self.image_dir = osp.join(out_dir, 'images')
        os.makedirs(self.image_dir, exist_ok=True)
        # one record per finished batch; the run's identity (settings, models) in run.json
        self.shards = UnitFiles(osp.join(out_dir, 'shards'), rank, prefix='batch', key='batch',
                                identity_file=osp.join(out_dir, 'run.json'))

    def write_image(self, file_name: str, rgb: np.ndarray):
        """(H, W, 3) uint8 RGB → ``images/<file_name>`` (JPEG), atomically."""
        import io

        from PIL import Image
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format='JPEG', quality=self.jpeg_quality)
        atomic_write_bytes(osp.join(self.image_dir, file_name), buf.getvalue())

    def commit_batch(self, batch_index: int, record: dict):
        """Mark batch ``batch_index`` done: its record, written last and atomically."""
        self.shards.commit(batch_index, record)


def load_batch_records(out_dir: str) -> dict[int, dict]:
    """Every finished batch's record, by batch index (from all ranks' shard folders)."""
    return read_unit_files(osp.join(out_dir, 'shards'), 'batch', 'batch')


def merge_shards(out_dir: str, info: dict | None = None, records: dict | None = None) -> dict:
    """Merge all shard records into ``annotations.json`` and ``failures.jsonl``.

    Image ids come from the plan (item index + 1), so merging is idempotent and
    independent of rank count and order; annotation ids are assigned in
    (image id, detection order). Images whose file is missing are reported.
    ``info`` (default: ``DIR/info.json``) becomes the COCO file's ``info``; ``records``
    (default: read from ``DIR/shards``) are the batch records.
    Returns a summary dict (counts per category, failures, skipped negatives, objects
    dropped from layout prompts, paths).
    """
    info_path = osp.join(out_dir, 'info.json')
    if info is None and osp.isfile(info_path):
        with open(info_path) as f:
            info = json.load(f)
    records = load_batch_records(out_dir) if records is None else records
    # temporary files of writes a killed run did not finish
    for tmp in glob.glob(osp.join(out_dir, '**', '.tmp_*'), recursive=True):
        os.remove(tmp)
    if not records:
        raise FileNotFoundError(f'No finished batches under {out_dir}/shards: nothing to merge. '
                                'Run tools/synthesize.py with --out pointing at this folder.')
    categories = None
    images, anns, failures = {}, [], []
    for b in sorted(records):
        rec = records[b]
        if categories is None:
            categories = rec['categories']
        elif rec['categories'] != categories:
            raise ValueError(f'Shard batch {b} in {out_dir} has another category list than the '
                             'others: the folder mixes runs of different adapters. Use one '
                             '--out folder per adapter.')
        for img in rec['images']:
            images[img['id']] = img
        anns.extend(rec['annotations'])
        failures.extend(rec.get('failures', []))
    missing = [i['file_name'] for i in images.values()
               if not osp.isfile(osp.join(out_dir, 'images', i['file_name']))]
    if missing:
        raise FileNotFoundError(f'{len(missing)} images named in the shards are missing from '
                                f'{out_dir}/images (first: {missing[0]}).')
    anns.sort(key=lambda a: (a['image_id'], a.get('rank_in_image', 0)))
    out_anns = []
    for i, a in enumerate(anns, start=1):
        a = {k: v for k, v in a.items() if k != 'rank_in_image'}
        out_anns.append(dict(id=i, **a))
    coco = dict(info=dict(info or {}, description='diffdet_plugin synthetic detection data'),
                categories=categories, images=[images[k] for k in sorted(images)],
                annotations=out_anns)
    ann_path = osp.join(out_dir, 'annotations.json')
    atomic_write_json(ann_path, coco)
    fail_path = osp.join(out_dir, 'failures.jsonl')
    failures.sort(key=lambda f: (f.get('item', -1), f.get('reason', '')))
    atomic_write_bytes(fail_path, ''.join(json.dumps(f) + '\n' for f in failures).encode())
    per_cat = {c['name']: 0 for c in categories}
    id2name = {c['id']: c['name'] for c in categories}
    for a in out_anns:
        per_cat[id2name[a['category_id']]] += 1
    negatives = sum(1 for f in failures if f.get('skipped_negative'))
    # layout modes: objects a prompt could not hold (the text encoder's context), per image
    dropped = sum(int(i.get('objects_dropped') or 0) for i in images.values())
    return dict(annotations_file=ann_path, failures_file=fail_path, images=len(images),
                boxes=len(out_anns), per_category=per_cat, failures=len(failures),
                skipped_negatives=negatives, objects_dropped=dropped)
