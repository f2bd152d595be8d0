"""Hooks for LDM training runs."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import EMAHook, Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS


@HOOKS.register_module()
class SaveDiffusersHook(Hook):
    """Write the trained LDM as a diffusers folder (``WORK_DIR/diffusers`` by default).

    Saves every ``interval`` iterations (0: only at the end of training), so the
    result of a run is directly loadable by ``FrozenLDM.from_pretrained`` and by
    diffusers itself. When the run has mmengine's ``EMAHook``, the folder holds the
    EMA weights (swapped in for the save, swapped back after).
    """
    priority = 'LOW'

    def __init__(self, out_dir: str | None = None, interval: int = 0):
        self.out_dir = out_dir
        self.interval = interval

    def _save(self, runner):
        if not is_main_process():
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        out = self.out_dir or osp.join(runner.work_dir, 'diffusers')
        ema = next((h for h in runner.hooks if isinstance(h, EMAHook)), None)
        if ema is not None:
            ema._swap_ema_parameters()
        try:
            model.save_pretrained(out)
        finally:
            if ema is not None:
                ema._swap_ema_parameters()
        print_log(f'LDM saved as a diffusers folder{" (EMA weights)" if ema else ""}: {out}',
                  logger='current')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.interval and self.every_n_train_iters(runner, self.interval):
            self._save(runner)

    def after_train(self, runner):
        self._save(runner)


@HOOKS.register_module()
class CheckOpenVocabularySplitHook(Hook):
    """Refuse an open-vocabulary split (base / novel category lists) that overlaps.

    Open-vocabulary configs (InstaGen's head and self-training, the OV downstream detectors)
    list this hook with their split, e.g. ``configs/_base_/datasets/coco_ov_split.py``. The
    lists are checked when the hook is built, that is while the Runner is set up and before
    anything trains (:func:`diffdet_plugin.utils.categories.check_split`). A category in both
    lists would be supervised as base while being reported as novel.

    Args:
        base_classes (Sequence[str]): the base categories.
        novel_classes (Sequence[str]): the novel categories.
    """

    def __init__(self, base_classes, novel_classes):
        from ..utils.categories import check_split
        check_split(base_classes, novel_classes)
        self.base_classes = tuple(base_classes)
        self.novel_classes = tuple(novel_classes)
