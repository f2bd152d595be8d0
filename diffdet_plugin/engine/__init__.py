"""Runner-side components (model wrappers, hooks)."""
from .hooks import CheckOpenVocabularySplitHook, SaveDiffusersHook
from .layout_probe_hook import LayoutProbeHook
from .model_wrappers import DeviceAwareDistributedDataParallel

__all__ = ['CheckOpenVocabularySplitHook', 'DeviceAwareDistributedDataParallel',
           'LayoutProbeHook', 'SaveDiffusersHook']
