"""Labelling from already computed backbone features: the detector's neck and head, no backbone.

DiffusionEngine labels a generated image with the features of the UNet call that made it,
so the Detection-Adapter must predict from backbone features it did not compute itself.
mmdet's detectors have no such entry point; this module gives them one, chosen by the
detector's class (``functools.singledispatch``), never by probing attributes:

* a detector class that defines ``predict_from_feats(self, feats, data_samples, **extra)``
  owns its labelling (a grounding head passes its text through ``extra``);
* otherwise the implementation registered for its nearest mmdet base class runs:
  ``DetectionTransformer`` (DINO, Deformable DETR...), ``GroundingDINO`` (which needs
  ``text_dict=`` the language model's output, as in its ``predict``), ``TwoStageDetector``
  (RPN + RoI head), ``SingleStageDetector`` (FCOS, RetinaNet...). ``register_feats_predictor(cls)``
  adds a family.

Every implementation returns one ``InstanceData`` per image (``bboxes`` xyxy in input
pixels (N, 4), ``scores`` (N,), ``labels`` (N,)), without rescaling.
"""
from __future__ import annotations

from functools import singledispatch

import torch
from mmengine.structures import InstanceData

from mmdet.models.detectors import (DetectionTransformer, GroundingDINO, SingleStageDetector,
                                    TwoStageDetector)
from mmdet.structures import DetDataSample


def make_data_samples(batch: int, image_size: tuple[int, int]) -> list[DetDataSample]:
    """Samples whose metainfo says: the image is the network input, unscaled."""
    h, w = image_size
    meta = dict(img_shape=(h, w), ori_shape=(h, w), batch_input_shape=(h, w),
                scale_factor=(1.0, 1.0), pad_shape=(h, w))
    return [DetDataSample(metainfo=dict(meta)) for _ in range(batch)]


@torch.no_grad()
def predict_from_feats(detector, feats: tuple, data_samples: list, **extra) -> list[InstanceData]:
    """Predict boxes from backbone features ``feats`` (tuple of (B, C_l, H_l, W_l))."""
    own = getattr(type(detector), 'predict_from_feats', None)
    if own is not None:
        return own(detector, feats, data_samples, **extra)
    return _by_family(detector, feats, data_samples, **extra)


@singledispatch
def _by_family(detector, feats, data_samples, **extra):
    raise TypeError(
        f'{type(detector).__name__} cannot label from backbone features: it is not an mmdet '
        'DETR-family, two-stage or single-stage detector. Give its class a '
        '`predict_from_feats(self, feats, data_samples, **extra)` method, or register one '
        'with diffdet_plugin.models.register_feats_predictor.')


register_feats_predictor = _by_family.register


def _neck(detector, feats):
    return detector.neck(feats) if detector.with_neck else feats


@_by_family.register
def _detr(detector: DetectionTransformer, feats, data_samples, **extra):
    head_inputs = detector.forward_transformer(_neck(detector, feats), data_samples)
    return detector.bbox_head.predict(**head_inputs, rescale=False,
                                      batch_data_samples=data_samples)


@_by_family.register
def _grounding(detector: GroundingDINO, feats, data_samples, text_dict=None, **extra):
    if text_dict is None:
        raise TypeError(f'{type(detector).__name__} labels against text: pass text_dict= (its '
                        'language model\'s output for the prompts) to predict_from_feats.')
    head_inputs = detector.forward_transformer(_neck(detector, feats), text_dict, data_samples)
    return detector.bbox_head.predict(**head_inputs, rescale=False,
                                      batch_data_samples=data_samples)


@_by_family.register
def _two_stage(detector: TwoStageDetector, feats, data_samples, **extra):
    x = _neck(detector, feats)
    proposals = detector.rpn_head.predict(x, data_samples, rescale=False)
    return detector.roi_head.predict(x, proposals, data_samples, rescale=False)


@_by_family.register
def _single_stage(detector: SingleStageDetector, feats, data_samples, **extra):
    return detector.bbox_head.predict(_neck(detector, feats), data_samples, rescale=False)
