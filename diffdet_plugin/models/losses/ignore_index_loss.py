"""A classification loss that skips targets marked "ignore" (mmdet ``MODELS``)."""
from __future__ import annotations

import torch
from torch import nn

from mmdet.registry import MODELS


@MODELS.register_module()
class IgnoreIndexLoss(nn.Module):
    """Wraps an mmdet classification loss (e.g. ``FocalLoss``) so that targets equal to
    ``ignore_index`` add nothing to it.

    mmdet's sigmoid losses take labels in ``[0, C]`` (``C`` = background) and no ignore
    label; this wrapper gives an ignored row weight 0 and the background label, then calls
    the wrapped loss with that weight (multiplied into any weight it was given).

    Args:
        loss (dict | nn.Module): the wrapped loss or its config, e.g.
            ``dict(type='FocalLoss', ...)``.
        ignore_index (int): the target value to ignore. Default -1.

    Shapes: ``pred`` (N, C) logits, ``target`` (N,) labels in ``[0, C] ∪ {ignore_index}``,
    ``weight`` None or (N,).
    """

    def __init__(self, loss: dict | nn.Module, ignore_index: int = -1) -> None:
        super().__init__()
        self.loss = loss if isinstance(loss, nn.Module) else MODELS.build(loss)
        self.ignore_index = ignore_index

    @property
    def use_sigmoid(self) -> bool:  # read by mmdet's heads (cls_out_channels)
        return getattr(self.loss, 'use_sigmoid', False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight=None, avg_factor=None,
                reduction_override=None, **kwargs) -> torch.Tensor:
        ignored = target == self.ignore_index
        keep = (~ignored).to(pred.dtype)
        weight = keep if weight is None else weight * keep
        target = torch.where(ignored, torch.full_like(target, pred.size(-1)), target)
        return self.loss(pred, target, weight=weight, avg_factor=avg_factor,
                         reduction_override=reduction_override, **kwargs)
