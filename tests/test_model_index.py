"""model-index.yml (mmdet's convention) lists every config, and every config folder has a
README with its results."""
import glob
import os.path as osp

import yaml
from conftest import REPO


def test_every_config_is_indexed_and_every_indexed_config_exists():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    listed = set()
    for metafile in index['Import']:
        with open(osp.join(REPO, metafile)) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta['Collections']}
        for c in meta['Collections']:
            assert osp.isfile(osp.join(REPO, c['README'])), c['README']
        for m in meta['Models']:
            assert m['In Collection'] in collections, m['Name']
            assert osp.isfile(osp.join(REPO, m['Config'])), m['Config']
            assert m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
            if 'Weights' in m:
                assert osp.exists(osp.join(REPO, m['Weights'])), m['Weights']
            listed.add(m['Config'])
    configs = {osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                                       recursive=True)
               if '_base_' not in p}
    assert configs - listed == set(), 'configs missing from model-index.yml'
    for folder in {osp.dirname(c) for c in configs}:
        assert osp.isfile(osp.join(REPO, folder, 'README.md')) or folder == 'configs', folder
