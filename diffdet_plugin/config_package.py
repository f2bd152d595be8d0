"""Let mmengine resolve ``diffdet_plugin::<path>`` config references.

mmengine 0.10 resolves ``pkg::path`` only for packages listed in
``mmengine.config.utils.MODULE2PACKAGE`` and finds their configs in
``<package dir>/.mim/configs`` (which setup.py creates). Importing
``diffdet_plugin`` adds it to that list and makes the lookup use the imported
package's directory, which is right for editable installs too (there
mmengine's own lookup points at site-packages, where nothing is).

A config *file* cannot import code before it is parsed, so a script that
parses a config inheriting ``diffdet_plugin::`` must ``import diffdet_plugin``
first, as ``tools/train.py`` does.
"""
import os.path as osp

PACKAGE = 'diffdet_plugin'
PACKAGE_DIR = osp.dirname(osp.abspath(__file__))


def config_dir() -> str:
    """Folder of the shipped configs (``.mim/configs`` installed, ``configs/`` in a checkout)."""
    mim = osp.join(PACKAGE_DIR, '.mim', 'configs')
    return mim if osp.isdir(mim) else osp.join(osp.dirname(PACKAGE_DIR), 'configs')


def register_config_package() -> None:
    from mmengine.config import config as _config
    from mmengine.config import utils as _utils
    _utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)
    original = _config.get_installed_path
    if getattr(original, '_diffdet_plugin', False):
        return

    def get_installed_path(package: str) -> str:
        if package == PACKAGE:
            return PACKAGE_DIR
        return original(package)

    get_installed_path._diffdet_plugin = True
    _config.get_installed_path = get_installed_path
