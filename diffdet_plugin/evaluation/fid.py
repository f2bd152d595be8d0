"""Fréchet Inception Distance (FID) with a local TorchScript Inception feature extractor.

FID (Heusel et al., 2017) compares two image sets through the Gaussians fitted to their
Inception features f ∈ R^D (D = 2048, the pool layer before the logits)::

    μ = mean(f),  Σ = cov(f)   (per set; N ≥ 2 images, unbiased covariance)
    FID = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})

The extractor is a TorchScript module with the contract of NVIDIA's
``inception-2015-12-05.pt`` (the StyleGAN2-ADA / StyleGAN3 metrics; a direct translation of
TensorFlow's Inception-v3 graph that FID was defined with)::

    model = torch.jit.load(path)                              # load_inception(path)
    feats = model(images, return_features=True)               # (N, 2048) float
    # images: (N, 3, H, W) uint8 in [0, 255], RGB; any H, W (it resizes to 299 × 299)

A module whose ``forward`` has no ``return_features`` argument is called as ``model(x)``
(same input, (N, D) output). Nothing is downloaded here: get the file once, on a machine
with internet, from :data:`INCEPTION_URL` and pass its path
(``tools/benchmark.py fidelity --inception PATH``).

Images of one batch must have one size to be stacked; a batch holding several sizes is run
as one call per size (the extractor resizes each to 299², so the features do not depend on
the grouping).
"""
from __future__ import annotations

import os
import os.path as osp
import warnings
from collections.abc import Iterable, Iterator

import numpy as np

INCEPTION_URL = ('https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/'
                 'inception-2015-12-05.pt')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def inception_help(flag: str = '--inception') -> str:
    """Where to get the extractor file (for error messages and ``-h``)."""
    return (f'{flag} takes a local TorchScript Inception feature extractor: NVIDIA\'s '
            f'inception-2015-12-05.pt (StyleGAN2-ADA / StyleGAN3 FID), downloaded once from '
            f'{INCEPTION_URL} (e.g. `wget` on a machine with internet); nothing is downloaded '
            'here')


def load_inception(path: str, device: str = 'cpu', flag: str = '--inception'):
    """``torch.jit.load`` the feature extractor at ``path`` onto ``device``, in eval mode.

    Raises:
        FileNotFoundError: ``path`` is not a file; the message names ``flag`` and where to
            get the file.
    """
    import torch
    if not path or not osp.isfile(path):
        raise FileNotFoundError(f'{flag} {path!r} does not exist. {inception_help(flag)}.')
    try:
        model = torch.jit.load(path, map_location=device)
    except RuntimeError as e:
        raise ValueError(f'{flag} {path!r} is not a TorchScript module ({e}). '
                         f'{inception_help(flag)}.') from e
    return model.eval()


def _accepts_return_features(model) -> bool:
    """Whether ``model.forward`` takes a ``return_features`` argument (TorchScript or eager)."""
    import inspect
    fwd = getattr(model, 'forward', model)
    schema = getattr(fwd, 'schema', None)  # a TorchScript method
    if schema is not None:
        return any(a.name == 'return_features' for a in schema.arguments)
    try:
        return 'return_features' in inspect.signature(fwd).parameters
    except (TypeError, ValueError):
        return False


def _model_device(model):
    import torch
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device('cpu')


