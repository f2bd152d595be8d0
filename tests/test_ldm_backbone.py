"""LDMBackbone + stock DINO: trains, keeps the LDM frozen and out of checkpoints."""
import copy

import pytest
import torch
from conftest import TINY_CONFIG
from diffdet_plugin.models import LDMBackbone, LDMMismatchError
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.runner import load_checkpoint, save_checkpoint

from mmdet.registry import DATASETS, MODELS


def _tiny_cfg(toy_data):
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.train_dataloader.dataset.data_root = toy_data + '/'
    return cfg


@pytest.fixture(scope='module')
def toy_batch(toy_data):
    cfg = _tiny_cfg(toy_data)
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.pipeline = [p for p in ds_cfg.pipeline if p['type'] != 'RandomFlip']
    ds = DATASETS.build(ds_cfg)
    return pseudo_collate([ds[i] for i in range(2)])


def test_adapter_overfits_and_ldm_stays_frozen(toy_data, toy_batch, tmp_path):
    torch.manual_seed(0)
    cfg = _tiny_cfg(toy_data)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    ldm = model.backbone.ldm
    ldm_params = {id(p) for p in ldm.parameters()}
    assert ldm_params and not any(id(p) in ldm_params for p in model.parameters())

    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    in_optimizer = {id(p) for g in optim.optimizer.param_groups for p in g['params']}
    assert not in_optimizer & ldm_params

    model.train()
    losses = []
    for _ in range(30):
        out = model.train_step(toy_batch, optim)
        losses.append(sum(v.item() for k, v in out.items() if 'loss' in k))
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.7 * first, f'loss did not fall: {losses}'

    # gradients reach the adapter, never the LDM
    data = model.data_preprocessor(toy_batch, True)
    loss = model.parse_losses(model(**data, mode='loss'))[0]
    model.zero_grad()
    loss.backward()
    assert model.neck.convs[0].conv.weight.grad is not None
    assert model.bbox_head.cls_branches[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in ldm.parameters())
    assert not ldm.training

    # the checkpoint holds the adapter, the LDM's identity and the feature regime, no LDM weights
    state = model.state_dict()
    assert [k for k in state if k.startswith('backbone.')] == ['backbone.ldm_identity',
                                                               'backbone.feature_regime']
    path = str(tmp_path / 'adapter.pth')
    save_checkpoint({'state_dict': state}, path)
    n_saved = sum(v.numel() for v in torch.load(path)['state_dict'].values())
    n_adapter = sum(p.numel() for p in model.parameters()) + sum(
        b.numel() for b in model.buffers())
    assert n_saved < n_adapter + 1000

    # reloading onto the same LDM works; onto another LDM fails with a clear message
    other = MODELS.build(copy.deepcopy(cfg.model))
    load_checkpoint(other, path, map_location='cpu', strict=True)
    wrong_cfg = copy.deepcopy(cfg.model)
    wrong_cfg.backbone.ldm = dict(preset='tiny', seed=1)
    wrong = MODELS.build(wrong_cfg)
    with pytest.raises(LDMMismatchError, match='preset:tiny:seed0.*preset:tiny:seed1'):
        load_checkpoint(wrong, path, map_location='cpu')


def test_backbone_pyramid_matches_out_channels():
    bb = LDMBackbone(ldm=dict(preset='tiny'))
    feats = bb(torch.rand(2, 3, 128, 192) * 2 - 1)
    assert [f.shape[1] for f in feats] == bb.out_channels == [64, 96, 96, 192]
    assert [128 // f.shape[2] for f in feats] == bb.strides == [8, 16, 32, 64]
    assert not any(f.requires_grad for f in feats)
    # fixed noise: the same image gives the same features
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    torch.testing.assert_close(bb(x)[0], bb(x)[0])
    assert bb.state_dict().keys() == {'ldm_identity', 'feature_regime'}


def test_random_noise_option_changes_features():
    bb = LDMBackbone(ldm=dict(preset='tiny'), noise='random', timestep=500)
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    assert not torch.allclose(bb(x)[0], bb(x)[0])


def test_size_not_multiple_of_64_is_refused():
    bb = LDMBackbone(ldm=dict(preset='tiny'))
    with pytest.raises(ValueError, match='pad_size_divisor=64'):
        bb(torch.zeros(1, 3, 100, 128))


def test_missing_ldm_key_is_named():
    with pytest.raises(KeyError, match='model.backbone.ldm'):
        MODELS.build(dict(type='LDMBackbone'))


def test_uncond_cond_features_are_the_two_passes_side_by_side():
    one = LDMBackbone(ldm=dict(preset='tiny'))
    two = LDMBackbone(ldm=dict(preset='tiny'), condition='uncond+cond')
    assert two.out_channels == [2 * c for c in one.out_channels]
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    prompts = ['a red circle', 'a blue star']
    both = two(x, prompts)
    uncond, cond = one(x), one(x, prompts)
    for f, u, c in zip(both, uncond, cond):
        torch.testing.assert_close(f, torch.cat([u, c], dim=1), atol=1e-5, rtol=1e-4)
    assert two.feature_regime['condition'] == 'uncond+cond'
    assert 'condition' not in one.feature_regime  # older checkpoints' regime unchanged
    with pytest.raises(ValueError, match='condition'):
        LDMBackbone(ldm=dict(preset='tiny'), condition='cond')
