"""Evaluation of generated data: the judge detector and the fidelity measures."""
from .fidelity import (box_precision_recall, coco_map, img2img_fidelity, label_fidelity,
                       multiset_precision_recall, text_to_image_fidelity)
from .judge import DEFAULT_JUDGE, Judge, cache_key, detect_rgb, find_judge, load_judge, train_judge

__all__ = ['detect_rgb', 'box_precision_recall', 'coco_map', 'img2img_fidelity', 'label_fidelity',
           'multiset_precision_recall', 'text_to_image_fidelity', 'DEFAULT_JUDGE', 'Judge',
           'cache_key', 'find_judge', 'load_judge', 'train_judge']
