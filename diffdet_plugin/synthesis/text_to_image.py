"""Text-to-image synthesis from category names, labelled by an mmdet detector.

InstaGen (CVPR 2024, Sec. 3.2, "base triplets") makes its first training data this way:

1. a source = 1–2 categories (``categories_per_prompt``), drawn per item from the run's
   ``categories`` (deterministic in seed and item; with one category per prompt the items
   cycle through the categories, so N · K images give N per category); with
   ``lead_categories`` every source names one of those first (cycling through them) and
   draws the rest from ``categories``: InstaGen's novel images, "{novel} [and {any}]";
2. the prompt ``a photograph of [c1] and [c2]`` (``prompt_template``, ``name_format``,
   ``name_joiner``); ``name_attributes`` puts a word drawn per name before it (e.g. the toy
   LDM's colours: ``a red triangle and a blue circle``, its own grammar);
3. text-to-image from pure noise with classifier-free guidance (the same loop as every mode,
   :func:`diffdet_plugin.ldm.img2img_denoise` at r = 1), decoded by the VAE;
4. the mode's labeller boxes the image; the skeleton keeps boxes with score ≥ ``score_thr``
   (InstaGen's α = 0.8 for the base detector) and writes COCO.

``latents_dir``: several labellers on one image set. Step 3's final latents z0 are kept there,
one file per item with its recipe (prompt, seed, drawing LDM, sampler); a later run with the
same recipe reads them instead of drawing again (InstaGen's supervised, self-trained and
random-name heads label the same images, :mod:`diffdet_plugin.benchmarks.instagen_quality`).
A stored recipe that differs is refused with the key that differs.

This module owns steps 1–3 for every text-to-image mode; mode ``text_to_image`` labels with
any mmdet detector (:class:`~.labellers.DetectorLabeller`: config + checkpoint, e.g. the judge
restricted to base classes), mode ``instagen`` (:mod:`.instagen`) with the grounding head on
the image's own UNet features (:class:`~.labellers.GroundingLabeller`).
"""
from __future__ import annotations

import io
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from ..ldm import decode_to_pixels, text_to_latents
from ..registry import SYNTHESIZERS
from ..utils.categories import check_category_names, warn_unknown_words
from ..utils.fileio import atomic_write_bytes
from .base import BaseSynthesizer, BatchOutput, Generated, SynthesisConfig, item_seed
from .labellers import DetectorLabeller, LabelBatch
from .prompts import category_prompt


@dataclass
class TextToImageConfig(SynthesisConfig):
    """Text-to-image synthesis from category names (InstaGen's defaults)."""
    categories: list = field(default_factory=list)  # the names to synthesize (any text)
    categories_per_prompt: tuple = (1, 2)
    lead_categories: list = field(default_factory=list)  # each prompt names one of these first
    name_attributes: list = field(default_factory=list)  # a word drawn before each name
    unlabelled_categories: list = field(default_factory=list)  # prompted, not boxed
    prompt_template: str = 'a photograph of {}'
    name_format: str = '{}'
    name_joiner: str = ' and '
    negative_prompt: str = ''
    image_size: int | None = None  # default: the VAE's sample_size (512 for SD)
    score_thr: float = 0.8
    latents_dir: str | None = None  # keep / reuse the drawn z0 (module docstring)

    FIELD_ORDER = (
        'categories', 'categories_per_prompt', 'lead_categories', 'name_attributes',
        'unlabelled_categories', 'prompt_template', 'name_format', 'name_joiner',
        'negative_prompt', 'num_images', 'batch_size', 'seed', 'scheduler', 'scheduler_kwargs',
        'num_inference_steps', 'guidance_scale', 'image_size', 'score_thr', 'keep_negatives',
        'balance', 'contact_sheet', 'jpeg_quality', 'with_labels', 'latents_dir')

    def validate(self):
        names = check_category_names(self.categories, 'synthesis.categories')
        lo, hi = self.categories_per_prompt
        if not 1 <= lo <= hi or hi > len(names):
            raise ValueError(f'synthesis.categories_per_prompt={self.categories_per_prompt} must '
                             f'be (lo, hi) with 1 <= lo <= hi <= {len(names)} categories.')
        for key in ('lead_categories', 'unlabelled_categories'):
            unknown = [c for c in getattr(self, key) if c not in names]
            if unknown:
                raise ValueError(f'synthesis.{key} {unknown} are not in '
                                 f'synthesis.categories {names}.')
        if self.name_attributes and not all(isinstance(a, str) and a.strip()
                                            for a in self.name_attributes):
            raise ValueError(f'synthesis.name_attributes {self.name_attributes} must be '
                             'non-empty words.')
        if '{}' not in self.prompt_template:
            raise ValueError(f'synthesis.prompt_template {self.prompt_template!r} has no {{}} '
                             'for the category names.')


