"""Fidelity of generated images and of their labels, graded by the judge detector.

Five measures (``tools/benchmark.py fidelity``; the InstaGen and DetDiffusion benchmarks
reuse them):

* **judge mAP on real images**: the judge's COCO bbox mAP on the real split — the
  ceiling every ratio below is relative to.
* **text-to-image precision / recall**: for each caption, the multiset of classes it
  names vs. the multiset of the judge's detections (score ≥ ``score_thr``) on the image
  generated from it; micro-averaged: TP = Σ_images Σ_c min(n_caption(c), n_judge(c)),
  precision = TP / #detections, recall = TP / #named objects.
* **img2img layout fidelity** at encode ratio r: the judge's mAP on images generated
  from the real references at r, scored against the references' boxes, divided by the
  judge's mAP on the real references themselves (1.0 = as detectable, where they were).
* **label fidelity** of a synthesis run: its labels (e.g. the Detection-Adapter's boxes)
  scored against the judge's detections (score ≥ ``score_thr``) on the same images:
  precision and recall at IoU ≥ 0.5 with the same class (greedy, by score), and the mAP
  of the labels with the judge's boxes as ground truth.
* **layout-to-image score** of a layout-conditioned run (DetDiffusion's evaluation, the
  "YOLO score" of layout-to-image papers, with any mmdet detector): the detector's COCO bbox
  mAP on the generated images with the run's conditioning layouts (its ``annotations.json``)
  as ground truth, by mmdet's ``CocoMetric`` (:func:`layout_score`). FID of the same images
  against real ones: :mod:`diffdet_plugin.evaluation.fid`.

Boxes are ``xyxy``; COCO mAP comes from pycocotools' ``COCOeval`` (what mmdet's
``CocoMetric`` runs).
"""
from __future__ import annotations

import contextlib
import io
from collections import Counter

import numpy as np


# ---------------------------------------------------------------------------
# metrics on plain arrays (no models)
# ---------------------------------------------------------------------------
def multiset_precision_recall(expected: list[dict], detected: list[dict]) -> dict:
    """Micro-averaged precision / recall of per-image class multisets ``{class: count}``,
    plus each named class's recall (``per_class_recall``: TP_c / #named c)."""
    if len(expected) != len(detected):
        raise ValueError(f'{len(expected)} expected vs {len(detected)} detected images')
    tp_c, exp_c = Counter(), Counter()
    for e, d in zip(expected, detected):
        for c, n in Counter(e).items():
            tp_c[c] += min(n, Counter(d)[c])
            exp_c[c] += n
    tp, n_exp = sum(tp_c.values()), sum(exp_c.values())
    n_det = sum(sum(d.values()) for d in detected)
    return dict(precision=tp / n_det if n_det else 0.0, recall=tp / n_exp if n_exp else 0.0,
                tp=int(tp), num_expected=int(n_exp), num_detected=int(n_det),
                per_class_recall={c: tp_c[c] / exp_c[c] for c in sorted(exp_c)})


def class_counts(labels, classes) -> dict:
    return dict(Counter(classes[int(i)] for i in labels))


def _xywh(b) -> list[float]:
    x0, y0, x1, y1 = (float(v) for v in b)
    return [x0, y0, x1 - x0, y1 - y0]


