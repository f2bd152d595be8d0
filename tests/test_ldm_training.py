"""The generic LDM training models: the toy-LDM recipe's two stages through tools/train.py."""
import os.path as osp

import pytest
import torch
from conftest import REPO, ok, run_tool_in_process

VAE_CONFIG = osp.join(REPO, 'configs', 'toy_ldm', 'vae_toy_2500it_toy-shapes.py')
LDM_CONFIG = osp.join(REPO, 'configs', 'toy_ldm', 'ldm_toy_6000it_toy-shapes.py')
DECODER_CONFIG = osp.join(REPO, 'configs', 'toy_ldm', 'vae-decoder_toy_2500it_toy-shapes.py')


THREE_ITERS = ('train_cfg.max_iters=3', 'param_scheduler.0.end=1', 'param_scheduler.1.begin=1',
               'param_scheduler.1.end=3')


def _data_opts(toy_data):
    return [f'train_dataloader.dataset.data_root={toy_data}/',
            'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False']


def test_two_stage_recipe_trains_and_saves_diffusers_folders(toy_data, tmp_path):
    from diffdet_plugin.ldm import FrozenLDM
    vae_dir = tmp_path / 'vae'
    ok(run_tool_in_process('tools/train.py', VAE_CONFIG, '--work-dir', str(vae_dir),
                           '--cfg-options', 'model.ldm.preset=tiny', *THREE_ITERS,
                           *_data_opts(toy_data)))
    stage1 = FrozenLDM.from_pretrained(str(vae_dir / 'diffusers'))
    untrained = FrozenLDM.from_preset('tiny')
    # the VAE learned, the UNet did not
    assert not torch.equal(stage1.vae.encoder.conv_in.weight, untrained.vae.encoder.conv_in.weight)
    assert torch.equal(stage1.unet.conv_in.weight, untrained.unet.conv_in.weight)

    ldm_dir = tmp_path / 'ldm'
    ok(run_tool_in_process('tools/train.py', LDM_CONFIG, '--work-dir', str(ldm_dir),
                           '--cfg-options', f'model.ldm.pretrained={vae_dir}/diffusers',
                           *THREE_ITERS, *_data_opts(toy_data)))
    stage2 = FrozenLDM.from_pretrained(str(ldm_dir / 'diffusers'))
    assert torch.equal(stage2.vae.encoder.conv_in.weight, stage1.vae.encoder.conv_in.weight)
    assert not torch.equal(stage2.unet.conv_in.weight, stage1.unet.conv_in.weight)
    assert not torch.equal(stage2.text_encoder.get_input_embeddings().weight,
                           stage1.text_encoder.get_input_embeddings().weight)
    # the new VAE's latent scaling was measured (not SD's 0.18215)
    assert stage2.scaling_factor != 0.18215

    # stage 1b: the decoder alone learns on the fixed encoder; the export takes it
    dec_dir = tmp_path / 'decoder'
    ok(run_tool_in_process('tools/train.py', DECODER_CONFIG, '--work-dir', str(dec_dir),
                           '--cfg-options', f'model.ldm.pretrained={vae_dir}/diffusers',
                           *THREE_ITERS, *_data_opts(toy_data)))
    stage1b = FrozenLDM.from_pretrained(str(dec_dir / 'diffusers'))
    assert torch.equal(stage1b.vae.encoder.conv_in.weight, stage1.vae.encoder.conv_in.weight)
    assert not torch.equal(stage1b.vae.decoder.conv_out.weight, stage1.vae.decoder.conv_out.weight)
    out = tmp_path / 'export'
    ok(run_tool_in_process('tools/export_ldm.py', str(ldm_dir / 'diffusers'), str(out),
                           '--dtype', 'fp32', '--vae-decoder', str(dec_dir / 'diffusers')))
    shipped = FrozenLDM.from_pretrained(str(out))
    assert torch.equal(shipped.vae.decoder.conv_out.weight, stage1b.vae.decoder.conv_out.weight)
    assert torch.equal(shipped.unet.conv_in.weight, stage2.unet.conv_in.weight)
    assert shipped.scaling_factor == stage2.scaling_factor
    other = tmp_path / 'other'
    FrozenLDM.from_preset('tiny', seed=1).save_pretrained(str(other))
    proc = run_tool_in_process('tools/export_ldm.py', str(ldm_dir / 'diffusers'),
                               str(tmp_path / 'bad'), '--vae-decoder', str(other))
    assert proc.returncode != 0 and 'encoder differs' in proc.stderr


