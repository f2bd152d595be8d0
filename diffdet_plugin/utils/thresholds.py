"""Score thresholds that must be probabilities strictly between 0 and 1 (InstaGen's α and β)."""
from __future__ import annotations

import math


def check_threshold(value, what: str) -> float:
    """``value`` as a float when 0 < value < 1; else one clear error naming ``what``
    (e.g. ``'synthesis.score_thr (InstaGen β)'``): at 0 every box passes, at 1 none does."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{what} must be a number in (0, 1), got {value!r}.') from None
    if not (math.isfinite(v) and 0.0 < v < 1.0):
        raise ValueError(f'{what} must be in (0, 1) (at 0 every box passes, at 1 none does), '
                         f'got {value!r}.')
    return v
