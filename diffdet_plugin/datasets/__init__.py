"""Datasets: the procedural toy-shapes domain (more to come: synthetic COCO)."""
from .toy_shapes import TOY_SHAPES_CLASSES, caption_for, generate_toy_shapes, render_scene

__all__ = ['TOY_SHAPES_CLASSES', 'caption_for', 'generate_toy_shapes', 'render_scene']
