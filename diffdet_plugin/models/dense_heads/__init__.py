from .background_ignore_fcos_head import BackgroundIgnoreFCOSHead
from .instagen_head import InstaGenHead

__all__ = ['BackgroundIgnoreFCOSHead', 'InstaGenHead']
