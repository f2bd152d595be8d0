"""``LayoutCaptionDataset``: detection images with their layout written as a prompt.

DetDiffusion (CVPR 2024, Sec. 3) fine-tunes Stable Diffusion for layout-to-image (L2I)
generation the way GeoDiffusion (ICLR 2024) does: the layout is *text*. Each object of an image
becomes ``"{category} {tl}{br}"``, with ``tl`` / ``br`` the location tokens of its box's
top-left and bottom-right corners on a ``grid_w × grid_h`` grid of bins
(:mod:`diffdet_plugin.ldm.location_tokens`), followed by its perception-aware attribute
``[easy]`` / ``[hard]`` (P.A. Attr: does a detector find it; :mod:`diffdet_plugin.attributes`)
when an attribute file is given::

    An image with square <l35><l120> [easy] and circle <l200><l237> [hard]

The whole image is resized to ``image_size`` (aspect not kept, as GeoDiffusion does; paper:
256 × 256 for fidelity, 800 × 456 for trainability); objects smaller than ``min_area_frac`` of
the image (paper: 2 %) are left out, and an object that no longer fits the text encoder's 77
tokens is dropped from the prompt (and from the sample). The P.A. loss needs the objects'
masks, so each sample also carries them, for exactly the objects the prompt names, in its order.

Samples: ``dict(inputs=uint8 (3, H, W), data_samples=dict(prompt=str, masks=bool (N, H, W),
labels=long (N,), bboxes=float (N, 4) xyxy in image_size pixels, img_id=int,
num_dropped=int))``; ``labels`` index ``metainfo['classes']``.

Generation (DetDiffusion's strategies ``origin`` / ``easy`` / ``hard``, Sec. 4) asks
:meth:`LayoutCaptionDataset.layout_for` / :meth:`~LayoutCaptionDataset.prompt_for` for an
image's layout with every attribute overridden.

Above 400 lines because it is one registered dataset (one component per file) whose checks of
bad layouts (each skipped object recorded with its reason) are most of its length.
"""
from __future__ import annotations

import copy
import json
import logging
import math
import os.path as osp
from collections import Counter

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmdet.registry import DATASETS

from ..ldm import (ATTRIBUTE_TOKENS, box_to_location_tokens, build_byte_clip_tokenizer, fit_objects,
                   layout_prompt, load_tokenizer, location_token_names, preset_names)

STRATEGIES = ('origin', 'easy', 'hard')

#: Reasons an annotation is left out, each counted in ``LayoutCaptionDataset.skipped``; the
#: first group is bad input (logged as a warning), the second the paper's filters.
BAD_INPUT = ('unknown_image', 'unknown_category', 'bad_box', 'box_outside_image',
             'bad_segmentation')
FILTERED = ('crowd', 'not_in_classes', 'small')


def _build_tokenizer(tokenizer, grid):
    """The tokenizer that counts prompt tokens, holding the grid's location tokens and the
    attribute tokens (as ``LayoutLDM`` adds them)."""
    if tokenizer is None:
        tok = build_byte_clip_tokenizer()
    elif isinstance(tokenizer, str):
        tok = (load_tokenizer(preset=tokenizer) if tokenizer in preset_names() else
               load_tokenizer(pretrained=tokenizer))
    elif isinstance(tokenizer, dict):
        tok = load_tokenizer(pretrained=tokenizer.get('pretrained'),
                             preset=tokenizer.get('preset'))
    else:
        tok = copy.deepcopy(tokenizer)  # adding tokens must not touch a model's tokenizer
    vocab = tok.get_vocab()
    missing = [n for n in (*location_token_names(grid), *ATTRIBUTE_TOKENS) if n not in vocab]
    if missing:
        tok.add_tokens(missing)
    return tok


