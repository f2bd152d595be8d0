"""Judge filtering of synthetic data (detector feedback, beyond the DiffusionEngine paper).

A synthesis run's images are kept only where its labels and the judge detector's detections
agree exactly; a data filter a quality arm (``real+de-judged``) or a user applies to any
``tools/synthesize.py`` output folder.
"""
from __future__ import annotations

from ..utils.fileio import atomic_write_json


def judged_subset(judge, synth_dir: str, out_ann: str, score_thr: float = 0.5) -> dict:
    """Keep the synthetic images of ``synth_dir`` whose labels agree with the judge: every
    label box matches a judge box (score ≥ ``score_thr``) of the same class at IoU ≥ 0.5 and
    vice versa. Writes the kept images' COCO file to ``out_ann``; returns the counts."""
    from ..synthesis.coco_reader import SynthesisRun
    from .fidelity import box_precision_recall
    run = SynthesisRun(synth_dir)
    coco = run.coco
    images, labels_per_image = run.read()
    refs = judge.detect(images, score_thr=score_thr)
    kept = set()
    for im, ref, labels in zip(run.image_records(), refs, labels_per_image):
        pr = box_precision_recall([ref], [labels])
        if pr['tp'] == pr['num_pred'] == pr['num_ref']:
            kept.add(im['id'])
    sub = dict(coco, images=[i for i in coco['images'] if i['id'] in kept],
               annotations=[a for a in coco['annotations'] if a['image_id'] in kept])
    atomic_write_json(out_ann, sub)
    return dict(images=len(coco['images']), kept=len(kept),
                boxes_kept=len(sub['annotations']))