def coco_map(gts: list[dict], dets: list[dict], num_classes: int,
             image_size: tuple[int, int] = (128, 128)) -> dict:
    """COCO bbox mAP of ``dets`` against ``gts`` (one dict per image, same order).

    ``gts[i]``: ``bboxes`` (N, 4) xyxy, ``labels`` (N,); ``dets[i]``: the same plus
    ``scores``. Returns ``mAP``, ``mAP_50``, ``mAP_75`` (0 when there is no detection).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    if len(gts) != len(dets):
        raise ValueError(f'{len(gts)} ground-truth vs {len(dets)} detection images')
    images = [dict(id=i + 1, width=image_size[1], height=image_size[0]) for i in range(len(gts))]
    anns = []
    for i, g in enumerate(gts):
        for b, lab in zip(np.asarray(g['bboxes']).reshape(-1, 4), g['labels']):
            xywh = _xywh(b)
            anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=int(lab) + 1,
                             bbox=xywh, area=xywh[2] * xywh[3], iscrowd=0))
    results = [dict(image_id=i + 1, category_id=int(lab) + 1, bbox=_xywh(b), score=float(s))
               for i, d in enumerate(dets)
               for b, s, lab in zip(np.asarray(d['bboxes']).reshape(-1, 4), d['scores'],
                                    d['labels'])]
    if not anns or not results:
        return dict(mAP=0.0, mAP_50=0.0, mAP_75=0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = dict(images=images, annotations=anns,
                          categories=[dict(id=c + 1, name=str(c)) for c in range(num_classes)])
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(results), 'bbox')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return dict(mAP=float(ev.stats[0]), mAP_50=float(ev.stats[1]), mAP_75=float(ev.stats[2]))


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of xyxy boxes a (N, 4) and b (M, 4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None] - inter, 1e-9)


def box_precision_recall(refs: list[dict], preds: list[dict], iou_thr: float = 0.5) -> dict:
    """Precision / recall of predicted boxes against reference boxes (same class, IoU ≥ thr).

    Greedy matching per image in descending prediction score; each reference matches once.
    """
    tp = n_pred = n_ref = 0
    for r, p in zip(refs, preds):
        rb, rl = np.asarray(r['bboxes']).reshape(-1, 4), np.asarray(r['labels'])
        pb, pl = np.asarray(p['bboxes']).reshape(-1, 4), np.asarray(p['labels'])
        order = np.argsort(-np.asarray(p.get('scores', np.ones(len(pb)))), kind='stable')
        iou = _iou(pb, rb)
        used = np.zeros(len(rb), bool)
        for j in order:
            cand = np.where(~used & (rl == pl[j]) & (iou[j] >= iou_thr))[0] if len(rb) else []
            if len(cand):
                used[cand[np.argmax(iou[j, cand])]] = True
                tp += 1
        n_pred += len(pb)
        n_ref += len(rb)
    return dict(precision=tp / n_pred if n_pred else 0.0, recall=tp / n_ref if n_ref else 0.0,
                tp=int(tp), num_pred=int(n_pred), num_ref=int(n_ref))


# ---------------------------------------------------------------------------
# measures that run models
# ---------------------------------------------------------------------------
def load_split(data_root: str, split: str, num_images: int | None = None) -> dict:
    """The real images (RGB uint8), boxes (xyxy), labels, captions and objects (category,
    colour: what a caption variant is rebuilt from) of a toy split."""
    import json
    import os.path as osp

    from PIL import Image

    from ..datasets.toy_shapes import TOY_SHAPES_CLASSES
    root = data_root.rstrip('/')
    ann = osp.join(root, 'annotations', f'instances_{split}.json')
    if not osp.isfile(ann):
        raise FileNotFoundError(
            f'{ann!r} does not exist: make the toy data with `python tools/make_toy_data.py '
            f'--out {root}` (it writes train, val and test).')
    with open(ann) as f:
        coco = json.load(f)
    names = [c['name'] for c in sorted(coco['categories'], key=lambda c: c['id'])]
    if tuple(names) != TOY_SHAPES_CLASSES:
        raise ValueError(f'{ann}: categories {names} are not the toy-shapes classes')
    images = sorted(coco['images'], key=lambda i: i['id'])[:num_images]
    by_img = {}
    for a in coco['annotations']:
        by_img.setdefault(a['image_id'], []).append(a)
    out = dict(images=[], gts=[], captions=[], ids=[], objects=[])
    for im in images:
        with Image.open(osp.join(root, split, im['file_name'])) as pil:
            out['images'].append(np.asarray(pil.convert('RGB')))
        anns = by_img.get(im['id'], [])
        out['gts'].append(dict(
            bboxes=np.array([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)],
                            np.float32).reshape(-1, 4),
            labels=np.array([a['category_id'] - 1 for a in anns], np.int64)))
        out['captions'].append(im.get('caption', ''))
        out['objects'].append([dict(category=names[a['category_id'] - 1], color=a.get('color'))
                               for a in anns])
        out['ids'].append(im['id'])
    return out


def _generate(ldm, images, prompts, seeds, ratio, steps, guidance, batch_size, progress=None):
    import torch

    from ..ldm import image_to_image, text_to_image
    out = []
    for i in range(0, len(prompts), batch_size):
        sl = slice(i, i + batch_size)
        if images is None:
            res = text_to_image(ldm, prompts[sl], seeds[sl], steps, guidance)
        else:
            res = image_to_image(ldm, torch.from_numpy(np.stack(images[sl])), prompts[sl],
                                 seeds[sl], ratio, steps, guidance)
        out.extend(res.numpy())
        if progress is not None:
            progress(len(res))
    return out


def judge_map(judge, images, gts) -> dict:
    """The judge's COCO mAP on ``images`` against ``gts``."""
    dets = judge.detect(images, score_thr=0.0)
    return coco_map(gts, dets, len(judge.classes), images[0].shape[:2])


