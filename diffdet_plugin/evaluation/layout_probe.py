"""Pipeline probes of layout-to-image fine-tuning (DetDiffusion, GeoDiffusion).

Before a long fine-tune, two cheap questions tell whether the layout can reach the image at
all (docs/detdiffusion.md, "Pipeline probes"):

* **A, the location-token loss gap.** Overfit a handful of layouts, then compare the denoising
  loss of each image under its own prompt with the loss under the same prompt whose location
  tokens come from another image (same names and attributes)::

      gap = (L(swapped tokens) − L(own tokens)) / L(own tokens)

  at fixed noise and t ∈ {400, 600, 800}. A model that uses the tokens pays for wrong ones
  (pass: gap ≥ 0.10 after ~240 iterations on 8 layouts); one that ignores them shows ≈ 0.
  Measured on held-out layouts during a real run, the same number says whether the model
  generalises (probe C).
* **B, generation overfit** (in the benchmark): the overfit model draws its 8 layouts, and
  with swapped tokens the objects move.
* **D, the gap against the number of layouts**: the same budget spent on minibatches of N
  layouts (:func:`fit_layouts` with :func:`sampled_batches`), the gap on train and on
  held-out layouts: where memorising stops and learning what a token means would have to
  start. Its control, :class:`BoxMaskInput`, gives the same model the layout as pixels: if
  that gap rises where the token gap does not, the token pathway is what limits.

Nothing here builds a Runner: :func:`fit_layouts` is the training step of ``LayoutLDM``
(its ``forward(mode='loss')``) in a plain AdamW loop with the configs' clip, so the probe
measures exactly the model a config trains.
"""
from __future__ import annotations

import re
from typing import Sequence

import torch

_LOC = re.compile(r'<l\d+>')


