"""Runner-side components (model wrappers, hooks)."""
from .hooks import SaveDiffusersHook
from .model_wrappers import DeviceAwareDistributedDataParallel

__all__ = ['DeviceAwareDistributedDataParallel', 'SaveDiffusersHook']
