"""A CLIP tokenizer that needs no download.

Real Stable Diffusion weights bring their own tokenizer (``tokenizer/`` in a
diffusers folder). Architecture presets have random weights, so any valid
CLIP-style tokenizer serves them; this one is CLIP's byte-level BPE with the
byte alphabet only and no merges (every character is one token), built in code.

Token ids: 0..255 the 256 byte symbols, 256..511 the same symbols ending a word
(``'a</w>'``), 512 ``<|startoftext|>``, 513 ``<|endoftext|>`` (also padding).
The end-of-text token has the highest id, as in CLIP, so transformers'
arg-max pooling of ``CLIPTextModel`` finds it.
"""
from __future__ import annotations

from functools import lru_cache

BOS_TOKEN = '<|startoftext|>'
EOS_TOKEN = '<|endoftext|>'


@lru_cache(maxsize=None)
def _byte_symbols() -> tuple[str, ...]:
    """GPT-2/CLIP's reversible map from the 256 byte values to printable characters."""
    printable = (list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) +
                 list(range(ord('®'), ord('ÿ') + 1)))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    by_byte = dict(zip(printable, codes))
    return tuple(chr(by_byte[b]) for b in range(256))


def byte_clip_vocab() -> dict[str, int]:
    """The vocabulary described in the module docstring (514 tokens)."""
    symbols = _byte_symbols()
    tokens = list(symbols) + [s + '</w>' for s in symbols] + [BOS_TOKEN, EOS_TOKEN]
    return {tok: i for i, tok in enumerate(tokens)}


def build_byte_clip_tokenizer(model_max_length: int = 77):
    """A ``transformers.CLIPTokenizer`` over :func:`byte_clip_vocab`, offline."""
    from transformers import CLIPTokenizer
    tok = CLIPTokenizer(vocab=byte_clip_vocab(), merges=[], model_max_length=model_max_length)
    return tok
