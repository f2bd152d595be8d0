"""mmdet components: importing this module registers them in mmdet's registries."""
from .backbones import LDMBackbone, LDMMismatchError
from .generators import AutoencoderTrainer, LatentDiffusionTrainer

__all__ = ['LDMBackbone', 'LDMMismatchError', 'AutoencoderTrainer', 'LatentDiffusionTrainer']
