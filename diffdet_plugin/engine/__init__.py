"""Runner-side components (model wrappers)."""
from .model_wrappers import DeviceAwareDistributedDataParallel

__all__ = ['DeviceAwareDistributedDataParallel']
