"""Data transforms (mmdet ``TRANSFORMS``)."""
from .prompt_classes_text import PromptClassesText

__all__ = ['PromptClassesText']
