from .ldm_text_encoder import LDMTextEncoder

__all__ = ['LDMTextEncoder']
