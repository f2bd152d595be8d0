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
