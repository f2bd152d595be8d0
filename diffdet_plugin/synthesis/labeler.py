"""Label generated images with a Detection-Adapter from already computed UNet features."""
from __future__ import annotations

import torch
from mmengine.structures import InstanceData

from mmdet.structures import DetDataSample


def make_data_samples(batch: int, image_size: tuple[int, int]) -> list[DetDataSample]:
    """Samples whose metainfo says: the image is the network input, unscaled."""
    h, w = image_size
    meta = dict(img_shape=(h, w), ori_shape=(h, w), batch_input_shape=(h, w),
                scale_factor=(1.0, 1.0), pad_shape=(h, w))
    return [DetDataSample(metainfo=dict(meta)) for _ in range(batch)]


@torch.no_grad()
def predict_from_backbone_features(detector, feats, data_samples) -> list[InstanceData]:
    """Run an mmdet detector's neck and head on backbone features (no backbone pass).

    Works for DETR-family detectors (DINO, Deformable DETR: ``forward_transformer``),
    two-stage detectors (RPN + RoI head) and single-stage detectors.
    Returns one ``InstanceData`` (bboxes xyxy in input pixels, scores, labels) per image.
    """
    x = detector.neck(feats) if getattr(detector, 'with_neck', False) else feats
    if hasattr(detector, 'forward_transformer'):
        head_inputs = detector.forward_transformer(x, data_samples)
        return detector.bbox_head.predict(**head_inputs, rescale=False,
                                          batch_data_samples=data_samples)
    if getattr(detector, 'with_rpn', False):
        proposals = detector.rpn_head.predict(x, data_samples, rescale=False)
        return detector.roi_head.predict(x, proposals, data_samples, rescale=False)
    return detector.bbox_head.predict(x, data_samples, rescale=False)
