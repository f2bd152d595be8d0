from .channel_masked_loss import ChannelMaskedLoss
from .ignore_index_loss import IgnoreIndexLoss

__all__ = ['ChannelMaskedLoss', 'IgnoreIndexLoss']
