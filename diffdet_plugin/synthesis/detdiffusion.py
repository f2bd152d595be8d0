"""DetDiffusion generation: layouts (+ easy / hard attributes) → layout-to-image; the layout is
the label.

DetDiffusion (CVPR 2024, Sec. 4) generates a detection dataset from the layouts of an
annotation file with its fine-tuned layout-to-image (L2I) model:

1. a source = one image's layout of ``layouts.ann_file`` (:class:`LayoutCaptionDataset`,
   the same filters and prompt as L2I training: ``category <l_tl><l_br> [attr]``); item i
   draws layout i mod L, so N · L images give N per layout;
2. the attributes follow the ``strategy``: ``origin`` (the extracted P.A. Attr of
   ``layouts.attributes_file``), ``easy`` (every object ``[easy]``) or ``hard`` (every
   object ``[hard]``, the paper's best for training detectors); ``layout`` writes no
   attributes (for an L2I model trained without P.A. Attr, the ablation's first rows);
3. text-to-image from pure noise with classifier-free guidance (paper: DPM-Solver, 50 steps,
   scale 3.5; the same loop as every mode, :func:`diffdet_plugin.ldm.text_to_latents`);
4. the labels are the conditioning layout's boxes and categories, score 1
   (:class:`~.labellers.LayoutLabeller`), written by the shared skeleton and writer with the
   layout's source image id and the prompt.
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass, field

import torch

from ..ldm import decode_to_pixels, text_to_latents
from ..registry import SYNTHESIZERS
from .base import BaseSynthesizer, BatchOutput, Generated, SynthesisConfig, item_seed
from .labellers import LabelBatch, LayoutLabeller

STRATEGIES = ('origin', 'easy', 'hard', 'layout')


@dataclass
class DetDiffusionConfig(SynthesisConfig):
    """DetDiffusion generation (the paper's defaults)."""
    layouts: dict = field(default_factory=dict)  # LayoutCaptionDataset arguments
    strategy: str = 'origin'
    num_images: int = 0  # 0: one image per layout
    negative_prompt: str = ''
    num_inference_steps: int = 50
    guidance_scale: float = 3.5
    score_thr: float = 0.0  # the layout's boxes all have score 1

    FIELD_ORDER = (
        'layouts', 'strategy', 'num_images', 'batch_size', 'seed', 'negative_prompt',
        'scheduler', 'scheduler_kwargs', 'num_inference_steps', 'guidance_scale', 'score_thr',
        'keep_negatives', 'balance', 'contact_sheet', 'jpeg_quality', 'with_labels')

    def validate(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f'synthesis.strategy={self.strategy!r}: use one of {STRATEGIES} '
                             '(origin: the extracted attributes; easy / hard: all objects; '
                             'layout: no attributes).')
        if not self.layouts.get('ann_file'):
            raise ValueError('synthesis.layouts.ann_file is missing: the COCO annotation file '
                             'whose layouts are drawn, e.g. layouts=dict(data_root='
                             "'data/coco/', ann_file='annotations/instances_val2017.json', "
                             "img_dir='val2017/').")
        if self.strategy == 'origin' and not self.layouts.get('attributes_file'):
            raise ValueError('synthesis.strategy=origin draws the extracted attributes, but '
                             'synthesis.layouts.attributes_file is not set: extract them with '
                             'tools/extract_attributes.py, or use strategy easy / hard.')
        if self.num_images < 0:
            raise ValueError(f'synthesis.num_images={self.num_images} must be >= 0 '
                             '(0: one image per layout).')


class LayoutSource:
    """One layout (an image of the annotation file) as a source: its classes, for balancing."""

    def __init__(self, index: int, img_id: int, class_names: tuple):
        self.index, self.img_id, self.class_names = index, img_id, class_names


@SYNTHESIZERS.register_module(name='detdiffusion')
class DetDiffusionSynthesizer(BaseSynthesizer):
    """Layout-to-image generation; the conditioning layout is the label.

    Args:
        ldm: the fine-tuned L2I :class:`~diffdet_plugin.ldm.FrozenLDM` (holding the location
            tokens of the layouts' grid).
        cfg: a :class:`DetDiffusionConfig` (or its dict).
        out_dir: output folder.
        layouts: a :class:`~diffdet_plugin.datasets.LayoutCaptionDataset` (default: built
            from ``cfg.layouts`` in test mode, with the LDM's tokenizer).
    """
    config_class = DetDiffusionConfig
    RECORD_FIELDS = ('prompt', 'layout_image_id', 'strategy', 'attributes', 'objects_dropped',
                     'negative_prompt', 'seed')
    labeller_class = LayoutLabeller

    def __init__(self, ldm, cfg, out_dir: str, layouts=None):
        from ..datasets import LayoutCaptionDataset
        from ..ldm.location_tokens import location_token_names
        cfg = self.parse_config(cfg)
        if layouts is None:
            args = {k: v for k, v in cfg.layouts.items() if k != 'type'}
            if cfg.strategy != 'origin':
                args.pop('attributes_file', None)
                args.pop('attributes_detector', None)
            layouts = LayoutCaptionDataset(**dict(args, tokenizer=ldm.tokenizer, test_mode=True,
                                                  shuffle_objects=False, hflip_prob=0.0))
        vocab = ldm.tokenizer.get_vocab()
        missing = [n for n in location_token_names(layouts.grid) if n not in vocab]
        if missing:
            raise ValueError(f'The LDM {ldm.source} has no location tokens of the '
                             f'{layouts.grid} grid (e.g. {missing[0]}): generate with the '
                             'model saved by LayoutLDM training (its diffusers folder), with '
                             'the grid it was trained on.')
        if len(layouts) == 0:
            raise ValueError(f'No layout is left in {layouts.ann_file} after the filters (see '
                             'the load log): nothing to generate.')
        if cfg.num_images == 0:
            cfg.num_images = len(layouts)
        classes = list(layouts.metainfo['classes'])
        super().__init__(cfg, classes, out_dir)
        self.ldm, self.layouts = ldm, layouts
        self.labeller = LayoutLabeller(layouts, cfg.strategy)
        # each layout as generated (with the strategy's attribute tokens), not as loaded
        generated = [layouts.layout_for(i, self._strategy()) for i in range(len(layouts))]
        self.sources = [LayoutSource(i, layouts.get_data_info(i)['img_id'],
                                     tuple(dict.fromkeys(classes[int(lab)]
                                                         for lab in lay['labels'])))
                        for i, lay in enumerate(generated)]
        self.scheduler = self.cfg.build_scheduler(ldm)
        self.objects_dropped = sum(lay['num_dropped'] for lay in generated)
        if self.objects_dropped:
            from mmengine.logging import print_log
            print_log(f'detdiffusion ({cfg.strategy}): {self.objects_dropped} objects of the '
                      f'{len(layouts)} layouts do not fit a {layouts.max_length}-token prompt '
                      'with their attributes and are left out of their image and its labels '
                      '(per image: objects_dropped; the run summary counts the generated ones).',
                      logger='current', level=30)

    def _strategy(self):
        """``layout_for``'s strategy: easy / hard override every attribute; origin and
        layout keep what the layouts hold (the attribute file, or none)."""
        return self.cfg.strategy if self.cfg.strategy in ('easy', 'hard') else None

    @classmethod
    def from_config(cls, cfg, synthesis: dict, checkpoint, out_dir, device='cpu'):
        """The LDM is ``synthesis.ldm`` (:meth:`FrozenLDM.build` arguments) or ``checkpoint``:
        a diffusers folder (saved by LayoutLDM training) or a LayoutLDM ``.pth`` checkpoint
        (its ``ldm.*`` weights loaded into ``synthesis.ldm`` grown by the location tokens)."""
        from ..ldm import FrozenLDM
        synthesis = dict(synthesis)
        ldm_args = synthesis.pop('ldm', None)
        syn_cfg = DetDiffusionConfig.from_dict(synthesis)
        if checkpoint and osp.isdir(checkpoint):
            ldm = FrozenLDM.build(pretrained=checkpoint)
        elif not ldm_args:
            raise KeyError('synthesis.ldm is missing (and no --checkpoint): the fine-tuned '
                           "layout-to-image model, e.g. ldm=dict(pretrained='work_dirs/"
                           "detdiffusion_sd15_60e_coco/diffusers')")
        else:
            ldm = FrozenLDM.build(**ldm_args)
            if checkpoint:
                load_layout_ldm_checkpoint(ldm, checkpoint, syn_cfg.layouts.get('grid',
                                                                                (16, 16)))
        return cls(ldm.to(device), syn_cfg, out_dir)

    @torch.no_grad()
    def generate_batch(self, batch_index: int, items: list[tuple[int, int]]) -> BatchOutput:
        cfg, ldm = self.cfg, self.ldm
        layouts = [self.layouts.layout_for(self.sources[s].index, self._strategy())
                   for _, s in items]
        seeds = [item_seed(cfg.seed, item) for item, _ in items]
        prompts = [lay['prompt'] for lay in layouts]
        latents = text_to_latents(ldm, self.scheduler, prompts, seeds, cfg.num_inference_steps,
                                  cfg.guidance_scale, self.layouts.image_size,
                                  ldm.prompt_embedding(cfg.negative_prompt))
        images = decode_to_pixels(ldm, latents)
        results = self.label_batch(LabelBatch(latents, images, prompts, layouts=layouts))
        return BatchOutput([Generated(
            item=item, image=images[j], result=results[j],
            fields=dict(prompt=lay['prompt'], layout_image_id=lay['img_id'],
                        strategy=cfg.strategy, attributes=lay['attributes'],
                        objects_dropped=lay['num_dropped'], negative_prompt=cfg.negative_prompt,
                        seed=seeds[j]),
            source=dict(layout_image_id=lay['img_id']))
            for j, ((item, _), lay) in enumerate(zip(items, layouts))])


def load_layout_ldm_checkpoint(ldm, checkpoint: str, grid) -> None:
    """Load a LayoutLDM training checkpoint's ``ldm.*`` weights (strict) into ``ldm``, after
    growing its tokenizer and text encoder by the ``grid``'s location tokens."""
    from mmengine.runner import CheckpointLoader

    from ..ldm.location_tokens import add_location_tokens
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'--checkpoint {checkpoint} does not exist: give the diffusers '
                                'folder or the .pth checkpoint of a LayoutLDM training run.')
    add_location_tokens(ldm, grid)
    state = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    ours = {k[len('ldm.'):]: v for k, v in state.items() if k.startswith('ldm.')}
    if not ours:
        raise KeyError(f'{checkpoint} holds no ldm.* weights: it is not a LayoutLDM '
                       'checkpoint.')
    ldm.load_state_dict(ours, strict=True)
