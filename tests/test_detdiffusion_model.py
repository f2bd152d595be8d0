"""DetDiffusion's models and generation (CPU, the embedded toy LDM): the P.A. seg head and its
√ᾱ_t weight, LayoutLDM through tools/train.py, and the `detdiffusion` synthesis mode."""
import json
import os.path as osp

import pytest
import torch
from conftest import REPO, ok, run_tool_in_process
from diffdet_plugin.ldm import ATTRIBUTE_TOKENS, FrozenLDM, location_token_names
from diffdet_plugin.synthesis import DetDiffusionSynthesizer
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmdet.registry import MODELS

PA_LOSS_TOY = osp.join(REPO, 'configs', 'detdiffusion',
                       'detdiffusion-pa-loss_toy-ldm_12000it_toy-shapes.py')


def small_head(num_queries=6):
    cfg = Config.fromfile(PA_LOSS_TOY).model.seg_head
    cfg.update(in_channels=[8, 8, 8, 8], feat_channels=32, out_channels=32,
               num_queries=num_queries)
    for attn in ('self_attn_cfg', 'cross_attn_cfg'):
        cfg.transformer_decoder.layer_cfg[attn].embed_dims = 32
    cfg.transformer_decoder.layer_cfg.ffn_cfg.update(embed_dims=32, feedforward_channels=64)
    cfg.pixel_decoder = dict(type='UNetFeatureFusion', norm_cfg=dict(type='GN', num_groups=8))
    torch.manual_seed(0)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def test_seg_head_forward_and_per_image_weighted_losses():
    head = small_head()
    feats = [torch.randn(2, 8, s, s) for s in (2, 4, 8, 16)]  # f1..f4, coarse to fine
    cls, masks = head(feats, None)
    assert len(cls) == len(masks) == 1 + head.num_transformer_decoder_layers
    assert masks[-1].shape == (2, 6, 16, 16) and cls[-1].shape == (2, 6, head.num_classes + 1)
    m = torch.zeros(2, 64, 64, dtype=torch.bool)
    m[0, 4:30, 4:30] = m[1, 32:60, 10:50] = True
    img0 = InstanceData(labels=torch.tensor([0, 2]), masks=m)
    img1 = InstanceData(labels=torch.tensor([1]), masks=m[1:])
    both = head.instance_losses(feats, [img0, img1], torch.tensor([1.0, 0.0]))
    alone = head.instance_losses([f[:1] for f in feats], [img0], torch.tensor([1.0]))
    for k in ('loss_mask', 'loss_dice', 'loss_cls'):
        assert both[k] > 0
        # weight 0 silences image 1; the mean is over the batch of 2 (dense losses: exact)
        torch.testing.assert_close(both[k], alone[k] / 2)
    # the final decoder output only (Mask2Former's deep supervision sums every layer)
    final = head.image_losses(cls[-1][0], masks[-1][0], img0)
    torch.testing.assert_close(alone['loss_mask'], final['loss_mask'])
    sum(both.values()).backward()
    assert head.mask_embed[0].weight.grad.abs().sum() > 0
    head.aux_loss_weight = 1.0  # optional auxiliary outputs add to it
    assert head.instance_losses([f[:1] for f in feats], [img0])['loss_mask'] > alone['loss_mask']


