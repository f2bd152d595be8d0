"""Runner-side components (model wrappers, hooks)."""
from .hooks import CheckOpenVocabularySplitHook, SaveDiffusersHook
from .model_wrappers import DeviceAwareDistributedDataParallel

__all__ = ['CheckOpenVocabularySplitHook', 'DeviceAwareDistributedDataParallel',
           'SaveDiffusersHook']
