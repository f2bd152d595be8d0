"""Install diffdet_plugin.

Like mmdet, the installed package carries its configs in ``diffdet_plugin/.mim/configs``
(a link to ``configs/`` for editable installs, a copy otherwise), so that other
projects can inherit them with ``_base_ = 'diffdet_plugin::diffusion_engine/<name>.py'``.
"""
import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    with open(osp.join(HERE, 'requirements', name)) as f:
        return [ln.split('#')[0].strip() for ln in f if ln.split('#')[0].strip()
                and not ln.startswith('-')]


def add_mim_extension():
    """Make ``diffdet_plugin/.mim/configs`` (link when editable, copy when building)."""
    editable = any(a in sys.argv for a in ('develop', 'editable_wheel'))
    mim = osp.join(HERE, 'diffdet_plugin', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        src, dst = osp.join(HERE, name), osp.join(mim, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if editable:
            os.symlink(osp.relpath(src, mim), dst)
        elif osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))


def get_version():
    scope = {}
    with open(osp.join(HERE, 'diffdet_plugin', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='diffdet_plugin',
        version=get_version(),
        description='MMDetection plugin: latent diffusion models as detection data engines '
                    '(DiffusionEngine, DetDiffusion, InstaGen)',
        long_description=open(osp.join(HERE, 'README.md')).read(),
        long_description_content_type='text/markdown',
        python_requires='>=3.9',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
        include_package_data=True,
        package_data={'diffdet_plugin': ['.mim/model-index.yml', '.mim/configs/**/*.py',
                                         '.mim/tools/*', '.mim/tools/**/*',
                                         'assets/**/*']},
        install_requires=read_requirements('runtime.txt'),
        extras_require={'tests': read_requirements('tests.txt')},
        license='Apache License 2.0',
        zip_safe=False,
    )
