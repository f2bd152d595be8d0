"""Registries of scope ``diffdet_plugin``: children of mmdet's, holding nothing.

Components register in **mmdet's** registries (``mmdet.registry.MODELS`` ...),
so mmdet configs and tools find them by name. This module exists because a
config that inherits ours (``_base_ = 'diffdet_plugin::...'``) gets the scope
``diffdet_plugin`` on every ``type``; mmengine then looks for a registry of
that scope, and these children forward every lookup to mmdet (and on to
mmengine). Mirrors ``mmdet.registry``.
"""
from mmengine.registry import Registry

from mmdet import registry as _mmdet

_NAMES = sorted(n for n, v in vars(_mmdet).items()
                if isinstance(v, Registry) and not n.startswith("MMENGINE_"))

for _name in _NAMES:
    _parent = getattr(_mmdet, _name)
    globals()[_name] = Registry(_parent.name, parent=_parent, scope='diffdet_plugin')

__all__ = list(_NAMES)

# The plugin's own registry: synthesis modes (``synthesis.mode`` in a config), e.g.
# ``diffusion_engine``; see diffdet_plugin/synthesis/base.py.
SYNTHESIZERS = Registry('synthesizer', scope='diffdet_plugin')
__all__.append('SYNTHESIZERS')
