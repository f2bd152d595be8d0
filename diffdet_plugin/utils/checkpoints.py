"""Is this checkpoint the kind a labeller loads? One clear refusal instead of a key dump."""
from __future__ import annotations

import os.path as osp
from collections import Counter


def require_checkpoint(checkpoint, kind: str) -> None:
    """One ``FileNotFoundError`` when a labeller's ``--checkpoint`` is missing, naming what to
    give (``kind``, e.g. ``'adapter'``) and where tools/train.py writes it."""
    if not checkpoint or not osp.isfile(checkpoint):
        raise FileNotFoundError(f'--checkpoint {checkpoint} does not exist: give a trained '
                                f'{kind} (tools/train.py writes work_dirs/<config>/iter_*.pth).')


def _prefixes(keys, depth: int = 2, top: int = 4) -> str:
    counts = Counter('.'.join(k.split('.')[:depth]) for k in keys)
    return ', '.join(f'{p}.* ({n})' for p, n in counts.most_common(top))


def check_checkpoint_kind(state_dict: dict, model, checkpoint: str, kind: str, fix: str,
                          min_match: float = 0.9) -> None:
    """Raise one ``ValueError`` when ``state_dict`` is not ``model``'s kind of checkpoint.

    A strict load of another model's weights ends in mmengine's dump of every missing and
    unexpected key (tens of KB); this says what the file looks like instead. Compared: the
    share of the model's parameters and buffers the checkpoint holds with the same name and
    shape (``min_match``).

    Args:
        state_dict: the checkpoint's weights (``state['state_dict']``).
        model: the module they are for.
        checkpoint: its path (for the message).
        kind: what was expected, e.g. ``'an InstaGen head'``.
        fix: how to get one, e.g. ``'train it with configs/instagen/…'``.
    """
    ours = model.state_dict()
    want, have = set(ours), set(state_dict)
    if not want:
        return
    fits = {k for k in want & have
            if tuple(getattr(state_dict[k], 'shape', ())) == tuple(ours[k].shape)}
    matched = len(fits) / len(want)
    foreign = len(have - want) / max(len(have), 1)  # e.g. a whole detector's backbone
    if matched >= min_match and foreign <= 0.5:
        return
    raise ValueError(
        f'{checkpoint} is not {kind} checkpoint: it holds {len(have)} weights and only '
        f'{len(fits)} of the {len(want)} this model needs fit it ({matched:.0%}; same name: '
        f'{len(want & have)}). It looks like: {_prefixes(have) or "nothing"}; the model '
        f'expects {_prefixes(want)}. {fix}')
