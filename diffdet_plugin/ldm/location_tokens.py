"""Location tokens: a layout written as text (GeoDiffusion, DetDiffusion).

GeoDiffusion (Chen et al., ICLR 2024) and DetDiffusion (Wang et al., CVPR 2024) condition a
text-to-image model on a layout by *translating it into the prompt*. The image is divided into
a grid of ``grid_w × grid_h`` location bins, each bin gets a new token ``<l{i}>`` in the
tokenizer (row-major, ``i = row · grid_w + col``), and an object with box
``(x0, y0, x1, y1)`` is written as its category name followed by the bins of its top-left and
bottom-right corners::

    An image with square <l3><l200> [easy] and circle <l17><l52> [hard]

``[easy]`` / ``[hard]`` are DetDiffusion's perception-aware attributes (P.A. Attr: whether a
detector finds the object; see :mod:`diffdet_plugin.attributes`); without attributes the
object reads ``square <l3><l200>`` as in GeoDiffusion.

The new tokens' embeddings are new rows of the text encoder's token-embedding table,
initialized with a 2D sine-cosine table over the grid (MAE-style fixed position embedding), so
neighbouring bins start with similar embeddings; fine-tuning then learns them. The table is
scaled to the mean norm of the encoder's existing word rows (``scale='auto'``): the raw table's
rows have norm √(D/2) (8.0 on the toy encoder, 19.6 on SD's CLIP) against word rows of ≈ 0.23 /
0.39, and under AdamW (which moves every weight by about the learning rate per step) rows 35×
too large barely move: the 8-layout probe of docs/detdiffusion.md learns no layout at scale 1.
GeoDiffusion's training script carries the same rescaling as a commented-out line
(``pos_embed / ‖pos_embed‖ · 0.3854``, CLIP's word-row norm).

DetDiffusion's attributes are *special tokens* (paper, Sec. 3.2): ``[easy]``, ``[hard]`` and
``[background]`` are added tokens too (:func:`add_attribute_tokens`), one id each, their rows
started from the embedding of the plain word at the word-row norm.

Nothing here imports mmdet.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np
import torch

#: Bins of the paper-scale setup (SD 1.5 at 256² / 800 × 456).
DEFAULT_GRID = (32, 32)
#: Bins of the toy domain (128 px images).
TOY_GRID = (16, 16)

_TOKEN = re.compile(r'^<l(\d+)>$')


def _grid(grid) -> tuple[int, int]:
    """``grid`` as ``(grid_w, grid_h)`` positive ints (an int means a square grid)."""
    if isinstance(grid, int):
        grid = (grid, grid)
    gw, gh = (int(g) for g in grid)
    if gw < 1 or gh < 1:
        raise ValueError(f'location grid {grid} must be (grid_w, grid_h) with positive sides')
    return gw, gh


def location_token_names(grid) -> list[str]:
    """``['<l0>', ..., '<l{grid_w·grid_h − 1}>']``, bin ``i = row · grid_w + col``."""
    gw, gh = _grid(grid)
    return [f'<l{i}>' for i in range(gw * gh)]


def _bin(v: float, size: float, n: int) -> int:
    """The bin of coordinate ``v`` on an axis of ``size`` pixels cut into ``n`` bins."""
    v = min(max(float(v), 0.0), float(size))  # clip to the image
    return min(int(math.floor(v / size * n)), n - 1)


def box_to_location_tokens(box_xyxy, width: float, height: float, grid) -> tuple[str, str]:
    """The location tokens of a box's top-left and bottom-right corners.

    Args:
        box_xyxy: ``(x0, y0, x1, y1)`` in pixels of an image of ``width × height``; clipped to
            the image.
        grid: ``(grid_w, grid_h)`` bins.

    Returns:
        ``(tl, br)``, e.g. ``('<l3>', '<l200>')``: the bin of a point ``(x, y)`` is
        ``row · grid_w + col`` with ``col = min(⌊x / width · grid_w⌋, grid_w − 1)`` and
        ``row = min(⌊y / height · grid_h⌋, grid_h − 1)``.
    """
    gw, gh = _grid(grid)
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    tl = _bin(y0, height, gh) * gw + _bin(x0, width, gw)
    br = _bin(y1, height, gh) * gw + _bin(x1, width, gw)
    return f'<l{tl}>', f'<l{br}>'


def location_token_index(token: str, grid) -> int:
    """``'<l{i}>'`` → ``i``; a clear ``ValueError`` for anything else or ``i`` off the grid."""
    gw, gh = _grid(grid)
    m = _TOKEN.match(str(token))
    if m is None or int(m.group(1)) >= gw * gh:
        raise ValueError(f'{token!r} is not a location token of the {gw}×{gh} grid '
                         f'(<l0> ... <l{gw * gh - 1}>)')
    return int(m.group(1))


def location_tokens_to_box(tl: str, br: str, width: float, height: float,
                           grid) -> tuple[float, float, float, float]:
    """The inverse of :func:`box_to_location_tokens` up to the bin size: the centres of the two
    bins, as a box ``(x0, y0, x1, y1)`` in pixels of a ``width × height`` image."""
    gw, gh = _grid(grid)
    out = []
    for token in (tl, br):
        row, col = divmod(location_token_index(token, (gw, gh)), gw)
        out += [(col + 0.5) * width / gw, (row + 0.5) * height / gh]
    return tuple(out)


def sincos_2d_embedding(grid, dim: int) -> torch.Tensor:
    """The fixed 2D sine-cosine embedding of the grid's bins, ``(grid_w · grid_h, dim)`` float32.

    Row ``i = row · grid_w + col``: the first ``dim/2`` entries encode ``row`` (y), the last
    ``dim/2`` encode ``col`` (x); each half is the 1D table
    ``[sin(p · ω_0), ..., sin(p · ω_{K−1}), cos(p · ω_0), ..., cos(p · ω_{K−1})]`` with
    ``K = dim/4`` and ``ω_k = 1 / 10000^(2k / (dim/2))`` (Transformer / MAE frequencies).
    """
    gw, gh = _grid(grid)
    if dim % 4:
        raise ValueError(f'the 2D sine-cosine embedding needs dim divisible by 4, got {dim}')
    k = torch.arange(dim // 4, dtype=torch.float64)
    omega = 1.0 / 10000 ** (2 * k / (dim // 2))

    def axis(pos: torch.Tensor) -> torch.Tensor:  # (P,) → (P, dim/2)
        angles = pos[:, None].double() * omega[None]
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    rows, cols = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing='ij')
    table = torch.cat([axis(rows.flatten()), axis(cols.flatten())], dim=1)
    return table.float()


#: DetDiffusion's perception-aware attributes as the special tokens of the prompt.
ATTRIBUTE_TOKENS = ('[easy]', '[hard]', '[background]')


def word_row_norm(encoder, num_words: int | None = None) -> float:
    """The mean L2 norm of a text encoder's token-embedding rows ``[0, num_words)`` (all rows
    when ``None``): the scale new token rows should start at."""
    weight = encoder.get_input_embeddings().weight
    rows = weight[:num_words] if num_words else weight
    return float(rows.detach().float().norm(dim=1).mean())


def _resolve_scale(scale, target_norm: float, dim: int) -> float:
    """``'auto'`` → the factor that gives the sin-cos rows (norm √(dim/2)) ``target_norm``."""
    if scale == 'auto':
        return target_norm / math.sqrt(dim / 2)
    if isinstance(scale, str) or not float(scale) > 0:
        raise ValueError(f"location_token_scale {scale!r}: use 'auto' (the word rows' mean "
                         'norm) or a positive factor on the sine-cosine table')
    return float(scale)


def _grow_table(tokenizer, encoder):
    """Resize the encoder's table to cover the tokenizer (never shrink), keeping the table's
    ``requires_grad``; returns the (new) embedding module."""
    emb = encoder.get_input_embeddings()
    requires_grad = emb.weight.requires_grad
    if len(tokenizer) > emb.weight.shape[0]:
        try:  # the new rows are overwritten by the caller: no need for transformers' mean init
            encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        except TypeError:  # transformers < 4.46
            encoder.resize_token_embeddings(len(tokenizer))
    emb = encoder.get_input_embeddings()
    emb.weight.requires_grad_(requires_grad)
    return emb


def add_location_tokens(ldm, grid, scale: float | str = 'auto') -> list[int]:
    """Add the grid's location tokens to an LDM's tokenizer and text encoder.

    The tokenizer gets ``grid_w · grid_h`` added tokens (``tokenizer.add_tokens``: each is
    one token wherever it appears in a prompt, also with no space before the next one), the
    text encoder's token-embedding table grows to cover them
    (``resize_token_embeddings``; never shrunk: a tokenizer smaller than the table, as with the
    presets' byte-level tokenizer, gets its new ids inside the table) and their rows are set
    to ``scale · sincos_2d_embedding(grid, hidden_size)``. The LDM's prompt-embedding cache is
    cleared. The table's ``requires_grad`` is kept. The factor used is left in
    ``ldm.location_token_scale`` (``None`` when the tokens were already there).

    Idempotent: when the tokenizer already holds all of them (a fine-tuned model saved with
    its tokens and loaded again), nothing changes and their ids are returned.

    Note: CLIP's pooled output (``CLIPTextModel(...).pooler_output`` with the legacy
    ``eos_token_id=2`` config of SD's encoders) pools at the arg-max token id, which is now a
    location token; SD conditions on the hidden states (``[0]``), which are unaffected.

    Args:
        ldm: a :class:`~diffdet_plugin.ldm.FrozenLDM` (anything with ``tokenizer`` and a
            transformers ``text_encoder``).
        grid: ``(grid_w, grid_h)`` bins.
        scale: ``'auto'`` (default): every row gets the mean norm of the encoder's existing
            word rows (:func:`word_row_norm` over the tokenizer's vocabulary before the
            tokens are added); a number: that factor on the sine-cosine table (1: the raw
            table, norm √(D/2)).

    Returns:
        The token ids, ``ids[i]`` the id of ``<l{i}>``.

    Raises:
        ValueError: the tokenizer holds only some of the tokens, or location tokens of a
            larger grid, or the text encoder has no rows for them.
    """
    tokenizer, encoder = ldm.tokenizer, ldm.text_encoder
    names = location_token_names(grid)
    vocab = tokenizer.get_vocab()
    present = [n for n in names if n in vocab]
    if f'<l{len(names)}>' in vocab:
        raise ValueError(f'the tokenizer holds location tokens beyond <l{len(names) - 1}>: it '
                         f'was made for a larger grid than {_grid(grid)}; use that grid.')
    emb = encoder.get_input_embeddings()
    if len(present) == len(names):
        ids = [vocab[n] for n in names]
        if max(ids) >= emb.weight.shape[0]:
            raise ValueError(f'the tokenizer holds the location tokens but the text encoder has '
                             f'{emb.weight.shape[0]} token embeddings (ids up to {max(ids)} '
                             'needed): save and load tokenizer and text encoder together.')
        return ids
    if present:
        raise ValueError(f'the tokenizer holds {len(present)} of the {len(names)} location '
                         f'tokens of the {_grid(grid)} grid (e.g. {present[:3]}): it was '
                         'modified by hand or made for another grid; start from the base model.')
    factor = _resolve_scale(scale, word_row_norm(encoder, len(tokenizer)), emb.weight.shape[1])
    tokenizer.add_tokens(names)
    ids = tokenizer.convert_tokens_to_ids(names)
    emb = _grow_table(tokenizer, encoder)
    table = factor * sincos_2d_embedding(grid, emb.weight.shape[1])
    with torch.no_grad():
        emb.weight[torch.as_tensor(ids, device=emb.weight.device)] = table.to(emb.weight)
    ldm.location_token_scale = factor
    _clear_prompt_cache(ldm)
    return list(ids)


def _clear_prompt_cache(ldm):
    cache = getattr(ldm, '_prompt_cache', None)
    if cache is not None:
        cache.clear()


def add_attribute_tokens(ldm, names=ATTRIBUTE_TOKENS) -> list[int]:
    """Add DetDiffusion's attribute tokens (``[easy]``, ...) to an LDM's tokenizer and encoder.

    Each becomes one added token (the paper's "special tokens"; written as plain text they are
    several sub-word or byte tokens). Its row starts at the mean embedding of the bare word's
    own tokens (``easy``: the encoder already knows the word), rescaled to the mean word-row
    norm. Idempotent like :func:`add_location_tokens`; the table's ``requires_grad`` is kept.

    Returns:
        The token ids, in the order of ``names``.
    """
    tokenizer, encoder = ldm.tokenizer, ldm.text_encoder
    vocab = tokenizer.get_vocab()
    todo = [n for n in names if n not in vocab]
    if todo:
        norm = word_row_norm(encoder, len(tokenizer))
        words = [tokenizer(n.strip('[]'), add_special_tokens=False).input_ids for n in todo]
        tokenizer.add_tokens(list(todo))
        emb = _grow_table(tokenizer, encoder)
        with torch.no_grad():
            for name, word in zip(todo, words):
                row = emb.weight[torch.as_tensor(word, device=emb.weight.device)].float().mean(0)
                row = row / row.norm().clamp_min(1e-8) * norm
                emb.weight[tokenizer.convert_tokens_to_ids(name)] = row.to(emb.weight)
        _clear_prompt_cache(ldm)
    ids = tokenizer.convert_tokens_to_ids(list(names))
    if max(ids) >= encoder.get_input_embeddings().weight.shape[0]:
        raise ValueError('the tokenizer holds the attribute tokens but the text encoder has no '
                         'rows for them: save and load tokenizer and text encoder together.')
    return list(ids)


# ---------------------------------------------------------------- prompts


def layout_prompt(objects: Sequence[tuple], shuffle_rng: np.random.Generator | None = None,
                  template: str = 'An image with {}', joiner: str = ' and ') -> str:
    """The layout as text.

    Args:
        objects: ``(category_name, tl_token, br_token, attribute_or_None)`` each, rendered
            ``"{name} {tl}{br}"`` or ``"{name} {tl}{br} [{attr}]"``.
        shuffle_rng: a numpy Generator to shuffle the objects with (training); ``None``: in
            the given order.
        template, joiner: ``template.format(joiner.join(rendered objects))``.
    """
    objects = list(objects)
    if shuffle_rng is not None:
        objects = [objects[i] for i in shuffle_rng.permutation(len(objects))]
    parts = [f'{name} {tl}{br}' + (f' [{attr}]' if attr else '')
             for name, tl, br, attr in objects]
    return template.format(joiner.join(parts))


def prompt_length(tokenizer, prompt: str) -> int:
    """Tokens of ``prompt`` with BOS and EOS (what counts against ``model_max_length``)."""
    return len(tokenizer(prompt, truncation=False).input_ids)


def fit_objects(tokenizer, objects: Sequence[tuple], max_length: int = 77, *,
                template: str = 'An image with {}', joiner: str = ' and '
                ) -> tuple[list, int]:
    """Drop objects from the end until :func:`layout_prompt` fits ``max_length`` tokens.

    CLIP's text encoder reads 77 tokens (BOS and EOS included); a longer prompt would be cut
    in the middle of an object. Shuffle first (if training): this keeps a prefix.

    Returns:
        ``(kept_objects, num_dropped)``, ``kept_objects`` the longest fitting prefix.
    """
    objects = list(objects)

    def fits(k: int) -> bool:
        prompt = layout_prompt(objects[:k], template=template, joiner=joiner)
        return prompt_length(tokenizer, prompt) <= max_length

    if fits(len(objects)):
        return objects, 0
    lo, hi = 0, len(objects)  # fits(lo) assumed (the bare template), not fits(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return objects[:lo], len(objects) - lo


def load_tokenizer(pretrained: str | None = None, preset: str | None = None, **kwargs):
    """The tokenizer of an LDM without loading its weights (e.g. for a dataset that counts
    prompt tokens), from the same arguments as :meth:`FrozenLDM.build`: a preset name, an
    ``embedded:`` model, a diffusers folder (its ``tokenizer/``) or a hub id."""
    from .embedded import embedded_model_dir, is_embedded
    from .presets import _preset_tokenizer, get_preset
    if pretrained is None:
        if preset is None:
            raise ValueError('load_tokenizer: give `pretrained` or `preset`')
        return _preset_tokenizer(get_preset(preset))
    if str(pretrained).endswith(('.ckpt', '.safetensors')):
        if preset is None:
            raise ValueError(f'load_tokenizer: for the single file {pretrained!r} give its '
                             '`preset` (the file holds no tokenizer)')
        return _preset_tokenizer(get_preset(preset))
    from transformers import CLIPTokenizer
    path = embedded_model_dir(pretrained) if is_embedded(pretrained) else pretrained
    return CLIPTokenizer.from_pretrained(path, subfolder='tokenizer', **kwargs)
