"""The synthesis skeleton every mode shares: plan → generate and label → write → merge.

Synthesis is **sources × sampler × labeller**: a mode (DiffusionEngine, text-to-image,
InstaGen, DetDiffusion) says what each image is made from (its ``sources``: reference images,
category names, layouts) and draws a batch with the shared sampler (the
:class:`~diffdet_plugin.ldm.SamplingSettings` every mode's config inherits); its
:class:`~.labellers.Labeller` boxes the batch. This base owns the rest of a run::

    tools/synthesize.py CONFIG --checkpoint CKPT --out DIR
      └ build_synthesizer(cfg)        synthesis.mode → SYNTHESIZERS → mode.from_config()
          └ BaseSynthesizer.run()
              1. round 0 plan                       balance.base_batches
              2. this rank's unfinished batches     (batch % world_size == rank, no record yet)
              3. per batch: mode.generate_batch()   → BatchOutput (images, labels, the
                 mode's record fields)              mode.label_batch → labeller.label
              4. boxes kept (score ≥ score_thr, inside the image), image + batch record
                 written (the mode's fields, then   coco_writer.ShardWriter / image_record /
                 the sampler's, the LDM's and the   annotation_records
                 labeller's)
              5. balance rounds                     balance.plan_round (rank 0 plans, barrier)
              6. rank 0 merges the shards           coco_writer.merge_shards (+ contact sheet)

Everything is deterministic in (config, seed, batch index), independent of the number
of ranks and of interruptions: a killed run restarted with the same command ends with
exactly the data an uninterrupted run makes.
"""
from __future__ import annotations

import json
import os.path as osp
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import print_log

from ..ldm.sampling import SamplingSettings
from ..registry import SYNTHESIZERS
from ..utils.sharded_job import ShardedJob
from .balance import base_batches, count_boxes, plan_round
from .coco_writer import (ShardWriter, annotation_records, atomic_write_json, image_record,
                          load_batch_records, merge_shards)


def item_seed(seed: int, item: int) -> int:
    """The noise seed of synthesis item ``item`` of a run with seed ``seed``."""
    return int(np.random.SeedSequence([seed, 1, item]).generate_state(1)[0])


#: what every image record says of the LDM that drew it (after the sampler's fields)
LDM_RECORD_FIELDS = ('ldm', 'ldm_fingerprint')


@dataclass
class SynthesisConfig(SamplingSettings):
    """The settings every synthesis mode has (the sampler's included); a mode's config
    subclasses this one.

    ``FIELD_ORDER`` (optional) fixes the key order of :meth:`to_dict` (the provenance
    written into every COCO file), so a mode can list its settings like its paper's table.
    """
    num_images: int = 1000
    batch_size: int = 4
    seed: int = 0
    score_thr: float = 0.3
    keep_negatives: bool = True  # keep images without any box (pure background)
    balance: dict = field(default_factory=dict)  # min_per_category, max_images, ...
    contact_sheet: dict = field(default_factory=lambda: dict(num_images=16, cols=4))
    jpeg_quality: int = 95
    with_labels: bool = True  # False: images only (to measure what labelling costs)

    FIELD_ORDER: ClassVar[tuple] = ()

    @classmethod
    def from_dict(cls, d: dict) -> 'SynthesisConfig':
        d = {k: v for k, v in d.items() if k != 'mode'}  # the mode chose this class
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise KeyError(f'Unknown synthesis config keys {sorted(unknown)}; valid keys: '
                           f'{sorted(known)}')
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def validate(self):
        """Raise one clear error for a bad setting (a mode adds its own checks)."""

    def to_dict(self) -> dict:
        names = [f.name for f in fields(self)]
        keys = self.FIELD_ORDER or names
        assert sorted(keys) == sorted(names), 'FIELD_ORDER must list every field once'
        return json.loads(json.dumps({k: getattr(self, k) for k in keys}, default=str))


@dataclass
class Generated:
    """One generated image and its labels, as a mode hands it to the skeleton."""
    item: int
    image: torch.Tensor  # (3, H, W) float in [0, 255]
    result: object  # InstanceData: bboxes (N, 4) xyxy px, scores (N,), labels (N,); or None
    fields: dict  # the mode's RECORD_FIELDS of the image record (prompt, seed, ...)
    source: dict  # names the item's source in a failure record (e.g. ref_image_id, ref_file)


@dataclass
class BatchOutput:
    generated: list  # [Generated]
    failures: list = field(default_factory=list)  # items that could not even be generated
    fields: dict = field(default_factory=dict)  # extra keys of the batch record