def test_pa_loss_is_the_papers_formula_on_a_hand_made_case():
    """One query, one object: L_mask = mean BCE, L_dice = 1 − (2Σpy + 1)/(Σp + Σy + 1) at unit
    weights, against the object's mask area-pooled to the prediction's 4 × 4; the class term
    is 0.4 · CE; LayoutLDM adds λ · (L_mask + L_dice + 0.4 · L_cls) with √ᾱ_t per image."""
    head = small_head(num_queries=1)
    logits = torch.tensor([[2.0, -1.0, 0.5, 0.0]]).repeat(4, 1)[None]  # (Q=1, 4, 4)
    gt_mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    gt_mask[0, :4, :3] = True  # pooled: column 0 full, column 1 half, rows 0-1
    cls_scores = torch.tensor([[0.3, 1.0, -0.5, 0.0, 0.2, 0.1, 0.4]])  # 6 classes + none
    got = head.image_losses(cls_scores, logits, InstanceData(labels=torch.tensor([1]),
                                                             masks=gt_mask))
    y = torch.tensor([[1.0, 0.5, 0.0, 0.0]] * 2 + [[0.0] * 4] * 2)
    x = logits[0]
    bce = (torch.nn.functional.softplus(x) - x * y).mean()
    p = x.sigmoid()
    dice = 1 - (2 * (p * y).sum() + 1) / (p.sum() + y.sum() + 1)
    ce = -cls_scores.log_softmax(-1)[0, 1]
    torch.testing.assert_close(got['loss_mask'], bce)
    torch.testing.assert_close(got['loss_dice'], dice)
    torch.testing.assert_close(got['loss_cls'], 0.4 * ce)


def test_pa_loss_weight_is_sqrt_alphabar_t_of_the_ldm_schedule():
    cfg = Config.fromfile(PA_LOSS_TOY).model
    model = MODELS.build(cfg)
    t = torch.tensor([0, 250, 999])
    want = model.ldm.scheduler.alphas_cumprod[t].sqrt()
    torch.testing.assert_close(model.pa_weights(t), want.float())
    assert model.pa_loss_weight == 0.01
    # the paper's features "of the encoding and decoding path": every block of the UNet
    assert any(b.startswith('down_blocks') for b in model.feature_blocks)
    assert any(b.startswith('up_blocks') for b in model.feature_blocks)


@pytest.fixture(scope='module')
def trained_l2i(toy_data, tmp_path_factory):
    """LayoutLDM (+ P.A. loss) trained 2 iterations through tools/train.py on toy data."""
    from conftest import write_tiny_judge_config
    work = str(tmp_path_factory.mktemp('layout_ldm'))
    judge = write_tiny_judge_config(work)  # probe C's generation half, on the test data
    with pytest.MonkeyPatch().context() as mp:  # the tiny judge's weights stay in the run
        mp.setenv('DIFFDET_CACHE', osp.join(work, 'cache'))
        proc = run_tool_in_process(
            'tools/train.py', PA_LOSS_TOY, '--work-dir', work,
            '--cfg-options', 'train_cfg.max_iters=2', 'train_dataloader.batch_size=2',
            f'train_dataloader.dataset.data_root={toy_data}/',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2',
            'model.seg_head.num_queries=4', 'custom_hooks.2.num_layouts=2',
            'custom_hooks.2.num_generate=2', 'custom_hooks.2.num_inference_steps=2',
            f'custom_hooks.2.judge={judge}', f'custom_hooks.2.judge_data_root={toy_data}/',
            f'custom_hooks.2.dataset.data_root={toy_data}/')
    return work, ok(proc)


