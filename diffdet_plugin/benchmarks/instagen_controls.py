"""The InstaGen protocol's references and its head's name test (issue #20, Tier A).

Both references relabel the very images the heads labelled (the self-trained head's InstaGen
data run; the supervised head's run has the same prompts, seeds and generator, so the same
images), so an arm on them differs from the heads' arms only in who labelled the images:

* :func:`naive_label_synthesis`: what the prompt alone gives. Every box the base-class
  detector finds (class-agnostic NMS) keeps its class when the prompt names that base class;
  any other box gets the prompt's novel class. No novel-class knowledge at all, so a head
  that does not beat it has learnt nothing from the text beyond the prompt;
* the oracle (``diffusion_engine_controls.oracle_label_synthesis``): the full 6-class judge:
  what the generated content gives with the best labels there are.

:func:`novel_grounding`: how often the LDM draws a prompted novel class, and how each head
scores its name where it is drawn and where not.

:func:`name_assignment`: on images whose prompt names a novel class and another class ("a red
triangle and a blue circle"), does a head give each object the right one of the two names?
Judge as referee.

:func:`pair_confusion` (Tier B, colour-shape pairs): when a novel pair's object gets a wrong
name, is it a base pair of the same colour, of the same shape, or neither?
"""
from __future__ import annotations

import numpy as np


def naive_label_synthesis(base_judge, synth_dir: str, out_ann: str, novel,
                          score_thr: float, iou_thr: float = 0.5) -> dict:
    """The naive reference: ``base_judge``'s boxes (score ≥ ``score_thr``, class-agnostic
    NMS at ``iou_thr``) on every image of the synthesis run ``synth_dir``, a box keeping its
    base class where the prompt names it and taking the prompt's (first) novel class
    otherwise; images whose prompt names no novel class keep the base boxes of the named
    classes only. Written as a COCO file over the same images (``out_ann``)."""
    import torch
    from mmcv.ops import nms

    from ..synthesis.coco_reader import SynthesisRun
    from .experiment import relabel_synthesis
    run = SynthesisRun(synth_dir)
    unknown = [c for c in tuple(base_judge.classes) + tuple(novel) if c not in run.classes]
    if unknown:
        raise ValueError(f'{run.ann_file}: the classes {unknown} of the base detector / novel '
                         f'split are not categories of the run {list(run.classes)}')
    relabelled = 0

    def label(rec, det):
        nonlocal relabelled
        named = rec['category_names']
        prompted = next((c for c in named if c in novel), None)
        boxes, scores = torch.as_tensor(det['bboxes']), torch.as_tensor(det['scores'])
        keep = nms(boxes, scores, iou_thr)[1].numpy() if len(scores) else []
        out_boxes, out_scores, out_labels = [], [], []
        for k in keep:
            name = base_judge.classes[int(det['labels'][k])]
            if name not in named:
                if prompted is None:
                    continue
                name, relabelled = prompted, relabelled + 1
            out_boxes.append(det['bboxes'][k])
            out_scores.append(float(det['scores'][k]))
            out_labels.append(run.classes.index(name))
        return np.reshape(out_boxes, (-1, 4)), out_scores, out_labels

    out = relabel_synthesis(base_judge, synth_dir, out_ann, score_thr, label_fn=label)
    return dict(out, boxes_given_the_novel_name=relabelled, nms_iou=iou_thr)


def name_assignment(judge, runs: dict, novel, beta: float, judge_thr: float = 0.5,
                    iou_thr: float = 0.5, top: int | None = 6) -> dict:
    """The 2-name test: per head (``runs``: name → its synthesis folder), on the images whose
    prompt names two classes, one of them novel, each of the head's boxes (score ≥ ``beta``)
    goes to its best-overlapping judge box (score ≥ ``judge_thr``) and counts as right when
    the classes agree (``disagreements``). ``accuracy`` = right / (right + wrong class); the
    issue's goal is ≥ 0.8. The judge runs once; the runs must hold the same images.
    Returns ``heads``: head → counts, ``accuracy`` and the ``top`` most frequent
    ``confusions`` (``None``: all, for :func:`pair_confusion`)."""
    from ..synthesis.coco_reader import SynthesisRun
    from .diffusion_engine_controls import disagreements
    out, refs, ids = {}, None, None
    for head, folder in runs.items():
        run = SynthesisRun(folder)
        recs = [r for r in run.image_records() if len(r['category_names']) == 2
                and any(c in novel for c in r['category_names'])]
        if refs is None:
            ids = [r['id'] for r in recs]
            found = judge.detect([run.rgb(r) for r in recs], judge_thr)
            refs = [dict(f, labels=np.array([run.classes.index(judge.classes[k])
                                             for k in f['labels']], np.int64)) for f in found]
        elif [r['id'] for r in recs] != ids:
            raise ValueError(f'{folder}: other images than {runs[next(iter(runs))]}: the '
                             'heads must label the same synthesis (prompts, seeds, generator)')
        preds = [{k: v[b['scores'] >= beta] for k, v in b.items()}
                 for b in (run.boxes(r) for r in recs)]
        d = disagreements(refs, preds, run.classes, iou_thr, top=top)
        judged = d['agree'] + d['other_class']
        out[head] = dict(d, images=len(recs),
                         accuracy=round(d['agree'] / judged, 3) if judged else None)
    return dict(heads=out, beta=beta, judge_thr=judge_thr, iou_thr=iou_thr)


