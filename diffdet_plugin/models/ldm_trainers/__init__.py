"""Training models for the latent diffusion model itself (mmengine ``BaseModel``).

Two stages, each trained with ``tools/train.py`` like any mmdet model, each
saving a diffusers folder that :meth:`FrozenLDM.from_pretrained` loads:

* :class:`AutoencoderTrainer` — the VAE:
  L = ‖x − D(z)‖₁ + λ_2‖x − D(z)‖² + λ_KL · KL(q(z|x) ‖ N(0, I));
  or the decoder alone on a fixed encoder.
* :class:`LatentDiffusionTrainer` — the LDM loss (Rombach et al., eq. 2):
  L_LDM = E_{z0, c, ε, t} ‖ y − UNet(z_t, t, τ(c)) ‖²,  z_t = α_t z0 + σ_t ε,
  y = ε or v = α_t ε − σ_t z0, with the caption c replaced by the empty prompt
  with probability ``empty_prompt_prob`` (so classifier-free guidance works).

All diffusion math comes from :class:`FrozenLDM`; ``trainable`` chooses which
parts learn (``unet``, ``text_encoder``, ``vae``), the rest stay frozen. The
DetDiffusion and InstaGen fine-tuning models extend
:class:`LatentDiffusionTrainer`: :class:`LayoutLDM` (DetDiffusion: location tokens and the
P.A. loss on UNet features).
"""
from .autoencoder_trainer import AutoencoderTrainer
from .latent_diffusion_trainer import LatentDiffusionTrainer
from .layout_ldm import LayoutLDM
from .ldm_parts_model import LDMPartsModel

__all__ = ['AutoencoderTrainer', 'LatentDiffusionTrainer', 'LayoutLDM', 'LDMPartsModel']