class BaseSynthesizer(ABC):
    """Runs the synthesis of one rank into ``out_dir`` (see the module docstring).

    A mode sets ``self.sources`` (each with ``class_names``, for balancing), ``self.ldm``
    (the LDM that draws) and ``self.labeller`` (a :class:`~.labellers.Labeller`), declares its
    own image-record fields once (``RECORD_FIELDS``) and implements :meth:`generate_batch` and
    :meth:`from_config`; the skeleton writes the LDM's identity and the labeller's provenance.

    Args:
        cfg: the mode's :class:`SynthesisConfig`.
        classes: class names (category ids 1..K in this order).
        out_dir: output folder (layout: :mod:`.coco_writer`).
    """
    config_class: ClassVar[type] = SynthesisConfig
    #: the mode's own fields of every image record, in record order
    RECORD_FIELDS: ClassVar[tuple] = ()
    #: the :class:`~.labellers.Labeller` class the mode labels with
    labeller_class: ClassVar[type] = None
    sources: list = ()
    ldm = labeller = None

    def __init__(self, cfg, classes, out_dir: str):
        self.cfg = self.parse_config(cfg)
        self.classes = list(classes)
        self.categories = [dict(id=i + 1, name=n) for i, n in enumerate(self.classes)]
        self.out_dir = out_dir
        self.rank, self.world_size = get_dist_info()
        self.writer = ShardWriter(out_dir, self.rank, self.cfg.jpeg_quality)
        self.job = ShardedJob(self.writer.shards, self.rank, self.world_size)

    @classmethod
    def parse_config(cls, cfg):
        """``cfg`` as the mode's config class (a dict is parsed and validated)."""
        return cfg if isinstance(cfg, cls.config_class) else cls.config_class.from_dict(dict(cfg))

    @classmethod
    def record_fields(cls) -> tuple:
        """Every key of the mode's image records after ``id``, ``file_name``, ``width``,
        ``height`` and before ``synthesis_item``: the mode's, the sampler's, the LDM's, the
        labeller's."""
        return (cls.RECORD_FIELDS + SamplingSettings.RECORD_FIELDS + LDM_RECORD_FIELDS
                + cls.labeller_class.IMAGE_FIELDS)

    # ------------------------------------------------------------ the mode's part
    @classmethod
    @abstractmethod
    def from_config(cls, cfg, synthesis: dict, checkpoint: str | None, out_dir: str,
                    device: str) -> 'BaseSynthesizer':
        """Build the mode from a config (its models) and its ``synthesis`` dict (what
        ``tools/synthesize.py`` calls)."""

    @abstractmethod
    def generate_batch(self, batch_index: int, items: list[tuple[int, int]]) -> BatchOutput:
        """Generate the images of ``items`` ((item, source index) pairs) and label them
        (:meth:`label_batch`)."""

    def label_batch(self, batch) -> list:
        """The labeller's results for a :class:`~.labellers.LabelBatch` (``None`` per image
        when ``with_labels=False``: images only, to measure what labelling costs)."""
        return self.labeller.label(batch) if self.cfg.with_labels else [None] * len(batch)

    def provenance(self) -> dict:
        """The models that made the data: the LDM's identity, then the labeller's
        provenance (the start of ``info``)."""
        return dict(ldm=self.ldm.source, ldm_fingerprint=self.ldm.fingerprint,
                    **self.labeller.provenance())

    def run_stats(self) -> dict:
        """Counters of this rank added to the run's summary."""
        return {}

    # ------------------------------------------------------------------- run
    @property
    def info(self) -> dict:
        """The run's provenance, the ``info`` of the merged COCO file."""
        return dict(self.provenance(), classes=self.classes, synthesis=self.cfg.to_dict())

    def run_settings(self, num_images: int | None, synthesis: dict) -> dict:
        """What a run in ``out_dir`` must keep to be continued (``run.json``): the settings,
        and the identity of the models that make and label the data (the LDM's fingerprint,
        the labeller checkpoint's sha256)."""
        prov = self.provenance()
        settings = dict(synthesis={k: v for k, v in synthesis.items() if k != 'num_images'},
                        num_images=num_images or self.cfg.num_images, classes=self.classes,
                        ldm_fingerprint=prov.get('ldm_fingerprint'),
                        labeller_sha256=[v for k, v in sorted(prov.items())
                                         if k.endswith('sha256')])
        return json.loads(json.dumps(settings, default=str))

    def check_resume(self, settings: dict, resume: bool):
        """Refuse to continue a run in ``out_dir`` made with other settings (unless
        ``resume``), and always one made with other classes, another LDM or labeller."""
        self.job.check_identity(
            settings, what=self.out_dir, job='a synthesis run', fix='Use another --out',
            fixed=('classes', 'ldm_fingerprint', 'labeller_sha256'),
            fixed_name='class list, LDM or labelling checkpoint', resume=resume,
            resume_hint='--resume')
        self.writer.shards.write_identity(settings)
        self._resume_checked = True

    def _info_with_earlier_settings(self) -> dict:
        """:attr:`info`; for a run continued with other settings (``--resume``) it also
        lists every earlier ``synthesis`` block that made images of the folder, oldest first
        (``earlier_synthesis``), so the file-level info never claims the new settings made
        the old images (each image record keeps its own seed)."""
        info = self.info
        path = osp.join(self.out_dir, 'info.json')
        if not osp.isfile(path):
            return info
        with open(path) as f:
            old = json.load(f)
        earlier = list(old.get('earlier_synthesis', []))

        def key(block):  # a larger --num-images continues the same run
            return {k: v for k, v in block.items() if k != 'num_images'}
        norm = json.loads(json.dumps(info['synthesis'], default=str))
        prev = old.get('synthesis')
        if prev is not None and key(prev) != key(norm) and \
                key(prev) not in [key(b) for b in earlier]:
            earlier.append(prev)
        return dict(info, earlier_synthesis=earlier) if earlier else info

    def run(self, num_images: int | None = None, progress: bool = True,
            resume: bool = False) -> dict:
        """Synthesize (resuming whatever is already in ``out_dir``); rank 0 merges.

        Unless the caller already ran :meth:`check_resume` (as ``tools/synthesize.py`` does
        with the config file's own dict), it runs here first with :attr:`cfg`'s settings: no
        caller can continue a folder made with another LDM, labeller or class list.
        """
        t0 = time.time()
        num_images = self.cfg.num_images if num_images is None else num_images
        if not getattr(self, '_resume_checked', False):
            # (without num_images: a larger count continues the same run)
            settings = self.run_settings(None, self.cfg.to_dict())
            settings.pop('num_images', None)
            self.check_resume(settings, resume)
        info = self._info_with_earlier_settings()
        if self.rank == 0:
            atomic_write_json(osp.join(self.out_dir, 'info.json'), info, indent=2)
        rounds = [base_batches(num_images, self.cfg.batch_size, len(self.sources))]
        self._process(rounds[0], self._done(), progress, 'round 0')
        bound = self.cfg.balance.get('min_per_category', 0)
        k = 0
        while bound > 0:
            k += 1
            barrier()
            plan_path = osp.join(self.out_dir, 'plan', f'round_{k:04d}.json')
            last = [b for r in rounds for b in r]
            next_batch = max(b['batch'] for b in last) + 1 if last else 0
            next_item = max((i for b in last for i, _ in b['items']), default=-1) + 1
            if self.rank == 0 and not osp.isfile(plan_path):
                atomic_write_json(plan_path, plan_round(
                    k, load_batch_records(self.out_dir), [s.class_names for s in self.sources],
                    self.classes, self.cfg.balance, self.cfg.batch_size, self.world_size,
                    next_batch, next_item))
            barrier()
            with open(plan_path) as f:
                plan = json.load(f)
            print_log(f'balance round {k}: counts {plan["counts"]}; below {bound}: '
                      f'{plan["deficient"]}', logger='current')
            if plan.get('stop'):
                print_log(f'category balance stops: {plan["stop"]}', logger='current')
                break
            rounds.append(plan['batches'])
            self._process(plan['batches'], self._done(), progress, f'round {k}')
        summary = self.job.finish(self.merge)  # rank 0, once every rank is done
        if summary is not None:
            summary['wall_time_s'] = round(time.time() - t0, 1)
            summary.update(self.run_stats())
        return summary

    def merge(self, records: dict | None = None) -> dict:
        """The shards → ``annotations.json`` (+ the contact sheet); the run's summary."""
        summary = merge_shards(self.out_dir, self._info_with_earlier_settings(), records)
        sheet = self.cfg.contact_sheet or {}
        if sheet.get('num_images', 0) > 0:
            from .contact_sheet import write_contact_sheet
            summary['contact_sheet'] = write_contact_sheet(
                self.out_dir, num_images=sheet['num_images'], cols=sheet.get('cols', 4))
        return summary

    def _done(self) -> dict[int, list]:
        """Finished batches: index → items (a batch whose planned items changed is redone)."""
        return {b: rec['items'] for b, rec in load_batch_records(self.out_dir).items()}

    def _process(self, batches, done, progress, title):
        mine = [b for b in self.job.mine(batches, lambda b: b['batch'])
                if done.get(b['batch']) != [list(x) for x in b['items']]]
        if not mine:
            return
        from mmengine.utils import ProgressBar
        bar = ProgressBar(sum(len(b['items']) for b in mine)) if progress else None
        written = {}
        for i, b in enumerate(mine):
            rec = self.synthesize_batch(b['batch'], [tuple(x) for x in b['items']])
            written[b['batch']] = rec
            if bar is not None:
                for _ in b['items']:
                    bar.update()
            if (i + 1) % 10 == 0 or i + 1 == len(mine):
                print_log(f'\n[{title}] rank {self.rank}: {i + 1}/{len(mine)} batches; boxes per '
                          f'category: {count_boxes(written, self.classes)}', logger='current')

    # ------------------------------------------------------------- one batch
    @torch.no_grad()
    def synthesize_batch(self, batch_index: int, items: list[tuple[int, int]]) -> dict:
        """Generate, label and write one batch; returns its committed record."""
        out = self.generate_batch(batch_index, items)
        record = dict(items=[list(x) for x in items], categories=self.categories, images=[],
                      annotations=[], failures=list(out.failures), **out.fields)
        for g in out.generated:
            self._add(record, g)
        self.writer.commit_batch(batch_index, record)
        return record

    def _add(self, record: dict, g: Generated):
        """Keep ``g``'s boxes with score ≥ ``score_thr`` inside the image; write it."""
        cfg = self.cfg
        h, w = g.image.shape[-2:]
        r = g.result
        if r is None or not cfg.with_labels:
            boxes, scores, labels = torch.zeros(0, 4), torch.zeros(0), torch.zeros(0).long()
        else:
            boxes, scores = r.bboxes.float().cpu(), r.scores.float().cpu()
            labels = r.labels.cpu()
        if not (torch.isfinite(g.image).all() and torch.isfinite(boxes).all()
                and torch.isfinite(scores).all()):
            record['failures'].append(dict(item=g.item, **g.source, reason='non-finite values '
                                           'in the generated image or its boxes'))
            return
        keep = scores >= cfg.score_thr
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
        valid = ((boxes[:, 2:] - boxes[:, :2]) > 0).all(1)
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        if len(boxes) == 0 and not cfg.keep_negatives:
            record['failures'].append(dict(item=g.item, **g.source, reason=f'no box with score '
                                           f'>= {cfg.score_thr} (keep_negatives=False)',
                                           skipped_negative=True))
            return
        image_id = g.item + 1
        if tuple(g.fields) != self.RECORD_FIELDS:
            raise AssertionError(f'{type(self).__name__} wrote the record fields '
                                 f'{tuple(g.fields)}, not its RECORD_FIELDS {self.RECORD_FIELDS}')
        rec = image_record(image_id, w, h, **g.fields, **self.cfg.record_fields(),
                           ldm=self.ldm.source, ldm_fingerprint=self.ldm.fingerprint,
                           **self.labeller.image_fields(), synthesis_item=g.item)
        self.writer.write_image(rec['file_name'], g.image.permute(1, 2, 0).byte().cpu().numpy())
        record['images'].append(rec)
        record['annotations'].extend(annotation_records(image_id, boxes, scores, labels))


def build_synthesizer(cfg, checkpoint: str | None, out_dir: str, device: str = 'cpu',
                      **overrides) -> BaseSynthesizer:
    """The mode named by ``cfg.synthesis.mode`` (default ``diffusion_engine``), built from
    the config; ``overrides`` replace ``synthesis`` keys."""
    if 'synthesis' not in cfg:
        raise KeyError('The config has no `synthesis` dict: use a synthesis config, e.g. '
                       'configs/diffusion_engine/de_synth_coco_sd2-base.py')
    syn = cfg.synthesis.to_dict() if hasattr(cfg.synthesis, 'to_dict') else dict(cfg.synthesis)
    syn.update({k: v for k, v in overrides.items() if v is not None})
    mode = syn.pop('mode', 'diffusion_engine')
    if mode not in SYNTHESIZERS:
        raise KeyError(f'Unknown synthesis.mode {mode!r}; registered modes: '
                       f'{sorted(SYNTHESIZERS.module_dict)}')
    return SYNTHESIZERS.get(mode).from_config(cfg, syn, checkpoint, out_dir, device)