def _decode_mask(segm, height: int, width: int) -> np.ndarray:
    """COCO polygons / RLE (uncompressed or compressed) → (height, width) uint8, as
    ``COCO.annToMask``."""
    from pycocotools import mask as mask_utils
    if isinstance(segm, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    elif isinstance(segm.get('counts'), list):
        rle = mask_utils.frPyObjects(segm, height, width)
    else:
        rle = segm
    return mask_utils.decode(rle)


def _segmentation_problem(segm, height: int, width: int) -> bool:
    """True for a segmentation pycocotools cannot decode at this image's size."""
    if isinstance(segm, list):
        return not all(isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 for p in segm)
    if isinstance(segm, dict):
        return list(segm.get('size', ())) != [height, width] or 'counts' not in segm
    return True


@DATASETS.register_module()
class LayoutCaptionDataset(BaseDataset):
    """COCO-format detection data as (image, layout prompt, masks) for L2I fine-tuning.

    Args:
        ann_file: COCO instances json (relative paths are under ``data_root``).
        img_dir: image folder (``file_name`` is relative to it), under ``data_root``.
        image_size: (W, H) the whole image is resized to (paper: 256 × 256; 800 × 456).
        grid: (grid_w, grid_h) location bins (the LDM's, see ``LayoutLDM.grid``).
        attributes_file: P.A. Attr file of ``ann_file`` (``tools/extract_attributes.py``; under
            ``data_root`` if relative), or a dict ``{ann_id: 'easy' | 'hard' | 'background'}``;
            ``None``: prompts without attributes (GeoDiffusion).
        attributes_detector: the checkpoint the attribute file must have been made by.
        min_area_frac: objects whose (clipped) box covers less than this fraction of the image
            are left out (paper: 0.02).
        min_objects, max_objects: keep images with this many objects (after the filters;
            paper's evaluation: 3–8). ``min_objects=None`` means 1: an image with no object
            has no layout to learn.
        max_prompt_objects: at most this many objects in a prompt (``None``: as many as fit).
        shuffle_objects: shuffle the objects' order in the prompt (training only; in
            ``test_mode`` and otherwise the order is by box area, largest first).
        hflip_prob: horizontal flip probability (training only); boxes, masks and location
            tokens flip with the image.
        classes: restrict to these category names (their order gives ``labels``); other
            categories' annotations are dropped and counted. ``None``: all of ``ann_file``'s
            categories by id (or ``metainfo['classes']``).
        seed: ``None`` draws order and flips freshly each time; an int fixes sample i's
            (``seed``, i), for inspection and tests.
        tokenizer: counts prompt tokens: a tokenizer, a preset name, ``FrozenLDM.build``
            arguments (``dict(pretrained=...)`` or ``'embedded:toy'``); ``None``: CLIP's
            byte-level alphabet, an upper bound of every CLIP tokenizer's count (prompts are
            never cut, but may drop more objects than the model's own tokenizer needs to).
        max_length: the text encoder's tokens, BOS and EOS included (CLIP: 77).
        prompt_template, name_joiner: see :func:`diffdet_plugin.ldm.layout_prompt`.

    Attributes:
        skipped: ``{reason: count}`` of annotations left out at load (:data:`BAD_INPUT`,
            :data:`FILTERED`); ``images_skipped``: ``{reason: count}`` of images left out;
        num_boxes_clipped: boxes partly outside their image, clipped to it;
        num_missing_attributes: kept objects the attribute file has no attribute for;
        num_dropped_from_prompt: objects of the kept images that do not fit a prompt (in the
            unshuffled order; shuffling changes which).
    """

    def __init__(self, ann_file: str, img_dir: str, data_root: str = '',
                 image_size=(256, 256), grid=(16, 16), attributes_file=None,
                 attributes_detector: str | None = None, min_area_frac: float = 0.02,
                 min_objects: int | None = None, max_objects: int | None = None,
                 max_prompt_objects: int | None = None, shuffle_objects: bool = True,
                 hflip_prob: float = 0.0, classes=None, seed: int | None = None,
                 tokenizer=None, max_length: int = 77,
                 prompt_template: str = 'An image with {}', name_joiner: str = ' and ',
                 **kwargs):
        if isinstance(image_size, int):
            image_size = (image_size, image_size)
        self.image_size = tuple(int(s) for s in image_size)
        self.grid = (grid, grid) if isinstance(grid, int) else tuple(int(g) for g in grid)
        self.img_dir = osp.join(data_root, img_dir)
        if isinstance(attributes_file, str) and data_root and not osp.isabs(attributes_file):
            attributes_file = osp.join(data_root, attributes_file)
        if attributes_detector is not None and attributes_file is None:
            raise ValueError('LayoutCaptionDataset: attributes_detector is given but no '
                             'attributes_file; extract one with tools/extract_attributes.py.')
        self.attributes_file = attributes_file
        self.attributes_detector = attributes_detector
        self.min_area_frac = float(min_area_frac)
        self.min_objects = 1 if min_objects is None else int(min_objects)
        self.max_objects = max_objects
        self.max_prompt_objects = max_prompt_objects
        self.shuffle_objects = shuffle_objects
        self.hflip_prob = hflip_prob
        if classes is None:
            classes = (kwargs.get('metainfo') or {}).get('classes')
        self.restrict = None if classes is None else list(classes)
        self.seed = seed
        self.max_length = max_length
        self.prompt = dict(template=prompt_template, joiner=name_joiner)
        self.tokenizer = _build_tokenizer(tokenizer, self.grid)
        self._tokenizer_name = ('byte-level CLIP (upper bound)' if tokenizer is None else
                                type(tokenizer).__name__ if not isinstance(tokenizer, (str, dict))
                                else str(tokenizer))
        self._index_of: dict[int, int] | None = None
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    # ----------------------------------------------------------------- loading
    def _load_attributes(self) -> dict[int, str] | None:
        if self.attributes_file is None:
            return None
        if isinstance(self.attributes_file, dict):
            return {int(k): v for k, v in self.attributes_file.items()}
        from ..attributes import load_attributes
        return load_attributes(self.attributes_file, self.ann_file,
                               detector_checkpoint=self.attributes_detector)

    def load_data_list(self):
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'LayoutCaptionDataset: {self.ann_file!r} does not exist.')
        with open(self.ann_file) as f:
            coco = json.load(f)
        names = {c['id']: c['name'] for c in coco['categories']}
        classes = self.restrict or [names[k] for k in sorted(names)]
        unknown = [c for c in classes if c not in names.values()]
        if unknown:
            raise ValueError(f'LayoutCaptionDataset: classes {unknown} are not categories of '
                             f'{self.ann_file} ({sorted(names.values())}).')
        self._metainfo['classes'] = tuple(classes)
        label_of = {cid: classes.index(n) for cid, n in names.items() if n in classes}
        images = {}
        for im in coco['images']:
            if not all(k in im for k in ('id', 'file_name', 'width', 'height')):
                raise ValueError(f'LayoutCaptionDataset: {self.ann_file}: the image record {im} '
                                 'lacks one of id, file_name, width, height.')
            images[im['id']] = im
        attrs = self._load_attributes()
        self.skipped, self.images_skipped = Counter(), Counter()
        self.num_boxes_clipped = self.num_missing_attributes = 0
        objects: dict[int, list] = {}
        for a in coco.get('annotations', []):
            obj = self._parse_annotation(a, images, names, label_of, attrs)
            if obj is not None:
                objects.setdefault(a['image_id'], []).append(obj)
        data_list = []
        for img_id in sorted(images):
            im, objs = images[img_id], objects.get(img_id, [])
            n = len(objs)
            if n < self.min_objects:
                self.images_skipped['no_objects' if n == 0 else 'too_few_objects'] += 1
                continue
            if self.max_objects is not None and n > self.max_objects:
                self.images_skipped['too_many_objects'] += 1
                continue
            objs.sort(key=lambda o: (-(o['bbox'][2] - o['bbox'][0]) *
                                     (o['bbox'][3] - o['bbox'][1]), o['ann_id']))
            data_list.append(dict(img_path=osp.join(self.img_dir, im['file_name']),
                                  img_id=img_id, width=im['width'], height=im['height'],
                                  objects=objs))
        self.skipped, self.images_skipped = dict(self.skipped), dict(self.images_skipped)
        self._prompt_budget()
        self.num_dropped_from_prompt = sum(
            self._layout(d, np.arange(len(d['objects'])), False, None)['num_dropped']
            for d in data_list if len(d['objects']) > self._sure_fit)
        self._log_load(len(images), data_list, attrs is not None)
        return data_list

    def _parse_annotation(self, a, images, names, label_of, attrs) -> dict | None:
        """One COCO annotation → an object dict, or ``None`` (counted in ``self.skipped``)."""
        im = images.get(a.get('image_id'))
        reason = None
        if im is None:
            reason = 'unknown_image'
        elif a.get('iscrowd', 0):
            reason = 'crowd'
        elif a.get('category_id') not in names:
            reason = 'unknown_category'
        elif a['category_id'] not in label_of:
            reason = 'not_in_classes'
        if reason is None:
            box = a.get('bbox')
            w, h = im['width'], im['height']
            try:
                x, y, bw, bh = (float(v) for v in box)
            except (TypeError, ValueError):
                x = y = bw = bh = math.nan
            if not all(math.isfinite(v) for v in (x, y, bw, bh)) or bw <= 0 or bh <= 0:
                reason = 'bad_box'
            else:
                clipped = (max(x, 0.0), max(y, 0.0), min(x + bw, w), min(y + bh, h))
                cw, ch = clipped[2] - clipped[0], clipped[3] - clipped[1]
                if cw <= 0 or ch <= 0:
                    reason = 'box_outside_image'
                elif cw * ch < self.min_area_frac * w * h:
                    reason = 'small'
                else:
                    segm = a.get('segmentation') or None
                    if segm is not None and _segmentation_problem(segm, h, w):
                        reason = 'bad_segmentation'
        if reason is not None:
            self.skipped[reason] += 1
            return None
        if clipped != (x, y, x + bw, y + bh):
            self.num_boxes_clipped += 1
        attr = None
        if attrs is not None:
            attr = attrs.get(a['id'])
            self.num_missing_attributes += attr is None
        return dict(ann_id=a['id'], label=label_of[a['category_id']],
                    name=names[a['category_id']], bbox=list(clipped), segmentation=segm,
                    attribute=attr)

    def _prompt_budget(self):
        """The number of objects that surely fit ``max_length`` tokens (no tokenizing needed
        below it): CLIP's BPE never merges across the spaces between objects, so a prompt's
        length is the template's plus each object's plus the joiners'."""
        tok, t = self.tokenizer, self.prompt

        def length(text):  # without BOS / EOS
            return len(tok(text, truncation=False).input_ids) - 2

        attrs = ('easy', 'hard', 'background')
        cost, worst = max((length(f'{n} <l0><l0> [{a}]'), (n, '<l0>', '<l0>', a))
                          for n in self._metainfo['classes'] for a in attrs)
        base = length(t['template'].format('')) + 2
        joiner = length(t['joiner'])
        safe = max(0, (self.max_length - base + joiner) // (cost + joiner))
        while safe and length(layout_prompt([worst] * safe, **t)) + 2 > self.max_length:
            safe -= 1  # a template whose text merges with the first object's
        self._safe_objects = safe
        self._sure_fit = min(self._safe_objects, self.max_prompt_objects or self._safe_objects)

    def _log_load(self, num_images, data_list, with_attributes):
        bad = {k: v for k, v in self.skipped.items() if k in BAD_INPUT}
        msg = (f'LayoutCaptionDataset {self.ann_file}: {len(data_list)} of {num_images} images, '
               f'{sum(len(d["objects"]) for d in data_list)} objects, '
               f'classes {len(self._metainfo["classes"])}, grid {self.grid}, '
               f'image size {self.image_size}. Annotations left out: '
               f'{self.skipped or "none"}; images left out: {self.images_skipped or "none"}; '
               f'{self.num_boxes_clipped} boxes clipped to their image.')
        if with_attributes and self.num_missing_attributes:
            source = (repr(self.attributes_file) if isinstance(self.attributes_file, str)
                      else 'the attributes given')
            msg += (f' {self.num_missing_attributes} objects have no P.A. attribute in '
                    f'{source} (their prompts name none).')
        if self.num_dropped_from_prompt:
            msg += (f' {self.num_dropped_from_prompt} objects do not fit a {self.max_length}-token '
                    f'prompt (counted with {self._tokenizer_name}) or max_prompt_objects='
                    f'{self.max_prompt_objects} and are dropped from their sample '
                    "(per sample: data_samples['num_dropped']).")
            if self._tokenizer_name.startswith('byte-level'):
                msg += (' Set `tokenizer` to the LDM (e.g. its `pretrained`) to count with its '
                        'own tokenizer, which needs fewer tokens.')
        level = logging.WARNING if bad or self.num_missing_attributes else logging.INFO
        if bad:
            msg += f' Bad input skipped: {bad}.'
        print_log(msg, logger='current', level=level)

    # ---------------------------------------------------------------- layouts
    def _layout(self, info: dict, order, flip: bool, strategy: str | None) -> dict:
        """The prompt and the kept objects of one image (without masks or pixels)."""
        if strategy not in (None, *STRATEGIES):
            raise ValueError(f'strategy {strategy!r}: use None / origin (the extracted '
                             'attributes), easy or hard')
        W, H = self.image_size
        sx, sy = W / info['width'], H / info['height']
        objs = [info['objects'][i] for i in order]
        boxes = np.array([o['bbox'] for o in objs], dtype=np.float64).reshape(-1, 4)
        boxes *= (sx, sy, sx, sy)
        if flip:
            boxes[:, [0, 2]] = W - boxes[:, [2, 0]]
        items = []
        for o, box in zip(objs, boxes):
            attr = o['attribute'] if strategy in (None, 'origin') else strategy
            items.append((o['name'], *box_to_location_tokens(box, W, H, self.grid), attr))
        limit = len(items) if self.max_prompt_objects is None else self.max_prompt_objects
        kept, dropped = items[:limit], max(len(items) - limit, 0)
        if len(kept) > self._safe_objects:
            kept, n = fit_objects(self.tokenizer, kept, self.max_length, **self.prompt)
            dropped += n
        k = len(kept)
        return dict(prompt=self._render(kept), order=[int(i) for i in order[:k]],
                    bboxes=torch.as_tensor(boxes[:k], dtype=torch.float32),
                    labels=torch.as_tensor([o['label'] for o in objs[:k]], dtype=torch.long),
                    attributes=[it[3] for it in kept], img_id=info['img_id'],
                    num_dropped=dropped)

    def _render(self, items) -> str:
        return layout_prompt(items, **self.prompt)

    def _info(self, idx: int) -> dict:
        if not self._fully_initialized:  # lazy_init=True
            self.full_init()
        return self.get_data_info(idx)

    def index_of(self, img_id: int) -> int:
        """The dataset index of the image with COCO id ``img_id``."""
        if self._index_of is None:
            self.full_init()
            self._index_of = {self.get_data_info(i)['img_id']: i for i in range(len(self))}
        if img_id not in self._index_of:
            raise KeyError(f'image id {img_id} is not in this dataset (absent from '
                           f'{self.ann_file}, or filtered out: see the load log)')
        return self._index_of[img_id]

    def layout_for(self, idx: int, strategy: str | None = None) -> dict:
        """Image ``idx``'s layout for generation, with DetDiffusion's attribute strategy.

        Args:
            idx: dataset index (:meth:`index_of` maps a COCO image id to it).
            strategy: ``None`` / ``'origin'``: the extracted attributes; ``'easy'`` /
                ``'hard'``: every object's attribute replaced by it.

        Returns:
            ``dict(prompt, bboxes=(N, 4) float xyxy in image_size pixels, labels=(N,) long,
            attributes, img_id, num_dropped, order)``: unshuffled (largest box first), not
            flipped; the N objects are those the prompt names, in its order.
        """
        info = self._info(idx)
        return self._layout(info, np.arange(len(info['objects'])), False, strategy)

    def prompt_for(self, idx: int, strategy: str | None = None) -> str:
        """The prompt of :meth:`layout_for`."""
        return self.layout_for(idx, strategy)['prompt']

    # ---------------------------------------------------------------- samples
    def _masks(self, info: dict, objs: list, flip: bool) -> torch.Tensor:
        """The objects' masks, (N, H, W) bool at image_size: nearest-neighbour resized
        segmentations, or filled boxes for objects without one."""
        W, H = self.image_size
        w, h = info['width'], info['height']
        out = torch.zeros((len(objs), H, W), dtype=torch.bool)
        for i, o in enumerate(objs):
            if o['segmentation'] is None:
                x0, y0, x1, y1 = (o['bbox'][0] * W / w, o['bbox'][1] * H / h,
                                  o['bbox'][2] * W / w, o['bbox'][3] * H / h)
                c0, r0 = int(round(x0)), int(round(y0))
                out[i, r0:max(int(round(y1)), r0 + 1), c0:max(int(round(x1)), c0 + 1)] = True
            else:
                m = torch.from_numpy(_decode_mask(o['segmentation'], h, w)).float()
                out[i] = torch.nn.functional.interpolate(m[None, None], size=(H, W),
                                                         mode='nearest-exact')[0, 0] > 0.5
        return out.flip(-1) if flip else out

    def __getitem__(self, idx):
        from PIL import Image
        info = self._info(idx)
        rng = np.random.default_rng(None if self.seed is None else [self.seed, idx])
        train = not self.test_mode
        n = len(info['objects'])
        order = rng.permutation(n) if self.shuffle_objects and train else np.arange(n)
        flip = bool(self.hflip_prob and train and rng.random() < self.hflip_prob)
        layout = self._layout(info, order, flip, None)
        with Image.open(info['img_path']) as im:
            arr = np.array(im.convert('RGB').resize(self.image_size, Image.BICUBIC))
        if flip:
            arr = arr[:, ::-1]
        img = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)
        masks = self._masks(info, [info['objects'][i] for i in layout['order']], flip)
        sample = dict(prompt=layout['prompt'], masks=masks, labels=layout['labels'],
                      bboxes=layout['bboxes'], img_id=info['img_id'],
                      num_dropped=layout['num_dropped'])
        return dict(inputs=img, data_samples=sample)
