"""DiffusionEngine synthesis: generate images from references and label them in one pass.

DiffusionEngine (arXiv 2309.03893), Sec. 3.3. Per batch of B reference images:

1. prompts: caption, or ``A [domain], with [cls-a], ... in the [domain].`` (+ the
   photo suffix); negative prompt for the unconditional half;
2. encode ratio: k ~ U{⌊N·0.3⌋ .. N} denoising steps of N = 30 (r = k / N; one
   draw per batch, as the official code does; r = 1 is text-to-image);
3. references resized (short side ~ U[512, 1024]) and randomly cropped within 768²;
4. DPM-Solver++ img2img with CFG (w = 7.5), both halves in one UNet call
   (:func:`diffdet_plugin.ldm.img2img_denoise`);
5. the Detection-Adapter labels the final latent z0 in the feature regime it was trained
   in (:class:`~.labellers.AdapterLabeller`; ``label_features='adapter'``, the default: one
   extra UNet pass exactly as ``LDMBackbone`` runs in training, +1 UNet call per batch;
   ``'final_call'`` and ``'decoded'`` are kept for comparison);
6. (the skeleton) boxes with score < δ = 0.3 dropped; images and labels written
   as shards (:mod:`.coco_writer`), merged into COCO at the end.

This module is the mode ``diffusion_engine`` of the synthesis skeleton
(:mod:`.base`), which plans, balances, writes, resumes and merges; it says only
what an image is made from and how a batch is drawn (steps 1-4:
:meth:`DiffusionEngineSynthesizer.generate_batch`); its labeller does step 5.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..ldm import img2img_denoise
from ..registry import SYNTHESIZERS
from .base import BaseSynthesizer, BatchOutput, Generated, SynthesisConfig, item_seed
from .labellers import LABEL_FEATURES, AdapterLabeller, LabelBatch
from .prompts import PromptBuilder
from .references import batch_geometry, load_references, read_rgb, resize_and_crop


@dataclass
class DiffusionEngineConfig(SynthesisConfig):
    """Every DiffusionEngine synthesis hyper-parameter, with the paper's defaults."""
    reference: dict = field(default_factory=dict)  # ann_file, img_dir, caption_file
    prompt: dict = field(default_factory=dict)  # PromptBuilder arguments
    encode_ratio: tuple = (0.3, 1.0)
    resize_range: tuple = (512, 1024)
    crop_max: tuple = (768, 768)
    size_divisor: int = 64
    label_features: str = 'adapter'
    label_half: str = 'cond'
    allow_regime_mismatch: bool = False

    FIELD_ORDER = (
        'reference', 'prompt', 'num_images', 'batch_size', 'seed', 'scheduler',
        'scheduler_kwargs', 'num_inference_steps', 'guidance_scale', 'encode_ratio',
        'resize_range', 'crop_max', 'size_divisor', 'score_thr', 'label_features', 'label_half',
        'allow_regime_mismatch', 'keep_negatives', 'balance', 'contact_sheet', 'jpeg_quality',
        'with_labels')

    def validate(self):
        for key in ('ann_file', 'img_dir'):
            if key not in self.reference:
                raise KeyError(f'synthesis.reference.{key} is missing: the reference images come '
                               'from a COCO-format dataset, e.g. reference=dict(ann_file='
                               "'data/coco/annotations/instances_train2017.json', "
                               "img_dir='data/coco/train2017/')")
        if self.label_half not in ('cond', 'uncond'):
            raise ValueError("synthesis.label_half must be 'cond' or 'uncond', got "
                             f'{self.label_half!r}')
        if self.label_features not in LABEL_FEATURES:
            raise ValueError(f'synthesis.label_features must be one of {LABEL_FEATURES}, got '
                             f'{self.label_features!r}')


