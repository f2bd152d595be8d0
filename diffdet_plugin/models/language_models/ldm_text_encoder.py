"""``LDMTextEncoder``: the LDM's own CLIP text encoder in mmdet 3.3's grounding contract.

InstaGen (CVPR 2024, Sec. 3.2) scores each query against the **CLIP text embeddings** of
the category names. mmdet's ``GroundingDINO`` reads text through a language model that has

* ``tokenizer``: a fast tokenizer (``char_to_token``), used for the positive maps that tie a
  category to its tokens; ``max_tokens`` and ``pad_to_max``;
* ``forward(captions) -> dict`` with ``embedded`` (B, L, D), ``hidden`` (B, L, D),
  ``masks`` (B, L, L) bool (sub-sentence self-attention), ``position_ids`` (B, L) and
  ``text_token_mask`` (B, L) bool (real tokens, not padding);
* ``language_dim`` = D, the input of the detector's ``text_feat_map`` (D → 256).

This module gives that contract to the text encoder **of the LDM the backbone already
loaded**: it holds a reference to the :class:`~diffdet_plugin.ldm.FrozenLDM` (attached by
the detector, or built from ``ldm=`` for a separate one), never a copy.

Captions come as mmdet writes a class list: ``'circle. red square. '``. CLIP's text encoder
is causal, so encoding that string in one pass would make ``square``'s embedding depend on
the names before it, and a category's embedding on its place in the list. Instead each
sub-sentence (the tokens between two separators: BOS, EOS, padding and ``.``) is encoded on
its own as ``[BOS] tokens [EOS]`` and its states are put back at the caption's positions:

    embedded[b, i]  = CLIP([BOS] s [EOS])[1 + j]      token j of sub-sentence s at position i
    embedded[b, k]  = CLIP([BOS] s [EOS])[-1]         the separator k that closes s (EOS state)
    embedded[b, 0]  = CLIP([BOS])[0]                  BOS and padding

``masks`` and ``position_ids`` are mmdet's own sub-sentence masks
(``generate_masks_with_special_tokens_and_transfer_map``). Frozen (the default), each
sub-sentence is encoded once and cached, so a fixed class list costs one text pass per run.
"""
from __future__ import annotations

import zlib

import torch
from mmengine.model import BaseModule

from mmdet.models.language_models.bert import generate_masks_with_special_tokens_and_transfer_map
from mmdet.registry import MODELS

from ...ldm import FrozenLDM
from ..ldm_sharing import keep_ldm_shared_on_deepcopy


