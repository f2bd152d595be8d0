"""The labeller of a synthesis run: what boxes a batch of generated images.

Synthesis is **sources × sampler × labeller** (:mod:`..base`): a mode says what each image
is made from (reference images, category names, layouts), the shared sampler
(:class:`~diffdet_plugin.ldm.SamplingSettings`, :mod:`diffdet_plugin.ldm.sampling`) draws it,
and a :class:`Labeller` boxes it:

===================  =============================================  ======================
labeller             reads                                          paper
===================  =============================================  ======================
``AdapterLabeller``  the UNet features of the final latent          DiffusionEngine
                     (the Detection-Adapter)
``GroundingLabeller``  the UNet features and the category names    InstaGen
``DetectorLabeller``   the decoded pixels (any mmdet detector)      InstaGen's base triplets
``LayoutLabeller``     the conditioning layout (the boxes it asked)  DetDiffusion
===================  =============================================  ======================

Each one loads from a config and checkpoint (``from_config``: a checkpoint of another kind is
refused with one error saying what it looks like), labels a :class:`LabelBatch`, and reports
its provenance: :meth:`Labeller.provenance` joins the run's file-level ``info`` after the LDM's
identity, :meth:`Labeller.image_fields` every image record (its keys declared once, in
``IMAGE_FIELDS``).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch

from ...utils.fileio import file_sha256


@dataclass
class LabelBatch:
    """What a labeller may read of one generated batch of B images.

    Attributes:
        latents: the final latents z0, (B, C, h, w).
        images: the decoded images, (B, 3, H, W) float in [0, 255], RGB.
        prompts: the B generation prompts.
        class_names: per image, the category names its source asks for (text-to-image).
        layouts: per image, the conditioning layout (``bboxes`` (N, 4) xyxy px, ``labels``
            (N,)) of a layout-to-image mode.
    """
    latents: torch.Tensor
    images: torch.Tensor
    prompts: list
    class_names: list | None = None
    layouts: list | None = None

    @property
    def image_size(self) -> tuple:
        return tuple(self.images.shape[-2:])

    def __len__(self) -> int:
        return self.images.shape[0]


class Labeller(ABC):
    """Boxes generated images; see the module docstring.

    Args:
        checkpoint: the weights it labels with (recorded with their sha256), if any.
    """
    #: the provenance name of the labeller (``info['labeller']``), when it writes one
    kind: ClassVar[str] = ''
    #: the keys :meth:`image_fields` adds to every image record, in record order
    IMAGE_FIELDS: ClassVar[tuple] = ()

    def __init__(self, checkpoint: str | None = None):
        self.checkpoint = checkpoint
        self.checkpoint_sha = file_sha256(checkpoint) if checkpoint else None

    @abstractmethod
    def label(self, batch: LabelBatch) -> list:
        """One ``InstanceData`` per image: ``bboxes`` (N, 4) xyxy px, ``scores`` (N,),
        ``labels`` (N,) indexing the run's classes."""

    @abstractmethod
    def provenance(self) -> dict:
        """What labelled the run (checkpoint, sha256, regime ...), for the file-level info."""

    def image_values(self) -> tuple:
        """The values of ``IMAGE_FIELDS``, in that order."""
        return ()

    def image_fields(self) -> dict:
        """The labeller's part of every image record."""
        return dict(zip(self.IMAGE_FIELDS, self.image_values(), strict=True))
