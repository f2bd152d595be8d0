"""DiffusionEngine's labeller: the Detection-Adapter on the LDM's own features.

DiffusionEngine (arXiv 2309.03893, Sec. 3.3, step 5): the adapter (an mmdet detector whose
backbone is ``LDMBackbone``) labels the final latent z0 of each generated image, in the
feature regime it was trained in (``label_features``):

* ``'adapter'`` (default): one extra UNet pass on z0 exactly as ``LDMBackbone`` runs in
  training (its timestep, prompt and noise), +1 UNet call per batch;
* ``'final_call'``: the taps of the sampling loop's last call (its timestep and CFG half:
  with DPM-Solver++ on SD's leading spacing t = 33, not the adapter's t = 1); refused unless
  ``allow_regime_mismatch=True``, unless the two regimes agree (e.g. a DDIM loop ending at
  t = 1 read on the empty-prompt half);
* ``'decoded'``: the adapter as a plain detector on the decoded pixels (VAE encode, then the
  backbone).
"""
from __future__ import annotations

from mmengine.logging import print_log

from ...ldm import last_timestep
from ...models.detectors import make_data_samples, predict_from_feats
from .base import LabelBatch, Labeller

#: How the final latent is labelled (see the module docstring).
LABEL_FEATURES = ('adapter', 'final_call', 'decoded')


def regime_matches(a: dict, b: dict) -> bool:
    """Two feature regimes agree on what the adapter's head sees: timestep and prompt."""
    return a['timestep'] == b['timestep'] and a['prompt'] == b['prompt']


def adapter_classes(cfg, ckpt_meta: dict, checkpoint: str) -> list[str]:
    """The class list: the checkpoint's, checked against the config's if it names one."""
    ckpt_classes = (ckpt_meta.get('dataset_meta') or {}).get('classes')
    cfg_classes = cfg.get('synthesis_classes') or cfg.get('metainfo', {}).get('classes')
    if ckpt_classes is not None and cfg_classes is not None and \
            list(ckpt_classes) != list(cfg_classes):
        raise ValueError(f'The adapter checkpoint {checkpoint} was trained on the classes '
                         f'{list(ckpt_classes)}, but the config lists {list(cfg_classes)}. Use '
                         'the config the adapter was trained with, or train an adapter for '
                         'these classes.')
    classes = ckpt_classes if ckpt_classes is not None else cfg_classes
    if classes is None:
        raise KeyError(f'No class list: {checkpoint} has no dataset_meta.classes and the config '
                       'sets no metainfo.classes.')
    return list(classes)