@MODELS.register_module()
class LDMTextEncoder(BaseModule):
    """The LDM's CLIP text encoder for a grounding head.

    Args:
        ldm (dict, optional): :meth:`FrozenLDM.build` arguments of a separate LDM whose text
            encoder to use. ``None`` (default): the detector attaches its backbone's LDM
            (:meth:`attach`), so the encoder is shared, never copied.
        max_tokens (int): caption length limit in tokens (CLIP: 77).
        pad_to_max (bool): pad every caption to ``max_tokens`` (else to the batch's longest).
        frozen (bool): keep the text encoder frozen (default, as InstaGen). ``False``
            registers it as a sub-module, so it is trained and checkpointed; since it is the
            LDM's own encoder, that also changes the LDM's prompt conditioning.
        separator (str): the character that closes a sub-sentence (mmdet writes ``'. '``).
        name_template (str, optional): the official InstaGen class embedding: each
            sub-sentence (a class name) is encoded inside this sentence (e.g.
            ``'a photograph of a {}'``, fcjian/InstaGen ``generate_class_embedding.py``) and
            every token of the name gets the mean of the name tokens' states there: one
            vector per class. ``None``: the name alone, token by token (``[BOS] s [EOS]``).
        mask_special_tokens (bool): leave BOS, EOS, the separators and padding out of
            ``text_token_mask``, so no special token is scored or receives a classification
            target (the official head scores one vector per class and nothing else).
        random_names (bool): a control (issue #20's Tier B arm (d)), with ``name_template``
            only: each class's vector is replaced by a fixed random direction (seeded by the
            name's token ids, so the same name always gets the same vector) at the real
            vector's norm. The head can still learn the base classes, but a novel name shares
            nothing with the base names it resembles ("red triangle" with "red circle"): the
            text-side transfer InstaGen relies on is removed.
    """

    def __init__(self, ldm: dict | None = None, max_tokens: int = 77, pad_to_max: bool = False,
                 frozen: bool = True, separator: str = '.', name_template: str | None = None,
                 mask_special_tokens: bool = False, random_names: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if name_template is not None and name_template.count('{}') != 1:
            raise ValueError(f'LDMTextEncoder name_template {name_template!r} must hold one {{}} '
                             'for the class name.')
        if random_names and name_template is None:
            raise ValueError('LDMTextEncoder random_names=True replaces the one vector per class, '
                             "so it needs a name_template (e.g. 'a photograph of a {}').")
        self.random_names = random_names
        self.name_template = name_template
        self.mask_special_tokens = mask_special_tokens
        self.max_tokens = max_tokens
        self.pad_to_max = pad_to_max
        self.frozen = frozen
        self.separator = separator
        self.register_buffer('_device_probe', torch.empty(0), persistent=False)
        self._cache: dict[tuple[int, ...], torch.Tensor] = {}
        object.__setattr__(self, 'ldm', None)
        if ldm is not None:
            self.attach(FrozenLDM.build(**ldm))

    # ------------------------------------------------------------------ wiring
    def attach(self, ldm: FrozenLDM) -> 'LDMTextEncoder':
        """Use ``ldm``'s tokenizer and text encoder (a reference, not a copy)."""
        tok = ldm.tokenizer
        if not getattr(tok, 'is_fast', False):
            raise TypeError(
                f'The LDM {ldm.source!r} has a slow tokenizer ({type(tok).__name__}); grounding '
                'needs char_to_token, i.e. a fast tokenizer. Save the model with a '
                'CLIPTokenizerFast in tokenizer/ (transformers >= 5 does by default).')
        object.__setattr__(self, 'ldm', ldm)
        if not self.frozen:
            ldm.text_encoder.requires_grad_(True)
            self.text_encoder = ldm.text_encoder  # registered: optimised and checkpointed
        sep = tok(self.separator, add_special_tokens=False).input_ids
        if len(sep) != 1:
            raise ValueError(f'separator {self.separator!r} is {len(sep)} tokens for this '
                             'tokenizer; it must be one.')
        self.separator_id = sep[0]
        self.special_ids = sorted({tok.bos_token_id, tok.eos_token_id, tok.pad_token_id,
                                   self.separator_id})
        self._cache.clear()
        return self

    @property
    def tokenizer(self):
        self._check_attached()
        return self.ldm.tokenizer

    @property
    def language_dim(self) -> int:
        """D, the width of the text encoder's states."""
        self._check_attached()
        return self.ldm.text_encoder.config.hidden_size

    def _check_attached(self):
        if self.ldm is None:
            raise RuntimeError('LDMTextEncoder has no LDM: give it ldm=dict(...) or use it '
                               'inside a detector with an LDMBackbone (InstaGen), which attaches '
                               'its own.')

    def __deepcopy__(self, memo):
        return keep_ldm_shared_on_deepcopy(self, memo)

    def _apply(self, fn, *args, **kwargs):
        """``.to(device / dtype)``, ``.cuda()``, ``.half()``: the cached sub-sentence states
        follow the module like its buffers (else a CPU forward, then ``.cuda()``, would mix
        devices)."""
        self._cache = {k: fn(v) for k, v in self._cache.items()}
        return super()._apply(fn, *args, **kwargs)

    # ----------------------------------------------------------------- forward
    def _encode_segments(self, segments: list[tuple[int, ...]]) -> list[torch.Tensor]:
        """Sub-sentences (token ids) → CLIP states of ``[BOS] s [EOS]``, each (len(s) + 2, D)."""
        tok, enc = self.ldm.tokenizer, self.ldm.text_encoder
        device = enc.get_input_embeddings().weight.device
        todo = [s for s in dict.fromkeys(segments) if not self.frozen or s not in self._cache]
        if todo:
            pre, post = self._template_ids()
            seqs = [[tok.bos_token_id, *pre, *s, *post, tok.eos_token_id] for s in todo]
            width = max(len(q) for q in seqs)
            ids = torch.full((len(todo), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for i, q in enumerate(seqs):
                ids[i, :len(q)] = torch.tensor(q)
                mask[i, :len(q)] = 1
            with torch.set_grad_enabled(not self.frozen and torch.is_grad_enabled()):
                states = enc(input_ids=ids.to(device), attention_mask=mask.to(device))[0]
            fresh = {}
            for i, (s, q) in enumerate(zip(todo, seqs)):
                if not pre and not post:
                    fresh[s] = states[i, :len(q)]
                    continue
                name = states[i, 1 + len(pre):1 + len(pre) + len(s)]  # in context
                one = name.mean(0, keepdim=True)  # one vector per class
                if self.random_names:
                    one = self._random_direction(s, one)
                one = one.expand(len(s), -1)
                fresh[s] = torch.cat([states[i, :1], one, states[i, len(q) - 1:len(q)]])
            if not self.frozen:
                return [fresh[s] for s in segments]
            self._cache.update({s: v.detach() for s, v in fresh.items()})
        return [self._cache[s] for s in segments]

    @staticmethod
    def _random_direction(segment: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """``random_names``: a (1, D) Gaussian direction seeded by the name's token ids, at the
        norm of ``like`` (the real class vector)."""
        seed = zlib.crc32(','.join(map(str, segment)).encode())
        g = torch.Generator().manual_seed(seed)
        v = torch.randn(like.shape, generator=g).to(like)
        return v * (like.norm() / v.norm())

    def _template_ids(self) -> tuple[list[int], list[int]]:
        """Token ids of ``name_template``'s text before and after the name (empty without)."""
        if self.name_template is None:
            return [], []
        before, after = self.name_template.split('{}')
        tok = self.ldm.tokenizer
        return (tok(before.strip(), add_special_tokens=False).input_ids if before.strip() else [],
                tok(after.strip(), add_special_tokens=False).input_ids if after.strip() else [])

    def forward(self, captions, **kwargs) -> dict:
        """Captions (list of B str) → mmdet's text dict (see the module docstring)."""
        self._check_attached()
        probe = self._device_probe
        if self.ldm.text_encoder.device != probe.device:
            self.ldm.to(probe.device)
        tokenized = self.tokenizer(
            list(captions), padding='max_length' if self.pad_to_max else 'longest',
            max_length=self.max_tokens, truncation=False, return_tensors='pt')
        ids = tokenized.input_ids
        if ids.shape[1] > self.max_tokens:
            longest = max(captions, key=lambda c: len(self.tokenizer(c).input_ids))
            raise ValueError(
                f'Caption {longest!r} is {len(self.tokenizer(longest).input_ids)} tokens, more '
                f'than the text encoder\'s {self.max_tokens}: ground fewer or shorter category '
                'names at a time.')
        special = torch.isin(ids, torch.tensor(self.special_ids))
        # Sub-sentences: maximal runs of ordinary tokens, each closed by a special token.
        spans = []  # (b, start, end) with ids[b, start:end] ordinary, ids[b, end] special
        for b in range(ids.shape[0]):
            start = None
            for i, is_special in enumerate(special[b].tolist() + [True]):
                if not is_special and start is None:
                    start = i
                elif is_special and start is not None:
                    spans.append((b, start, i))
                    start = None
        segments = [tuple(ids[b, s:e].tolist()) for b, s, e in spans]
        bos_state = self._encode_segments([()])[0][0]
        states = self._encode_segments(segments) if segments else []
        hidden = bos_state.expand(*ids.shape, -1).clone()
        for (b, s, e), st in zip(spans, states):
            hidden[b, s:e] = st[1:-1]
            if e < ids.shape[1]:
                hidden[b, e] = st[-1]  # the separator summarises its sub-sentence
        hidden = hidden.to(probe.dtype if probe.is_floating_point() else torch.float32)
        token_mask = tokenized.attention_mask.bool().to(hidden.device)
        if self.mask_special_tokens:
            token_mask &= ~special.to(hidden.device)
        masks, position_ids = generate_masks_with_special_tokens_and_transfer_map(
            tokenized.to(hidden.device), self.special_ids)
        return dict(embedded=hidden * token_mask.unsqueeze(-1), hidden=hidden, masks=masks,
                    position_ids=position_ids, text_token_mask=token_mask)
