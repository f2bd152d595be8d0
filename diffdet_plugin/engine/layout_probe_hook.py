"""``LayoutProbeHook``: probe C of layout-to-image fine-tuning, logged during the run."""
from __future__ import annotations

import json
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmdet.registry import DATASETS, HOOKS


@HOOKS.register_module()
class LayoutProbeHook(Hook):
    """Every ``interval`` iterations, how much the model uses held-out layouts.

    Logs (and appends to ``WORK_DIR/layout_probe.jsonl``):

    * ``probe/heldout_gap``: :func:`~diffdet_plugin.evaluation.layout_probe.location_token_gap`
      on the first ``num_layouts`` layouts of ``dataset`` (held-out: a val split), the relative
      rise of the denoising loss when each image's location tokens are another image's;
    * with ``judge`` set and ``num_generate`` > 0, ``probe/layout_map50`` and
      ``probe/shuffled_map50``: the judge's mAP_50 on images drawn from the first
      ``num_generate`` layouts against their own layouts and against shuffled ones
      (:func:`~diffdet_plugin.evaluation.layout_probe.generated_layout_map`).

    Args:
        dataset: a ``LayoutCaptionDataset`` config of held-out layouts (unshuffled, no flip:
            set here).
        interval: iterations between probes (also after the last one).
        num_layouts: layouts of the gap probe (≥ 2).
        judge: a judge config for :func:`~diffdet_plugin.evaluation.load_judge` ('' or
            ``'default'``: the shipped toy judge); ``None``: no generation probe.
        judge_data_root: the data the judge was trained on (its cache key).
        num_generate, num_inference_steps, guidance_scale: the generation probe.
    """
    priority = 'LOW'

    def __init__(self, dataset: dict, interval: int = 1000, num_layouts: int = 32,
                 judge: str | None = None, judge_data_root: str = 'data/toy_shapes',
                 num_generate: int = 0, num_inference_steps: int = 25,
                 guidance_scale: float = 3.5):
        if num_layouts < 2:
            raise ValueError(f'LayoutProbeHook: num_layouts={num_layouts}; the gap needs ≥ 2')
        self.dataset_cfg = dict(dataset, shuffle_objects=False, hflip_prob=0.0, test_mode=True)
        self.interval = interval
        self.num_layouts = num_layouts
        self.judge_cfg, self.judge_data_root = judge, judge_data_root
        self.num_generate = num_generate
        self.steps, self.guidance = num_inference_steps, guidance_scale
        self._dataset = self._judge = None

    def _probe(self, runner):
        import torch

        from ..evaluation.layout_probe import generated_layout_map, location_token_gap, probe_batch
        if self._dataset is None:
            self._dataset = DATASETS.build(self.dataset_cfg)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        n = min(self.num_layouts, len(self._dataset))
        images, samples = probe_batch(self._dataset, range(n))
        rec = dict(iter=runner.iter + 1, **location_token_gap(
            model, images, [s['prompt'] for s in samples]))
        if self.judge_cfg is not None and self.num_generate:
            from ..evaluation import load_judge
            if self._judge is None:
                self._judge = load_judge(None if self.judge_cfg in ('', 'default')
                                         else self.judge_cfg, self.judge_data_root)
            layouts = [self._dataset.layout_for(i)
                       for i in range(min(self.num_generate, len(self._dataset)))]
            was_training = model.training
            model.eval()
            try:
                with torch.no_grad():
                    m = generated_layout_map(
                        model.ldm, layouts, self._judge.model, self._judge.classes,
                        list(self._dataset.metainfo['classes']), self.steps, self.guidance,
                        size=self._dataset.image_size)
            finally:
                model.train(was_training)
            rec.update(layout_map50=m['own']['mAP_50'], layout_map=m['own']['mAP'],
                       shuffled_map50=m['shuffled']['mAP_50'])
        for k in ('gap', 'layout_map50', 'shuffled_map50'):
            if k in rec:
                runner.message_hub.update_scalar(
                    f"probe/{'heldout_gap' if k == 'gap' else k}", rec[k])
        print_log('layout probe: ' + ', '.join(
            f'{k} {v:.4f}' if isinstance(v, float) else f'{k} {v}' for k, v in rec.items()),
            logger='current')
        with open(osp.join(runner.work_dir, 'layout_probe.jsonl'), 'a') as f:
            f.write(json.dumps(rec) + '\n')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if is_main_process() and (self.every_n_train_iters(runner, self.interval) or
                                  self.is_last_train_iter(runner)):
            self._probe(runner)
