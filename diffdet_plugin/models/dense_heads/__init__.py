from .background_ignore_fcos_head import BackgroundIgnoreFCOSHead
from .instagen_head import InstaGenHead
from .novel_masked_fcos_head import NovelMaskedFCOSHead

__all__ = ['BackgroundIgnoreFCOSHead', 'InstaGenHead', 'NovelMaskedFCOSHead']
