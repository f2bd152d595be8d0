"""COCO-format helpers shared by datasets, synthesis and tools."""
from __future__ import annotations

import json


def read_captions(caption_file: str) -> dict[int, str]:
    """A COCO captions file → ``{image_id: caption}``: each image's first caption (by
    annotation id), in image-id order of first appearance."""
    with open(caption_file) as f:
        anns = sorted(json.load(f).get('annotations', []), key=lambda a: a['id'])
    captions: dict[int, str] = {}
    for a in anns:
        captions.setdefault(a['image_id'], a['caption'])
    return captions
