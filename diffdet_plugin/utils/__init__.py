"""Small shared helpers (no mmdet imports)."""
from .coco import read_captions
from .fileio import atomic_write_bytes, atomic_write_json

__all__ = ['atomic_write_bytes', 'atomic_write_json', 'read_captions']
