"""DetDiffusion's perception-aware attributes ("P.A. Attr", CVPR 2024, Sec. 3.2).

DetDiffusion conditions its layout-to-image model on a per-object attribute that says how hard
the object is for a detector. The paper's recipe, for a trained detector and a real dataset:

1. run the detector on every image and keep the predictions whose score is above γ;
2. a ground-truth object is ``easy`` when a kept prediction overlaps it with IoU above β,
   otherwise ``hard`` (eq. 2 asks for any kept prediction, whatever its category).

Here both thresholds are **strict**: a prediction is kept iff ``score > score_thr`` (γ,
default 0.3) and a ground-truth box is easy iff some kept prediction has ``IoU > iou_thr``
(β, default 0.5); a score or an IoU exactly at the threshold does not count. γ and β are ours
(the paper gives none). ``same_category=True`` is a stricter rule (an earlier default here):
only a kept prediction of the object's own category makes it easy.
Categories are matched **by name** between the dataset (its COCO ``categories``) and the
detector (``model.dataset_meta['classes']``), so any mmdet detector works on any COCO
dataset. Ground-truth objects whose category the detector does not know get ``background``.
Crowd annotations (``iscrowd=1``) get no attribute: they are listed in ``skipped`` with their
reason, as are the annotations of an image file that is missing or unreadable.

The attribute file (JSON, written by :func:`extract_attributes`, read by
:func:`load_attributes`)::

    {"attributes": {"<ann_id>": "easy" | "hard" | "background", ...},
     "ann_file": <abs path>, "ann_file_sha256": ..., "num_annotations": N (all of ann_file),
     "detector": {"config": <path>, "config_sha256": ..., "checkpoint": <path>,
                  "checkpoint_sha256": ..., "classes": [...]},
     "score_thr": γ, "iou_thr": β, "same_category": bool,
     "counts": {"easy": n, "hard": n, "background": n},
     "skipped": [{"ann_id": ..., "reason": ...}, ...]}

Every annotation id of ``ann_file`` is either in ``attributes`` or in ``skipped``.

    python tools/extract_attributes.py DETECTOR_CONFIG CHECKPOINT \
        --ann-file data/coco/annotations/instances_train2017.json \
        --img-dir data/coco/train2017 --out data/coco/pa_attributes_train2017.json

Resumable and split over ranks by the plugin's sharded-job engine
(:mod:`diffdet_plugin.utils.sharded_job`: a per-rank JSON-lines log, one line per image).
"""
from __future__ import annotations

import json
import os.path as osp
from typing import Sequence

import numpy as np

from ..evaluation.judge import detect_rgb
from ..utils.fileio import atomic_write_json, file_sha256
from ..utils.sharded_job import ShardedJob, UnitLog, check_complete

ATTRIBUTES = ('easy', 'hard', 'background')

_FIX_EXTRACT = ('re-extract it: python tools/extract_attributes.py DETECTOR_CONFIG CHECKPOINT '
                '--ann-file ANN_FILE --img-dir IMG_DIR --out ATTRIBUTE_FILE')


def _as_boxes(boxes):
    import torch
    t = torch.as_tensor(np.asarray(boxes, dtype=np.float64) if not torch.is_tensor(boxes)
                        else boxes, dtype=torch.float64)
    return t.reshape(-1, 4)


def assign_attributes(gt_bboxes, gt_names: Sequence[str], pred_bboxes, pred_scores,
                      pred_names: Sequence[str], known_names, score_thr: float = 0.3,
                      iou_thr: float = 0.5, same_category: bool = False) -> list[str]:
    """The perception-aware attribute of each ground-truth object of one image.

    Args:
        gt_bboxes: (N, 4) xyxy ground-truth boxes (numpy, torch or nested lists).
        gt_names: N category names of the ground-truth boxes.
        pred_bboxes: (M, 4) xyxy predicted boxes.
        pred_scores: (M,) prediction scores.
        pred_names: M category names of the predictions (the detector's class names).
        known_names: the category names the detector knows (its ``dataset_meta['classes']``).
        score_thr: γ; a prediction counts iff ``score > score_thr`` (strict).
        iou_thr: β; a ground truth is easy iff a counted prediction has ``IoU > iou_thr``
            (strict): any category (the paper's eq. 2), or only its own with
            ``same_category=True``.

    Returns:
        N strings from :data:`ATTRIBUTES`: ``background`` for a category not in
        ``known_names``, else ``easy`` or ``hard`` as above. IoU is mmdet's
        :func:`~mmdet.structures.bbox.bbox_overlaps`.
    """
    from mmdet.structures.bbox import bbox_overlaps
    gt = _as_boxes(gt_bboxes)
    pred = _as_boxes(pred_bboxes)
    gt_names, pred_names = list(gt_names), list(pred_names)
    scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    if len(gt_names) != len(gt):
        raise ValueError(f'{len(gt)} ground-truth boxes but {len(gt_names)} names')
    if not len(pred_names) == len(pred) == len(scores):
        raise ValueError(f'{len(pred)} predicted boxes, {len(scores)} scores and '
                         f'{len(pred_names)} names: one of each per prediction')
    if len(gt) == 0:
        return []
    known = set(known_names)
    ious = bbox_overlaps(gt, pred).numpy() if len(pred) else np.zeros((len(gt), 0))
    same = np.asarray(gt_names, dtype=object)[:, None] == np.asarray(pred_names,
                                                                    dtype=object)[None, :]
    counted = (scores > score_thr)[None, :] & (ious > iou_thr)
    if same_category:
        counted &= same
    easy = counted.reshape(len(gt), -1).any(axis=1)
    return [('background' if name not in known else 'easy' if e else 'hard')
            for name, e in zip(gt_names, easy)]


