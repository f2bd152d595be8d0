"""Real + synthetic training data as one registered dataset (the `-de` / `-instagen` configs).

The DiffusionEngine official code trains the downstream detector on the real set and the
synthesized set concatenated, every image equally likely; the per-batch arms (``-de-1to1``,
InstaGen's 1 : 1) put mmdet's ``MultiSourceSampler`` on the same two sources. Every such config
used to paste one block that rebuilds the synthetic source from the real one (same class
list, same train pipeline with the provenance meta keys packed, same backend); this wrapper
is that block, once::

    train_dataloader = dict(dataset=dict(
        _delete_=True, type='RealSyntheticDataset', real=_base_.real_train_dataset,
        synthetic=dict(_base_.synthetic_dataset_defaults, data_root='data/coco_de/')))

Sources are ``datasets[0]`` (real) and ``datasets[1]`` (synthetic), as mmdet's
``ConcatDataset`` and ``MultiSourceSampler`` expect.
"""
import copy
from typing import List, Sequence, Tuple

from mmdet.datasets import ConcatDataset
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import DATASETS

from .synthetic_coco import SYNTHETIC_META_KEYS

PACK_TYPES = ('PackDetInputs', 'mmdet.PackDetInputs')


def pack_synthetic_meta(pipeline: List[dict]) -> List[dict]:
    """A copy of ``pipeline`` whose ``PackDetInputs`` also packs the synthetic provenance keys.

    Args:
        pipeline (list[dict]): a real training pipeline ending in ``PackDetInputs``.

    Returns:
        list[dict]: the same transforms; the last ``PackDetInputs`` gets ``meta_keys`` = its own
        (mmdet's defaults when unset) followed by ``SYNTHETIC_META_KEYS`` not already there.
    """
    pipeline = copy.deepcopy(list(pipeline))
    packs = [i for i, t in enumerate(pipeline) if t.get('type') in PACK_TYPES]
    if not packs:
        raise ValueError('RealSyntheticDataset: the real pipeline has no PackDetInputs to pack '
                         'the synthetic provenance with; give synthetic=dict(pipeline=...) '
                         'explicitly.')
    pack = pipeline[packs[-1]]
    keys = list(pack['meta_keys'] if 'meta_keys' in pack else PackDetInputs().meta_keys)
    pack['meta_keys'] = tuple(keys + [k for k in SYNTHETIC_META_KEYS if k not in keys])
    return pipeline


@DATASETS.register_module()
class RealSyntheticDataset(ConcatDataset):
    """A real detection dataset and a ``SyntheticCocoDataset`` concatenated.

    Args:
        real (dict): the real training dataset config (built as given).
        synthetic (dict): the synthetic source config (``type`` defaults to
            ``SyntheticCocoDataset``); ``metainfo``, ``pipeline`` and ``backend_args`` default
            to the real source's (its first leaf dataset's when ``real`` is itself a
            ``ConcatDataset`` / ``RepeatDataset``), the pipeline packing
            ``SYNTHETIC_META_KEYS``.
        ignore_keys (list[str]): metainfo keys that may differ between the sources
            (mmengine's ``ConcatDataset``); default ``['dataset_type']``: VOC's type tag,
            which a synthetic COCO source never has.
        lazy_init (bool): as mmengine's ``ConcatDataset``.
    """

    def __init__(self, real: dict, synthetic: dict,
                 ignore_keys: Sequence[str] = ('dataset_type', ), lazy_init: bool = False):
        real, synthetic = self.source_configs(real, synthetic)
        self.real_cfg, self.synthetic_cfg = real, synthetic
        super().__init__(datasets=[real, synthetic], lazy_init=lazy_init,
                         ignore_keys=list(ignore_keys))

    @staticmethod
    def source_configs(real: dict, synthetic: dict) -> Tuple[dict, dict]:
        """The two dataset configs this wrapper concatenates (real, completed synthetic)."""
        if not isinstance(real, dict) or not isinstance(synthetic, dict):
            raise TypeError('RealSyntheticDataset takes two dataset configs: real=dict(...) and '
                            'synthetic=dict(data_root=...), got '
                            f'{type(real).__name__} and {type(synthetic).__name__}.')
        synthetic = copy.deepcopy(dict(synthetic))
        synthetic.setdefault('type', 'SyntheticCocoDataset')
        if 'data_root' not in synthetic:
            raise ValueError('RealSyntheticDataset: synthetic=dict(...) needs data_root, the '
                             'tools/synthesize.py --out folder.')
        leaf = real  # a wrapped real source (VOC07+12 concatenated) lends its first leaf's
        while 'pipeline' not in leaf and ('datasets' in leaf or 'dataset' in leaf):
            leaf = leaf['datasets'][0] if 'datasets' in leaf else leaf['dataset']
        for key in ('metainfo', 'backend_args'):
            if key not in synthetic and key in leaf:
                synthetic[key] = copy.deepcopy(leaf[key])
        if 'pipeline' not in synthetic:
            synthetic['pipeline'] = pack_synthetic_meta(leaf.get('pipeline', []))
        return real, synthetic
