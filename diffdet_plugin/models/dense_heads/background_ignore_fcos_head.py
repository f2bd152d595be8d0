"""FCOS with Gen2Det's *background ignore* for synthetic images (mmdet ``MODELS``)."""
from __future__ import annotations

import torch

from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS

from ..losses import IgnoreIndexLoss


@MODELS.register_module()
class BackgroundIgnoreFCOSHead(FCOSHead):
    """mmdet's ``FCOSHead`` whose classification loss ignores the background points of
    synthetic images.

    A synthetic image is labelled by a detector (the Detection-Adapter) that misses some of
    the objects the LDM drew; with a plain loss those unlabelled objects are taught as
    background. Gen2Det (Suri et al., 2023) therefore ignores the background region of
    synthetic images: only their assigned (positive) points add to the classification loss,
    while real images train as usual. Box regression and centerness are unchanged (they are
    computed on positives only).

    An image counts as synthetic when its metainfo has ``synthetic_key`` (the provenance
    keys ``SyntheticCocoDataset`` packs; real COCO images have none of them).

    Args:
        synthetic_key (str): metainfo key present only on synthetic images.
            Default ``'ldm_fingerprint'``.
        ignore_index (int): the label given to ignored points. Default -1.
        Other arguments: as ``FCOSHead``; ``loss_cls`` is wrapped in ``IgnoreIndexLoss``.
    """

    def __init__(self, *args, synthetic_key: str = 'ldm_fingerprint', ignore_index: int = -1,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loss_cls = IgnoreIndexLoss(self.loss_cls, ignore_index)
        self.synthetic_key = synthetic_key
        self._synthetic = None

    def loss_by_feat(self, cls_scores, bbox_preds, centernesses, batch_gt_instances,
                     batch_img_metas, batch_gt_instances_ignore=None) -> dict:
        self._synthetic = [self.synthetic_key in meta for meta in batch_img_metas]
        try:
            return super().loss_by_feat(cls_scores, bbox_preds, centernesses,
                                        batch_gt_instances, batch_img_metas,
                                        batch_gt_instances_ignore)
        finally:
            self._synthetic = None

    def get_targets(self, points, batch_gt_instances):
        """As ``FCOSHead.get_targets``; background points of synthetic images get the loss's
        ignore label. Each level's labels are (num_imgs * num_points_lvl,), image-major."""
        labels, bbox_targets = super().get_targets(points, batch_gt_instances)
        if self._synthetic and any(self._synthetic):
            synthetic = torch.tensor(self._synthetic, device=labels[0].device)[:, None]
            per_img = [lvl.view(len(self._synthetic), -1) for lvl in labels]
            labels = [lbl.masked_fill(synthetic & (lbl == self.num_classes),
                                      self.loss_cls.ignore_index).view(-1) for lbl in per_img]
        return labels, bbox_targets