def novel_grounding(judge, detector, heads: dict, run_dir: str, beta: float,
                    score_thr: float = 0.5, batch_size: int = 16) -> dict:
    """Why novel classes get (no) InstaGen labels, from the unlabelled novel-image run.

    Returns ``names``: for each novel name (images prompted with it alone):

    * ``judge_finds_it``: the share of images in which the judge (all classes, score ≥
      ``score_thr``) finds the prompted class, i.e. how often the LDM drew it;
    * per head (``heads``: name → checkpoint, loaded into ``detector`` in turn): the median
      over images of its highest score for the name (the head grounds that name alone, as
      synthesis does; features from the VAE-encoded image), on the images where the judge
      finds the class (``median_drawn``) and where it does not (``median_not_drawn``), and
      ``labelled``: the share with a score ≥ ``beta``, which synthesis would label.

    A head that grounds the name scores ``median_drawn`` well above ``median_not_drawn``.
    """
    import numpy as np
    import torch

    from ..synthesis.coco_reader import SynthesisRun
    from ..synthesis.labellers import GroundingLabeller, load_head_checkpoint
    run = SynthesisRun(run_dir)
    records = run.image_records()
    images, _ = run.read()
    found = judge.detect(images, score_thr=score_thr)
    ldm = detector.backbone.ldm
    out = {}
    for name in dict.fromkeys(n for im in records for n in im['category_names']):
        idx = [i for i, im in enumerate(records) if im['category_names'] == [name]]
        if not idx:  # named only beside a novel one ("{novel} and {base}")
            continue
        drawn = np.array([any(judge.classes[k] == name for k in found[i]['labels'])
                          for i in idx], bool)
        rec = dict(images=len(idx), judge_finds_it=round(float(drawn.mean()), 3))
        batches = []  # (latents, prompts), encoded once for every head
        for j in range(0, len(idx), batch_size):
            x = torch.from_numpy(np.stack([images[i] for i in idx[j:j + batch_size]]))
            batches.append((ldm.encode_images(x.permute(0, 3, 1, 2).float() / 127.5 - 1),
                            [records[i]['prompt'] for i in idx[j:j + batch_size]]))
        for head, ckpt in heads.items():
            labeller = GroundingLabeller(load_head_checkpoint(detector, ckpt))
            best = []
            for z, prompts in batches:
                with torch.no_grad():
                    res = labeller.ground(z, [name], prompts=prompts)
                best += [float(r.scores.max()) if len(r.scores) else 0.0 for r in res]
            best = np.array(best)

            def median(mask):
                return round(float(np.median(best[mask])), 3) if mask.any() else None
            rec[head] = dict(median_drawn=median(drawn), median_not_drawn=median(~drawn),
                             labelled=round(float((best >= beta).mean()), 3))
        out[name] = rec
    return dict(names=out)


def pair_confusion(confusions: list, novel) -> dict:
    """Tier B's confusion report: per novel pair, how many of its boxes a labeller named as a
    base pair of the same colour (``same_colour``: "red triangle" → "red circle"), of the same
    shape (``same_shape``: → "blue triangle") or neither (``other``).

    Args:
        confusions: ``disagreements(..., top=None)['confusions']`` over pair classes
            (``ref`` the referee's class, ``pred`` the labeller's).
        novel: the novel pair names.
    """
    from ..datasets.colour_shape import split_pair
    out = {n: dict(same_colour=0, same_shape=0, other=0) for n in novel}
    for c in confusions:
        if c['ref'] not in out:
            continue
        (ref_colour, ref_shape), (colour, shape) = split_pair(c['ref']), split_pair(c['pred'])
        kind = ('same_colour' if colour == ref_colour else
                'same_shape' if shape == ref_shape else 'other')
        out[c['ref']][kind] += c['boxes']
    return out
