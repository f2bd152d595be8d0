"""DiffusionEngine synthesis: generate images from references and label them in one pass.

DiffusionEngine (arXiv 2309.03893), Sec. 3.3. Per batch of B reference images:

1. prompts: caption, or ``A [domain], with [cls-a], ... in the [domain].`` (+ the
   photo suffix); negative prompt for the unconditional half;
2. encode ratio: k ~ U{⌊N·0.3⌋ .. N} denoising steps of N = 30 (r = k / N; one
   draw per batch, as the official code does; r = 1 is text-to-image);
3. references resized (short side ~ U[512, 1024]) and randomly cropped within 768²;
4. DPM-Solver++ img2img with CFG (w = 7.5), both halves in one UNet call
   (:func:`diffdet_plugin.ldm.img2img_denoise`);
5. the Detection-Adapter labels the features of the **final** UNet call, read by
   the adapter backbone's own taps (conditional half by default): no second pass;
6. boxes with score < δ = 0.3 dropped; images and labels written as shards
   (:mod:`.coco_writer`), merged into COCO at the end.

Everything is deterministic in (config, seed, batch index), independent of
how many ranks run and of interruptions, so a killed run restarted with the
same command ends with exactly the data an uninterrupted run makes.
"""
from __future__ import annotations

import hashlib
import json
import math
import os.path as osp
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import print_log

from ..ldm import build_sampling_scheduler, img2img_denoise
from .coco_writer import (ShardWriter, atomic_write_json, image_file_name, load_batch_records,
                          merge_shards)
from .labeler import make_data_samples, predict_from_backbone_features
from .prompts import PromptBuilder
from .references import batch_geometry, load_references, read_rgb, resize_and_crop


@dataclass
class SynthesisConfig:
    """Every synthesis hyper-parameter, with DiffusionEngine's defaults."""
    reference: dict = field(default_factory=dict)  # ann_file, img_dir, caption_file
    prompt: dict = field(default_factory=dict)  # PromptBuilder arguments
    num_images: int = 1000
    batch_size: int = 4
    seed: int = 0
    scheduler: str = 'DPMSolverMultistepScheduler'
    scheduler_kwargs: dict = field(default_factory=dict)
    num_inference_steps: int = 30
    guidance_scale: float = 7.5
    encode_ratio: tuple = (0.3, 1.0)
    resize_range: tuple = (512, 1024)
    crop_max: tuple = (768, 768)
    size_divisor: int = 64
    score_thr: float = 0.3
    label_half: str = 'cond'
    keep_negatives: bool = True
    balance: dict = field(default_factory=dict)  # min_per_category, max_images, batches_per_round
    contact_sheet: dict = field(default_factory=lambda: dict(num_images=16, cols=4))
    jpeg_quality: int = 95
    with_labels: bool = True  # False: images only (to measure what labelling costs)

    @classmethod
    def from_dict(cls, d: dict) -> 'SynthesisConfig':
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise KeyError(f'Unknown synthesis config keys {sorted(unknown)}; valid keys: '
                           f'{sorted(known)}')
        cfg = cls(**d)
        for key in ('ann_file', 'img_dir'):
            if key not in cfg.reference:
                raise KeyError(f'synthesis.reference.{key} is missing: the reference images come '
                               'from a COCO-format dataset, e.g. reference=dict(ann_file='
                               "'data/coco/annotations/instances_train2017.json', "
                               "img_dir='data/coco/train2017/')")
        if cfg.label_half not in ('cond', 'uncond'):
            raise ValueError(f"synthesis.label_half must be 'cond' or 'uncond', got {cfg.label_half!r}")
        return cfg


def _no_boxes():
    from mmengine.structures import InstanceData
    return InstanceData(bboxes=torch.zeros(0, 4), scores=torch.zeros(0),
                        labels=torch.zeros(0, dtype=torch.long))


def _item_seed(seed: int, item: int) -> int:
    return int(np.random.SeedSequence([seed, 1, item]).generate_state(1)[0])


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