def text_to_image_fidelity(ldm, judge, captions, seed: int = 0, steps: int = 30,
                           guidance: float = 5.0, score_thr: float = 0.5, batch_size: int = 16,
                           progress=None, parse=None) -> dict:
    """Generate one image per toy caption; judge class multisets vs. the captions'.

    ``parse``: caption → ``{class: count}`` in the judge's class names (default the toy
    shapes' ``parse_caption``; Tier B's pair judge: ``parse_pair_caption``)."""
    from ..datasets.toy_shapes import parse_caption
    seeds = [seed * 1_000_003 + i for i in range(len(captions))]
    gen = _generate(ldm, None, list(captions), seeds, 1.0, steps, guidance, batch_size, progress)
    dets = judge.detect(gen, score_thr=score_thr)
    expected = [(parse or parse_caption)(c) for c in captions]
    detected = [class_counts(d['labels'], judge.classes) for d in dets]
    return dict(multiset_precision_recall(expected, detected), images=gen)


def img2img_fidelity(ldm, judge, split: dict, ratio: float, real_map: float, seed: int = 0,
                     steps: int = 30, guidance: float = 5.0, batch_size: int = 16,
                     progress=None) -> dict:
    """Judge mAP on images made from the split's references at ``ratio``, ÷ ``real_map``."""
    seeds = [seed * 1_000_003 + i for i in range(len(split['images']))]
    gen = _generate(ldm, split['images'], split['captions'], seeds, ratio, steps, guidance,
                    batch_size, progress)
    return dict(layout_fidelity(judge, gen, split['gts'], real_map), images=gen)


def layout_fidelity(judge, images, gts, real_map: float) -> dict:
    """Judge mAP on generated ``images`` against the conditioning boxes ``gts``, and its ratio
    to ``real_map`` (the judge's mAP on the real references): ``fidelity``."""
    m = judge_map(judge, images, gts)
    return dict(m, fidelity=m['mAP'] / real_map if real_map > 0 else float('nan'))


def label_fidelity(judge, synthesis_dir: str, score_thr: float = 0.5,
                   max_images: int | None = None) -> dict:
    """A synthesis run's labels vs. the judge's detections on its images (see module doc)."""
    from ..synthesis.coco_reader import SynthesisRun
    run = SynthesisRun(synthesis_dir)
    if run.classes != tuple(judge.classes):
        raise ValueError(f'{run.ann_file}: categories {list(run.classes)} differ from the '
                         f'judge\'s classes {list(judge.classes)}; use a judge config with the '
                         'same metainfo')
    arrays, labels = run.read(max_images)
    refs = judge.detect(arrays, score_thr=score_thr)
    pr = box_precision_recall(refs, labels)
    m = coco_map(refs, labels, len(judge.classes), arrays[0].shape[:2] if arrays else (128, 128))
    return dict(pr, **m, images=len(arrays))


def _detect_fn(detector, batch_size: int):
    """``images -> detections`` of a :class:`~.judge.Judge` (its ``detect``) or an mmdet model."""
    from .judge import detect_rgb
    if hasattr(detector, 'detect'):
        return lambda ims: detector.detect(ims, score_thr=0.0, batch_size=batch_size)
    return lambda ims: detect_rgb(detector, ims, 0.0, batch_size)


def detector_classes(detector) -> tuple:
    """A detector's class names: a judge's ``classes``, else the mmdet model's
    ``dataset_meta['classes']`` (what ``init_detector`` sets from the checkpoint / config)."""
    classes = getattr(detector, 'classes', None)
    if classes is None:
        classes = (getattr(detector, 'dataset_meta', None) or {}).get('classes')
    if not classes:
        raise ValueError('the detector has no class names (model.dataset_meta["classes"]); pass '
                         'classes= or a checkpoint / config with metainfo')
    return tuple(classes)