def test_ldm_loss_uses_frozen_ldm_math_and_dropout(toy_data):
    from diffdet_plugin.models import LatentDiffusionTrainer
    model = LatentDiffusionTrainer(ldm=dict(preset='tiny'), trainable=('unet',),
                                   empty_prompt_prob=1.0)
    model.train()
    assert model.ldm.unet.training and not model.ldm.vae.training
    assert not any(p.requires_grad for p in model.ldm.vae.parameters())
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    g = torch.Generator().manual_seed(0)
    loss, parts = model.ldm_loss(images, ['a red circle', 'a blue star'], generator=g)
    torch.testing.assert_close(parts['target'], model.ldm.training_target(
        parts['z0'], parts['target'], parts['t']))  # epsilon: the target is the noise
    torch.testing.assert_close(
        parts['zt'], model.ldm.add_noise(parts['z0'], parts['target'], parts['t']))
    loss.backward()
    assert model.ldm.unet.conv_in.weight.grad is not None
    assert model.ldm.text_encoder.get_input_embeddings().weight.grad is None


def test_latent_cache_encodes_each_image_once_and_is_exact():
    from diffdet_plugin.models import LatentDiffusionTrainer
    model = LatentDiffusionTrainer(ldm=dict(preset='tiny'), latent_cache_size=3)
    calls = []
    model.ldm.vae.encoder.register_forward_pre_hook(lambda m, a: calls.append(a[0].shape[0]))
    images = torch.rand(4, 3, 64, 64) * 2 - 1
    mean, std = model._posterior(images)
    dist = model.ldm.vae.encode(images).latent_dist
    calls.clear()
    torch.testing.assert_close(mean, dist.mean)
    torch.testing.assert_close(std, dist.std)
    mean2, _ = model._posterior(images[[2, 0, 1]])  # cached: no encoder call
    assert calls == []
    torch.testing.assert_close(mean2, dist.mean[[2, 0, 1]])
    model._posterior(images[[3]])  # the 4th image did not fit (size 3): encoded again
    assert calls == [1]
    with pytest.raises(ValueError, match='frozen VAE'):
        LatentDiffusionTrainer(ldm=dict(preset='tiny'), trainable=('vae',), latent_cache_size=8)


def test_caption_dataset_random_crop(toy_data):
    from diffdet_plugin.datasets import CaptionImageDataset
    ds = CaptionImageDataset(ann_file='annotations/instances_train.json', img_dir='train/',
                             data_root=toy_data + '/', image_size=128, crop_size=64)
    assert ds[0]['inputs'].shape == (3, 64, 64)
    with pytest.raises(ValueError, match='crop_size'):
        CaptionImageDataset(ann_file='annotations/instances_train.json', img_dir='train/',
                            data_root=toy_data + '/', image_size=128, crop_size=256)


def test_min_snr_weight_is_the_papers_formula_on_hand_made_timesteps(tiny_ldm):
    t = torch.tensor([0, 10, 250, 500, 999])
    acp = tiny_ldm.scheduler.alphas_cumprod[t].double()
    snr = acp / (1 - acp)
    expected = torch.minimum(snr, torch.full_like(snr, 5.0)) / snr  # Hang et al., eps-pred
    torch.testing.assert_close(tiny_ldm.min_snr_weight(t, 5.0).double(), expected)
    w = tiny_ldm.min_snr_weight(t, 5.0)
    assert w[0] < 0.01 and w[-1] == 1.0  # clean steps down-weighted, noisy steps untouched


