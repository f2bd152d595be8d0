"""The experiment toolkit of ``tools/benchmark.py quality``: what every protocol shares.

* :func:`record` / :func:`recorded_step`: a finished step's record (JSON, written
  atomically); a rerun reads it instead of running the step again, so a protocol can be
  completed over several sessions;
* :func:`write_subset`: a fixed random subset of a COCO file (atomic);
* :func:`usable_images`: how many images of a synthetic COCO file an arm can draw on;
* :func:`relabel_synthesis`: a synthesis run's images labelled anew by a detector (the
  controls' labellers), one COCO file over the same images;
* :func:`train_only`: one mmengine Runner trained (resumable, as below);
* :func:`train_and_test`: one mmengine Runner trained (an interrupted run of the same
  folder resumed, :func:`make_resumable`), then tested on the held-out split;
* :func:`detector_runs`: a detector per arm and seed, each recorded (test and val metrics);
* :func:`summarize`: mean ± std per arm and whether |Δ| to the baseline exceeds two
  standard errors, |Δ| > 2·√(s_a²/n_a + s_b²/n_b).
"""
from __future__ import annotations

import json
import math
import os.path as osp
import random
import statistics
import time

from ..utils.fileio import atomic_write_json


def write_subset(src_ann: str, out_ann: str, fraction: float, seed: int) -> int:
    """A fixed random subset of a COCO file's images (with their boxes); returns its size."""
    with open(src_ann) as f:
        coco = json.load(f)
    ids = sorted(i['id'] for i in coco['images'])
    keep = set(random.Random(seed).sample(ids, max(1, round(len(ids) * fraction))))
    sub = dict(coco, images=[i for i in coco['images'] if i['id'] in keep],
               annotations=[a for a in coco['annotations'] if a['image_id'] in keep])
    atomic_write_json(out_ann, sub)  # a killed run never leaves a half-written subset
    return len(keep)


def usable_images(ann_file: str, min_score: float, encode_ratio_range=None) -> int:
    """Images of a COCO file with at least one box of score ≥ ``min_score`` (what a
    ``SyntheticCocoDataset`` with ``keep_negatives=False`` keeps), synthesized at an encode
    ratio in ``encode_ratio_range`` (lo, hi) if given."""
    with open(ann_file) as f:
        coco = json.load(f)
    ids = {a['image_id'] for a in coco['annotations'] if a.get('score', 1.0) >= min_score}
    if encode_ratio_range is not None:
        lo, hi = encode_ratio_range
        ids &= {im['id'] for im in coco['images'] if lo <= im.get('encode_ratio', -1) <= hi}
    return len(ids)


def relabel_synthesis(detector, synth_dir: str, out_ann: str, score_thr: float,
                      label_fn=None, chunk: int = 256) -> dict:
    """Every image of the synthesis run ``synth_dir`` labelled by ``detector`` (an
    :class:`~diffdet_plugin.evaluation.judge.Judge`-like object: ``detect(images, score_thr)``
    giving ``bboxes`` (N, 4) xyxy, ``scores``, ``labels``), written as a COCO file over the
    same images (``out_ann``, atomic) through the one annotation writer.

    ``label_fn(record, det)`` turns one image's detections into ``(bboxes, scores, labels)``
    with labels indexing the run's categories (default: the detections as they are, which
    needs the detector's classes to be the run's). Images are read ``chunk`` at a time.
    Returns ``images``, ``boxes``, ``images_with_a_box``, ``score_thr``."""
    from ..synthesis.coco_reader import SynthesisRun
    from ..synthesis.coco_writer import annotation_records
    run = SynthesisRun(synth_dir)
    if label_fn is None:
        if run.classes != tuple(detector.classes):
            raise ValueError(f'{run.ann_file}: categories {list(run.classes)} differ from the '
                             f'detector\'s classes {list(detector.classes)}; pass a label_fn '
                             'that maps its labels to the run\'s categories')
        label_fn = lambda rec, det: (det['bboxes'], det['scores'], det['labels'])  # noqa: E731
    records, anns = run.image_records(), []
    for i in range(0, len(records), chunk):  # a chunk of images in memory at a time
        part = records[i:i + chunk]
        for rec, det in zip(part, detector.detect([run.rgb(r) for r in part], score_thr)):
            for a in annotation_records(rec['id'], *label_fn(rec, det)):
                a.pop('rank_in_image')
                anns.append(dict(id=len(anns) + 1, **a))
    atomic_write_json(out_ann, dict(run.coco, annotations=anns))
    return dict(ann_file=out_ann, images=len(records), boxes=len(anns),
                images_with_a_box=len({a['image_id'] for a in anns}), score_thr=score_thr)


def record(path: str, data: dict | None = None) -> dict | None:
    """Read a finished step's record, or write it (atomically) when ``data`` is given."""
    if data is None:
        if osp.isfile(path):
            with open(path) as f:
                return json.load(f)
        return None
    atomic_write_json(path, data, indent=2)
    return data