def test_layout_ldm_trains_unet_and_text_encoder_and_saves_its_location_tokens(trained_l2i):
    work, out = trained_l2i
    assert 'loss_pa' in out and 'loss_ldm' in out
    base = FrozenLDM.build(pretrained='embedded:toy')
    tuned = FrozenLDM.build(pretrained=osp.join(work, 'diffusers'))
    names = location_token_names((16, 16))
    ids = tuned.tokenizer.convert_tokens_to_ids(names)
    assert len(tuned.tokenizer) == len(base.tokenizer) + len(names) + len(ATTRIBUTE_TOKENS)
    easy = tuned.tokenizer.convert_tokens_to_ids('[easy]')
    prompt_ids = tuned.tokenizer('An image with circle <l3><l200> [easy]').input_ids
    assert ids[3] in prompt_ids and ids[200] in prompt_ids  # one token each, no space needed
    assert prompt_ids[-2:] == [easy, tuned.tokenizer.eos_token_id]  # [easy] is one token
    record = read_json(osp.join(work, 'diffusers', 'layout_tokens.json'))
    assert record['location_token_scale'] == 'auto' and record['grid'] == [16, 16]
    assert 0.2 < record['word_row_norm'] < 0.3 and record['attribute_tokens'] == [
        '[easy]', '[hard]', '[background]']
    # probe C ran after the last iteration and logged the held-out gap
    probe = [json.loads(line) for line in open(osp.join(work, 'layout_probe.jsonl'))]
    assert probe[-1]['iter'] == 2 and 'gap' in probe[-1] and 'layout probe: iter 2, gap' in out
    assert 0 <= probe[-1]['layout_map50'] <= 1 and 0 <= probe[-1]['shuffled_map50'] <= 1

    def changed(part):
        a, b = getattr(base, part).state_dict(), getattr(tuned, part).state_dict()
        return any(not torch.equal(a[k], b[k]) for k in a if a[k].shape == b[k].shape)
    assert changed('unet') and changed('text_encoder') and not changed('vae')


def read_json(path):
    with open(path) as f:
        return json.load(f)


def test_generation_strategies_write_the_layouts_and_resume(trained_l2i, toy_data, tmp_path):
    ldm = FrozenLDM.build(pretrained=osp.join(trained_l2i[0], 'diffusers'))
    layouts = dict(data_root=f'{toy_data}/', ann_file='annotations/instances_val.json',
                   img_dir='val/', image_size=(128, 128), grid=(16, 16))
    base = dict(layouts=layouts, num_inference_steps=2, batch_size=2, num_images=4,
                contact_sheet=dict(num_images=0))
    with pytest.raises(ValueError, match='attributes_file'):
        DetDiffusionSynthesizer(ldm, dict(base, strategy='origin'), str(tmp_path / 'o'))
    for strategy in ('easy', 'hard'):
        out = str(tmp_path / strategy)
        s = DetDiffusionSynthesizer(ldm, dict(base, strategy=strategy), out)
        summary = s.run(progress=False)
        coco = read_json(osp.join(out, 'annotations.json'))
        # objects a prompt could not hold are counted in the run summary
        assert summary['objects_dropped'] == sum(i['objects_dropped'] for i in coco['images'])
        assert len(coco['images']) == 4 and coco['info']['strategy'] == strategy
        for img in coco['images']:
            lay = s.layouts.layout_for(s.layouts.index_of(img['layout_image_id']), strategy)
            assert img['prompt'] == lay['prompt'] and img['prompt'].startswith('An image with ')
            assert img['prompt'].count(f'[{strategy}]') == len(lay['labels']) > 0
            anns = [a for a in coco['annotations'] if a['image_id'] == img['id']]
            assert len(anns) == len(lay['labels'])
            x0, y0, w, h = anns[0]['bbox']
            torch.testing.assert_close(torch.tensor([x0, y0, x0 + w, y0 + h]),
                                       lay['bboxes'][0], atol=1e-3, rtol=0)
    # objects a prompt cannot hold are dropped from prompt and labels, and counted
    s = DetDiffusionSynthesizer(ldm, dict(base, strategy='easy', layouts=dict(
        layouts, max_prompt_objects=1, indices=4)), str(tmp_path / 'capped'))
    capped = s.run(progress=False)  # all 4 layouts once: the load count is the generated one
    assert capped['boxes'] == 4 and capped['objects_dropped'] == s.objects_dropped > 0
    # an interrupted run (2 of 4 images), continued: the same data, no duplicates
    part = str(tmp_path / 'part')
    DetDiffusionSynthesizer(ldm, dict(base, strategy='hard', num_images=2), part).run(
        progress=False)
    DetDiffusionSynthesizer(ldm, dict(base, strategy='hard'), part).run(progress=False)
    full, again = (read_json(osp.join(d, 'annotations.json')) for d in (out, part))
    assert [i['id'] for i in again['images']] == [1, 2, 3, 4]
    assert again['images'] == full['images'] and again['annotations'] == full['annotations']
    assert 'earlier_synthesis' not in again['info']  # continued with the same settings
    # continued with another seed: the file-level info lists the settings that made the rest
    reseeded = str(tmp_path / 'reseeded')
    DetDiffusionSynthesizer(ldm, dict(base, strategy='hard', num_images=2), reseeded).run(
        progress=False)
    with pytest.raises(RuntimeError, match='other settings'):  # run() checks the folder
        DetDiffusionSynthesizer(ldm, dict(base, strategy='hard', seed=5), reseeded).run(
            progress=False)
    DetDiffusionSynthesizer(ldm, dict(base, strategy='hard', seed=5), reseeded).run(
        progress=False, resume=True)  # as tools/synthesize.py --resume
    info = read_json(osp.join(reseeded, 'annotations.json'))['info']
    assert info['synthesis']['seed'] == 5
    assert [b['seed'] for b in info['earlier_synthesis']] == [0]


