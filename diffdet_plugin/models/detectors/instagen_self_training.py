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
branches, ``cls_pseudo_thr``, ``MeanTeacherHook``), with one change: the teacher is a
``copy.deepcopy`` of the student instead of a second build, so the two share the one frozen
LDM (``LDMBackbone`` and ``LDMTextEncoder`` keep it on copy) and only the head is doubled.
"""
from __future__ import annotations

import copy

from mmdet.models.detectors import BaseDetector, SemiBaseDetector
from mmdet.registry import MODELS


@MODELS.register_module()
class InstaGenSelfTraining(SemiBaseDetector):
    """Teacher-student InstaGen (see the module docstring).

    Args:
        detector (dict): the student, an ``InstaGen`` config (with dropout > 0 in its
            enhancer and decoder layers for the paper's noisy student).
        semi_train_cfg (dict): ``cls_pseudo_thr`` (β, paper 0.4), ``sup_weight``,
            ``unsup_weight``, ``min_pseudo_bbox_wh``, ``freeze_teacher``.
        semi_test_cfg (dict): ``predict_on`` ('teacher' or 'student').
        data_preprocessor (dict): a ``MultiBranchDataPreprocessor``.
    """

    def __init__(self, detector: dict, semi_train_cfg: dict | None = None,
                 semi_test_cfg: dict | None = None, data_preprocessor: dict | None = None,
                 init_cfg=None) -> None:
        # SemiBaseDetector.__init__ would build the detector twice (two LDMs in memory)
        BaseDetector.__init__(self, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = MODELS.build(detector)
        self.teacher = copy.deepcopy(self.student)
        self.semi_train_cfg = semi_train_cfg or {}
        self.semi_test_cfg = semi_test_cfg or {}
        if self.semi_train_cfg.get('freeze_teacher', True) is True:
            self.freeze(self.teacher)
