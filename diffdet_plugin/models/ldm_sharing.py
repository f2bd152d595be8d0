"""Copying a model that holds the frozen LDM without copying the LDM.

``LDMBackbone`` and ``LDMTextEncoder`` keep a :class:`~diffdet_plugin.ldm.FrozenLDM` as a plain
attribute ``ldm`` (not a registered sub-module: no parameters, no checkpoint entries). A
``copy.deepcopy`` of a detector (an EMA teacher, mmengine's ``ExponentialMovingAverage``) would
still copy it, doubling the largest thing in memory. :func:`keep_ldm_shared_on_deepcopy` is their
``__deepcopy__``: everything is copied except the LDM and its sub-modules, which the copy shares.
"""
from __future__ import annotations

import copy


def keep_ldm_shared_on_deepcopy(module, memo: dict, skip: tuple[str, ...] = ()):
    """Deep-copy ``module`` sharing ``module.ldm``; attributes in ``skip`` are left unset
    (the caller rebuilds them, e.g. forward hooks)."""
    ldm = module.__dict__.get('ldm')
    if ldm is not None:
        for m in ldm.modules():
            memo.setdefault(id(m), m)
        for p in ldm.parameters():
            memo.setdefault(id(p), p)
    cls = type(module)
    new = cls.__new__(cls)
    memo[id(module)] = new
    for key, value in module.__dict__.items():
        if key not in skip:
            object.__setattr__(new, key, copy.deepcopy(value, memo))
    return new
