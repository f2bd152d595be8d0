"""InstaGen synthesis: category names → text-to-image → the grounding head on the same image.

InstaGen (CVPR 2024, Sec. 3.3): once its grounding head is trained (base triplets, then
self-training on novel categories), the diffusion model is a dataset synthesizer for any
category name:

1.–3. a prompt per item (``a photograph of [c]``), text-to-image, VAE decode
      (:class:`~.text_to_image.TextToImageSynthesizer`, shared with the ``text_to_image`` mode);
4. the image's final latent z0 goes through **one** UNet pass at t = 1 (no decode/encode
   round trip, ``LDMBackbone.latent_features``; conditioned on the image's prompt when the
   detector's ``feature_prompt='image'``) and the head grounds the prompt's category names in
   those features (:class:`~.labellers.GroundingLabeller`);
5. (the skeleton) boxes with score > β = 0.4 are kept and written as COCO, with shards,
   resume, provenance, failures and several ranks.

Category names are free text: a name the head never saw is encoded by the LDM's CLIP text
encoder like any other.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..registry import SYNTHESIZERS
from ..utils.thresholds import check_threshold
from .labellers import GroundingLabeller
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

    def validate(self):
        super().validate()
        check_threshold(self.score_thr, 'synthesis.score_thr (InstaGen β)')


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


@SYNTHESIZERS.register_module(name='instagen')
class InstaGenSynthesizer(TextToImageSynthesizer):
    """Text-to-image labelled by the InstaGen head on the image's own t = 1 features.

    Args:
        detector: an :class:`~diffdet_plugin.models.InstaGen` detector, weights loaded; its
            backbone's LDM draws the images.
        cfg: an :class:`InstaGenConfig` (or its dict).
        out_dir: output folder.
        checkpoint: the head's checkpoint (recorded with its sha256).
        generator: the LDM that draws, when it is not the head's (same VAE; see
            :class:`InstaGenConfig`).
    """
    config_class = InstaGenConfig
    labeller_class = GroundingLabeller

    def __init__(self, detector, cfg, out_dir: str, checkpoint: str | None = None,
                 generator=None):
        cfg = self.parse_config(cfg)
        labeller = GroundingLabeller(detector, cfg.categories, checkpoint)
        if generator is not None:
            check_same_vae(generator, labeller.ldm)
        super().__init__(generator or labeller.ldm, cfg, out_dir, labeller)

    @classmethod
    def from_config(cls, cfg, synthesis: dict, checkpoint, out_dir, device='cpu'):
        syn_cfg = InstaGenConfig.from_dict(synthesis)
        labeller = GroundingLabeller.from_config(cfg, checkpoint, device, syn_cfg.categories)
        generator = None
        if syn_cfg.generator:
            from ..ldm import FrozenLDM
            generator = FrozenLDM.build(**syn_cfg.generator).to(device)
        return cls(labeller.detector, syn_cfg, out_dir, checkpoint, generator)
