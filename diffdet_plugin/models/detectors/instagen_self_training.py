"""``InstaGenSelfTraining``: InstaGen's teacher-student self-training on novel categories.

InstaGen (CVPR 2024, Sec. 3.2, "self-training"): after the head is trained on base triplets,

    teacher ← student                                    (load the phase-1 checkpoint)
    per iteration:
      base images (generated, labelled by the base detector)  → student, supervised loss
      novel images (generated from novel-category prompts)    → teacher (eval: no dropout)
          boxes with score > β = 0.4                           → pseudo-labels
                                                               → student (dropout on), loss
      θ_teacher ← m · θ_teacher + (1 − m) · θ_student      m = 0.999 (mmdet's
                                                           MeanTeacherHook, momentum = 1 − m)

This is mmdet's ``SemiBaseDetector`` (``sup`` / ``unsup_teacher`` / ``unsup_student``
branches, ``cls_pseudo_thr``, ``MeanTeacherHook``) with the official code's novel-image rules
(fcjian/InstaGen ``mmdetection/mmdet/engine/runner/loops.py``), on by default when
``semi_train_cfg.novel_classes`` names the novel classes:

* a novel image's student targets are the **base-detector boxes it already carries** (its
  annotations, score 1) **plus** the teacher's boxes of the novel classes with score > β
  (the teacher's base-class boxes are not used: the base detector labels those);
* **a novel image with no novel pseudo-box is dropped** from the student's batch
  (``filter_empty_novel_gt``), instead of training "novel" as background everywhere in it;
* the unsupervised loss is scaled by √(kept / total) images.

And one change of ours: the teacher is a ``copy.deepcopy`` of the student instead of a second
build, so the two share the one frozen LDM (``LDMBackbone`` and ``LDMTextEncoder`` keep it on
copy) and only the head is doubled.
"""
from __future__ import annotations

import copy
import math

import torch
from mmengine.structures import InstanceData

from mmdet.models.detectors import BaseDetector, SemiBaseDetector
from mmdet.models.utils import filter_gt_instances, rename_loss_dict, reweight_loss_dict
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_project

from ...utils.thresholds import check_threshold

# (layer config, attention configs in it) that take the noisy student's dropout
_DROPOUT_SITES = {
    ('encoder', 'layer_cfg'): ('self_attn_cfg', ),
    ('encoder', 'text_layer_cfg'): ('self_attn_cfg', ),
    ('decoder', 'layer_cfg'): ('self_attn_cfg', 'cross_attn_text_cfg', 'cross_attn_cfg'),
}


def with_dropout(detector: dict, p: float) -> dict:
    """A copy of the ``InstaGen`` config ``detector`` with dropout ``p`` on each attention
    (``dropout``) and FFN (``ffn_drop``) of its enhancer and decoder layers."""
    detector = copy.deepcopy(detector)
    for (part, layer), attns in _DROPOUT_SITES.items():
        layer_cfg = detector[part][layer]
        for attn in attns:
            layer_cfg[attn]['dropout'] = p
        layer_cfg['ffn_cfg']['ffn_drop'] = p
    return detector