# ---------------------------------------------------------------- the attribute file


def load_attributes(path: str, ann_file: str, detector_checkpoint: str | None = None
                    ) -> dict[int, str]:
    """Read an attribute file made for ``ann_file`` (and, if given, ``detector_checkpoint``).

    Returns:
        ``{annotation id: 'easy' | 'hard' | 'background'}``; skipped annotations (crowd, or of
        a missing image) are absent.
    Raises:
        FileNotFoundError: ``path`` (or ``ann_file``) does not exist.
        ValueError: one message with every problem: the file is not an attribute file, was
            made for another annotation file (content hash, or annotation ids missing / extra),
            or by another detector checkpoint than ``detector_checkpoint``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'perception-aware attribute file {path!r} not found: make it with '
            f'python tools/extract_attributes.py DETECTOR_CONFIG CHECKPOINT --ann-file '
            f'{ann_file} --img-dir IMG_DIR --out {path}')
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file!r} not found')
    try:
        with open(path) as f:
            data = json.load(f)
        attrs = {int(k): v for k, v in data['attributes'].items()}
        skipped = {int(s['ann_id']) for s in data.get('skipped', [])}
        made_by = data['detector']
        file_ann_sha = data['ann_file_sha256']
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f'{path!r} is not a perception-aware attribute file ({e!r}); '
                         f'{_FIX_EXTRACT}') from e
    problems = []
    bad = sorted({v for v in attrs.values() if v not in ATTRIBUTES})
    if bad:
        problems.append(f'unknown attribute values {bad} (expected one of {ATTRIBUTES})')
    ann_sha = file_sha256(ann_file)
    if file_ann_sha != ann_sha:
        problems.append(f'it was made for the annotation file {data.get("ann_file")!r} whose '
                        f'content differs from {ann_file!r} (sha256 {file_ann_sha[:12]}... vs '
                        f'{ann_sha[:12]}...)')
    with open(ann_file) as f:
        ann_ids = {int(a['id']) for a in json.load(f).get('annotations', [])}
    covered = set(attrs) | skipped
    missing, extra = ann_ids - covered, covered - ann_ids
    if missing or extra:
        problems.append(f'its annotation ids do not match {ann_file!r}: {len(missing)} of the '
                        f'{len(ann_ids)} annotations there have no record (e.g. '
                        f'{sorted(missing)[:5]}), {len(extra)} records name annotations '
                        f'not there (e.g. {sorted(extra)[:5]})')
    if detector_checkpoint is not None:
        sha = file_sha256(detector_checkpoint)
        if sha != made_by.get('checkpoint_sha256'):
            problems.append(
                f'it was made by the detector {made_by.get("checkpoint")!r} (config '
                f'{made_by.get("config")!r}, sha256 {str(made_by.get("checkpoint_sha256"))[:12]}'
                f'...), but the config names the detector {detector_checkpoint!r} (sha256 '
                f'{sha[:12]}...)')
    if problems:
        raise ValueError(f'perception-aware attribute file {path!r} does not fit: '
                         + '; '.join(problems) + f'. Fix: {_FIX_EXTRACT} (with --ann-file '
                         f'{ann_file}' + (f' and CHECKPOINT {detector_checkpoint}'
                                          if detector_checkpoint else '') + '), or point the '
                         'config at the attribute file made for them.')
    return attrs


# ---------------------------------------------------------------- extraction


def _config_identity(detector_config):
    """(path or name, sha256 of the resolved config) of a config file or ``Config``."""
    import copy
    import hashlib

    from mmengine.config import Config
    cfg = Config.fromfile(detector_config) if isinstance(detector_config, str) else \
        copy.deepcopy(detector_config)  # init_detector edits the config it is given
    name = osp.abspath(detector_config) if isinstance(detector_config, str) else \
        (cfg.filename or '<Config object>')
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=str)
    return cfg, name, hashlib.sha256(text.encode()).hexdigest()


def _image_record(img, anns, cat_names, det, classes, score_thr, iou_thr, same_category,
                  error=None):
    """One image's shard line: the attributes of its non-crowd annotations and the skipped ones
    with their reasons (``error``: why the image could not be read; then ``det`` is None)."""
    rec = dict(image_id=img['id'], file_name=img['file_name'], attributes={}, skipped=[])
    if error is not None:
        rec['image_skipped'] = error
    usable = []
    for a in anns:
        if a.get('iscrowd', 0):
            rec['skipped'].append(dict(ann_id=a['id'], reason='iscrowd=1'))
        elif error is not None:
            rec['skipped'].append(dict(ann_id=a['id'], reason=error))
        else:
            usable.append(a)
    if error is not None:
        return rec
    gt = np.array([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in usable)],
                  dtype=np.float64).reshape(-1, 4)
    names = [classes[int(i)] for i in det['labels']]
    attrs = assign_attributes(gt, [cat_names[a['category_id']] for a in usable], det['bboxes'],
                              det['scores'], names, classes, score_thr, iou_thr,
                              same_category)
    rec['attributes'] = {str(a['id']): v for a, v in zip(usable, attrs)}
    return rec


def _load_rgb(path: str):
    """(PIL RGB image, None) or (None, the reason it could not be read)."""
    from PIL import Image
    if not osp.isfile(path):
        return None, f'image file missing: {path}'
    try:
        with Image.open(path) as im:
            return im.convert('RGB'), None
    except (OSError, ValueError) as e:
        return None, f'unreadable image {path}: {e}'


def _same_settings(done: dict, settings: dict) -> bool:
    det = done.get('detector') or {}
    return (done.get('ann_file_sha256'), det.get('checkpoint_sha256'), det.get('config_sha256'),
            done.get('score_thr'), done.get('iou_thr'),
            done.get('same_category', True)) == (  # files without it used the strict rule
                settings['ann_file_sha256'], settings['checkpoint_sha256'],
                settings['config_sha256'], settings['score_thr'], settings['iou_thr'],
                settings['same_category'])


def extract_attributes(detector_config, checkpoint: str, ann_file: str, img_dir: str,
                       out_file: str, score_thr: float = 0.3, iou_thr: float = 0.5,
                       same_category: bool = False, batch_size: int = 8, device: str = 'cpu',
                       rank: int = 0,
                       world_size: int = 1, resume: bool = True) -> dict:
    """Label every object of a COCO dataset ``easy`` / ``hard`` / ``background`` for a detector.

    Args:
        detector_config: an mmdet detector config (file path or ``Config``).
        checkpoint: its weights; their classes (``dataset_meta['classes']``, as
            :func:`mmdet.apis.init_detector` reads them) are matched by name to the dataset's
            category names.
        ann_file: COCO instances file; ``img_dir``: its images (``file_name`` relative to it).
        out_file: the attribute file (format in the module doc).
        score_thr: γ (strict ``>``); ``iou_thr``: β (strict ``>``); ``same_category``: only a
            prediction of the object's own category makes it easy (default: any, eq. 2).
        batch_size: images per detector call (and per flush of the shard).
        rank, world_size: image ``i`` (in image-id order) is labelled by rank
            ``i % world_size``, which appends one line per image to
            ``<out_file>.rank{rank}.jsonl``; every rank calls this function (with
            ``torch.distributed`` started when ``world_size > 1``); rank 0 merges the shards
            into ``out_file`` and removes them.
        resume: keep the shard records of an interrupted run with the same settings (and
            return a finished ``out_file`` with the same settings as it is); ``False`` starts
            over.

    Returns:
        the attribute file's content (on every rank).
    """
    from mmengine.logging import print_log
    from mmengine.utils import ProgressBar

    from mmdet.apis import init_detector
    if not 0 <= rank < world_size:
        raise ValueError(f'rank {rank} is outside world_size {world_size}')
    ann_file = osp.abspath(ann_file)
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file!r} not found')
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'detector checkpoint {checkpoint!r} not found')
    cfg, config_name, config_sha = _config_identity(detector_config)
    settings = dict(ann_file_sha256=file_sha256(ann_file),
                    checkpoint_sha256=file_sha256(checkpoint), config_sha256=config_sha,
                    score_thr=float(score_thr), iou_thr=float(iou_thr),
                    same_category=bool(same_category), world_size=world_size)

    if resume and osp.isfile(out_file):
        with open(out_file) as f:
            done = json.load(f)
        if _same_settings(done, settings):
            print_log(f'{out_file} is already done with these settings: kept', logger='current')
            return done
        print_log(f'{out_file} exists with other settings: this run replaces it',
                  logger='current', level=30)

    with open(ann_file) as f:
        coco = json.load(f)
    cat_names = {c['id']: c['name'] for c in coco.get('categories', [])}
    anns_of = {}
    for a in coco.get('annotations', []):
        if a['category_id'] not in cat_names:
            raise ValueError(f'{ann_file}: annotation {a["id"]} has category_id '
                             f'{a["category_id"]}, which is not in its `categories`')
        anns_of.setdefault(a['image_id'], []).append(a)
    images = sorted(coco['images'], key=lambda im: im['id'])
    # the sharded-job engine: image i (in id order) on rank i % world_size, one appended
    # line per image in this rank's log, the settings as its header
    job = ShardedJob(UnitLog(out_file, rank, key='image_id'), rank, world_size)
    log, header = job.store, dict(settings, rank=rank)
    mine = [im for _, im in job.mine(enumerate(images), lambda pair: pair[0])]
    records = []
    if resume and osp.isfile(log.log):
        old_header, records = UnitLog.read(log.log)
        if old_header is not None or records:
            job.check_identity(header, what=log.log, job='a run', fix='Delete it, or start '
                               'over with resume=False (--no-resume)')
        print_log(f'rank {rank}: resuming {log.log}, {len(records)} of {len(mine)} images done',
                  logger='current')
    log.write_identity(header, keep=records)  # the kept records (a torn last line dropped)
    done_ids = {r['image_id'] for r in records}
    todo = [im for im in mine if im['id'] not in done_ids]

    model = init_detector(cfg, checkpoint, device=device)
    classes = tuple(model.dataset_meta['classes'])
    unknown = sorted(set(cat_names.values()) - set(classes))
    if unknown and rank == 0:
        print_log(f'the detector does not know the dataset categories {unknown}: their objects '
                  'get `background`', logger='current', level=30)
    bar = ProgressBar(len(todo)) if rank == 0 and todo else None
    for start in range(0, len(todo), batch_size):
        batch = todo[start:start + batch_size]
        loaded = [_load_rgb(osp.join(img_dir, im['file_name'])) for im in batch]
        for im, (_, error) in zip(batch, loaded):
            if error:
                print_log(f'image {im["id"]} skipped: {error}', logger='current', level=30)
        dets = iter(detect_rgb(model, [p for p, _ in loaded if p is not None], score_thr,
                               batch_size=batch_size))
        log.commit_many([_image_record(im, anns_of.get(im['id'], []), cat_names,
                                       next(dets) if pic is not None else None, classes,
                                       score_thr, iou_thr, same_category, error)
                         for im, (pic, error) in zip(batch, loaded)])
        if bar is not None:
            for _ in batch:
                bar.update()
    if bar is not None:
        bar.file.write('\n')
    del model

    result = job.finish(lambda records: _merge(out_file, images, coco, ann_file, settings,
                                               config_name, checkpoint, classes, records))
    if rank != 0:
        with open(out_file) as f:
            result = json.load(f)
    return result


def _merge(out_file, images, coco, ann_file, settings, config_name, checkpoint, classes,
           by_image: dict):
    """Rank 0: every rank's records (``by_image``: image id → record) → ``out_file`` (checked
    complete: every image once), the logs removed."""
    from mmengine.logging import print_log
    check_complete(by_image, [im['id'] for im in images], f'the shards {out_file}.rank*.jsonl')
    attributes, skipped = {}, []
    for im in images:
        rec = by_image[im['id']]
        attributes.update(rec['attributes'])
        skipped += rec['skipped']
    attributes = {k: attributes[k] for k in sorted(attributes, key=int)}
    skipped.sort(key=lambda s: s['ann_id'])
    counts = {a: 0 for a in ATTRIBUTES}
    for v in attributes.values():
        counts[v] += 1
    result = dict(attributes=attributes, ann_file=ann_file,
                  ann_file_sha256=settings['ann_file_sha256'],
                  num_annotations=len(coco.get('annotations', [])),
                  detector=dict(config=config_name, config_sha256=settings['config_sha256'],
                                checkpoint=osp.abspath(checkpoint),
                                checkpoint_sha256=settings['checkpoint_sha256'],
                                classes=list(classes)),
                  score_thr=settings['score_thr'], iou_thr=settings['iou_thr'],
                  same_category=settings['same_category'], counts=counts,
                  skipped=skipped)
    atomic_write_json(out_file, result)
    UnitLog(out_file, 0, key='image_id').remove()
    print_log(f'perception-aware attributes: {counts}, {len(skipped)} annotations skipped '
              f'-> {out_file}', logger='current')
    return result