class PromptSource(NamedTuple):
    """What one generated image is made from: its categories (for balancing) and prompt."""
    class_names: tuple
    prompt: str


def prompt_sources(cfg: TextToImageConfig, count: int) -> list[PromptSource]:
    """``count`` sources: categories cycle (1 per prompt) or are drawn (seeded) per source;
    with ``lead_categories`` the first name cycles through them and the others are drawn
    from the rest of ``categories``; ``name_attributes``: one drawn (seeded) per name."""
    names, lead = list(cfg.categories), list(cfg.lead_categories)
    lo, hi = cfg.categories_per_prompt
    out = []
    for j in range(count):
        rng = np.random.default_rng([cfg.seed, 2, j])
        if lead:
            first = lead[j % len(lead)]
            rest = [n for n in names if n != first]
            k = int(rng.integers(lo, hi + 1)) - 1
            chosen = (first, ) + tuple(rest[i] for i in sorted(rng.choice(len(rest), k,
                                                                           replace=False)))
        elif hi == 1:
            chosen = (names[j % len(names)], )
        else:
            k = int(rng.integers(lo, hi + 1))
            chosen = tuple(names[i] for i in sorted(rng.choice(len(names), k, replace=False)))
        words = chosen
        if cfg.name_attributes:
            attrs = np.random.default_rng([cfg.seed, 3, j]).integers(
                len(cfg.name_attributes), size=len(chosen))
            words = tuple(f'{cfg.name_attributes[a]} {n}' for a, n in zip(attrs, chosen))
        out.append(PromptSource(chosen, category_prompt(words, cfg.prompt_template,
                                                        cfg.name_format, cfg.name_joiner)))
    return out


class TextToImageSynthesizer(BaseSynthesizer):
    """Steps 1–3 of the module docstring; the labeller does step 4.

    Args:
        ldm: the :class:`~diffdet_plugin.ldm.FrozenLDM` that draws.
        cfg: a :class:`TextToImageConfig` (or its dict).
        out_dir: output folder.
        labeller: a :class:`~.labellers.Labeller` whose labels index ``cfg.categories``.
    """
    config_class = TextToImageConfig
    RECORD_FIELDS = ('prompt', 'category_names', 'negative_prompt', 'seed')

    def __init__(self, ldm, cfg, out_dir: str, labeller=None):
        cfg = self.parse_config(cfg)
        sources = prompt_sources(cfg, max(cfg.num_images, len(cfg.categories)))
        tok = ldm.tokenizer
        length, longest = max((len(tok(s.prompt).input_ids), s.prompt)
                              for s in dict.fromkeys(sources))
        if length > tok.model_max_length:
            raise ValueError(f'The prompt {longest!r} is longer than the text encoder\'s '
                             f'{tok.model_max_length} tokens: use shorter category names or '
                             'fewer categories per prompt.')
        super().__init__(cfg, cfg.categories, out_dir)  # checks done: now out_dir is made
        warn_unknown_words(tok, cfg.categories, 'synthesis.categories')
        self.ldm, self.labeller = ldm, labeller
        self.sources = sources
        self.scheduler = self.cfg.build_scheduler(ldm)

    @torch.no_grad()
    def generate_batch(self, batch_index: int, items: list[tuple[int, int]]) -> BatchOutput:
        cfg, ldm = self.cfg, self.ldm
        sources = [self.sources[s] for _, s in items]
        seeds = [item_seed(cfg.seed, item) for item, _ in items]
        prompts = [s.prompt for s in sources]
        latents = self.draw([item for item, _ in items], prompts, seeds)
        images = decode_to_pixels(ldm, latents)
        results = self.label_batch(LabelBatch(latents, images, prompts,
                                              class_names=[s.class_names for s in sources]))
        return BatchOutput([Generated(
            item=item, image=images[j], result=results[j],
            fields=dict(prompt=src.prompt, category_names=list(src.class_names),
                        negative_prompt=cfg.negative_prompt, seed=seeds[j]),
            source=dict(prompt=src.prompt)) for j, ((item, _), src) in
            enumerate(zip(items, sources))])

    def recipe(self, prompt: str, seed: int) -> dict:
        """What one item's z0 is made from (a kept latent is reused only for the same)."""
        cfg = self.cfg
        return json.loads(json.dumps(dict(
            prompt=prompt, seed=seed, ldm_fingerprint=self.ldm.fingerprint,
            negative_prompt=cfg.negative_prompt, scheduler=cfg.scheduler,
            scheduler_kwargs=cfg.scheduler_kwargs, num_inference_steps=cfg.num_inference_steps,
            guidance_scale=cfg.guidance_scale, image_size=cfg.image_size), default=str))

    def draw(self, items: list[int], prompts: list[str], seeds: list[int]) -> torch.Tensor:
        """Step 3's final latents z0 (N, C, h, w) of these items: drawn, or read from
        ``latents_dir`` when an earlier run kept them with the same recipe (then kept)."""
        cfg, ldm = self.cfg, self.ldm
        paths = [osp.join(cfg.latents_dir, f'{item:08d}.pt') if cfg.latents_dir else None
                 for item in items]
        recipes = [self.recipe(p, s) for p, s in zip(prompts, seeds)]
        if cfg.latents_dir and all(osp.isfile(p) for p in paths):
            kept = []
            for path, want in zip(paths, recipes):
                rec = torch.load(path, map_location='cpu', weights_only=True)
                diff = [k for k in want if rec['recipe'].get(k) != want[k]]
                if diff:
                    raise ValueError(
                        f'synthesis.latents_dir: {path} was drawn with another {diff[0]} '
                        f"({rec['recipe'].get(diff[0])!r}, this run {want[diff[0]]!r}): use "
                        'another synthesis.latents_dir, or the same prompts, seed, LDM and '
                        'sampler.')
                kept.append(rec['latents'])
            return torch.stack(kept).to(ldm.device, ldm.dtype)
        latents = text_to_latents(ldm, self.scheduler, prompts, seeds, cfg.num_inference_steps,
                                  cfg.guidance_scale, cfg.image_size,
                                  ldm.prompt_embedding(cfg.negative_prompt))
        for path, z, want in zip(paths, latents, recipes) if cfg.latents_dir else ():
            buf = io.BytesIO()
            torch.save(dict(latents=z.detach().cpu().clone(), recipe=want), buf)
            atomic_write_bytes(path, buf.getvalue())  # a killed run never leaves half a file
        return latents


