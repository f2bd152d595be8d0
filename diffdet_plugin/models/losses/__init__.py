from .ignore_index_loss import IgnoreIndexLoss

__all__ = ['IgnoreIndexLoss']
