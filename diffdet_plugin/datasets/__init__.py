"""Datasets: the procedural toy-shapes domain and synthesized (DiffusionEngine) COCO data."""
from .caption_images import CaptionImageDataset
from .crop_captions import CropCaptionDataset
from .layout_captions import LayoutCaptionDataset
from .open_vocabulary import base_only_annotations, split_from_config
from .real_synthetic import RealSyntheticDataset, pack_synthetic_meta
from .synthetic_coco import PROVENANCE_KEYS, SYNTHETIC_META_KEYS, SyntheticCocoDataset
from .toy_shapes import (TOY_SHAPES_CLASSES, caption_for, ensure_toy_shapes, generate_toy_shapes,
                         parse_caption, render_scene)
from .transforms import PromptClassesText

__all__ = ['TOY_SHAPES_CLASSES', 'caption_for', 'ensure_toy_shapes', 'generate_toy_shapes',
           'parse_caption', 'render_scene',
           'PROVENANCE_KEYS', 'SYNTHETIC_META_KEYS', 'SyntheticCocoDataset',
           'CaptionImageDataset', 'CropCaptionDataset', 'LayoutCaptionDataset',
           'base_only_annotations', 'split_from_config', 'PromptClassesText',
           'RealSyntheticDataset', 'pack_synthetic_meta']
