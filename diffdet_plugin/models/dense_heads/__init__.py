from .instagen_head import InstaGenHead

__all__ = ['InstaGenHead']
