"""The DiffusionEngine protocol's label controls (``tools/benchmark.py quality``): what the
adapter's labels are worth without generation (``real+pseudo``: the adapter on real images
outside the subset), what the generated content is worth with the best labels the toy world
has (``real+oracle``: the judge relabels the synthesized images), and the label study (the
same synthesized images labelled in three feature regimes, graded by the judge)."""
from __future__ import annotations

import json
import os.path as osp
import time

from ..utils.fileio import atomic_write_json


def pseudo_label_real(adapter_cfg, checkpoint: str, train_ann: str, img_dir: str,
                      exclude_ids: set, num: int, out_ann: str, score_thr: float,
                      seed: int = 0) -> dict:
    """The control ``real+pseudo``: the adapter (a plain detector at its training regime) on
    ``num`` real train images outside ``exclude_ids``; boxes ≥ ``score_thr``, images without
    one dropped (as DE's synthesis). Writes a COCO file whose images are the real files."""
    import random

    import numpy as np
    from PIL import Image

    from mmdet.apis import init_detector

    from ..evaluation.judge import detect_rgb
    from ..synthesis.coco_writer import annotation_records
    with open(train_ann) as f:
        coco = json.load(f)
    pool = sorted((im for im in coco['images'] if im['id'] not in exclude_ids),
                  key=lambda i: i['id'])
    if num > len(pool):
        raise ValueError(f'{num} unlabelled real images asked, {len(pool)} exist')
    chosen = sorted(random.Random(seed).sample(pool, num), key=lambda i: i['id'])
    model = init_detector(adapter_cfg, checkpoint, device='cpu')
    images, anns = [], []
    for i in range(0, len(chosen), 64):
        chunk = chosen[i:i + 64]
        arrays = [np.asarray(Image.open(osp.join(img_dir, im['file_name'])).convert('RGB'))
                  for im in chunk]
        for im, det in zip(chunk, detect_rgb(model, arrays, score_thr)):
            if len(det['bboxes']) == 0:
                continue
            images.append(dict(im))
            for a in annotation_records(im['id'], det['bboxes'], det['scores'], det['labels']):
                a.pop('rank_in_image')
                anns.append(dict(id=len(anns) + 1, **a))
    cats = [dict(id=i + 1, name=n) for i, n in enumerate(adapter_cfg.metainfo['classes'])]
    out_ann = osp.abspath(out_ann)  # the dataset joins a relative path to its data_root
    atomic_write_json(out_ann, dict(images=images, annotations=anns, categories=cats))
    return dict(ann_file=out_ann, unlabelled=num, images=len(images), boxes=len(anns),
                dropped_negatives=num - len(images))


def oracle_label_synthesis(judge, synth_dir: str, out_ann: str, score_thr: float = 0.5) -> dict:
    """The control ``real+oracle``: every image of the synthesis run ``synth_dir`` relabelled
    by the judge (the oracle labeller: the full-data toy detector, boxes ≥ ``score_thr``),
    written as a COCO file over the same images (``out_ann``, beside the run's own
    ``annotations.json``). Arms on it differ from the DE arms only in who labelled the
    images: labels vs. generated content."""
    from ..synthesis.coco_reader import SynthesisRun
    from .experiment import relabel_synthesis
    out = relabel_synthesis(judge, synth_dir, out_ann, score_thr)
    return dict(out, labeller_boxes=len(SynthesisRun(synth_dir).coco['annotations']))


def label_threshold_curve(synth_dir: str, oracle_ann: str, max_images: int,
                          thresholds=(0.3, 0.4, 0.5, 0.6, 0.7)) -> dict:
    """The adapter's labels on the first ``max_images`` synthesized images against the
    oracle's (``oracle_label_synthesis``) at each box score threshold: precision, recall
    (IoU 0.5, same class), and the lowest threshold with precision ≥ 0.80 (the label target;
    how ``real+de-x4-delta0.4`` was chosen, without the test split)."""
    from ..evaluation.fidelity import box_precision_recall
    from ..synthesis.coco_reader import SynthesisRun
    mine, oracle = SynthesisRun(synth_dir), SynthesisRun(synth_dir, oracle_ann)
    recs = mine.image_records(max_images)
    ref = [oracle.boxes(r) for r in recs]
    labels = [mine.boxes(r) for r in recs]
    curve = []
    for t in thresholds:
        pred = [{k: v[b['scores'] >= t] for k, v in b.items()} for b in labels]
        pr = box_precision_recall(ref, pred)
        curve.append(dict(threshold=t, precision=round(pr['precision'], 4),
                          recall=round(pr['recall'], 4), boxes=pr['num_pred']))
        curve[-1].update(disagreements(ref, pred, mine.classes))
    ok = [c['threshold'] for c in curve if c['precision'] >= 0.8]
    return dict(images=len(recs), oracle_boxes=sum(len(b['labels']) for b in ref), curve=curve,
                lowest_threshold_precision_0_8=ok[0] if ok else None)