class DiffusionEngineSynthesizer:
    """Runs the synthesis of one rank into ``out_dir``.

    Args:
        detector: the Detection-Adapter (an mmdet detector whose backbone is an
            ``LDMBackbone``), checkpoint already loaded.
        cfg: a :class:`SynthesisConfig` (or its dict).
        classes: the adapter's class names (category ids 1..K in this order).
        out_dir: output folder.
        checkpoint: the adapter checkpoint path (recorded with its sha256).
    """

    def __init__(self, detector, cfg, classes, out_dir: str, checkpoint: str | None = None):
        from ..models import LDMBackbone
        if not isinstance(getattr(detector, 'backbone', None), LDMBackbone):
            raise TypeError('Synthesis needs a Detection-Adapter whose backbone is LDMBackbone; '
                            f'got {type(getattr(detector, "backbone", None)).__name__}.')
        self.cfg = cfg if isinstance(cfg, SynthesisConfig) else SynthesisConfig.from_dict(dict(cfg))
        self.detector = detector.eval()
        self.backbone = detector.backbone
        self.ldm = detector.backbone.ldm
        self.classes = list(classes)
        self.categories = [dict(id=i + 1, name=n) for i, n in enumerate(self.classes)]
        self.out_dir = out_dir
        self.rank, self.world_size = get_dist_info()
        self.checkpoint = checkpoint
        self.checkpoint_sha = file_sha256(checkpoint) if checkpoint else None
        self.references = load_references(classes=self.classes, **self.cfg.reference)
        self.prompts = PromptBuilder(**self.cfg.prompt)
        self.scheduler = build_sampling_scheduler(self.ldm, self.cfg.scheduler,
                                                  **self.cfg.scheduler_kwargs)
        self.writer = ShardWriter(out_dir, self.rank, self.cfg.jpeg_quality)
        self.unet_calls = 0
        self.device = next(detector.parameters()).device
        # a dense head drops boxes below its own test_cfg.score_thr before synthesis sees them:
        # a lower synthesis threshold (delta) must reach the head
        head_cfg = getattr(getattr(detector, 'bbox_head', None), 'test_cfg', None)
        if head_cfg is not None and head_cfg.get('score_thr', 0.0) > self.cfg.score_thr:
            print_log(f'synthesis score_thr {self.cfg.score_thr} is below the head\'s '
                      f'test_cfg.score_thr {head_cfg["score_thr"]}: lowering the head\'s',
                      logger='current')
            head_cfg['score_thr'] = self.cfg.score_thr

    # ------------------------------------------------------------------ plan
    def base_batches(self, num_images: int) -> list[dict]:
        """Round 0: items 0..num_images-1, cycling through the references."""
        b = self.cfg.batch_size
        n = len(self.references)
        return [dict(batch=k, items=[[i, i % n] for i in range(k * b, min((k + 1) * b, num_images))])
                for k in range(math.ceil(num_images / b))]

    def _counts(self) -> dict[str, int]:
        counts = {c: 0 for c in self.classes}
        for rec in load_batch_records(self.out_dir).values():
            for a in rec['annotations']:
                counts[self.classes[a['category_id'] - 1]] += 1
        return counts

    def _plan_round(self, k: int, next_batch: int, next_item: int) -> dict:
        """Rank 0's plan of balance round k (>= 1), from the counts so far."""
        bal = self.cfg.balance
        bound = bal.get('min_per_category', 0)
        counts = self._counts()
        records = load_batch_records(self.out_dir)
        n_images = sum(len(r['items']) for r in records.values())
        deficient = {c for c, n in counts.items() if n < bound}
        cap = bal.get('max_images')
        stop = None
        if not deficient:
            stop = 'every category reached the lower bound'
        elif cap is not None and n_images >= cap:
            stop = f'image cap {cap} reached'
        elif k > bal.get('max_rounds', 50):
            stop = 'max_rounds reached'
        cands = sorted((i for i, r in enumerate(self.references)
                        if deficient & set(r.class_names)),
                       key=lambda i: (-len(deficient & set(self.references[i].class_names)), i))
        if stop is None and not cands:
            stop = f'no reference image contains {sorted(deficient)}'
        plan = dict(round=k, counts=counts, deficient=sorted(deficient))
        if stop is not None:
            return dict(plan, stop=stop, batches=[])
        n_batches = bal.get('batches_per_round') or 2 * self.world_size
        if cap is not None:
            n_batches = min(n_batches, math.ceil((cap - n_images) / self.cfg.batch_size))
        b = self.cfg.batch_size
        start = (k - 1) * n_batches * b
        batches = []
        for j in range(n_batches):
            items = [[next_item + j * b + m, cands[(start + j * b + m) % len(cands)]]
                     for m in range(b)]
            batches.append(dict(batch=next_batch + j, items=items))
        return dict(plan, batches=batches)

    # ------------------------------------------------------------------ run
    def run(self, num_images: int | None = None, progress: bool = True) -> dict:
        """Synthesize (resuming whatever is already in ``out_dir``); rank 0 merges."""
        t0 = time.time()
        num_images = self.cfg.num_images if num_images is None else num_images
        if self.rank == 0:
            atomic_write_json(osp.join(self.out_dir, 'info.json'), self.info, indent=2)
        done = self._done()
        rounds = [self.base_batches(num_images)]
        self._process(rounds[0], done, progress, 'round 0')
        k = 0
        while self.cfg.balance.get('min_per_category', 0) > 0:
            k += 1
            barrier()
            plan_path = osp.join(self.out_dir, 'plan', f'round_{k:04d}.json')
            last = [b for r in rounds for b in r]
            next_batch = max(b['batch'] for b in last) + 1 if last else 0
            next_item = max((i for b in last for i, _ in b['items']), default=-1) + 1
            if self.rank == 0 and not osp.isfile(plan_path):
                atomic_write_json(plan_path, self._plan_round(k, next_batch, next_item))
            barrier()
            with open(plan_path) as f:
                plan = json.load(f)
            print_log(f'balance round {k}: counts {plan["counts"]}; below '
                      f'{self.cfg.balance["min_per_category"]}: {plan["deficient"]}',
                      logger='current')
            if plan.get('stop'):
                print_log(f'category balance stops: {plan["stop"]}', logger='current')
                break
            rounds.append(plan['batches'])
            done = self._done()
            self._process(plan['batches'], done, progress, f'round {k}')
        barrier()
        summary = None
        if self.rank == 0:
            summary = self.merge()
            summary['wall_time_s'] = round(time.time() - t0, 1)
            summary['unet_calls_this_rank'] = self.unet_calls
        barrier()
        return summary

    @property
    def info(self) -> dict:
        """The run's provenance, the ``info`` of the merged COCO file."""
        return dict(ldm=self.ldm.source, ldm_fingerprint=self.ldm.fingerprint,
                    adapter_checkpoint=self.checkpoint, adapter_sha256=self.checkpoint_sha,
                    classes=self.classes,
                    synthesis=json.loads(json.dumps(self.cfg.__dict__, default=str)))

    def merge(self) -> dict:
        summary = merge_shards(self.out_dir, self.info)
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
        mine = [b for b in batches if b['batch'] % self.world_size == self.rank
                and done.get(b['batch']) != [list(x) for x in b['items']]]
        if not mine:
            return
        from mmengine.utils import ProgressBar
        bar = ProgressBar(sum(len(b['items']) for b in mine)) if progress else None
        counts = {c: 0 for c in self.classes}
        for i, b in enumerate(mine):
            rec = self.synthesize_batch(b['batch'], [tuple(x) for x in b['items']])
            for a in rec['annotations']:
                counts[self.classes[a['category_id'] - 1]] += 1
            if bar is not None:
                for _ in b['items']:
                    bar.update()
            if (i + 1) % 10 == 0 or i + 1 == len(mine):
                print_log(f'\n[{title}] rank {self.rank}: {i + 1}/{len(mine)} batches; boxes per '
                          f'category: {counts}', logger='current')

    # ------------------------------------------------------------- one batch
    def batch_params(self, batch_index: int):
        """The batch's encode ratio draw and its geometry RNG (deterministic)."""
        rng = np.random.default_rng([self.cfg.seed, 0, batch_index])
        n = self.cfg.num_inference_steps
        lo, hi = self.cfg.encode_ratio
        steps = int(rng.integers(max(1, int(n * lo)), int(n * hi) + 1))
        return steps, rng

    @torch.no_grad()
    def synthesize_batch(self, batch_index: int, items: list[tuple[int, int]]) -> dict:
        """Generate, label and write one batch; returns its committed record."""
        steps, rng = self.batch_params(batch_index)
        failures, ok = [], []
        for item, ref_idx in items:
            ref = self.references[ref_idx]
            try:
                ok.append((item, ref, read_rgb(ref.path)))
            except Exception as e:  # noqa: BLE001 -- recorded and skipped
                failures.append(dict(item=item, ref_image_id=ref.image_id, ref_file=ref.path,
                                     reason=f'unreadable reference image: {type(e).__name__}: {e}'))
        record = dict(items=[list(x) for x in items], categories=self.categories, images=[],
                      annotations=[], failures=failures, denoising_steps=steps)
        if ok:
            self._generate(batch_index, steps, rng, ok, record)
        self.writer.commit_batch(batch_index, record)
        return record

    def _generate(self, batch_index, steps, rng, ok, record):
        cfg, ldm = self.cfg, self.ldm
        crop, geo = batch_geometry(rng, [img.shape[:2] for _, _, img in ok], cfg.resize_range,
                                   cfg.crop_max, cfg.size_divisor)
        x = np.stack([resize_and_crop(img, r, o, crop) for (_, _, img), (r, o) in zip(ok, geo)])
        x = torch.from_numpy(x).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(self.device)
        n = cfg.num_inference_steps
        B = len(ok)
        seeds = [_item_seed(cfg.seed, item) for item, _, _ in ok]
        lat_shape = (ldm.latent_channels, crop[0] // ldm.latent_stride, crop[1] // ldm.latent_stride)
        noise = torch.stack([torch.randn(lat_shape, generator=torch.Generator().manual_seed(s))
                             for s in seeds])
        prompts = [self.prompts(ref.class_names, ref.caption) for _, ref, _ in ok]
        cond = ldm.encode_prompt([p for p, _ in prompts])
        uncond = ldm.encode_prompt([neg for _, neg in prompts])
        ref_latents = ldm.encode_images(x) if steps < n else None

        taps = self.backbone.taps
        calls_before = taps.calls
        taps.clear()
        latents = img2img_denoise(ldm, self.scheduler, ref_latents, noise, cond, uncond,
                                  steps / n, n, cfg.guidance_scale)
        self.unet_calls += taps.calls - calls_before
        assert taps.calls - calls_before == steps, 'one UNet call per denoising step'
        # The final step's features, read from the same UNet call that made the image.
        pyramid = taps.pyramid(crop)
        taps.clear()
        half = slice(B, 2 * B) if cfg.label_half == 'cond' else slice(0, B)
        feats = tuple(f[half].float() for f in pyramid)
        images = ((ldm.decode_latents(latents).float() + 1) * 127.5).round().clamp(0, 255)
        if cfg.with_labels:
            results = predict_from_backbone_features(self.detector, feats,
                                                     make_data_samples(B, crop))
        else:
            results = [_no_boxes() for _ in range(B)]
        for j, (item, ref, _) in enumerate(ok):
            self._record_item(record, item, ref, seeds[j], prompts[j], steps, crop,
                              images[j], results[j])

    def _record_item(self, record, item, ref, seed, prompt, steps, crop, image, result):
        cfg = self.cfg
        boxes, scores = result.bboxes.float().cpu(), result.scores.float().cpu()
        labels = result.labels.cpu()
        if not (torch.isfinite(image).all() and torch.isfinite(boxes).all()
                and torch.isfinite(scores).all()):
            record['failures'].append(dict(item=item, ref_image_id=ref.image_id, ref_file=ref.path,
                                           reason='non-finite values in the generated image or '
                                           'its boxes'))
            return
        keep = scores >= cfg.score_thr
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        h, w = crop
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
        wh = boxes[:, 2:] - boxes[:, :2]
        valid = (wh > 0).all(1)
        boxes, scores, labels, wh = boxes[valid], scores[valid], labels[valid], wh[valid]
        if len(boxes) == 0 and not cfg.keep_negatives:
            record['failures'].append(dict(item=item, ref_image_id=ref.image_id, ref_file=ref.path,
                                           reason=f'no box with score >= {cfg.score_thr} '
                                           '(keep_negatives=False)', skipped_negative=True))
            return
        image_id = item + 1
        file_name = image_file_name(image_id)
        self.writer.write_image(file_name, image.permute(1, 2, 0).byte().cpu().numpy())
        record['images'].append(dict(
            id=image_id, file_name=file_name, width=w, height=h, ref_image_id=ref.image_id,
            ref_file_name=ref.file_name, prompt=prompt[0], negative_prompt=prompt[1], seed=seed,
            encode_ratio=steps / cfg.num_inference_steps, denoising_steps=steps,
            guidance_scale=cfg.guidance_scale, num_inference_steps=cfg.num_inference_steps,
            scheduler=cfg.scheduler, ldm=self.ldm.source, ldm_fingerprint=self.ldm.fingerprint,
            adapter_checkpoint=self.checkpoint, adapter_sha256=self.checkpoint_sha,
            synthesis_item=item))
        for r, (box, score, label, (bw, bh)) in enumerate(zip(boxes.tolist(), scores.tolist(),
                                                               labels.tolist(), wh.tolist())):
            bbox = [round(box[0], 2), round(box[1], 2), round(bw, 2), round(bh, 2)]
            record['annotations'].append(dict(
                image_id=image_id, category_id=int(label) + 1, bbox=bbox,
                area=round(bbox[2] * bbox[3], 4), iscrowd=0, score=round(score, 4),
                rank_in_image=r))


def synthesize_with_config(detector, classes, config_file: str, out_dir: str,
                           num_images: int, checkpoint: str | None = None,
                           reference: dict | None = None, **overrides) -> dict:
    """Run the ``synthesis`` dict of a config file with an already loaded adapter.

    ``reference`` (``ann_file``, ``img_dir``, ``caption_file``) and ``overrides`` (any
    :class:`SynthesisConfig` key, e.g. ``score_thr``) replace the config's values. Used by
    ``tools/demo.py`` and the quality benchmark; ``tools/synthesize.py`` is the CLI.
    """
    from mmengine.config import Config
    syn = Config.fromfile(config_file).synthesis.to_dict()
    if reference is not None:
        syn['reference'] = dict(reference)
    syn.update({k: v for k, v in overrides.items() if v is not None})
    engine = DiffusionEngineSynthesizer(detector.eval(), SynthesisConfig.from_dict(syn), classes,
                                        out_dir, checkpoint=checkpoint)
    with torch.no_grad():
        return engine.run(num_images)
