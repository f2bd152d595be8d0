"""DetDiffusion's perception-aware attributes (P.A. Attr): easy / hard / background per object."""
from .perception_attributes import (ATTRIBUTES, assign_attributes, extract_attributes,
                                    load_attributes)

__all__ = ['ATTRIBUTES', 'assign_attributes', 'extract_attributes', 'load_attributes']