def swap_location_tokens(prompts: Sequence[str], shift: int = 1) -> list[str]:
    """Each prompt with the location tokens of the prompt ``shift`` places on (cyclically).

    Names, attributes and wording stay; the i-th location token of prompt k becomes the
    i-th of prompt k + shift (its tokens repeated when it has fewer). Prompts without
    location tokens are returned unchanged.

    >>> swap_location_tokens(['a <l1><l2>', 'b <l7><l9>'])
    ['a <l7><l9>', 'b <l1><l2>']
    """
    tokens = [_LOC.findall(p) for p in prompts]
    out = []
    for k, p in enumerate(prompts):
        donor = tokens[(k + shift) % len(prompts)]
        if not donor or not tokens[k]:
            out.append(p)
            continue
        it = iter(donor * (len(tokens[k]) // len(donor) + 1))
        out.append(_LOC.sub(lambda m: next(it), p))
    return out


@torch.no_grad()
def location_token_gap(model, images: torch.Tensor, prompts: Sequence[str],
                       timesteps=(400, 600, 800), seed: int = 0) -> dict:
    """Probe A's number for a :class:`~diffdet_plugin.models.LayoutLDM` (or any
    ``LatentDiffusionTrainer`` with location tokens).

    Args:
        images: (B, 3, H, W) uint8 (the dataset's ``inputs``), B ≥ 2.
        prompts: their layout prompts.
        timesteps: the noise levels the loss is averaged over.
        seed: fixes the noise (the same draw for both prompts).

    Returns:
        ``dict(gap, loss_own, loss_swapped)``, the losses the mean over images and timesteps
        of the plain noise-prediction MSE (z0 the VAE posterior mean).
    """
    if len(prompts) < 2:
        raise ValueError('location_token_gap needs at least 2 layouts to swap tokens between')
    own = denoising_loss(model, images, prompts, timesteps, seed)
    swapped = denoising_loss(model, images, swap_location_tokens(prompts), timesteps, seed)
    return dict(gap=(swapped - own) / own, loss_own=own, loss_swapped=swapped)


@torch.no_grad()
def denoising_loss(model, images: torch.Tensor, prompts: Sequence[str],
                   timesteps=(400, 600, 800), seed: int = 0) -> float:
    """The plain noise-prediction MSE of ``model.ldm`` on ``images`` (B, 3, H, W) uint8 under
    ``prompts``, averaged over ``timesteps``, z0 the VAE posterior mean and the noise fixed
    by ``seed`` (so two calls differ only in what they condition on)."""
    from ..models.ldm_trainers.ldm_parts_model import to_unit_range
    ldm = model.ldm
    was_training = model.training
    model.eval()
    try:
        x = to_unit_range(images).to(ldm.device, ldm.dtype)
        z0 = ldm.scale_latents(ldm.vae.encode(x).latent_dist.mean)
        g = torch.Generator()
        ctx = ldm.encode_prompt(list(prompts))
        total = 0.0
        for t_val in timesteps:
            g.manual_seed(seed + int(t_val))
            noise = torch.randn(z0.shape, generator=g).to(z0)
            t = torch.full((len(prompts),), int(t_val), device=ldm.device, dtype=torch.long)
            pred = ldm.unet(ldm.add_noise(z0, noise, t), t, encoder_hidden_states=ctx).sample
            target = ldm.training_target(z0, noise, t)
            total += torch.nn.functional.mse_loss(pred.float(), target.float()).item()
    finally:
        model.train(was_training)
    return total / len(timesteps)


class BoxMaskInput(torch.nn.Module):
    """Probe D's control: the layout given to the UNet as pixels instead of tokens.

    One channel per class (the objects' masks, average-pooled to the latent grid:
    (B, C, H/s, W/s)) through a zero-initialised 3×3 conv added to the UNet's ``conv_in``
    output, so the model starts as the token-only one. Attached as ``model.box_mask_input``
    (its conv trains with the model); :meth:`use` sets the masks of the next UNet calls.
    """

    def __init__(self, model, num_classes: int):
        super().__init__()
        conv_in = model.ldm.unet.conv_in
        self.num_classes = num_classes
        self.stride = model.ldm.latent_stride
        self.proj = torch.nn.Conv2d(num_classes, conv_in.out_channels, 3, padding=1)
        torch.nn.init.zeros_(self.proj.weight)
        torch.nn.init.zeros_(self.proj.bias)
        self.masks = None
        conv_in.register_forward_hook(self._add)
        model.box_mask_input = self

    def use(self, data_samples: Sequence[dict]) -> None:
        """Condition the next calls on these samples' ``masks`` (N, H, W) and ``labels``."""
        maps = []
        for s in data_samples:
            m = torch.zeros(self.num_classes, *s['masks'].shape[-2:])
            for mask, label in zip(s['masks'], s['labels'].tolist()):
                m[label] = torch.maximum(m[label], mask.float())
            maps.append(m)
        self.masks = torch.nn.functional.avg_pool2d(torch.stack(maps), self.stride)

    def _add(self, module, inputs, out):
        if self.masks is None:
            return out
        m = self.masks.to(out)
        return out + self.proj(m.repeat(out.shape[0] // m.shape[0], 1, 1, 1))


def overfit_layouts(model, images: torch.Tensor, data_samples: list[dict], iters: int,
                    lr: float = 2e-4, weight_decay: float = 1e-2, max_norm: float = 1.0,
                    seed: int = 0, log_every: int = 0) -> list[float]:
    """Train ``model`` on one fixed batch for ``iters`` AdamW steps (the toy configs' optimizer:
    lr 2e-4, wd 0.01, grad clip 1.0); returns the total loss per step.

    Args:
        images: (B, 3, H, W) uint8; data_samples: the dataset's ``data_samples`` dicts.
    """
    return fit_layouts(model, lambda i: (images, data_samples), iters, lr, weight_decay,
                       max_norm, seed, log_every)


def fit_layouts(model, next_batch, iters: int, lr: float = 2e-4, weight_decay: float = 1e-2,
                max_norm: float = 1.0, seed: int = 0, log_every: int = 0,
                lr_mults: dict | None = None, token_lr_mult: float | None = None
                ) -> list[float]:
    """The probes' training loop: ``iters`` AdamW steps of ``model(..., mode='loss')`` with the
    toy configs' optimizer and clip, on ``next_batch(i) -> (images, data_samples)``
    (a fixed batch: :func:`overfit_layouts`; minibatches of N layouts:
    :func:`sampled_batches`). Returns the total loss per step.

    ``lr_mults``: ``{key: multiplier}``, the lr of every parameter whose name contains ``key``
    (the first key that matches), as mmengine's ``paramwise_cfg.custom_keys`` ``lr_mult``
    (e.g. ``{'ldm.text_encoder': 0.75}``).

    ``token_lr_mult``: the location-token rows of the text encoder's table alone at that many
    times their parameter's lr. AdamW's step is linear in the lr
    (p ← p − lr · (m̂ / (√v̂ + ε) + wd · p)) and its moments do not depend on it, so each step's
    change of those rows is scaled by the multiplier after ``opt.step()``: exactly a row-wise
    lr, with the table one parameter (as transformers saves it)."""
    torch.manual_seed(seed)
    named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    groups, matched = {}, False
    for name, p in named:
        mult = next((m for key, m in (lr_mults or {}).items() if key in name), None)
        matched |= mult is not None
        groups.setdefault(1.0 if mult is None else mult, []).append(p)
    if lr_mults and not matched:
        raise ValueError(f'fit_layouts: no trainable parameter name contains any of '
                         f'{sorted(lr_mults)}')
    opt = torch.optim.AdamW([dict(params=ps, lr=lr * m) for m, ps in groups.items()],
                            lr=lr, weight_decay=weight_decay)
    rows = None
    if token_lr_mult is not None:
        table = model.ldm.text_encoder.get_input_embeddings().weight
        if not table.requires_grad:
            raise ValueError('fit_layouts: token_lr_mult needs a trainable text encoder table')
        rows = (table, torch.as_tensor(model.location_token_ids, device=table.device))
    model.train()
    history = []
    for i in range(iters):
        images, data_samples = next_batch(i)
        losses = model(images, data_samples, mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        if rows is not None:
            before = rows[0].detach()[rows[1]].clone()
        opt.step()
        if rows is not None:  # the rows' step × token_lr_mult (see above)
            with torch.no_grad():
                now = rows[0][rows[1]]
                rows[0][rows[1]] = before + token_lr_mult * (now - before)
        history.append(loss.item())
        if log_every and (i + 1) % log_every == 0:
            from mmengine.logging import print_log
            print_log(f'fit_layouts: iteration {i + 1}/{iters}, loss {loss.item():.4f}',
                      logger='current')
    return history


def sampled_batches(dataset, indices: Sequence[int], batch_size: int, seed: int = 0):
    """``next_batch`` for :func:`fit_layouts`: each call a random ``batch_size`` of
    ``indices`` (without replacement within a batch; a seeded generator, so reruns match)."""
    indices = list(indices)
    if batch_size > len(indices):
        raise ValueError(f'sampled_batches: batch_size {batch_size} > {len(indices)} layouts')
    g = torch.Generator().manual_seed(seed)

    def next_batch(i):
        pick = torch.randperm(len(indices), generator=g)[:batch_size].tolist()
        return probe_batch(dataset, [indices[k] for k in pick])
    return next_batch


def probe_batch(dataset, indices: Sequence[int]) -> tuple[torch.Tensor, list[dict]]:
    """Samples ``indices`` of a ``LayoutCaptionDataset`` as one batch (images, data_samples)."""
    items = [dataset[i] for i in indices]
    return (torch.stack([it['inputs'] for it in items]),
            [it['data_samples'] for it in items])


@torch.no_grad()
def generated_layout_map(ldm, layouts: Sequence[dict], detector, detector_classes,
                         dataset_classes, num_inference_steps: int = 25,
                         guidance_scale: float = 3.5, size=(128, 128), seed: int = 0,
                         batch_size: int = 8) -> dict:
    """Layout mAP of images drawn from ``layouts`` (probes B and C), with its controls.

    Each layout's prompt is drawn (DPM-Solver++, CFG on the empty prompt, per-layout seeds);
    the detector's boxes are scored with COCO mAP against the image's own layout (``own``)
    and against the next layout's (``shuffled``: the baseline a model that ignores the
    layout reaches).

    Args:
        layouts: ``LayoutCaptionDataset.layout_for`` dicts (prompt, bboxes, labels).
        detector: an mmdet detector (``Judge.model``); ``detector_classes`` its class names,
            ``dataset_classes`` the layouts' (matched by name).
    Returns:
        ``dict(own=coco_map, shuffled=coco_map, detections=[...])``, the maps with mAP,
        mAP_50, mAP_75; ``detections`` per image (bboxes, scores, labels in dataset classes).
    """
    import numpy as np

    from .fidelity import coco_map
    if len(layouts) < 2:
        raise ValueError('generated_layout_map needs at least 2 layouts (the shuffled baseline)')
    to_ds = {i: dataset_classes.index(n) for i, n in enumerate(detector_classes)
             if n in dataset_classes}
    cache = getattr(ldm, '_prompt_cache', None)
    if cache is not None:
        cache.clear()  # the text encoder may have changed since '' was cached (training)
    dets = []
    for d in draw_and_detect(ldm, [lay['prompt'] for lay in layouts], detector,
                             num_inference_steps, guidance_scale, size, seed, batch_size):
        keep = np.array([int(lab) in to_ds for lab in d['labels']], dtype=bool)
        dets.append(dict(bboxes=np.asarray(d['bboxes']).reshape(-1, 4)[keep],
                         scores=np.asarray(d['scores'])[keep],
                         labels=np.array([to_ds[int(lab)] for lab in
                                          np.asarray(d['labels'])[keep]], dtype=np.int64)))
    gts = [dict(bboxes=np.asarray(lay['bboxes']), labels=np.asarray(lay['labels']))
           for lay in layouts]
    shifted = gts[1:] + gts[:1]
    w, h = size
    n = len(dataset_classes)
    return dict(own=coco_map(gts, dets, n, (h, w)), shuffled=coco_map(shifted, dets, n, (h, w)),
                detections=dets)


@torch.no_grad()
def draw_and_detect(ldm, prompts: Sequence[str], detector, num_inference_steps: int = 25,
                    guidance_scale: float = 3.5, size=(128, 128), seed: int = 0,
                    batch_size: int = 8, score_thr: float = 0.0,
                    scheduler: str = 'DPMSolverMultistepScheduler') -> list[dict]:
    """Draw each prompt from pure noise (seed ``seed + i``, CFG on the empty prompt) and run
    the detector on it: :func:`~diffdet_plugin.evaluation.judge.detect_rgb`'s dicts (bboxes,
    scores, labels in the detector's classes), one per prompt."""
    from ..ldm import build_sampling_scheduler, decode_to_pixels, text_to_latents
    from .judge import detect_rgb
    sampler = build_sampling_scheduler(ldm, scheduler)
    out = []
    for i in range(0, len(prompts), batch_size):
        chunk = list(prompts[i:i + batch_size])
        z = text_to_latents(ldm, sampler, chunk, [seed + i + j for j in range(len(chunk))],
                            num_inference_steps, guidance_scale, size=size)
        pixels = decode_to_pixels(ldm, z).permute(0, 2, 3, 1).byte().cpu().numpy()
        out += detect_rgb(detector, list(pixels), score_thr=score_thr)
    return out
