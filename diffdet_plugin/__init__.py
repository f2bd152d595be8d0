"""diffdet_plugin: an MMDetection 3.x plugin that turns a latent diffusion model
into a detection data engine (DiffusionEngine, DetDiffusion, InstaGen).

Importing it registers every component in mmdet's registries, so configs use
``custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)``,
and lets mmengine resolve ``_base_ = 'diffdet_plugin::<dir>/<config>.py'``.
"""
from .config_package import register_config_package
from .version import __version__

register_config_package()

from .runner_utils import allow_mmengine_checkpoints  # noqa: E402

allow_mmengine_checkpoints()

from . import (datasets, engine, models, registry,  # noqa: E402,F401  (registration side effects)
               synthesis)

__all__ = ['__version__']
