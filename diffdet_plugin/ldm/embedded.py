"""Models shipped inside the package, addressed as ``pretrained='embedded:NAME'``.

``embedded:toy`` is the small LDM trained on the procedural toy-shapes domain
(docs/toy_ldm.md; recipe: ``make toy-ldm``). It is an ordinary diffusers folder
under ``diffdet_plugin/assets/`` and loads through exactly the same
:meth:`FrozenLDM.from_pretrained` path as a real Stable Diffusion folder.
"""
from __future__ import annotations

import os.path as osp

PREFIX = 'embedded:'
EMBEDDED_MODELS = {'toy': 'toy_ldm'}
ASSETS_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'assets')


def is_embedded(pretrained) -> bool:
    return isinstance(pretrained, str) and pretrained.startswith(PREFIX)


def embedded_model_dir(name: str = 'toy', check: bool = True) -> str:
    """The diffusers folder of an embedded model (``name`` with or without the prefix)."""
    name = name[len(PREFIX):] if is_embedded(name) else name
    if name not in EMBEDDED_MODELS:
        raise KeyError(f'Unknown embedded model {name!r}; available: '
                       f'{", ".join(PREFIX + n for n in EMBEDDED_MODELS)}.')
    path = osp.join(ASSETS_DIR, EMBEDDED_MODELS[name])
    if check and not osp.isfile(osp.join(path, 'model_index.json')):
        raise FileNotFoundError(
            f'The embedded model {PREFIX}{name} is missing from {path}. It ships with the '
            'package; in a source checkout, rebuild it with `make toy-ldm`.')
    return path
