"""Checks of category-name lists (synthesis prompts, grounding captions, open-vocabulary splits).

Names are compared as a text encoder sees them: case-folded, surrounding whitespace stripped,
inner whitespace collapsed, so ``'Zebra'``, ``' zebra'`` and ``'zebra'`` are one category.
"""
from __future__ import annotations


def normalize_name(name) -> str:
    """``'  Red  Square '`` → ``'red square'``."""
    return ' '.join(str(name).split()).casefold()


def check_category_names(names, what: str = 'the category list') -> list[str]:
    """One clear error for an empty list, an empty name or a name listed twice.

    Args:
        names: category names.
        what: how the error names the list (e.g. ``'synthesis.categories'``).
    Returns:
        the names as ``str``, in order.
    """
    names = [str(c) for c in names]
    if not names:
        raise ValueError(f'{what} is empty: list the category names, e.g. '
                         "['zebra', 'tram'].")
    if any(not c.strip() for c in names):
        raise ValueError(f'{what} holds an empty name ({names}): every category needs a name.')
    seen: dict[str, str] = {}
    dup = []
    for c in names:
        key = normalize_name(c)
        if key in seen:
            dup.append(f'{seen[key]!r} / {c!r}')
        seen.setdefault(key, c)
    if dup:
        raise ValueError(f'{what} names a category more than once ({", ".join(dup)}; names are '
                         'compared case-insensitively, ignoring spaces): list each once.')
    return names


def check_split(base, novel, classes=None, what: str = 'The open-vocabulary split') -> None:
    """One clear error for a base / novel split that overlaps, repeats or misses names, or (with
    ``classes``) names categories that are not among ``classes``."""
    check_category_names(base, f'{what}\'s base list')
    check_category_names(novel, f'{what}\'s novel list')
    overlap = sorted({normalize_name(c) for c in base} & {normalize_name(c) for c in novel})
    if overlap:
        raise ValueError(f'{what} lists {overlap} as both base and novel: a category is one or '
                         'the other.')
    if classes is not None:
        known = {normalize_name(c) for c in classes}
        unknown = [c for c in list(base) + list(novel) if normalize_name(c) not in known]
        if unknown:
            raise ValueError(f'{what} names {unknown}, which are not classes of the data '
                             f'({list(classes)}).')


def unknown_words(tokenizer, names) -> list[str]:
    """The names with a word the tokenizer spells character by character: a word it never
    saw as one (e.g. the toy LDM's tokenizer on ``'giraffe'``). The text encoder then reads
    letters, not a word, and a grounding head or an LDM conditioned on it has nothing to go on.
    Words of one or two characters are not counted."""
    out = []
    for name in names:
        for word in str(name).split():
            pieces = tokenizer.tokenize(word)
            if len(word) > 2 and len(pieces) == len(word) and len(pieces) > 1:
                out.append(str(name))
                break
    return out


def warn_unknown_words(tokenizer, names, what: str = 'the category names') -> list[str]:
    """:func:`unknown_words`, with one warning naming them (returned as well)."""
    bad = unknown_words(tokenizer, names)
    if bad:
        from mmengine.logging import print_log
        print_log(f'{what}: the LDM\'s tokenizer spells {bad} letter by letter (it never saw '
                  'them as words), so its text encoder reads letters; images and grounding for '
                  'them are unlikely to mean the name. Use names the tokenizer knows (e.g. the '
                  'toy LDM knows its six shapes and colours) or an LDM trained on them.',
                  logger='current', level=30)
    return bad