@SYNTHESIZERS.register_module(name='text_to_image')
class DetectorLabelledSynthesizer(TextToImageSynthesizer):
    """Text-to-image, labelled by an mmdet detector on the decoded images
    (:class:`~.labellers.DetectorLabeller`).

    InstaGen's base triplets: the detector is trained on base categories only (here: the toy
    judge restricted to them) and its boxes with score > α = 0.8 are kept. Its classes must
    include every synthesized category but the ``unlabelled_categories`` (prompted, never
    boxed: InstaGen's novel images carry the base detector's base boxes); boxes of its other
    classes are dropped.

    Args:
        ldm: the LDM that draws.
        detector: an mmdet detector from ``mmdet.apis.init_detector`` (test pipeline set).
        detector_classes: its class names.
        cfg, out_dir: as :class:`TextToImageSynthesizer`.
        checkpoint: the detector's checkpoint (recorded).
    """
    labeller_class = DetectorLabeller

    def __init__(self, ldm, detector, detector_classes, cfg, out_dir: str,
                 checkpoint: str | None = None):
        cfg = self.parse_config(cfg)
        labeller = DetectorLabeller(detector, detector_classes, cfg.categories, checkpoint,
                                    cfg.score_thr, cfg.unlabelled_categories)
        super().__init__(ldm, cfg, out_dir, labeller)

    @classmethod
    def from_config(cls, cfg, synthesis: dict, checkpoint, out_dir, device='cpu'):
        """``cfg.model`` is the labelling detector (loaded with ``checkpoint``); the LDM is
        ``synthesis.ldm`` (:meth:`FrozenLDM.build` arguments)."""
        from ..ldm import FrozenLDM
        synthesis = dict(synthesis)
        ldm_args = synthesis.pop('ldm', None)
        if not ldm_args:
            raise KeyError("synthesis.ldm is missing: the model that draws, e.g. ldm=dict("
                           "pretrained='CompVis/stable-diffusion-v1-4')")
        syn_cfg = TextToImageConfig.from_dict(synthesis)
        labeller = DetectorLabeller.from_config(cfg, checkpoint, device, syn_cfg.categories,
                                                syn_cfg.score_thr, syn_cfg.unlabelled_categories)
        ldm = FrozenLDM.build(**ldm_args).to(device)
        return cls(ldm, labeller.detector, labeller.detector_classes, syn_cfg, out_dir,
                   checkpoint)