def layout_score(run_dir: str, detector, classes=None, max_images: int | None = None,
                 batch_size: int = 16, progress=None) -> dict:
    """Layout-to-image score of a layout-conditioned synthesis run (DetDiffusion's protocol).

    A detector runs on the run's generated images (``run_dir/images/``, read lazily in
    batches); its detections (every score, up to the detector's ``max_per_img``) are scored
    against the conditioning layouts, ``run_dir/annotations.json`` as the ground truth, by
    mmdet's ``CocoMetric`` (bbox; COCO mAP over IoU 0.50:0.95, mAP at 0.50 and 0.75, by object
    size). A generator that draws every object where its layout puts it scores what the
    detector scores on real images.

    Categories are matched by name: the run's categories the detector knows are scored (their
    ground truth kept), the others are reported in ``classes_unscored`` and left out of the
    evaluation; detections of classes the run does not have are dropped. Detections on an
    image whose pixel size differs from its record's ``width`` / ``height`` are rescaled to
    the record's frame.

    Args:
        run_dir: a ``tools/synthesize.py`` output folder (``annotations.json``, ``images/``).
        detector: a :class:`~.judge.Judge` or an mmdet detector (``init_detector``'s).
        classes: the detector's class names (default: :func:`detector_classes`).
        max_images: score the first N images by id (None: all).
        batch_size: images per detector call.
        progress: called with the number of images of each finished batch.
    Returns:
        ``mAP``, ``mAP_50``, ``mAP_75``, ``mAP_s``, ``mAP_m``, ``mAP_l`` (0 with no detection),
        ``images``, ``boxes`` (ground-truth boxes scored), ``detections``,
        ``classes_scored``, ``classes_unscored``.
    """

    import torch

    from mmdet.evaluation import CocoMetric

    from ..synthesis.coco_reader import SynthesisRun
    run = SynthesisRun(run_dir)
    ann, coco = run.ann_file, run.coco
    classes = tuple(classes) if classes is not None else detector_classes(detector)
    det_index = {name: i for i, name in reversed(list(enumerate(classes)))}
    scored, seen = [], set()
    for c in coco['categories']:  # file order, each name once
        if c['name'] in det_index and c['name'] not in seen:
            scored.append(c)
            seen.add(c['name'])
    unscored = [c['name'] for c in coco['categories'] if c not in scored]
    if not scored:
        raise ValueError(f'{ann}: none of its categories {[c["name"] for c in coco["categories"]]}'
                         f' is a class of the detector {list(classes)} (matched by name)')
    # detector label -> index into `scored` (-1: not a category of the run)
    to_scored = np.full(len(classes), -1, np.int64)
    for j, c in enumerate(scored):
        to_scored[det_index[c['name']]] = j
    images = run.image_records(max_images)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools' loading messages
        metric = CocoMetric(ann_file=ann, metric='bbox')
    metric.dataset_meta = dict(classes=tuple(c['name'] for c in scored))
    metric.cat_ids = [c['id'] for c in scored]  # in the order of dataset_meta['classes']
    metric.img_ids = [r['id'] for r in images]
    detect = _detect_fn(detector, batch_size)
    num_dets = 0
    for i in range(0, len(images), batch_size):
        recs = images[i:i + batch_size]
        arrays = [run.rgb(r) for r in recs]
        samples = []
        for r, arr, d in zip(recs, arrays, detect(arrays)):
            lab = to_scored[np.asarray(d['labels'], np.int64)]
            keep = lab >= 0
            boxes = np.asarray(d['bboxes'], np.float32).reshape(-1, 4)[keep]
            h, w = r.get('height', arr.shape[0]), r.get('width', arr.shape[1])
            if (h, w) != arr.shape[:2]:
                boxes = boxes * np.array([w / arr.shape[1], h / arr.shape[0]] * 2, np.float32)
            num_dets += int(keep.sum())
            samples.append(dict(img_id=r['id'], ori_shape=(h, w), pred_instances=dict(
                bboxes=torch.from_numpy(boxes),
                scores=torch.from_numpy(np.asarray(d['scores'], np.float32)[keep]),
                labels=torch.from_numpy(lab[keep]))))
        metric.process({}, samples)
        if progress is not None:
            progress(len(recs))
    if images:
        with contextlib.redirect_stdout(io.StringIO()):  # COCOeval's summary table
            m = metric.compute_metrics(metric.results)
    else:
        m = {}
    metric.results.clear()
    scored_ids, img_ids = set(metric.cat_ids), set(metric.img_ids)
    boxes = sum(1 for a in coco['annotations']
                if a['image_id'] in img_ids and a['category_id'] in scored_ids)
    out = {k: float(m.get(f'bbox_{k}', 0.0))
           for k in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')}
    return dict(out, images=len(images), boxes=boxes, detections=num_dets,
                classes_scored=[c['name'] for c in scored], classes_unscored=unscored)
