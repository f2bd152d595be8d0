"""InstaGen's labeller: the grounding head on the generated image's own UNet features.

InstaGen (CVPR 2024, Sec. 3.3): the final latent z0 goes through **one** UNet pass at t = 1
(no decode / encode round trip, ``LDMBackbone.latent_features``; conditioned on the image's
prompt when the detector's ``feature_prompt='image'``), and the head grounds the prompt's
category names in those features (:meth:`InstaGen.predict_from_feats`). A name the head never
saw is encoded by the LDM's text encoder like any other.
"""
from __future__ import annotations

import torch

from ...models.detectors import make_data_samples
from .base import LabelBatch, Labeller


def load_head_checkpoint(detector, checkpoint: str):
    """Load an InstaGen head checkpoint (strict): a plain one (phase 1) or a self-training one
    (``InstaGenSelfTraining``: its ``teacher.`` weights, the EMA model the paper synthesizes
    with); another kind of checkpoint is refused with one clear error."""
    from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict

    from ...utils.checkpoints import check_checkpoint_kind
    state = _load_checkpoint(checkpoint, map_location='cpu')
    sd = state.get('state_dict', state)
    if any(k.startswith('teacher.') for k in sd):
        sd = {k[len('teacher.'):]: v for k, v in sd.items() if k.startswith('teacher.')}
    check_checkpoint_kind(sd, detector, checkpoint, 'an InstaGen head (or self-training)',
                          'Give the iter_*.pth of configs/instagen/instagen_*-base-triplets.py '
                          'or instagen-selftrain_*.py.')
    load_state_dict(detector, sd, strict=True)
    return detector


class GroundingLabeller(Labeller):
    """An :class:`~diffdet_plugin.models.InstaGen` detector grounding category names.

    Args:
        detector: the InstaGen detector, weights loaded.
        classes: the run's class names (the labels index them).
        checkpoint: the head's checkpoint (recorded with its sha256).
    """
    kind = 'instagen'
    IMAGE_FIELDS = ('head_checkpoint', 'head_sha256')

    def __init__(self, detector, classes=(), checkpoint: str | None = None):
        from ...models import InstaGen
        if not isinstance(detector, InstaGen):
            raise TypeError(f'synthesis.mode="instagen" needs an InstaGen detector as '
                            f'cfg.model, got {type(detector).__name__}.')
        super().__init__(checkpoint)
        self.detector = detector.eval()
        self.classes = list(classes)

    @classmethod
    def from_config(cls, cfg, checkpoint: str, device: str = 'cpu', classes=()):
        """The InstaGen detector of ``cfg.model`` with the head ``checkpoint``."""
        from mmdet.registry import MODELS

        from ...utils.checkpoints import require_checkpoint
        require_checkpoint(checkpoint, 'InstaGen head')
        detector = MODELS.build(cfg.model)
        load_head_checkpoint(detector, checkpoint)
        return cls(detector.to(device), classes, checkpoint)

    @property
    def ldm(self):
        """The LDM whose features the head reads."""
        return self.detector.backbone.ldm

    @torch.no_grad()
    def ground(self, latents: torch.Tensor, class_names, prompts=None, image_size=None) -> list:
        """Boxes for ``class_names`` in images given by their final latents z0 (B, 4, h, w):
        the head's features of z0 (``InstaGen.latent_feats``), then the head grounds the
        names. ``image_size`` (H, W) defaults to the latent size × the VAE stride. Returns one
        ``InstanceData`` per image, ``labels`` indexing ``class_names``."""
        det = self.detector
        size = tuple(image_size or det.image_size(latents))
        return det.predict_from_feats(det.latent_feats(latents, size, prompts),
                                      make_data_samples(latents.shape[0], size),
                                      class_names=list(class_names))

    @torch.no_grad()
    def label(self, batch: LabelBatch) -> list:
        det, size = self.detector, batch.image_size
        feats = det.latent_feats(batch.latents, size, list(batch.prompts))
        out = [None] * len(batch)
        groups: dict[tuple, list[int]] = {}
        for j, names in enumerate(batch.class_names):
            groups.setdefault(tuple(names), []).append(j)
        for names, idx in groups.items():  # one head pass per distinct category list
            sub = tuple(f[idx] for f in feats)
            results = det.predict_from_feats(sub, make_data_samples(len(idx), size),
                                             class_names=list(names))
            for j, r in zip(idx, results):
                r.labels = torch.tensor([self.classes.index(names[int(k)]) for k in r.labels],
                                        dtype=torch.long)
                out[j] = r
        return out

    def provenance(self) -> dict:
        return dict(labeller=self.kind, head_checkpoint=self.checkpoint,
                    head_sha256=self.checkpoint_sha, head_ldm=self.ldm.source,
                    head_ldm_fingerprint=self.ldm.fingerprint)

    def image_values(self) -> tuple:
        return self.checkpoint, self.checkpoint_sha
