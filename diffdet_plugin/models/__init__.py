"""mmdet components: importing this module registers them in mmdet's registries."""
from .backbones import LDMBackbone, LDMMismatchError

__all__ = ['LDMBackbone', 'LDMMismatchError']
