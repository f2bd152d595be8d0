"""Prompts for synthesis: DiffusionEngine's and the category-name prompts of InstaGen.

A reference image's prompt is its caption when the reference dataset has
captions, else the paper's generic template built from its categories::

    A [domain], with [cls-a], [cls-b], ... in the [domain].

For photos the paper appends a positive suffix to the prompt (joined with
". ") and uses a negative prompt as the unconditional CFG half; for other
domains (clipart) both are off by default. The strings below are the
DiffusionEngine release's values.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PHOTO_POSITIVE_SUFFIX = ('crafted, elegant, meticulous, magnificent, maximum details, '
                         'extremely hyper aesthetic, intricately detailed.')
PHOTO_NEGATIVE_PROMPT = ('ugly, tiling, poorly drawn hands, poorly drawn feet, poorly drawn face, '
                         'out of frame, extra limbs, disfigured, deformed, body out of frame, '
                         'bad anatomy, watermark, signature, cut off, low contrast, underexposed, '
                         'overexposed, bad art, beginner, amateur, distorted face.')


def generic_prompt(class_names, domain: str = 'photo') -> str:
    """``A photo, with dog, person in the photo.`` (unique names, in order of appearance)."""
    names = list(dict.fromkeys(class_names))
    if not names:
        return f'A {domain}.'
    return f'A {domain}, with {", ".join(names)} in the {domain}.'


def category_prompt(class_names, template: str = 'a photograph of {}', name_format: str = '{}',
                    joiner: str = ' and ') -> str:
    """InstaGen's prompt: ``a photograph of [c1] and [c2]`` (each name once, in order).

    ``name_format`` wraps each name (the toy domain: ``'a {}'``), ``joiner`` joins them and
    ``template`` places the result. Used for generation (``text_to_image``, ``instagen``
    modes) and for the fine-tuning captions (``CropCaptionDataset``), so the two agree.
    """
    names = list(dict.fromkeys(class_names))
    return template.format(joiner.join(name_format.format(c) for c in names))


@dataclass
class PromptBuilder:
    """Builds (prompt, negative prompt) for a reference image.

    Args:
        domain: the domain tag of the generic template (``photo``, ``clipart``...).
        use_captions: use the reference's caption when it has one.
        positive_suffix: appended to every prompt (``None``: the paper's for photos, none else).
        negative_prompt: the unconditional half's prompt (``None``: the paper's for photos,
            the empty prompt else).
    """
    domain: str = 'photo'
    use_captions: bool = True
    positive_suffix: str | None = None
    negative_prompt: str | None = None
    _suffix: str = field(init=False, repr=False)
    _negative: str = field(init=False, repr=False)

    def __post_init__(self):
        photo = self.domain == 'photo'
        self._suffix = (self.positive_suffix if self.positive_suffix is not None else
                        PHOTO_POSITIVE_SUFFIX if photo else '')
        self._negative = (self.negative_prompt if self.negative_prompt is not None else
                          PHOTO_NEGATIVE_PROMPT if photo else '')

    def __call__(self, class_names, caption: str | None = None) -> tuple[str, str]:
        if self.use_captions and caption:
            prompt = caption.strip()
        else:
            prompt = generic_prompt(class_names, self.domain)
        if self._suffix:
            prompt = '. '.join([prompt.rstrip('.').rstrip(), self._suffix])
        return prompt, self._negative