@SYNTHESIZERS.register_module(name='diffusion_engine')
class DiffusionEngineSynthesizer(BaseSynthesizer):
    """DiffusionEngine: img2img from reference images, labelled by the Detection-Adapter.

    Args:
        detector: the Detection-Adapter (an mmdet detector whose backbone is an
            ``LDMBackbone``), checkpoint already loaded.
        cfg: a :class:`DiffusionEngineConfig` (or its dict).
        classes: the adapter's class names (category ids 1..K in this order).
        out_dir: output folder.
        checkpoint: the adapter checkpoint path (recorded with its sha256).
    """
    config_class = DiffusionEngineConfig
    #: the mode's own fields of an image record (the sampler's, the LDM's and the
    #: labeller's follow, written by the skeleton)
    RECORD_FIELDS = ('ref_image_id', 'ref_file_name', 'prompt', 'negative_prompt', 'seed',
                     'encode_ratio', 'denoising_steps')
    labeller_class = AdapterLabeller

    def __init__(self, detector, cfg, classes, out_dir: str, checkpoint: str | None = None):
        cfg = self.parse_config(cfg)
        labeller = AdapterLabeller(detector, checkpoint, cfg.label_features, cfg.label_half)
        super().__init__(cfg, classes, out_dir)
        self.labeller, self.detector, self.backbone = labeller, detector, labeller.backbone
        self.ldm = labeller.backbone.ldm
        self.references = self.sources = load_references(classes=self.classes,
                                                         **self.cfg.reference)
        self.prompts = PromptBuilder(**self.cfg.prompt)
        self.scheduler = self.cfg.build_scheduler(self.ldm)
        self.unet_calls = 0
        self.device = next(detector.parameters()).device
        labeller.check_regime(self.scheduler, self.cfg.num_inference_steps,
                              self.prompts(['object'], None)[1], self.cfg.allow_regime_mismatch)
        labeller.lower_score_thr(self.cfg.score_thr)

    @classmethod
    def from_config(cls, cfg, synthesis: dict, checkpoint, out_dir, device='cpu'):
        """The adapter of ``cfg.model`` with ``checkpoint`` (strict), its classes checked."""
        syn_cfg = DiffusionEngineConfig.from_dict(synthesis)
        # refuse a mismatching adapter before any work: LDM (checked while loading), classes
        labeller, classes = AdapterLabeller.from_config(cfg, checkpoint, device)
        return cls(labeller.detector, syn_cfg, classes, out_dir, checkpoint)

    def run_stats(self) -> dict:
        return dict(unet_calls_this_rank=self.unet_calls)

    # ------------------------------------------------------------- one batch
    def batch_params(self, batch_index: int):
        """The batch's encode ratio draw and its geometry RNG (deterministic)."""
        rng = np.random.default_rng([self.cfg.seed, 0, batch_index])
        n = self.cfg.num_inference_steps
        lo, hi = self.cfg.encode_ratio
        steps = int(rng.integers(max(1, int(n * lo)), int(n * hi) + 1))
        return steps, rng

    @torch.no_grad()
    def generate_batch(self, batch_index: int, items: list[tuple[int, int]]) -> BatchOutput:
        steps, rng = self.batch_params(batch_index)
        failures, ok = [], []
        for item, ref_idx in items:
            ref = self.references[ref_idx]
            try:
                ok.append((item, ref, read_rgb(ref.path)))
            except Exception as e:  # noqa: BLE001 -- recorded and skipped
                failures.append(dict(item=item, ref_image_id=ref.image_id, ref_file=ref.path,
                                     reason=f'unreadable reference image: {type(e).__name__}: {e}'))
        generated = self._generate(steps, rng, ok) if ok else []
        return BatchOutput(generated, failures, dict(denoising_steps=steps))

    def _generate(self, steps, rng, ok) -> list[Generated]:
        cfg, ldm = self.cfg, self.ldm
        # 3. references resized and cropped to one size per batch
        crop, geo = batch_geometry(rng, [img.shape[:2] for _, _, img in ok], cfg.resize_range,
                                   cfg.crop_max, cfg.size_divisor)
        x = np.stack([resize_and_crop(img, r, o, crop) for (_, _, img), (r, o) in zip(ok, geo)])
        x = torch.from_numpy(x).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(self.device)
        n = cfg.num_inference_steps
        seeds = [item_seed(cfg.seed, item) for item, _, _ in ok]
        stride = ldm.latent_stride
        lat_shape = (ldm.latent_channels, crop[0] // stride, crop[1] // stride)
        noise = torch.stack([torch.randn(lat_shape, generator=torch.Generator().manual_seed(s))
                             for s in seeds])
        # 1. prompts (and the negative prompt of the unconditional half)
        prompts = [self.prompts(ref.class_names, ref.caption) for _, ref, _ in ok]
        cond = ldm.encode_prompt([p for p, _ in prompts])
        uncond = ldm.encode_prompt([neg for _, neg in prompts])
        ref_latents = ldm.encode_images(x) if steps < n else None

        # 2./4. img2img with CFG from step n - steps on: one UNet call per step
        taps = self.backbone.taps
        calls_before = taps.calls
        taps.clear()
        latents = img2img_denoise(ldm, self.scheduler, ref_latents, noise, cond, uncond, None,
                                  n, cfg.guidance_scale, denoising_steps=steps)
        assert taps.calls - calls_before == steps, 'one UNet call per denoising step'
        images = ((ldm.decode_latents(latents).float() + 1) * 127.5).round().clamp(0, 255)
        # 5. the Detection-Adapter labels the final latent (AdapterLabeller)
        results = self.label_batch(LabelBatch(latents, images, [p for p, _ in prompts]))
        self.unet_calls += taps.calls - calls_before
        taps.clear()
        return [Generated(
            item=item, image=images[j], result=results[j],
            fields=dict(ref_image_id=ref.image_id, ref_file_name=ref.file_name,
                        prompt=prompts[j][0], negative_prompt=prompts[j][1], seed=seeds[j],
                        encode_ratio=steps / n, denoising_steps=steps),
            source=dict(ref_image_id=ref.image_id, ref_file=ref.path))
            for j, (item, ref, _) in enumerate(ok)]


def synthesize_with_config(detector, classes, config_file: str, out_dir: str,
                           num_images: int, checkpoint: str | None = None,
                           reference: dict | None = None, **overrides) -> dict:
    """Run the ``synthesis`` dict of a config file with an already loaded adapter.

    ``reference`` (``ann_file``, ``img_dir``, ``caption_file``) and ``overrides`` (any
    :class:`DiffusionEngineConfig` key, e.g. ``score_thr``) replace the config's values. Used
    by ``tools/demo.py`` and the quality benchmark; ``tools/synthesize.py`` is the CLI.
    """
    from mmengine.config import Config
    syn = Config.fromfile(config_file).synthesis.to_dict()
    if reference is not None:
        syn['reference'] = dict(reference)
    syn.update({k: v for k, v in overrides.items() if v is not None})
    engine = DiffusionEngineSynthesizer(detector.eval(), DiffusionEngineConfig.from_dict(syn),
                                        classes, out_dir, checkpoint=checkpoint)
    # continue an interrupted run of the same settings and models; refuse any other
    engine.check_resume(engine.run_settings(num_images, syn), resume=False)
    with torch.no_grad():
        return engine.run(num_images)
