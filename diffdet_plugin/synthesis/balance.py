"""Synthesis planning: which item is made from which source, and category-balance rounds.

A *source* is what one generated image is made from: a reference image (DiffusionEngine),
a set of category names (InstaGen) or a layout (DetDiffusion). Planning only needs each
source's ``class_names``. A plan is a list of batches::

    dict(batch=b, items=[[item, source_index], ...])

Item ``i`` becomes image id ``i + 1``; batch and item indices are global, so any number of
ranks can share a plan (rank r makes the batches with ``b % world_size == r``).

Round 0 cycles through the sources. When ``balance.min_per_category`` > 0, rank 0 then
plans round k ≥ 1 from the boxes written so far: the categories still under the bound are
*deficient*; the round's items cycle through the sources that contain most deficient
categories. A round stops the balancing when no category is deficient, the image cap
(``max_images``) or ``max_rounds`` (default 50) is reached, or no source contains a
deficient category.
"""
from __future__ import annotations

import math


def base_batches(num_images: int, batch_size: int, num_sources: int) -> list[dict]:
    """Round 0: items 0..num_images-1, item i from source i mod ``num_sources``."""
    b = batch_size
    return [dict(batch=k, items=[[i, i % num_sources]
                                 for i in range(k * b, min((k + 1) * b, num_images))])
            for k in range(math.ceil(num_images / b))]


def count_boxes(records: dict[int, dict], classes: list[str]) -> dict[str, int]:
    """Boxes per category name in finished batch records (category id = index + 1)."""
    counts = {c: 0 for c in classes}
    for rec in records.values():
        for a in rec['annotations']:
            counts[classes[a['category_id'] - 1]] += 1
    return counts


def plan_round(k: int, records: dict[int, dict], source_classes: list, classes: list[str],
               balance: dict, batch_size: int, world_size: int, next_batch: int,
               next_item: int) -> dict:
    """The plan of balance round ``k`` (≥ 1) from the finished batches ``records``.

    Args:
        source_classes: per source, the category names it contains.
        balance: ``min_per_category``, optional ``max_images``, ``max_rounds`` and
            ``batches_per_round`` (default: 2 per rank).
        next_batch, next_item: the first unused batch and item index.

    Returns:
        ``dict(round, counts, deficient, batches)``, plus ``stop`` (the reason) when the
        balancing ends here.
    """
    bound = balance.get('min_per_category', 0)
    counts = count_boxes(records, classes)
    n_images = sum(len(r['items']) for r in records.values())
    deficient = {c for c, n in counts.items() if n < bound}
    cap = balance.get('max_images')
    stop = None
    if not deficient:
        stop = 'every category reached the lower bound'
    elif cap is not None and n_images >= cap:
        stop = f'image cap {cap} reached'
    elif k > balance.get('max_rounds', 50):
        stop = 'max_rounds reached'
    cands = sorted((i for i, names in enumerate(source_classes) if deficient & set(names)),
                   key=lambda i: (-len(deficient & set(source_classes[i])), i))
    if stop is None and not cands:
        stop = f'no source contains {sorted(deficient)}'
    plan = dict(round=k, counts=counts, deficient=sorted(deficient))
    if stop is not None:
        return dict(plan, stop=stop, batches=[])
    n_batches = balance.get('batches_per_round') or 2 * world_size
    if cap is not None:
        n_batches = min(n_batches, math.ceil((cap - n_images) / batch_size))
    b = batch_size
    start = (k - 1) * n_batches * b
    batches = []
    for j in range(n_batches):
        items = [[next_item + j * b + m, cands[(start + j * b + m) % len(cands)]]
                 for m in range(b)]
        batches.append(dict(batch=next_batch + j, items=items))
    return dict(plan, batches=batches)
