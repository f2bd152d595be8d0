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
   in (``label_features='adapter'``, the default): one extra UNet pass exactly as
   ``LDMBackbone`` runs in training (its timestep, prompt and noise), +1 UNet call per
   batch. ``'final_call'`` labels the taps of the loop's last call instead (its timestep
   and CFG half: with DPM-Solver++ on SD's leading spacing t = 33, not the adapter's t = 1;
   refused unless ``allow_regime_mismatch=True``, unless the two regimes agree, e.g. a DDIM
   loop ending at t = 1 read on the empty-prompt half); ``'decoded'`` runs the adapter as a
   plain detector on the decoded pixels (VAE encode, then the backbone);
6. (the skeleton) boxes with score < δ = 0.3 dropped; images and labels written
   as shards (:mod:`.coco_writer`), merged into COCO at the end.

This module is the mode ``diffusion_engine`` of the synthesis skeleton
(:mod:`.base`), which plans, balances, writes, resumes and merges; it says only
how a batch is made (steps 1-5: :meth:`DiffusionEngineSynthesizer.generate_batch`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from mmengine.logging import print_log

from ..ldm import build_sampling_scheduler, img2img_denoise, last_timestep
from ..models.detectors import make_data_samples, predict_from_feats
from ..registry import SYNTHESIZERS
from ..utils.fileio import file_sha256
from .base import BaseSynthesizer, BatchOutput, Generated, SynthesisConfig, item_seed
from .prompts import PromptBuilder
from .references import batch_geometry, load_references, read_rgb, resize_and_crop


@dataclass
class DiffusionEngineConfig(SynthesisConfig):
    """Every DiffusionEngine synthesis hyper-parameter, with the paper's defaults."""
    reference: dict = field(default_factory=dict)  # ann_file, img_dir, caption_file
    prompt: dict = field(default_factory=dict)  # PromptBuilder arguments
    scheduler: str = 'DPMSolverMultistepScheduler'
    scheduler_kwargs: dict = field(default_factory=dict)
    num_inference_steps: int = 30
    guidance_scale: float = 7.5
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


#: How the final latent is labelled (see the module docstring, step 5).
LABEL_FEATURES = ('adapter', 'final_call', 'decoded')


def regime_matches(a: dict, b: dict) -> bool:
    """Two feature regimes agree on what the adapter's head sees: timestep and prompt."""
    return a['timestep'] == b['timestep'] and a['prompt'] == b['prompt']


def adapter_classes(cfg, ckpt_meta: dict, checkpoint: str) -> list[str]:
    """The class list: the checkpoint's, checked against the config's if it names one."""
    ckpt_classes = (ckpt_meta.get('dataset_meta') or {}).get('classes')
    cfg_classes = cfg.get('synthesis_classes') or cfg.get('metainfo', {}).get('classes')
    if ckpt_classes is not None and cfg_classes is not None and \
            list(ckpt_classes) != list(cfg_classes):
        raise ValueError(f'The adapter checkpoint {checkpoint} was trained on the classes '
                         f'{list(ckpt_classes)}, but the config lists {list(cfg_classes)}. Use '
                         'the config the adapter was trained with, or train an adapter for '
                         'these classes.')
    classes = ckpt_classes if ckpt_classes is not None else cfg_classes
    if classes is None:
        raise KeyError(f'No class list: {checkpoint} has no dataset_meta.classes and the config '
                       'sets no metainfo.classes.')
    return list(classes)


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

    def __init__(self, detector, cfg, classes, out_dir: str, checkpoint: str | None = None):
        from ..models import LDMBackbone
        if not isinstance(getattr(detector, 'backbone', None), LDMBackbone):
            raise TypeError('Synthesis needs a Detection-Adapter whose backbone is LDMBackbone; '
                            f'got {type(getattr(detector, "backbone", None)).__name__}.')
        super().__init__(cfg, classes, out_dir)
        self.detector = detector.eval()
        self.backbone = detector.backbone
        self.ldm = detector.backbone.ldm
        self.checkpoint = checkpoint
        self.checkpoint_sha = file_sha256(checkpoint) if checkpoint else None
        self.references = self.sources = load_references(classes=self.classes,
                                                         **self.cfg.reference)
        self.prompts = PromptBuilder(**self.cfg.prompt)
        self.scheduler = build_sampling_scheduler(self.ldm, self.cfg.scheduler,
                                                  **self.cfg.scheduler_kwargs)
        self.unet_calls = 0
        self.device = next(detector.parameters()).device
        self.adapter_regime, self.label_regime = self._check_regime()
        # a dense head drops boxes below its own test_cfg.score_thr before synthesis sees them:
        # a lower synthesis threshold (delta) must reach the head
        head_cfg = getattr(getattr(detector, 'bbox_head', None), 'test_cfg', None)
        if head_cfg is not None and head_cfg.get('score_thr', 0.0) > self.cfg.score_thr:
            print_log(f'synthesis score_thr {self.cfg.score_thr} is below the head\'s '
                      f'test_cfg.score_thr {head_cfg["score_thr"]}: lowering the head\'s',
                      logger='current')
            head_cfg['score_thr'] = self.cfg.score_thr

    @classmethod
    def from_config(cls, cfg, synthesis: dict, checkpoint, out_dir, device='cpu'):
        """The adapter of ``cfg.model`` with ``checkpoint`` (strict), its classes checked."""
        from mmengine.runner import load_checkpoint
        from mmengine.runner.checkpoint import _load_checkpoint

        from mmdet.registry import MODELS

        from ..utils.checkpoints import check_checkpoint_kind, require_checkpoint
        syn_cfg = DiffusionEngineConfig.from_dict(synthesis)
        require_checkpoint(checkpoint, 'adapter')
        # refuse a mismatching adapter before any work: LDM (checked while loading), classes
        detector = MODELS.build(cfg.model)
        state = _load_checkpoint(checkpoint, map_location='cpu')
        check_checkpoint_kind(state.get('state_dict', state), detector, checkpoint,
                              'a Detection-Adapter', 'Give the iter_*.pth of the adapter config '
                              "this synthesis config's model is (tools/train.py CONFIG).")
        ckpt = load_checkpoint(detector, checkpoint, map_location='cpu', strict=True,
                               logger='silent')
        classes = adapter_classes(cfg, ckpt.get('meta', {}), checkpoint)
        num_classes = getattr(detector.bbox_head, 'num_classes', len(classes))
        if num_classes != len(classes):
            raise ValueError(f'The adapter head predicts {num_classes} classes but its class '
                             f'list has {len(classes)}.')
        return cls(detector.to(device).eval(), syn_cfg, classes, out_dir, checkpoint)

    def _check_regime(self) -> tuple[dict, dict]:
        """(the adapter's training regime, the regime synthesis labels in); one clear error
        when they differ and the config does not say ``allow_regime_mismatch=True``."""
        cfg, backbone = self.cfg, self.backbone
        trained = backbone.trained_regime or backbone.feature_regime
        if cfg.label_features == 'final_call':
            negative = self.prompts(['object'], None)[1]
            label = dict(timestep=last_timestep(self.scheduler, cfg.num_inference_steps),
                         prompt='<caption>' if cfg.label_half == 'cond' else negative,
                         noise='sampler', source='final_call')
        else:  # 'adapter' and 'decoded' run the backbone as configured
            label = dict(backbone.feature_regime, source=cfg.label_features)
        if not regime_matches(trained, label):
            msg = (f'synthesis.label_features={cfg.label_features!r} labels features at '
                   f"t = {label['timestep']} with prompt {label['prompt']!r}, but the adapter "
                   f"was trained at t = {trained['timestep']} with prompt {trained['prompt']!r}")
            if not cfg.allow_regime_mismatch:
                raise ValueError(msg + ". Use label_features='adapter' (the default: one extra "
                                 "UNet pass in the adapter's regime), or set synthesis."
                                 'allow_regime_mismatch=True to label out of regime on purpose.')
            print_log(msg + ' (allow_regime_mismatch=True: recorded in the provenance).',
                      logger='current', level=30)
        return trained, label

    def provenance(self) -> dict:
        return dict(ldm=self.ldm.source, ldm_fingerprint=self.ldm.fingerprint,
                    adapter_checkpoint=self.checkpoint, adapter_sha256=self.checkpoint_sha,
                    adapter_regime=self.adapter_regime, label_regime=self.label_regime)

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
        B = len(ok)
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
        # 5. the Detection-Adapter's features of the final latent
        feats = self.label_features(latents, images, crop, B) if cfg.with_labels else None
        self.unet_calls += taps.calls - calls_before
        taps.clear()
        results = (predict_from_feats(self.detector, feats, make_data_samples(B, crop))
                   if cfg.with_labels else [None] * B)
        return [Generated(
            item=item, image=images[j], result=results[j],
            fields=dict(ref_image_id=ref.image_id, ref_file_name=ref.file_name,
                        prompt=prompts[j][0], negative_prompt=prompts[j][1], seed=seeds[j],
                        encode_ratio=steps / n, denoising_steps=steps,
                        guidance_scale=cfg.guidance_scale, num_inference_steps=n,
                        scheduler=cfg.scheduler, ldm=ldm.source, ldm_fingerprint=ldm.fingerprint,
                        adapter_checkpoint=self.checkpoint, adapter_sha256=self.checkpoint_sha),
            source=dict(ref_image_id=ref.image_id, ref_file=ref.path))
            for j, (item, ref, _) in enumerate(ok)]


    def label_features(self, latents, images, crop, B: int) -> tuple:
        """The pyramid the adapter labels (fine → coarse, (B, C_l, H/s, W/s) each), as
        ``synthesis.label_features`` says: ``'adapter'`` one pass in the backbone's training
        regime on the final latent; ``'final_call'`` the last loop call's taps (one CFG
        half); ``'decoded'`` the backbone on the decoded pixels (B, 3, H, W) in [0, 255]."""
        how = self.cfg.label_features
        if how == 'final_call':
            half = slice(B, 2 * B) if self.cfg.label_half == 'cond' else slice(0, B)
            return tuple(f[half].float() for f in self.backbone.taps.pyramid(crop))
        if how == 'decoded':
            return self.backbone(images.to(self.device) / 127.5 - 1)
        return self.backbone.latent_features(latents, crop)


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
