"""InstaGen synthesis: category names → text-to-image → the grounding head on the same image.

InstaGen (CVPR 2024, Sec. 3.3): once its grounding head is trained (base triplets, then
self-training on novel categories), the diffusion model is a dataset synthesizer for any
category name:

1.–3. a prompt per item (``a photograph of [c]``), text-to-image, VAE decode
      (:class:`~.text_to_image.TextToImageSynthesizer`, shared with the ``text_to_image`` mode);
4. the image's final latent z0 goes through **one** UNet pass at t = 1 (no decode/encode
   round trip, ``LDMBackbone.latent_features``; conditioned on the image's prompt when the
   detector's ``feature_prompt='image'``) and the head grounds the prompt's category names in
   those features (:meth:`InstaGen.predict_from_feats`);
5. (the skeleton) boxes with score > β = 0.4 are kept and written as COCO, with shards,
   resume, provenance, failures and several ranks.

Category names are free text: a name the head never saw is encoded by the LDM's CLIP text
encoder like any other.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..models.detectors import make_data_samples
from ..registry import SYNTHESIZERS
from ..utils.fileio import file_sha256
from .text_to_image import TextToImageConfig, TextToImageSynthesizer


@dataclass
class InstaGenConfig(TextToImageConfig):
    """InstaGen synthesis (paper: one category per prompt, β = 0.4).

    ``generator``: :meth:`FrozenLDM.build` arguments of the LDM that draws (the fine-tuned
    one), when it is not the head's backbone LDM. The official code draws with the fine-tuned
    SD and reads the head's features from the **original** SD at the last step
    (fcjian/InstaGen ``instagen-4scale_fd_8xb2-12e_coco_infer.py``); the two must share the
    VAE (one latent space). ``None``: the head's LDM draws too.
    """
    categories_per_prompt: tuple = (1, 1)
    score_thr: float = 0.4
    generator: dict | None = None

    FIELD_ORDER = TextToImageConfig.FIELD_ORDER + ('generator', )


def check_same_vae(generator, head_ldm):
    """The generator's latents are read by the head's LDM: one VAE, one latent space."""
    a, b = generator.vae, head_ldm.vae
    same = (a.config.latent_channels == b.config.latent_channels
            and generator.scaling_factor == head_ldm.scaling_factor
            and a.encoder.conv_in.weight.shape == b.encoder.conv_in.weight.shape
            and torch.equal(a.encoder.conv_in.weight.cpu().float(),
                            b.encoder.conv_in.weight.cpu().float()))
    if not same:
        raise ValueError(f'synthesis.generator {generator.source!r} has another VAE than the '
                         f'head\'s LDM {head_ldm.source!r}: the head reads the generator\'s '
                         'latents, so both must share one VAE (fine-tune the UNet only).')


def load_head_checkpoint(detector, checkpoint: str):
    """Load an InstaGen head checkpoint (strict): a plain one (phase 1) or a self-training one
    (``InstaGenSelfTraining``: its ``teacher.`` weights, the EMA model the paper synthesizes
    with)."""
    from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict
    state = _load_checkpoint(checkpoint, map_location='cpu')
    sd = state.get('state_dict', state)
    if any(k.startswith('teacher.') for k in sd):
        sd = {k[len('teacher.'):]: v for k, v in sd.items() if k.startswith('teacher.')}
    from ..utils.checkpoints import check_checkpoint_kind
    check_checkpoint_kind(sd, detector, checkpoint, 'an InstaGen head (or self-training)',
                          'Give the iter_*.pth of configs/instagen/instagen_*-base-triplets.py '
                          'or instagen-selftrain_*.py.')
    load_state_dict(detector, sd, strict=True)
    return detector


@SYNTHESIZERS.register_module(name='instagen')
class InstaGenSynthesizer(TextToImageSynthesizer):
    """Text-to-image labelled by the InstaGen head on the image's own t = 1 features.

    Args:
        detector: an :class:`~diffdet_plugin.models.InstaGen` detector, weights loaded; its
            backbone's LDM draws the images.
        cfg: an :class:`InstaGenConfig` (or its dict).
        out_dir: output folder.
        checkpoint: the head's checkpoint (recorded with its sha256).
    """
    config_class = InstaGenConfig

    def __init__(self, detector, cfg, out_dir: str, checkpoint: str | None = None,
                 generator=None):
        from ..models import InstaGen
        if not isinstance(detector, InstaGen):
            raise TypeError(f'synthesis.mode="instagen" needs an InstaGen detector as '
                            f'cfg.model, got {type(detector).__name__}.')
        head_ldm = detector.backbone.ldm
        if generator is not None:
            check_same_vae(generator, head_ldm)
        super().__init__(generator or head_ldm, cfg, out_dir)
        self.detector = detector.eval()
        self.checkpoint = checkpoint
        self.checkpoint_sha = file_sha256(checkpoint) if checkpoint else None

    @classmethod
    def from_config(cls, cfg, synthesis: dict, checkpoint, out_dir, device='cpu'):
        from mmdet.registry import MODELS

        from ..utils.checkpoints import require_checkpoint
        syn_cfg = InstaGenConfig.from_dict(synthesis)
        require_checkpoint(checkpoint, 'InstaGen head')
        detector = MODELS.build(cfg.model)
        load_head_checkpoint(detector, checkpoint)
        generator = None
        if syn_cfg.generator:
            from ..ldm import FrozenLDM
            generator = FrozenLDM.build(**syn_cfg.generator).to(device)
        return cls(detector.to(device), syn_cfg, out_dir, checkpoint, generator)

    def provenance(self) -> dict:
        head_ldm = self.detector.backbone.ldm
        return dict(ldm=self.ldm.source, ldm_fingerprint=self.ldm.fingerprint,
                    labeller='instagen', head_checkpoint=self.checkpoint,
                    head_sha256=self.checkpoint_sha, head_ldm=head_ldm.source,
                    head_ldm_fingerprint=head_ldm.fingerprint)

    def image_fields(self) -> dict:
        return dict(head_checkpoint=self.checkpoint, head_sha256=self.checkpoint_sha)

    @torch.no_grad()
    def label(self, latents, images, sources):
        det = self.detector
        size = tuple(images.shape[-2:])
        feats = det.latent_feats(latents, size, [src.prompt for src in sources])
        out = [None] * len(sources)
        groups: dict[tuple, list[int]] = {}
        for j, src in enumerate(sources):
            groups.setdefault(tuple(src.class_names), []).append(j)
        for names, idx in groups.items():  # one head pass per distinct category list
            sub = tuple(f[idx] for f in feats)
            results = det.predict_from_feats(sub, make_data_samples(len(idx), size),
                                             class_names=list(names))
            for j, r in zip(idx, results):
                r.labels = torch.tensor([self.classes.index(names[int(k)]) for k in r.labels],
                                        dtype=torch.long)
                out[j] = r
        return out
