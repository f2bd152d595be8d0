"""DetDiffusion's labeller: the conditioning layout is the label.

DetDiffusion (CVPR 2024, Sec. 4) draws each image from a layout (boxes, categories and
easy / hard attributes); the image's labels are that layout's boxes and categories, score 1.
"""
from __future__ import annotations

import torch

from ...utils.fileio import file_sha256
from .base import LabelBatch, Labeller


class LayoutLabeller(Labeller):
    """Labels each generated image with the layout it was drawn from.

    Args:
        layouts: the :class:`~diffdet_plugin.datasets.LayoutCaptionDataset` the layouts come
            from (recorded: its annotation file and attribute file with their sha256).
        strategy: the attribute strategy the layouts were drawn with (recorded).
    """
    kind = 'layout'

    def __init__(self, layouts, strategy: str):
        super().__init__(None)
        self.layouts, self.strategy = layouts, strategy
        attrs = layouts.attributes_file
        self.attributes_file = attrs if isinstance(attrs, str) else None
        # hashed once: the provenance is asked for at the start, per round and at the merge
        self._sha = {f: file_sha256(f) for f in (layouts.ann_file, self.attributes_file) if f}

    def label(self, batch: LabelBatch) -> list:
        from mmengine.structures import InstanceData
        return [InstanceData(bboxes=lay['bboxes'].float(), scores=torch.ones(len(lay['labels'])),
                             labels=lay['labels'].long()) for lay in batch.layouts]

    def provenance(self) -> dict:
        ann, attrs = self.layouts.ann_file, self.attributes_file
        return dict(labeller=self.kind, strategy=self.strategy, layouts_ann_file=ann,
                    layouts_sha256=self._sha[ann], attributes_file=attrs,
                    attributes_sha256=self._sha.get(attrs))
