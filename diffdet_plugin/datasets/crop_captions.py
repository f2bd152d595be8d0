"""``CropCaptionDataset``: random crops of detection images captioned with their categories.

InstaGen (CVPR 2024, Sec. 3.1) fine-tunes Stable Diffusion so that it draws the detection
domain's objects when asked by name: each sample is a random crop of a detection image,
resized to S × S, with the caption ``a photograph of [c1] and [c2] ...`` naming each category
that has an object in the crop once (the same template the synthesis uses,
:func:`diffdet_plugin.synthesis.prompts.category_prompt`). An object is *in* the crop when
at least ``min_visible`` of its box area lies inside it.

Samples are ``dict(inputs=uint8 (3, S, S), data_samples=caption)``, the format of
:class:`CaptionImageDataset`, so the generic ``LatentDiffusionTrainer`` trains on it.
"""
from __future__ import annotations

import json
import os.path as osp

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from mmdet.registry import DATASETS


@DATASETS.register_module()
class CropCaptionDataset(BaseDataset):
    """Random crops of COCO-format detection images, captioned with their category names.

    Args:
        ann_file: COCO instances json.
        img_dir: image folder (``file_name`` is relative to it).
        image_size: S, the crop's output side (paper: 512).
        crop_scale: (lo, hi): the crop's side is ``U(lo, hi) · min(H, W)`` (square crops).
        min_visible: the fraction of a box inside the crop for its category to be named.
        max_tries: crops drawn until one holds an object; after that, the whole image.
        classes: restrict captions to these names (e.g. the base categories); ``None``: all.
        prompt_template, name_format, name_joiner: the caption (see ``category_prompt``).
        hflip_prob: horizontal flip probability.
        seed: ``None`` draws crops freshly each time (training); an int makes sample i's
            crop fixed (``seed``, i), for inspection and tests.
    """

    def __init__(self, ann_file: str, img_dir: str, image_size: int = 512,
                 crop_scale=(0.3, 1.0), min_visible: float = 0.5, max_tries: int = 10,
                 classes=None, prompt_template: str = 'a photograph of {}',
                 name_format: str = '{}', name_joiner: str = ' and ', hflip_prob: float = 0.5,
                 seed: int | None = None, data_root: str = '', **kwargs):
        lo, hi = crop_scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f'CropCaptionDataset: crop_scale={crop_scale} must be (lo, hi) with '
                             '0 < lo <= hi <= 1.')
        self.img_dir = osp.join(data_root, img_dir)
        self.image_size = image_size
        self.crop_scale = (float(lo), float(hi))
        self.min_visible = min_visible
        self.max_tries = max_tries
        self.restrict = None if classes is None else list(classes)
        self.prompt = dict(template=prompt_template, name_format=name_format, joiner=name_joiner)
        self.hflip_prob = hflip_prob
        self.seed = seed
        super().__init__(ann_file=ann_file, data_root=data_root, serialize_data=False, **kwargs)

    def load_data_list(self):
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'CropCaptionDataset: {self.ann_file!r} does not exist.')
        with open(self.ann_file) as f:
            coco = json.load(f)
        names = {c['id']: c['name'] for c in coco['categories']}
        if self.restrict is not None:
            unknown = [c for c in self.restrict if c not in names.values()]
            if unknown:
                raise ValueError(f'CropCaptionDataset: classes {unknown} are not categories of '
                                 f'{self.ann_file} ({sorted(names.values())}).')
        boxes: dict[int, list] = {}
        for a in coco.get('annotations', []):
            name = names[a['category_id']]
            if self.restrict is None or name in self.restrict:
                x, y, w, h = a['bbox']
                boxes.setdefault(a['image_id'], []).append((x, y, x + w, y + h, name))
        return [dict(img_path=osp.join(self.img_dir, i['file_name']), img_id=i['id'],
                     boxes=boxes.get(i['id'], []))
                for i in sorted(coco['images'], key=lambda i: i['id'])]

    def crop_and_names(self, boxes, width: int, height: int, rng) -> tuple[tuple, list]:
        """A square crop (x0, y0, x1, y1) and the names of the categories it holds."""
        for _ in range(self.max_tries):
            side = rng.uniform(*self.crop_scale) * min(width, height)
            x0, y0 = rng.uniform(0, width - side), rng.uniform(0, height - side)
            crop = (x0, y0, x0 + side, y0 + side)
            names = self.names_in(boxes, crop)
            if names:
                return crop, names
        side = min(width, height)
        crop = ((width - side) / 2, (height - side) / 2, (width + side) / 2, (height + side) / 2)
        return crop, self.names_in(boxes, crop)

    def names_in(self, boxes, crop) -> list:
        x0, y0, x1, y1 = crop
        names = []
        for bx0, by0, bx1, by1, name in boxes:
            iw = max(0.0, min(bx1, x1) - max(bx0, x0))
            ih = max(0.0, min(by1, y1) - max(by0, y0))
            area = max((bx1 - bx0) * (by1 - by0), 1e-6)
            if iw * ih / area >= self.min_visible and name not in names:
                names.append(name)
        return names

    def __getitem__(self, idx):
        from PIL import Image

        from ..synthesis.prompts import category_prompt
        info = self.get_data_info(idx)
        rng = np.random.default_rng(None if self.seed is None else [self.seed, idx])
        with Image.open(info['img_path']) as im:
            im = im.convert('RGB')
            crop, names = self.crop_and_names(info['boxes'], im.width, im.height, rng)
            s = self.image_size
            arr = np.asarray(im.resize((s, s), Image.BICUBIC, box=crop))
        if self.hflip_prob and not self.test_mode and rng.random() < self.hflip_prob:
            arr = arr[:, ::-1]
        caption = category_prompt(names, **self.prompt) if names else ''
        img = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)
        return dict(inputs=img, data_samples=caption)