class AdapterLabeller(Labeller):
    """The Detection-Adapter labelling generated images from the LDM's features.

    Args:
        detector: the adapter (backbone ``LDMBackbone``), weights loaded.
        checkpoint: its checkpoint (recorded with its sha256).
        label_features: ``'adapter'``, ``'final_call'`` or ``'decoded'`` (module docstring).
        label_half: the CFG half ``'final_call'`` reads (``'cond'`` or ``'uncond'``).
    """
    IMAGE_FIELDS = ('adapter_checkpoint', 'adapter_sha256')

    def __init__(self, detector, checkpoint: str | None = None, label_features: str = 'adapter',
                 label_half: str = 'cond'):
        from ...models import LDMBackbone
        if not isinstance(getattr(detector, 'backbone', None), LDMBackbone):
            raise TypeError('Synthesis needs a Detection-Adapter whose backbone is LDMBackbone; '
                            f'got {type(getattr(detector, "backbone", None)).__name__}.')
        super().__init__(checkpoint)
        self.detector = detector.eval()
        self.backbone = detector.backbone
        self.label_features, self.label_half = label_features, label_half
        self.adapter_regime = self.backbone.trained_regime or self.backbone.feature_regime
        self.label_regime = dict(self.backbone.feature_regime, source=label_features)

    @classmethod
    def from_config(cls, cfg, checkpoint: str, device: str = 'cpu', **kwargs):
        """The adapter of ``cfg.model`` with ``checkpoint`` (strict; another kind of
        checkpoint is refused); returns (labeller, its class names)."""
        from mmengine.runner import load_checkpoint
        from mmengine.runner.checkpoint import _load_checkpoint

        from mmdet.registry import MODELS

        from ...utils.checkpoints import check_checkpoint_kind, require_checkpoint
        require_checkpoint(checkpoint, 'adapter')
        detector = MODELS.build(cfg.model)
        state = _load_checkpoint(checkpoint, map_location='cpu')
        check_checkpoint_kind(state.get('state_dict', state), detector, checkpoint,
                              'a Detection-Adapter', 'Give the iter_*.pth of the adapter config '
                              "this synthesis config's model is (tools/train.py CONFIG).")
        ckpt = load_checkpoint(detector, checkpoint, map_location='cpu', strict=True,
                               logger='silent')
        classes = adapter_classes(cfg, ckpt.get('meta', {}), checkpoint)
        num_classes = getattr(detector.bbox_head, 'num_classes', len(classes))
        if num_classes != len(classes):
            raise ValueError(f'The adapter head predicts {num_classes} classes but its class '
                             f'list has {len(classes)}.')
        return cls(detector.to(device).eval(), checkpoint, **kwargs), classes

    def lower_score_thr(self, score_thr: float):
        """A dense head drops boxes below its own ``test_cfg.score_thr`` before synthesis sees
        them: a lower synthesis threshold (δ) must reach the head."""
        head_cfg = getattr(getattr(self.detector, 'bbox_head', None), 'test_cfg', None)
        if head_cfg is not None and head_cfg.get('score_thr', 0.0) > score_thr:
            print_log(f'synthesis score_thr {score_thr} is below the head\'s test_cfg.score_thr '
                      f'{head_cfg["score_thr"]}: lowering the head\'s', logger='current')
            head_cfg['score_thr'] = score_thr

    def check_regime(self, scheduler, num_inference_steps: int, negative_prompt: str,
                     allow_mismatch: bool = False):
        """Set :attr:`label_regime` for this sampler; one clear error when it is not the
        adapter's training regime and ``allow_mismatch`` is not set."""
        if self.label_features == 'final_call':
            self.label_regime = dict(
                timestep=last_timestep(scheduler, num_inference_steps),
                prompt='<caption>' if self.label_half == 'cond' else negative_prompt,
                noise='sampler', source='final_call')
        trained, label = self.adapter_regime, self.label_regime
        if not regime_matches(trained, label):
            msg = (f'synthesis.label_features={self.label_features!r} labels features at '
                   f"t = {label['timestep']} with prompt {label['prompt']!r}, but the adapter "
                   f"was trained at t = {trained['timestep']} with prompt {trained['prompt']!r}")
            if not allow_mismatch:
                raise ValueError(msg + ". Use label_features='adapter' (the default: one extra "
                                 "UNet pass in the adapter's regime), or set synthesis."
                                 'allow_regime_mismatch=True to label out of regime on purpose.')
            print_log(msg + ' (allow_regime_mismatch=True: recorded in the provenance).',
                      logger='current', level=30)

    def features(self, batch: LabelBatch) -> tuple:
        """The pyramid the adapter labels (fine → coarse, (B, C_l, H/s, W/s) each)."""
        if self.label_features == 'final_call':  # the loop's last call, one CFG half
            B = len(batch)
            half = slice(B, 2 * B) if self.label_half == 'cond' else slice(0, B)
            return tuple(f[half].float() for f in self.backbone.taps.pyramid(batch.image_size))
        if self.label_features == 'decoded':
            return self.backbone(batch.images.to(batch.latents.device) / 127.5 - 1)
        return self.backbone.latent_features(batch.latents, batch.image_size)

    def label(self, batch: LabelBatch) -> list:
        return predict_from_feats(self.detector, self.features(batch),
                                  make_data_samples(len(batch), batch.image_size))

    def provenance(self) -> dict:
        return dict(adapter_checkpoint=self.checkpoint, adapter_sha256=self.checkpoint_sha,
                    adapter_regime=self.adapter_regime, label_regime=self.label_regime)

    def image_values(self) -> tuple:
        return self.checkpoint, self.checkpoint_sha