def test_min_snr_loss_weights_each_sample(toy_data):
    from diffdet_plugin.models import LatentDiffusionTrainer
    plain = LatentDiffusionTrainer(ldm=dict(preset='tiny'), empty_prompt_prob=0.0)
    snr = LatentDiffusionTrainer(ldm=dict(preset='tiny'), empty_prompt_prob=0.0,
                                 min_snr_gamma=5.0)
    images = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        _, p = plain.ldm_loss(images, ['a'] * 3, generator=torch.Generator().manual_seed(0))
        loss, q = snr.ldm_loss(images, ['a'] * 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(p['t'], q['t'])
    per_sample = ((q['pred'] - q['target']) ** 2).mean(dim=(1, 2, 3))
    expected = (snr.ldm.min_snr_weight(q['t'], 5.0) * per_sample).mean()
    torch.testing.assert_close(loss, expected)
    with pytest.raises(ValueError, match='min_snr_gamma'):
        LatentDiffusionTrainer(ldm=dict(preset='tiny'), min_snr_gamma=0)


def test_caption_dataset_variants_rebuild_captions_without_colours(toy_data):
    from diffdet_plugin.datasets import CaptionImageDataset
    from diffdet_plugin.datasets.toy_shapes import TOY_SHAPES_COLORS, parse_caption
    kw = dict(ann_file='annotations/instances_train.json', img_dir='train/',
              caption_file='annotations/captions_train.json', data_root=toy_data + '/')
    plain = CaptionImageDataset(**kw)
    variants = CaptionImageDataset(**kw, caption_variants=dict(colourless=1.0))
    for i in range(5):
        ref, text = plain[i]['data_samples'], variants[i]['data_samples']
        assert not set(text.split()) & set(TOY_SHAPES_COLORS), text
        assert parse_caption(text) == parse_caption(ref)  # same shapes and counts
    with pytest.raises(ValueError, match='unknown caption_variants'):
        CaptionImageDataset(**kw, caption_variants=dict(colorless=1.0))


def test_resume_refuses_a_checkpoint_of_another_architecture_or_recipe():
    from diffdet_plugin.ldm.deepen import deepen_unet
    from diffdet_plugin.models import LatentDiffusionTrainer
    from mmengine.runner.checkpoint import load_state_dict
    model = LatentDiffusionTrainer(ldm=dict(preset='tiny'))
    state = model.state_dict()
    same = LatentDiffusionTrainer(ldm=dict(preset='tiny', seed=1))
    load_state_dict(same, state)  # same architecture and recipe: resumes
    assert torch.equal(same.ldm.unet.conv_in.weight, model.ldm.unet.conv_in.weight)
    other_recipe = LatentDiffusionTrainer(ldm=dict(preset='tiny'), min_snr_gamma=5.0)
    with pytest.raises(ValueError, match='min_snr_gamma: checkpoint None, config 5.0'):
        load_state_dict(other_recipe, state)  # mmengine's non-strict load would only warn
    deeper = LatentDiffusionTrainer(ldm=dict(preset='tiny'))
    n = len(deeper.ldm.unet.config.down_block_types)
    deeper.ldm.unet = deepen_unet(deeper.ldm.unet, [2] + [1] * (n - 1))
    with pytest.raises(ValueError, match='unet.layers_per_block'):
        load_state_dict(deeper, state)


def test_training_continues_from_exported_weights_with_the_same_outputs(tmp_path):
    from diffdet_plugin.ldm import FrozenLDM
    from diffdet_plugin.models import LatentDiffusionTrainer
    model = LatentDiffusionTrainer(ldm=dict(preset='tiny', seed=3),
                                   trainable=('unet', 'text_encoder'))
    model.save_pretrained(str(tmp_path / 'diffusers'))  # what SaveDiffusersHook exports
    again = LatentDiffusionTrainer(ldm=dict(pretrained=str(tmp_path / 'diffusers')),
                                   trainable=('unet', 'text_encoder'))
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ctx = [m.ldm.encode_prompt(['a red circle']) for m in (model, again)]
        torch.testing.assert_close(ctx[1], ctx[0])
        torch.testing.assert_close(again.ldm.unet(x, 10, encoder_hidden_states=ctx[1]).sample,
                                   model.ldm.unet(x, 10, encoder_hidden_states=ctx[0]).sample)
    assert again.ldm.fingerprint == FrozenLDM.build(
        pretrained=str(tmp_path / 'diffusers')).fingerprint


def test_export_refuses_to_replace_a_model_with_a_worse_one_on_val(tmp_path):
    import json

    from diffdet_plugin.ldm import FrozenLDM
    shipped, new = tmp_path / 'shipped', tmp_path / 'new'
    a, b = FrozenLDM.from_preset('tiny', seed=0), FrozenLDM.from_preset('tiny', seed=1)
    a.save_pretrained(str(shipped))
    b.save_pretrained(str(new))

    def report(p_new, split='val'):
        def row(fp, p):
            return dict(fingerprint=fp, text_to_image=dict(precision=p, recall=0.5),
                        img2img={'0.3': dict(fidelity=0.6)})
        path = tmp_path / f'fidelity_{p_new}_{split}.json'
        path.write_text(json.dumps(dict(args=dict(split=split), ldms=dict(
            shipped=row(a.fingerprint, 0.6), new=row(b.fingerprint, p_new)))))
        return str(path)

    def export(*extra):
        return run_tool_in_process('tools/export_ldm.py', str(new), str(shipped),
                                   '--dtype', 'fp32', *extra)
    proc = export()
    assert proc.returncode != 0 and 'needs a fidelity report on val' in proc.stderr
    proc = export('--fidelity', report(0.55))
    assert proc.returncode != 0 and 't2i precision 0.550 < 0.600' in proc.stderr
    proc = export('--fidelity', report(0.7, split='test'))
    assert proc.returncode != 0 and 'not on val' in proc.stderr
    assert FrozenLDM.build(pretrained=str(shipped)).fingerprint == a.fingerprint  # untouched
    ok(export('--fidelity', report(0.7)))
    assert FrozenLDM.build(pretrained=str(shipped)).fingerprint == b.fingerprint
    a.save_pretrained(str(new))  # a worse model replaces it only when forced
    ok(export('--force'))
    assert FrozenLDM.build(pretrained=str(shipped)).fingerprint == a.fingerprint
