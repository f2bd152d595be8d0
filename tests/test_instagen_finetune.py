"""InstaGen's synthesizer fine-tuning: crop-caption data and the LDM trainer config (CPU)."""
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO, ok, run_tool_in_process
from diffdet_plugin.datasets import CropCaptionDataset

TOY_FINETUNE = osp.join(REPO, 'configs', 'instagen',
                        'instagen-finetune_toy-ldm_500it_toy-shapes-base.py')
BASE = ('circle', 'square', 'star', 'cross')


def test_crops_name_each_category_inside_once(toy_data):
    ds = CropCaptionDataset(ann_file=osp.join(toy_data, 'annotations', 'instances_train.json'),
                            img_dir=osp.join(toy_data, 'train'), image_size=64, classes=BASE,
                            prompt_template='a photo of {}', name_format='a {}', seed=0)
    for i in range(len(ds)):
        sample = ds[i]
        assert sample['inputs'].shape == (3, 64, 64) and sample['inputs'].dtype == torch.uint8
        caption = sample['data_samples']
        names = [] if not caption else caption[len('a photo of '):].split(' and ')
        names = [n[len('a '):] for n in names]
        assert len(names) == len(set(names)) and set(names) <= set(BASE)
    # geometry: a box half inside the crop is named, one mostly outside is not
    boxes = [(0, 0, 10, 10, 'circle'), (40, 40, 60, 60, 'star'), (90, 90, 100, 100, 'cross')]
    assert ds.names_in(boxes, (0, 0, 50, 50)) == ['circle']
    assert ds.names_in(boxes, (0, 0, 50, 50.1)) == ['circle']
    assert ds.names_in(boxes, (0, 0, 60, 60)) == ['circle', 'star']
    crop, names = ds.crop_and_names(boxes, 100, 100, np.random.default_rng(0))
    assert names == ds.names_in(boxes, crop) and names
    with pytest.raises(ValueError, match='zebra'):
        CropCaptionDataset(ann_file=osp.join(toy_data, 'annotations', 'instances_train.json'),
                           img_dir=osp.join(toy_data, 'train'), classes=('zebra', ))


def test_finetune_config_trains_the_unet_only_and_saves_a_loadable_folder(toy_data, tmp_path):
    from diffdet_plugin.ldm import FrozenLDM
    work = str(tmp_path / 'ft')
    ok(run_tool_in_process('tools/train.py', TOY_FINETUNE, '--work-dir', work, '--cfg-options',
                           'train_cfg.max_iters=3', 'train_dataloader.batch_size=2',
                           f'train_dataloader.dataset.data_root={toy_data}/'))
    tuned = FrozenLDM.build(pretrained=osp.join(work, 'diffusers'))
    base = FrozenLDM.build(pretrained='embedded:toy')

    def same(a, b):
        return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                     b.state_dict().values()))
    assert not same(tuned.unet, base.unet), 'the UNet must learn'
    assert same(tuned.vae, base.vae) and same(tuned.text_encoder, base.text_encoder)
