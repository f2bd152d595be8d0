"""A CLIP tokenizer that needs no download.

Real Stable Diffusion weights bring their own tokenizer (``tokenizer/`` in a
diffusers folder). Architecture presets have random weights, so any valid
CLIP-style tokenizer serves them; this one is CLIP's byte-level BPE with the
byte alphabet, built in code: with no ``words`` it has no merges (every character
is one token); with ``words`` (a small domain vocabulary, e.g. the toy preset's)
it gets the BPE merges that make each of those words one token, while any
other text still falls back to bytes.

Token ids: 0..255 the 256 byte symbols, 256..511 the same symbols ending a word
(``'a</w>'``), 512 ``<|startoftext|>``, 513 ``<|endoftext|>`` (also padding),
then 514.. the merged symbols of ``words``. The text encoders of the presets set
``eos_token_id=513``, so transformers' ``CLIPTextModel`` pools at the first
end-of-text token (not at the arg-max id) and the extra ids are safe.
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


def _word_symbols(word: str) -> list[str]:
    symbols = [_byte_symbols()[b] for b in word.encode('utf-8')]
    symbols[-1] += '</w>'
    return symbols


def word_merges(words) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary and BPE merges that make each of ``words`` a single token.

    Each word's symbols are merged left to right; merges are appended (lowest
    priority last) and the result is checked with the real tokenizer until every
    word is one token, so words that share pieces (``star``/``stars``) stay whole.
    """
    from transformers import CLIPTokenizer
    vocab, merges = byte_clip_vocab(), []
    words = list(dict.fromkeys(w.lower() for w in words))
    for _ in range(8):
        tok = CLIPTokenizer(vocab=dict(vocab), merges=list(merges))
        pending = [(w, tok.tokenize(w)) for w in words]
        pending = [(w, pieces) for w, pieces in pending if len(pieces) > 1]
        if not pending:
            return vocab, merges
        for _, pieces in pending:
            pieces = list(pieces)
            while len(pieces) > 1:
                pair, merged = (pieces[0], pieces[1]), pieces[0] + pieces[1]
                if pair not in merges:
                    merges.append(pair)
                vocab.setdefault(merged, len(vocab))
                pieces = [merged] + pieces[2:]
    raise RuntimeError(f'could not make single tokens of {words}')


def build_byte_clip_tokenizer(model_max_length: int = 77, words=()):
    """A ``transformers.CLIPTokenizer`` over :func:`byte_clip_vocab`, offline.

    Args:
        words: whole-word tokens to add (see :func:`word_merges`); the vocabulary
            then has ``514 + number of merged symbols`` entries.
    """
    from transformers import CLIPTokenizer
    vocab, merges = word_merges(words) if words else (byte_clip_vocab(), [])
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)
