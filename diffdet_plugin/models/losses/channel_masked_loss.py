"""A sigmoid classification loss with a per-element (point × class) mask (mmdet ``MODELS``)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mmdet.registry import MODELS


@MODELS.register_module()
class ChannelMaskedLoss(nn.Module):
    """Wraps a sigmoid classification loss (``FocalLoss``) so that chosen (row, class) elements
    add nothing to it and get no gradient.

    The owner sets :attr:`mask` (N, C) bool, ``True`` = masked, before calling; the labels are
    turned into one-hot targets (background ``C`` → all zeros), so that the wrapped loss takes
    its per-element path (``py_sigmoid_focal_loss`` with an (N, C) weight) on any device.
    With no mask set it is the wrapped loss unchanged.

    Args:
        loss (dict | nn.Module): the wrapped loss or its config.

    Shapes: ``pred`` (N, C) logits, ``target`` (N,) labels in ``[0, C]``, ``weight`` None or
    (N,).
    """

    def __init__(self, loss: dict | nn.Module) -> None:
        super().__init__()
        self.loss = loss if isinstance(loss, nn.Module) else MODELS.build(loss)
        self.mask: torch.Tensor | None = None

    @property
    def use_sigmoid(self) -> bool:  # read by mmdet's heads (cls_out_channels)
        return getattr(self.loss, 'use_sigmoid', False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight=None, avg_factor=None,
                reduction_override=None, **kwargs) -> torch.Tensor:
        if self.mask is None:
            return self.loss(pred, target, weight=weight, avg_factor=avg_factor,
                             reduction_override=reduction_override, **kwargs)
        if self.mask.shape != pred.shape:
            raise ValueError(f'ChannelMaskedLoss: mask {tuple(self.mask.shape)} does not match '
                             f'the predictions {tuple(pred.shape)}')
        one_hot = F.one_hot(target, pred.size(-1) + 1)[:, :-1].to(pred.dtype)
        keep = (~self.mask).to(pred.dtype)
        weight = keep if weight is None else keep * weight.view(-1, 1)
        return self.loss(pred, one_hot, weight=weight, avg_factor=avg_factor,
                         reduction_override=reduction_override, **kwargs)