@MODELS.register_module()
class InstaGenSelfTraining(SemiBaseDetector):
    """Teacher-student InstaGen (see the module docstring).

    Args:
        detector (dict): the student, an ``InstaGen`` config.
        student_dropout (float): the paper's noisy student: this dropout probability is set
            on every attention and FFN of the student's feature enhancer (image and text
            layers) and decoder (self-, text- and image cross-attention); the teacher, a copy,
            predicts in eval mode, so without dropout. 0 keeps ``detector`` as it is.
        semi_train_cfg (dict): ``cls_pseudo_thr`` (β, paper 0.4), and mmdet's
            ``sup_weight``, ``unsup_weight``, ``min_pseudo_bbox_wh``, ``freeze_teacher``
            (defaults 1, 1, (1e-2, 1e-2), True), and the official novel-image rules:
            ``novel_classes`` (names; without them mmdet's behaviour: every teacher box, no
            image dropped), ``drop_empty_novel`` (default True).
        semi_test_cfg (dict): ``predict_on`` ('teacher', mmdet's default, or 'student').
        data_preprocessor (dict): a ``MultiBranchDataPreprocessor``; default: one around
            ``detector``'s own data preprocessor.
    """

    def __init__(self, detector: dict, student_dropout: float = 0.,
                 semi_train_cfg: dict | None = None, semi_test_cfg: dict | None = None,
                 data_preprocessor: dict | None = None, init_cfg=None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiBranchDataPreprocessor',
                                     data_preprocessor=detector['data_preprocessor'])
        # SemiBaseDetector.__init__ would build the detector twice (two LDMs in memory)
        BaseDetector.__init__(self, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if student_dropout:
            detector = with_dropout(detector, student_dropout)
        self.student = MODELS.build(detector)
        self.teacher = copy.deepcopy(self.student)
        self.semi_train_cfg = semi_train_cfg or {}
        self.semi_test_cfg = semi_test_cfg or {}
        if self.semi_train_cfg.get('novel_classes'):  # the official rules: β a probability
            check_threshold(self.semi_train_cfg.get('cls_pseudo_thr'),
                            'semi_train_cfg.cls_pseudo_thr (InstaGen β)')
        if self.semi_train_cfg.get('freeze_teacher', True) is True:
            self.freeze(self.teacher)

    # ------------------------------------------------------- official novel-image rules
    def _novel_labels(self, sample) -> list[int]:
        """Label ids of the novel classes in ``sample``'s text (its class names)."""
        names = self.semi_train_cfg.get('novel_classes') or ()
        text = sample.metainfo.get('text') or ()
        return [i for i, n in enumerate(text) if n in names]

    @torch.no_grad()
    def get_pseudo_instances(self, batch_inputs, batch_data_samples):
        """mmdet's teacher pass, then (with ``novel_classes``) each image's targets become its
        own base-detector boxes (score 1) plus the teacher's novel boxes with score > β, all in
        the original image frame."""
        if not self.semi_train_cfg.get('novel_classes'):
            return super().get_pseudo_instances(batch_inputs, batch_data_samples)
        carried = [copy.deepcopy(s.gt_instances) for s in batch_data_samples]
        samples, info = super().get_pseudo_instances(batch_inputs, batch_data_samples)
        thr = self.semi_train_cfg.get('cls_pseudo_thr', 0.0)
        device = batch_inputs.device
        for sample, base in zip(samples, carried):
            pred = sample.gt_instances
            novel_ids = torch.tensor(self._novel_labels(sample), dtype=torch.long,
                                     device=pred.labels.device)
            keep = torch.isin(pred.labels, novel_ids) & (pred.scores > thr)
            novel = InstanceData(bboxes=pred.bboxes[keep], labels=pred.labels[keep],
                                 scores=pred.scores[keep])
            base_boxes = bbox_project(
                base.bboxes.to(device).float().reshape(-1, 4),
                torch.from_numpy(sample.homography_matrix).inverse().to(device),
                sample.ori_shape) if len(base) else torch.zeros(0, 4, device=device)
            base = InstanceData(bboxes=base_boxes, labels=base.labels.to(device),
                                scores=torch.ones(len(base), device=device))
            sample.gt_instances = InstanceData.cat([base, novel])
        return samples, info

    def loss_by_pseudo_instances(self, batch_inputs, batch_data_samples, batch_info=None):
        """The student's loss on the novel images that have at least one novel pseudo-box
        (the others are dropped), scaled by √(kept / total)."""
        if not (self.semi_train_cfg.get('novel_classes')
                and self.semi_train_cfg.get('drop_empty_novel', True)):
            return super().loss_by_pseudo_instances(batch_inputs, batch_data_samples,
                                                    batch_info)
        samples = filter_gt_instances(batch_data_samples,
                                      score_thr=self.semi_train_cfg.get('cls_pseudo_thr', 0.))
        kept = [i for i, s in enumerate(samples)
                if torch.isin(s.gt_instances.labels.cpu(),
                              torch.tensor(self._novel_labels(s), dtype=torch.long)).any()]
        self.last_kept_novel_images = kept
        weight = self.semi_train_cfg.get('unsup_weight', 1.)
        if kept:
            losses = self.student.loss(batch_inputs[kept], [samples[i] for i in kept])
            weight *= math.sqrt(len(kept) / len(samples))
        else:  # nothing to learn from: a zero-weighted loss keeps every parameter in the graph
            losses = self.student.loss(batch_inputs, samples)
            weight = 0.
        return rename_loss_dict('unsup_', reweight_loss_dict(losses, weight))