def ldm_work_dir(work_dir: str, ldm) -> str:
    """The records folder of one LDM: ``{ldm}`` in ``work_dir`` becomes ``ldm-<fingerprint[:12]>``
    (the default, so a rerun on a new LDM starts its own records); the folder is stamped with
    the LDM (``ldm.json``), and a folder stamped with another LDM is refused, so records of
    two LDMs never mix. ``ldm``: a :class:`FrozenLDM` (its ``identity``)."""
    ident = ldm.identity
    work_dir = work_dir.replace('{ldm}', f"ldm-{ident['fingerprint'][:12]}")
    stamp = osp.join(work_dir, 'ldm.json')
    if osp.isfile(stamp):
        with open(stamp) as f:
            theirs = json.load(f)
        if theirs.get('fingerprint') != ident['fingerprint']:
            raise ValueError(
                f'{work_dir} holds records of another LDM ({theirs.get("source")}, fingerprint '
                f'{theirs.get("fingerprint")}; now {ident["source"]}, {ident["fingerprint"]}): '
                'give a --work-dir with {ldm} in it (the default) or a new folder.')
    else:
        atomic_write_json(stamp, ident)
    return work_dir


def recorded_step(work: str, tag: str):
    """``step(name, fn)``: run ``fn`` (returning a dict) once; its record, with the seconds it
    took, is ``<work>/<name>.json`` and a rerun returns that record instead of running again."""
    def step(name: str, fn) -> dict:
        path = osp.join(work, f'{name}.json')
        rec = record(path)
        if rec is None:
            print(f'[quality/{tag}] {name} ...', flush=True)
            t0 = time.time()
            rec = fn()
            rec['seconds'] = round(time.time() - t0, 1)
            record(path, rec)
        return rec
    return step


def make_resumable(cfg, work_dir: str, every: int = 250) -> bool:
    """Make a step's training survive the end of a session: a checkpoint every ``every``
    iterations (the last kept, and the final one, which the step's record may name), and
    ``cfg.resume`` when ``work_dir`` already holds an mmengine ``last_checkpoint`` (a run of
    this step stopped part-way): the Runner then continues from it instead of starting
    again (``load_from``, the weights a fresh run starts from, is cleared: mmengine would
    resume from it). Returns whether it will resume."""
    ckpt = cfg.default_hooks.checkpoint
    ckpt.update(interval=min(every, cfg.train_cfg.max_iters), max_keep_ckpts=1, save_last=True)
    cfg.resume = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
    if cfg.resume:
        cfg.load_from = None
    return cfg.resume


def train_only(cfg, work_dir: str, seed: int = 0):
    """Train one config in ``work_dir`` (an interrupted run of the folder resumed,
    :func:`make_resumable`); returns the Runner."""
    from mmengine.runner import Runner

    from ..runner_utils import name_run
    cfg.work_dir = work_dir
    if make_resumable(cfg, work_dir):
        print(f'resuming {work_dir} from its last checkpoint', flush=True)
    cfg.randomness = dict(seed=seed)
    name_run(cfg, osp.basename(work_dir))
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def train_and_test(cfg, work_dir: str, seed: int) -> tuple:
    """Train (resuming an interrupted run of the same folder) then test one config;
    (runner, test metrics + final train loss + diverged)."""
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters + 1  # the test split is what counts
    runner = train_only(cfg, work_dir, seed)
    metrics = runner.test()
    out = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
    loss = runner.message_hub.log_scalars.get('train/loss')
    if loss is not None:  # a diverged run is reported as such, not as a bad mAP
        out['final_train_loss'] = float(loss.current())
        out['diverged'] = not math.isfinite(out['final_train_loss'])
    return runner, out


def run_sharing(args) -> dict:
    """:func:`detector_runs`' ``lane`` and ``claim`` from ``benchmark.py quality``'s
    ``--lane I N`` and ``--claim``."""
    return dict(lane=getattr(args, 'lane', None), claim=getattr(args, 'claim', False))


def detector_runs(work: str, protocol: str, arms, seeds, iters, configure,
                  lane: tuple | None = None, claim: bool = False) -> dict:
    """The downstream detector per arm and seed: ``configure(arm)`` gives the arm's config
    (e.g. :func:`detector_config`); each run trains ``iters`` iterations (or ``iters(arm)``)
    with the seed, is tested on the held-out split and recorded in
    ``<work>/runs/<arm>-seed<seed>.json`` (a rerun skips it); the record also holds the final
    model's metrics on the val split (``val``: what a setting is chosen by; records written
    before 2026-12-07 lack it). Returns arm → records, in seed order.

    ``lane`` = (i, n): the runs, numbered in (arm, seed) order, are split over n processes
    as the sharded-job engine splits units over ranks (:func:`rank_share`): this one trains
    run k when k % n == i and reads the others' records where they exist.

    ``claim``: a run is trained by whichever process first claims it (a lock file
    ``<work>/runs/<arm>-seed<seed>.lock``, :func:`claimed`); runs another process holds are
    skipped like another lane's, so any number of processes, started at any time, share the
    runs without a fixed split, and a killed process's run is free to be taken again."""
    from ..utils.sharded_job import claimed, rank_share
    units = [(arm, seed) for arm in arms for seed in seeds]
    mine = set(units) if lane is None else {
        u for _, u in rank_share(enumerate(units), *lane, number=lambda pair: pair[0])}
    runs = {}
    for arm in arms:
        for seed in seeds:
            path = osp.join(work, 'runs', f'{arm}-seed{seed}.json')
            rec = record(path)
            if rec is None and (arm, seed) in mine:
                with claimed(path[:-len('.json')] + '.lock' if claim else None) as held:
                    rec = record(path)  # the previous holder may have finished it
                    if rec is None and held:
                        rec = _detector_run(work, protocol, arm, seed, iters, configure, path)
            if rec is None:
                continue  # another lane's or process's run, not finished yet
            runs.setdefault(arm, []).append(rec)
    return runs