def test_generation_refuses_an_ldm_without_location_tokens(toy_data, tmp_path):
    layouts = dict(data_root=f'{toy_data}/', ann_file='annotations/instances_val.json',
                   img_dir='val/', image_size=(128, 128), grid=(16, 16))
    with pytest.raises(ValueError, match='no location tokens'):
        DetDiffusionSynthesizer(FrozenLDM.build(pretrained='embedded:toy'),
                                dict(layouts=layouts, strategy='easy'), str(tmp_path))



def test_probe_a_passes_at_the_word_row_scale(toy_data):
    """Probe A at test size (4 layouts at 64², 120 iterations; the protocol's is 8 at 128², 240
    iterations, docs/benchmarks.md): with location-token rows at the word rows' norm
    (``location_token_scale='auto'``) the overfit model uses them, gap >= 0.02 (measured on LDM
    v3: 0.041). The control, the raw sine-cosine table (scale 1: gap 0.001 in the same test),
    is the probe's in ``tools/benchmark.py quality --protocols detdiffusion --dd-probes-only``;
    v3 starts using the tokens later than v2 (v2: 0.033 vs 0.003 at 60 iterations)."""
    from diffdet_plugin.benchmarks.detdiffusion_quality import _probe_model
    from diffdet_plugin.evaluation.layout_probe import location_token_gap, overfit_layouts
    model, _, images, samples = _probe_model(toy_data + '/', 'auto', 4, image_size=(64, 64))
    overfit_layouts(model, images, samples, 120)
    gap = location_token_gap(model, images, [s['prompt'] for s in samples])['gap']
    assert gap >= 0.02, gap


def test_probe_d_draws_seeded_minibatches_of_its_layouts(toy_data):
    """Probe D's sampler: each batch is ``batch_size`` distinct layouts among the N given, the
    same draws on a rerun; a bad arm or an oversized batch is one clear error."""
    import argparse

    from diffdet_plugin.benchmarks.detdiffusion_quality import _probe_dataset, probe_d
    from diffdet_plugin.evaluation.layout_probe import sampled_batches
    dataset = _probe_dataset(toy_data + '/', 'train', image_size=(64, 64))
    own = torch.stack([dataset[i]['inputs'] for i in range(6)])
    draws = [sampled_batches(dataset, range(6), 4, seed=3) for _ in range(2)]
    for step in range(3):
        a, b = (d(step)[0] for d in draws)
        assert torch.equal(a, b)
        picked = [int((own == img).flatten(1).all(1).nonzero()) for img in a]
        assert len(set(picked)) == 4
    with pytest.raises(ValueError, match='batch_size 8 > 6'):
        sampled_batches(dataset, range(6), 8)
    with pytest.raises(ValueError, match='N, N\\+fg, N\\+teK, N\\+tokK or N\\+mask'):
        probe_d(argparse.Namespace(), toy_data + '/', '512+lr')