def inception_features(model, images: Iterable, batch_size: int = 64, device=None,
                       progress=None) -> np.ndarray:
    """Features of RGB images from a TorchScript extractor (see the module doc).

    Args:
        model: the extractor (:func:`load_inception`).
        images: an iterable (a generator is fine: read lazily) of RGB uint8 arrays (H, W, 3);
            sizes may differ.
        batch_size: images per call.
        device: where the batches go (default: the model's parameters' device, else CPU).
        progress: called with the number of images of each finished batch.
    Returns:
        (N, D) float64 features, in the order of ``images``.
    """
    import torch
    device = _model_device(model) if device is None else torch.device(device)
    kwargs = dict(return_features=True) if _accepts_return_features(model) else {}
    feats = []

    def run(batch):
        by_shape = {}
        for i, im in enumerate(batch):
            by_shape.setdefault(im.shape, []).append(i)
        out = [None] * len(batch)
        for idx in by_shape.values():
            x = torch.from_numpy(np.stack([batch[i] for i in idx])).permute(0, 3, 1, 2)
            with torch.no_grad():
                f = model(x.contiguous().to(device), **kwargs)
            f = f.reshape(len(idx), -1).double().cpu().numpy()
            for i, row in zip(idx, f):
                out[i] = row
        feats.extend(out)
        if progress is not None:
            progress(len(batch))

    batch = []
    for im in images:
        im = np.asarray(im)
        if im.ndim == 2:
            im = np.repeat(im[..., None], 3, axis=2)
        if im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
            raise ValueError(f'images must be RGB uint8 (H, W, 3); got {im.dtype} {im.shape}')
        batch.append(im)
        if len(batch) == batch_size:
            run(batch)
            batch = []
    if batch:
        run(batch)
    if not feats:
        return np.zeros((0, 0))
    return np.stack(feats)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(μ (D,), Σ (D, D)) of (N, D) features: the mean and the unbiased covariance (N ≥ 2)."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f'FID needs at least 2 images per set; got features of shape {f.shape}')
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance of N(μ1, Σ1) and N(μ2, Σ2)::

        d² = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^{1/2})

    ``(Σ1 Σ2)^{1/2}`` by ``scipy.linalg.sqrtm``; if it is not finite (singular product),
    ``eps``·I is added to both covariances first (as pytorch-fid does). Tiny imaginary parts
    from round-off are discarded (a warning when the diagonal's exceed 1e-3). 1-D inputs
    are treated as D = 1 (σ² as a scalar or (1, 1)).
    """
    from scipy import linalg
    mu1, mu2 = (np.atleast_1d(np.asarray(m, np.float64)) for m in (mu1, mu2))
    s1, s2 = (np.atleast_2d(np.asarray(s, np.float64)) for s in (sigma1, sigma2))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(f'shape mismatch: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / '
                         f'{s2.shape}')
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s1)) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.abs(np.diagonal(covmean).imag).max()
        if imag > 1e-3:
            warnings.warn(f'frechet_distance: sqrtm has an imaginary part of {imag:.3g} on its '
                          'diagonal (near-singular covariances: too few images for D?); using '
                          'its real part')
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid(model, images_a: Iterable, images_b: Iterable, batch_size: int = 64,
        device=None) -> float:
    """FID of two image sets (RGB uint8 arrays (H, W, 3), iterables): their features' Fréchet
    distance (:func:`inception_features`, :func:`feature_statistics`,
    :func:`frechet_distance`)."""
    stats = [feature_statistics(inception_features(model, ims, batch_size, device))
             for ims in (images_a, images_b)]
    return frechet_distance(*stats[0], *stats[1])


# ---------------------------------------------------------------------------
# image sets on disk
# ---------------------------------------------------------------------------
def image_paths(path: str, max_images: int | None = None) -> list[str]:
    """The image files of ``path``, sorted:

    * a COCO folder (``annotations.json`` + ``images/``, e.g. a ``tools/synthesize.py``
      output): the images its annotation file lists, by image id;
    * any other folder: every image file under it (recursively, by relative path).

    The first ``max_images`` (None: all).
    """
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path!r} is not a folder of images')
    from ..synthesis.coco_reader import SynthesisRun
    if SynthesisRun.is_run(path):
        run = SynthesisRun(path)
        paths = [run.image_path(r) for r in run.image_records()]
    else:
        paths = sorted(osp.join(root, n) for root, _, names in os.walk(path) for n in names
                       if n.lower().endswith(IMAGE_EXTENSIONS))
    paths = paths[:max_images]
    if not paths:
        raise FileNotFoundError(f'no images in {path!r} (looked for {IMAGE_EXTENSIONS})')
    return paths


def iter_images(paths: Iterable[str]) -> Iterator[np.ndarray]:
    """RGB uint8 arrays (H, W, 3) of image files, read one at a time."""
    from PIL import Image
    for p in paths:
        with Image.open(p) as pil:
            yield np.asarray(pil.convert('RGB'))