def disagreements(ref: list, pred: list, classes, iou_thr: float = 0.5,
                  top: int | None = 6) -> dict:
    """Where two labellers part, per image (``ref`` / ``pred``: ``bboxes`` xyxy, ``labels``,
    ``scores``): each ``pred`` box, by score, goes to its best-overlapping ``ref`` box; at IoU
    ≥ ``iou_thr`` it ``agree``s (same class, box not taken yet) or is ``other_class``, else it
    has ``no_ref_box``; ``ref_unmatched`` counts ref boxes no pred box agreed with.
    ``confusions``: the ``top`` most frequent (ref class, pred class) pairs (``None``: all)."""
    import numpy as np
    import torch

    from mmdet.structures.bbox import bbox_overlaps
    out = dict(agree=0, other_class=0, no_ref_box=0, ref_unmatched=0)
    pairs: dict[tuple, int] = {}
    for r, p in zip(ref, pred):
        taken = set()
        if len(r['labels']) and len(p['labels']):
            iou = bbox_overlaps(torch.as_tensor(p['bboxes']), torch.as_tensor(r['bboxes'])).numpy()
        for k in np.argsort(-np.asarray(p['scores']), kind='stable'):
            j = int(iou[k].argmax()) if len(r['labels']) else -1
            if j < 0 or iou[k, j] < iou_thr:
                out['no_ref_box'] += 1
            elif r['labels'][j] != p['labels'][k]:
                out['other_class'] += 1
                key = (classes[r['labels'][j]], classes[p['labels'][k]])
                pairs[key] = pairs.get(key, 0) + 1
            elif j in taken:
                out['no_ref_box'] += 1  # a duplicate of an agreeing box
            else:
                out['agree'] += 1
                taken.add(j)
        out['ref_unmatched'] += len(r['labels']) - len(taken)
    ranked = sorted(pairs.items(), key=lambda kv: -kv[1])[:top]
    return dict(out, confusions=[dict(ref=a, pred=b, boxes=n) for (a, b), n in ranked])


#: the label study's regimes: synthesis overrides (same seeds and settings: the same images)
LABEL_REGIMES = {
    'final_call': dict(label_features='final_call', allow_regime_mismatch=True),
    'adapter': dict(label_features='adapter'),
    'decoded': dict(label_features='decoded'),
}


def label_study(model, classes, ckpt: str, ann: str, root: str, out: str, synth_config: str,
                num: int, judge, synthesis: dict) -> dict:
    """The same ``num`` images made by ``synth_config`` (a shipped synthesis config) and
    labelled three ways (:data:`LABEL_REGIMES`), each run's labels
    graded by the judge (precision / recall at IoU 0.5, mAP; negatives kept so every regime
    labels every image). The runs share seeds, so their images are identical; the record says
    whether they are (file bytes)."""
    from ..config_package import config_dir
    from ..evaluation.fidelity import label_fidelity
    from ..synthesis import synthesize_with_config
    from ..synthesis.coco_reader import SynthesisRun
    rows, digests = {}, {}
    for name, overrides in LABEL_REGIMES.items():
        d = osp.join(out, name)
        t0 = time.time()
        summary = synthesize_with_config(
            model, classes, osp.join(config_dir(), synth_config), d, num, ckpt,
            reference=dict(ann_file=ann, img_dir=root + 'train/',
                           caption_file=root + 'annotations/captions_train.json'),
            keep_negatives=True, **synthesis, **overrides)
        seconds = round(time.time() - t0, 1)
        res = label_fidelity(judge, d)
        rows[name] = dict(res, dir=d, boxes=summary['boxes'], seconds=seconds)
        digests[name] = SynthesisRun(d).images_sha256()
        print(f"[quality/label-study] {name}: P {res['precision']:.3f} R {res['recall']:.3f} "
              f"mAP {res['mAP']:.3f}")
    return dict(images=num, regimes=rows, same_images=len(set(digests.values())) == 1)
