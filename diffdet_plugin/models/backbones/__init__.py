from .ldm_backbone import LDMBackbone, LDMMismatchError

__all__ = ['LDMBackbone', 'LDMMismatchError']