def _detector_run(work, protocol, arm, seed, iters, configure, path) -> dict:
    """Train, test and record one run of :func:`detector_runs`."""
    from ..runner_utils import set_iterations
    cfg = configure(arm)
    n_iters = iters(arm) if callable(iters) else iters
    set_iterations(cfg, n_iters)
    print(f'[quality/{protocol}] detector: {arm}, seed {seed}, {n_iters} it')
    t0 = time.time()
    runner, m = train_and_test(cfg, osp.join(work, 'detectors', f'{arm}-seed{seed}'), seed)
    val = {k: float(v) for k, v in runner.val().items()  # for choosing settings
           if isinstance(v, (int, float))}
    return record(path, dict(protocol=protocol, arm=arm, seed=seed, iters=n_iters,
                             test=m, val=val, seconds=round(time.time() - t0, 1)))


def summarize(runs: dict, key: str = 'coco/bbox_mAP', base: str = 'real') -> list[dict]:
    """Per arm: mean ± std over seeds, Δ to ``base`` and whether |Δ| > 2 standard errors."""
    def stats(recs):
        vals = [r['test'].get(key) for r in recs if r['test'].get(key) is not None
                and not r['test'].get('diverged')]
        mean = statistics.fmean(vals) if vals else None
        std = statistics.stdev(vals) if len(vals) > 1 else 0.0
        return vals, mean, std

    base_vals, base_mean, base_std = stats(runs.get(base, []))
    rows = []
    for arm, recs in runs.items():
        vals, mean, std = stats(recs)
        row = dict(arm=arm, n=len(vals), mean=mean, std=std, values=vals)
        if arm != base and mean is not None and base_mean is not None:
            se = math.sqrt(std ** 2 / len(vals) + base_std ** 2 / len(base_vals))
            row.update(delta=mean - base_mean, se=se,
                       significant=abs(mean - base_mean) > 2 * se)
        rows.append(row)
    return rows


def paired_delta(runs: dict, arm: str, ref: str, key: str = 'coco/bbox_mAP') -> str:
    """``arm`` − ``ref`` in ``key`` over the seeds both ran (paired: the same seed, the same
    real subset and initialisation): mean ± standard error, and whether it exceeds 2 s.e."""
    a = {r['seed']: r['test'].get(key) for r in runs[arm]}
    b = {r['seed']: r['test'].get(key) for r in runs[ref]}
    d = [a[s] - b[s] for s in sorted(set(a) & set(b)) if a[s] is not None and b[s] is not None]
    if len(d) < 2:
        return f'{arm} − {ref}: fewer than 2 paired seeds'
    mean, se = statistics.fmean(d), statistics.stdev(d) / math.sqrt(len(d))
    return (f"{arm} − {ref} {mean:+.3f} ± {se:.3f} s.e. ({len(d)} seeds; "
            f"{'beyond' if abs(mean) > 2 * se else 'within'} 2 s.e.)")


def fmt_mean_std(r: dict) -> str:
    """A :func:`summarize` row's ``mean ± std`` (``n/a`` when no seed has a number)."""
    return 'n/a' if r['mean'] is None else f"{r['mean']:.3f} ± {r['std']:.3f}"


def fmt_delta(r: dict) -> tuple[str, str]:
    """A :func:`summarize` row's Δ to the baseline and whether it exceeds 2 s.e. (``–``: the
    baseline itself, or too few seeds)."""
    d = f"{r['delta']:+.3f}" if 'delta' in r else '–'
    s = ('yes' if r['significant'] else 'no') if 'significant' in r else '–'
    return d, s


def summary_table(rows: list[dict], metric: str = 'test bbox mAP', base: str = 'real') -> list:
    """The one mean ± std table of every protocol: arm, metric, seeds, Δ, > 2 s.e.?"""
    lines = [f'| arm | {metric} (mean ± std) | seeds | Δ vs {base} | > 2 s.e.? |',
             '| --- | --- | --- | --- | --- |']
    for r in rows:
        d, s = fmt_delta(r)
        lines.append(f"| {r['arm']} | {fmt_mean_std(r)} | {r['n']} | {d} | {s} |")
    return lines
