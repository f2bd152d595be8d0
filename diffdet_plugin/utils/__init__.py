"""Small shared helpers (no mmdet imports at module level)."""
from .coco import read_captions
from .fileio import atomic_write_bytes, atomic_write_json


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register every plugin component (and mmdet's), as ``mmdet.utils.register_all_modules``.

    mmengine calls ``<scope>.utils.register_all_modules(False)`` when a registry of the
    ``diffdet_plugin`` scope is first used without an import location.
    """
    import diffdet_plugin  # noqa: F401  (importing the package registers its components)

    from mmdet.utils import register_all_modules as register_mmdet
    register_mmdet(init_default_scope)


__all__ = ['atomic_write_bytes', 'atomic_write_json', 'read_captions', 'register_all_modules']
