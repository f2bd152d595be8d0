"""An image detector as labeller: any mmdet detector on the decoded pixels.

InstaGen's base triplets (CVPR 2024, Sec. 3.2): text-to-image images of base categories,
boxed by a detector trained on the base categories only; its boxes with score > α = 0.8 are
kept (the skeleton's ``score_thr``). Its classes must include every synthesized category;
boxes of its other classes are dropped.
"""
from __future__ import annotations

import torch

from .base import LabelBatch, Labeller


class DetectorLabeller(Labeller):
    """An mmdet detector (``mmdet.apis.init_detector``'s, test pipeline set) boxing images.

    Args:
        detector: the detector.
        detector_classes: its class names.
        classes: the run's class names (each must be one of the detector's).
        checkpoint: its checkpoint (recorded with its sha256).
        score_thr: the lowest score it returns (the run's threshold).
        unlabelled: run classes it does not know and is not asked to box (prompted only, as
            InstaGen's novel images that the base detector labels with its base boxes).
    """
    kind = 'detector'
    IMAGE_FIELDS = ('labeller_checkpoint', 'labeller_sha256')

    def __init__(self, detector, detector_classes, classes, checkpoint: str | None = None,
                 score_thr: float = 0.0, unlabelled=()):
        missing = [c for c in classes if c not in list(detector_classes) and c not in unlabelled]
        if missing:
            raise ValueError(f'The labelling detector ({checkpoint}) knows the classes '
                             f'{list(detector_classes)}, not {missing}: label with a detector '
                             'trained on every synthesized category, synthesize fewer, or '
                             'list them in synthesis.unlabelled_categories (prompted, not '
                             'boxed).')
        super().__init__(checkpoint)
        self.detector, self.score_thr = detector, score_thr
        self.detector_classes = list(detector_classes)
        classes = list(classes)
        self._to_run_label = {i: classes.index(c) for i, c in enumerate(detector_classes)
                              if c in classes}

    @classmethod
    def from_config(cls, cfg, checkpoint: str, device: str = 'cpu', classes=(),
                    score_thr: float = 0.0, unlabelled=()):
        """``cfg.model`` loaded with ``checkpoint`` by ``init_detector``; its class names from
        the checkpoint's ``dataset_meta`` or the config's ``metainfo``."""
        import copy
        import os.path as osp

        from mmdet.apis import init_detector
        if not checkpoint or not osp.isfile(checkpoint):
            raise FileNotFoundError(f'--checkpoint {checkpoint} does not exist: give the '
                                    'labelling detector\'s weights (e.g. a judge restricted to '
                                    'the base classes).')
        detector = init_detector(copy.deepcopy(cfg), checkpoint, device=device)
        detector_classes = (detector.dataset_meta or {}).get('classes') or \
            cfg.get('metainfo', {}).get('classes')
        if not detector_classes:
            raise KeyError(f'The labelling detector {checkpoint} names no classes (no '
                           'dataset_meta.classes in the checkpoint, no metainfo.classes in the '
                           'config).')
        return cls(detector, detector_classes, classes, checkpoint, score_thr, unlabelled)

    def label(self, batch: LabelBatch) -> list:
        from mmengine.structures import InstanceData

        from ...evaluation.judge import detect_rgb
        arrays = [im.permute(1, 2, 0).byte().cpu().numpy() for im in batch.images]
        out = []
        for det in detect_rgb(self.detector, arrays, score_thr=self.score_thr):
            keep = [i for i, lab in enumerate(det['labels']) if int(lab) in self._to_run_label]
            out.append(InstanceData(
                bboxes=torch.as_tensor(det['bboxes'][keep]).float().reshape(-1, 4),
                scores=torch.as_tensor(det['scores'][keep]).float(),
                labels=torch.tensor([self._to_run_label[int(det['labels'][i])] for i in keep],
                                    dtype=torch.long)))
        return out

    def provenance(self) -> dict:
        return dict(labeller=self.kind, labeller_checkpoint=self.checkpoint,
                    labeller_sha256=self.checkpoint_sha)

    def image_values(self) -> tuple:
        return self.checkpoint, self.checkpoint_sha
