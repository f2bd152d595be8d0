"""Labellers of synthesized images (see :mod:`.base`): one per way of knowing the boxes."""
from .adapter import LABEL_FEATURES, AdapterLabeller
from .base import LabelBatch, Labeller
from .detector import DetectorLabeller
from .grounding import GroundingLabeller, load_head_checkpoint
from .layout import LayoutLabeller

__all__ = ['LABEL_FEATURES', 'AdapterLabeller', 'LabelBatch', 'Labeller', 'DetectorLabeller',
           'GroundingLabeller', 'load_head_checkpoint', 'LayoutLabeller']