def test_fit_layouts_lr_mults_set_the_text_encoders_lr(toy_data):
    """Probe D's ``+teK`` arms: ``lr_mults`` gives the text encoder (location-token rows
    included) its own lr, as ``paramwise_cfg.custom_keys``; at 0 it stays as it was while the
    UNet learns. A key no trainable parameter has (the frozen VAE) is one clear error."""
    from diffdet_plugin.benchmarks.detdiffusion_quality import _probe_model
    from diffdet_plugin.evaluation.layout_probe import fit_layouts
    model, _, images, samples = _probe_model(toy_data + '/', 'auto', 2, image_size=(64, 64))
    text = {k: v.clone() for k, v in model.ldm.text_encoder.state_dict().items()}
    unet = model.ldm.unet.conv_in.weight.clone()
    fit_layouts(model, lambda i: (images, samples), 2, lr_mults={'ldm.text_encoder': 0.0})
    assert all(torch.equal(v, text[k]) for k, v in model.ldm.text_encoder.state_dict().items())
    assert not torch.equal(model.ldm.unet.conv_in.weight, unet)
    with pytest.raises(ValueError, match="no trainable parameter name contains any of "
                       "\\['ldm.vae'\\]"):
        fit_layouts(model, lambda i: (images, samples), 1, lr_mults={'ldm.vae': 2.0})


def test_token_lr_mult_scales_the_location_rows_step_alone(toy_data):
    """Probe D's ``+tokK`` arms: from the same start and batch, one step moves the
    location-token rows K times as far as at 1 x, and every other row of the table exactly as
    far (a row-wise lr, the table still one parameter)."""
    from diffdet_plugin.benchmarks.detdiffusion_quality import _probe_model
    from diffdet_plugin.evaluation.layout_probe import fit_layouts
    steps = []
    for mult in (None, 3.0):
        model, _, images, samples = _probe_model(toy_data + '/', 'auto', 2, image_size=(64, 64))
        table = model.ldm.text_encoder.get_input_embeddings().weight
        start = table.detach().clone()
        fit_layouts(model, lambda i: (images, samples), 1, token_lr_mult=mult)
        steps.append((table.detach() - start, model.location_token_ids))
    (plain, ids), (scaled, _) = steps
    others = torch.ones(plain.shape[0], dtype=torch.bool)
    others[ids] = False
    assert plain[ids].abs().sum() > 0
    torch.testing.assert_close(scaled[ids], 3.0 * plain[ids], rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(scaled[others], plain[others], rtol=0, atol=1e-7)


def test_box_mask_control_starts_as_the_token_model_and_reads_the_masks(toy_data):
    """Probe D's control adds the layout as pixels through a zero-initialised conv: at init the
    loss is the token-only model's; once the conv is non-zero, another image's masks change it."""
    from diffdet_plugin.benchmarks.detdiffusion_quality import _probe_model
    from diffdet_plugin.evaluation.layout_probe import BoxMaskInput, denoising_loss
    model, dataset, images, samples = _probe_model(toy_data + '/', 'auto', 3,
                                                   image_size=(64, 64))
    prompts = [s['prompt'] for s in samples]
    plain = denoising_loss(model, images, prompts)
    control = BoxMaskInput(model, len(dataset.metainfo['classes']))
    assert any(p is control.proj.weight for p in model.parameters())  # it trains
    control.use(samples)
    assert control.masks.shape == (3, len(dataset.metainfo['classes']), 8, 8)
    assert denoising_loss(model, images, prompts) == pytest.approx(plain, rel=1e-6)
    torch.nn.init.normal_(control.proj.weight, std=0.5)
    own = denoising_loss(model, images, prompts)
    control.use(samples[1:] + samples[:1])
    assert abs(denoising_loss(model, images, prompts) - own) > 1e-4 * own
