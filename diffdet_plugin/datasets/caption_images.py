"""``CaptionImageDataset``: (image, caption) pairs from a COCO-format dataset, for LDM training."""
from __future__ import annotations

import json
import os.path as osp

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from mmdet.registry import DATASETS

from ..utils.coco import read_captions


@DATASETS.register_module()
class CaptionImageDataset(BaseDataset):
    """Images with one caption each, as LDM fine-tuning reads them.

    Reads a COCO instances (or image-list) json for the images and takes the
    caption from a COCO captions file (first caption per image) or from the
    image record's ``caption`` field. Each sample is
    ``dict(inputs=uint8 tensor (3, S, S), data_samples=caption)``, the image
    resized (bicubic) so that its short side is ``image_size`` and center-cropped.

    Args:
        ann_file: COCO json with ``images``.
        img_dir: image folder (``file_name`` is relative to it).
        caption_file: optional COCO captions json.
        image_size: S.
        hflip_prob: random horizontal flip probability (training).
        crop_size: if set, a random ``crop_size``² crop of the S×S image (training a
            fully convolutional autoencoder on crops is several times cheaper).
        caption_variants: ``dict(colourless=p1, count_free=p2)``: with these probabilities
            (independently) a training sample's caption is rebuilt from its annotations
            without colours and / or without counts (:func:`toy_shapes.caption_for`), so
            that such prompts are in the LDM's distribution. Needs annotations whose objects
            carry a ``color`` (the toy domain).
    """

    def __init__(self, ann_file: str, img_dir: str, caption_file: str | None = None,
                 image_size: int = 128, hflip_prob: float = 0.0, crop_size: int | None = None,
                 caption_variants: dict | None = None, data_root: str = '', **kwargs):
        unknown = set(caption_variants or {}) - {'colourless', 'count_free'}
        if unknown:
            raise ValueError(f'CaptionImageDataset: unknown caption_variants {sorted(unknown)}; '
                             'known: colourless, count_free.')
        self.caption_variants = dict(caption_variants or {})
        if crop_size is not None and not 0 < crop_size <= image_size:
            raise ValueError(f'CaptionImageDataset: crop_size={crop_size} must be in '
                             f'(0, image_size={image_size}].')
        self.crop_size = crop_size
        self.img_dir = osp.join(data_root, img_dir)
        self.caption_file = osp.join(data_root, caption_file) if caption_file else None
        self.image_size = image_size
        self.hflip_prob = hflip_prob
        super().__init__(ann_file=ann_file, data_root=data_root, serialize_data=False, **kwargs)

    def load_data_list(self):
        for path in (self.ann_file, self.caption_file):
            if path and not osp.isfile(path):
                raise FileNotFoundError(f'CaptionImageDataset: {path!r} does not exist (for the '
                                        'toy domain: python tools/make_toy_data.py).')
        with open(self.ann_file) as f:
            coco = json.load(f)
        images = sorted(coco['images'], key=lambda i: i['id'])
        captions = read_captions(self.caption_file) if self.caption_file else {}
        objects = {i['id']: [] for i in images}
        if self.caption_variants:
            names = {c['id']: c['name'] for c in coco.get('categories', [])}
            for a in coco.get('annotations', []):
                if 'color' not in a:
                    raise ValueError(f'CaptionImageDataset: caption_variants need a "color" on '
                                     f'every annotation of {self.ann_file!r} (the toy domain); '
                                     f'annotation {a.get("id")} has none.')
                objects[a['image_id']].append(dict(category=names[a['category_id']],
                                                   color=a['color']))
        return [dict(img_path=osp.join(self.img_dir, i['file_name']), img_id=i['id'],
                     caption=captions.get(i['id'], i.get('caption', '')),
                     objects=objects[i['id']]) for i in images]

    def _caption(self, info) -> str:
        """The caption, or (training with ``caption_variants``) one of its variants."""
        if not self.caption_variants or self.test_mode:
            return info['caption']
        colour = np.random.rand() >= self.caption_variants.get('colourless', 0.0)
        count = np.random.rand() >= self.caption_variants.get('count_free', 0.0)
        if colour and count:
            return info['caption']
        from .toy_shapes import caption_for
        return caption_for(info['objects'], colour=colour, count=count)

    def __getitem__(self, idx):
        from PIL import Image
        info = self.get_data_info(idx)
        with Image.open(info['img_path']) as im:
            im = im.convert('RGB')
            s = self.image_size
            scale = s / min(im.size)
            im = im.resize((max(s, round(im.width * scale)), max(s, round(im.height * scale))),
                           Image.BICUBIC)
            x0, y0 = (im.width - s) // 2, (im.height - s) // 2
            arr = np.asarray(im.crop((x0, y0, x0 + s, y0 + s)))
        if self.hflip_prob and not self.test_mode and np.random.rand() < self.hflip_prob:
            arr = arr[:, ::-1]
        if self.crop_size:
            c = self.crop_size
            y = np.random.randint(0, arr.shape[0] - c + 1)
            x = np.random.randint(0, arr.shape[1] - c + 1)
            arr = arr[y:y + c, x:x + c]
        img = torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)
        return dict(inputs=img, data_samples=self._caption(info))
