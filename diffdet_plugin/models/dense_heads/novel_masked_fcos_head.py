"""FCOS whose novel-class scores learn nothing from real base-only images (mmdet ``MODELS``)."""
from __future__ import annotations

import torch

from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS

from ..losses import ChannelMaskedLoss


@MODELS.register_module()
class NovelMaskedFCOSHead(FCOSHead):
    """mmdet's ``FCOSHead`` with InstaGen's ``ignore_novel`` for the downstream detector.

    In the open-vocabulary setting the real training images carry boxes of the base classes
    only; their novel objects are unlabelled, so a plain loss would teach every novel object
    as background. The official InstaGen downstream Faster R-CNN masks the novel classes'
    classification loss on real images (``MaskedCrossEntropyLoss`` with ``ignore_novel``,
    fcjian/InstaGen ``faster-rcnn_r50-caffe_c4-1x_coco-ovd_instagen-dataset.py``). This is the
    FCOS analogue: on a real image the focal loss of the novel classes' channels is masked at
    every point (no loss, no gradient); synthetic images, whose novel objects are labelled,
    train every channel. Box regression and centerness are unchanged.

    An image counts as synthetic when its metainfo has ``synthetic_key`` (the provenance keys
    ``SyntheticCocoDataset`` packs; real COCO images have none of them).

    Args:
        novel_classes (list[int | str]): the novel classes' label indices, or their names
            together with ``classes``.
        classes (list[str], optional): the label order (the dataset's ``classes``), to name
            ``novel_classes``.
        synthetic_key (str): metainfo key present only on synthetic images.
            Default ``'ldm_fingerprint'``.
        Other arguments: as ``FCOSHead``; ``loss_cls`` is wrapped in ``ChannelMaskedLoss``.
    """

    def __init__(self, *args, novel_classes=(), classes=None,
                 synthetic_key: str = 'ldm_fingerprint', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if any(isinstance(c, str) for c in novel_classes):
            unknown = [c for c in novel_classes if c not in (classes or ())]
            if unknown:
                raise ValueError(f'NovelMaskedFCOSHead: novel_classes {unknown} are not in '
                                 f'classes={list(classes or [])}; give the label order as '
                                 'classes=(...) to name novel classes.')
            novel_classes = [list(classes).index(c) for c in novel_classes]
        novel = sorted({int(c) for c in novel_classes})
        if not novel or not all(0 <= c < self.num_classes for c in novel):
            raise ValueError(f'NovelMaskedFCOSHead: novel_classes must be label indices in '
                             f'[0, {self.num_classes}), got {list(novel_classes)}')
        self.novel_classes = novel
        self.synthetic_key = synthetic_key
        self.loss_cls = ChannelMaskedLoss(self.loss_cls)

    def novel_mask(self, cls_scores, batch_img_metas) -> torch.Tensor:
        """(N, C) bool, in ``FCOSHead.loss_by_feat``'s flattening order (level, image,
        point): ``True`` at the novel channels of the points of real images."""
        device = cls_scores[0].device
        real = torch.tensor([self.synthetic_key not in m for m in batch_img_metas], device=device)
        rows = torch.cat([real[:, None].expand(-1, s.shape[-2] * s.shape[-1]).reshape(-1)
                          for s in cls_scores])
        novel = torch.zeros(self.cls_out_channels, dtype=torch.bool, device=device)
        novel[self.novel_classes] = True
        return rows[:, None] & novel[None, :]

    def loss_by_feat(self, cls_scores, bbox_preds, centernesses, batch_gt_instances,
                     batch_img_metas, batch_gt_instances_ignore=None) -> dict:
        self.loss_cls.mask = self.novel_mask(cls_scores, batch_img_metas)
        try:
            return super().loss_by_feat(cls_scores, bbox_preds, centernesses,
                                        batch_gt_instances, batch_img_metas,
                                        batch_gt_instances_ignore)
        finally:
            self.loss_cls.mask = None
