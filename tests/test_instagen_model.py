"""InstaGen's detector: text side, grounding head, query selection, open vocabulary, sharing."""
import copy
import os.path as osp

import pytest
import torch
from conftest import REPO
from diffdet_plugin.synthesis.labellers import GroundingLabeller
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

TOY_HEAD = osp.join(REPO, 'configs', 'instagen', 'instagen-head_toy_toy-shapes.py')
NAMES = ('circle', 'square', 'triangle')


def tiny_instagen_cfg():
    """The toy head config on the `tiny` LDM preset (random weights, 64 px features)."""
    cfg = Config.fromfile(TOY_HEAD)
    cfg.model.backbone.ldm = dict(preset='tiny')
    cfg.model.neck.in_channels = [128, 192, 192, 384]  # [uncond || cond] of the tiny taps
    cfg.model.encoder.num_layers = 1
    cfg.model.decoder.num_layers = 1
    cfg.model.num_queries = 30
    return cfg


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    m = MODELS.build(tiny_instagen_cfg().model)
    m.init_weights()
    return m


def samples(names=NAMES, n=2, size=128):
    out = []
    for _ in range(n):
        s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                        batch_input_shape=(size, size), pad_shape=(size, size),
                                        scale_factor=(1., 1.), text=names, custom_entities=True))
        s.gt_instances = InstanceData(bboxes=torch.tensor([[10., 10, 50, 50], [60, 60, 120, 100]]),
                                      labels=torch.tensor([0, 2]))
        out.append(s)
    return out


def test_text_encoder_is_the_ldms_and_per_category(model):
    enc = model.language_model
    assert enc.ldm is model.backbone.ldm
    assert not any(p is q for p in model.parameters() for q in enc.ldm.parameters()), \
        'the frozen LDM must not be a sub-module (no optimizer, no checkpoint)'
    a = enc(['circle. square. '])
    b = enc(['square. circle. '])
    tok = enc.tokenizer(['circle. square. ']).input_ids[0]
    # [BOS] circle . square . [EOS] (one token per toy word): 'square' is token 3 in a, 1 in b
    n_circle = len(enc.tokenizer('circle', add_special_tokens=False).input_ids)
    i_sq_a = 1 + n_circle + 1
    n_sq = len(enc.tokenizer('square', add_special_tokens=False).input_ids)
    assert torch.allclose(a['embedded'][0, i_sq_a:i_sq_a + n_sq], b['embedded'][0, 1:1 + n_sq],
                          atol=1e-5), 'a category\'s embedding must not depend on its place'
    assert a['masks'].shape == (1, len(tok), len(tok))
    special = torch.tensor([t in enc.special_ids for t in tok])  # official: names only
    assert torch.equal(a['text_token_mask'][0], ~special)
    assert not a['masks'][0, 1, i_sq_a], 'sub-sentences must not attend to each other'


def test_prompt_longer_than_77_tokens_is_refused(model):
    with pytest.raises(ValueError, match='more than the text encoder'):
        model.language_model(['. '.join(['hexagon'] * 60)])


def test_head_forward_and_loss(model):
    model.train()
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    losses = model.loss(x, samples())
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    for k in ('loss_cls', 'loss_bbox', 'loss_iou', 'enc_loss_cls'):
        assert k in losses
    assert not any('dn_loss' in k for k in losses), 'no denoising queries by default (official)'
    model.zero_grad()
    total.backward()
    assert model.text_feat_map.weight.grad.abs().sum() > 0
    assert model.bbox_head.reg_branches[0][-1].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.backbone.ldm.parameters())


def test_denoising_queries_are_off_by_default_and_mmdets_when_asked(model):
    """Official InstaGen trains without DINO's denoising queries: the decoder sees the
    num_queries matching queries alone; ``denoising_queries=True`` adds mmdet's (their
    losses appear)."""
    from diffdet_plugin.models.detectors.instagen import NoDenoisingQueries
    assert isinstance(model.dn_query_generator, NoDenoisingQueries)
    label_q, box_q, mask, meta = model.dn_query_generator(samples())
    assert label_q.shape == (2, 0, 256) and box_q.shape == (2, 0, 4) and mask is meta is None
    cfg = tiny_instagen_cfg()
    cfg.model.denoising_queries = True
    torch.manual_seed(0)
    m = MODELS.build(cfg.model)
    m.init_weights()
    m.train()
    losses = m.loss(torch.rand(2, 3, 128, 128) * 2 - 1, samples())
    assert 'dn_loss_cls' in losses and torch.isfinite(losses['dn_loss_cls'])


def test_open_vocabulary_predicts_with_another_class_list(model):
    """Trained on NAMES, the detector grounds names it never saw (any list length)."""
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    for _ in range(2):
        losses = model.loss(torch.rand(2, 3, 128, 128) * 2 - 1, samples())
        optim.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optim.step()
    model.eval()
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    for names in (('star', 'cross'), ('hexagon', 'star', 'cross', 'a red ball')):
        res = model.predict(x, samples(names, n=1))[0].pred_instances
        assert len(res) > 0 and int(res.labels.max()) < len(names)
    other = GroundingLabeller(model).ground(torch.randn(2, 4, 16, 16), ['star', 'cross'],
                                            prompts=['a photo of a star', 'a photo of a cross'])
    assert len(other) == 2 and all(int(r.labels.max()) < 2 for r in other)


def test_class_list_with_an_empty_or_repeated_name_is_refused(model):
    """Every text path (predict, labelling from latents) refuses a bad class list up front."""
    model.eval()
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    for names, msg in ((('star', ''), 'empty name'), (('star', 'Star '), 'more than once')):
        with pytest.raises(ValueError, match=msg):
            model.predict(x, samples(names, n=1))
        with pytest.raises(ValueError, match=msg):
            GroundingLabeller(model).ground(torch.randn(1, 4, 16, 16), list(names),
                                            prompts=['a star'])


def test_image_feature_prompt_conditions_the_t1_pass_on_each_images_prompt():
    """feature_prompt='image' (the official code's prompt-conditioned features, the default):
    the feature pass reads each sample's `prompt` (the cond half of [uncond || cond])."""
    cfg = tiny_instagen_cfg()
    cfg.model.feature_prompt = 'image'
    torch.manual_seed(0)
    m = MODELS.build(cfg.model)
    m.init_weights()
    m.eval()
    bb, z = m.backbone, torch.randn(2, 4, 16, 16)
    star = bb.latent_features(z, (128, 128), prompts=['a photo of a star'] * 2)
    circle = bb.latent_features(z, (128, 128), prompts=['a photo of a circle'] * 2)
    assert not torch.allclose(star[0], circle[0])
    assert torch.allclose(bb.latent_features(z, (128, 128), prompts=['', ''])[0],
                          bb.latent_features(z, (128, 128))[0])
    with pytest.raises(ValueError, match='prompts'):
        GroundingLabeller(m).ground(z, ['star'])
    assert len(GroundingLabeller(m).ground(z, ['star'], prompts=['a photo of a star'] * 2)) == 2
    seen = []
    bb.register_forward_hook(lambda mod, args, out: seen.append(args[1]))
    batch = samples(n=2)
    for s, p in zip(batch, ('a photo of a circle', 'a photo of a square')):
        s.set_metainfo(dict(prompt=p))
    m.train()
    m.loss(torch.rand(2, 3, 128, 128) * 2 - 1, batch)
    assert seen[-1] == ['a photo of a circle', 'a photo of a square']
    with pytest.raises(ValueError, match='feature_prompt'):
        MODELS.build(dict(cfg.model, feature_prompt='caption'))


def test_deepcopy_shares_the_frozen_ldm(model):
    """An EMA teacher made by deepcopy holds no second LDM; its taps are its own."""
    teacher = copy.deepcopy(model)
    ldm = model.backbone.ldm
    assert teacher.backbone.ldm is ldm and teacher.language_model.ldm is ldm
    storages = {p.untyped_storage().data_ptr() for p in ldm.parameters()}
    theirs = {p.untyped_storage().data_ptr() for p in teacher.backbone.ldm.parameters()}
    assert storages == theirs
    head = {p.untyped_storage().data_ptr() for p in model.parameters()}
    assert not head & {p.untyped_storage().data_ptr() for p in teacher.parameters()}
    assert teacher.backbone.taps is not model.backbone.taps
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    assert torch.allclose(teacher.extract_feat(x)[0], model.extract_feat(x)[0])


def test_ema_teacher_update_is_on_the_head_only_and_the_ldm_exists_once():
    """θ_t ← m·θ_t + (1 − m)·θ_s (m = 0.999: mmdet's MeanTeacherHook momentum 0.001) on the
    head's parameters; teacher and student share one LDM (storages counted)."""
    from mmdet.engine.hooks import MeanTeacherHook
    cfg = tiny_instagen_cfg()
    model = MODELS.build(dict(
        type='InstaGenSelfTraining', detector=cfg.model,
        data_preprocessor=dict(type='MultiBranchDataPreprocessor',
                               data_preprocessor=cfg.model.data_preprocessor),
        semi_train_cfg=dict(cls_pseudo_thr=0.4), semi_test_cfg=dict(predict_on='teacher')))
    model.init_weights()  # as the Runner does (DINO's level_embed is uninitialised memory)
    ldm = model.student.backbone.ldm
    every = [t for t in model.modules()]
    ldm_storages = {p.untyped_storage().data_ptr() for p in ldm.parameters()}
    assert model.teacher.backbone.ldm is ldm and model.teacher.language_model.ldm is ldm
    assert not ldm_storages & {p.untyped_storage().data_ptr() for p in model.parameters()}
    assert sum(isinstance(m, type(ldm)) for m in every) == 0, 'the LDM is not a sub-module'
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(torch.randn_like(p))
    before_t = {k: v.clone() for k, v in model.teacher.named_parameters()}
    student = dict(model.student.named_parameters())
    ldm_before = [p.clone() for p in ldm.parameters()][:4]
    MeanTeacherHook(momentum=0.001).momentum_update(model, 0.001)
    for k, v in model.teacher.named_parameters():
        assert torch.allclose(v, 0.999 * before_t[k] + 0.001 * student[k], atol=1e-6), k
    assert all(torch.equal(a, b) for a, b in zip(ldm_before, list(ldm.parameters())[:4]))
    assert all(not p.requires_grad for p in model.teacher.parameters())


def test_text_encoder_cache_follows_to_dtype_and_device():
    from diffdet_plugin.ldm import FrozenLDM
    from diffdet_plugin.models import LDMTextEncoder
    enc = LDMTextEncoder().attach(FrozenLDM.from_preset('tiny'))
    first = enc(['circle. square. '])['embedded']
    assert enc._cache and all(v.dtype == torch.float32 for v in enc._cache.values())
    enc.to(torch.float64)  # .cuda() / .to(device) take the same path (Module._apply)
    assert all(v.dtype == torch.float64 for v in enc._cache.values())
    again = enc(['circle. square. '])['embedded']  # from the moved cache
    assert again.dtype == torch.float64
    torch.testing.assert_close(again.float(), first)


def _self_training(**semi):
    cfg = tiny_instagen_cfg()
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='InstaGenSelfTraining', detector=cfg.model,
        data_preprocessor=dict(type='MultiBranchDataPreprocessor',
                               data_preprocessor=cfg.model.data_preprocessor),
        semi_train_cfg=dict(dict(cls_pseudo_thr=0.4), **semi),
        semi_test_cfg=dict(predict_on='teacher')))
    model.init_weights()
    return model


def _novel_samples(boxes_labels_scores, names=NAMES, size=128):
    import numpy as np
    out = []
    for bls in boxes_labels_scores:
        s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                        batch_input_shape=(size, size), pad_shape=(size, size),
                                        scale_factor=(1., 1.), text=names, custom_entities=True,
                                        homography_matrix=np.eye(3, dtype=np.float32)))
        s.gt_instances = InstanceData(
            bboxes=torch.tensor([b for b, _, _ in bls], dtype=torch.float32).reshape(-1, 4),
            labels=torch.tensor([lab for _, lab, _ in bls], dtype=torch.long),
            scores=torch.tensor([sc for _, _, sc in bls], dtype=torch.float32))
        out.append(s)
    return out


def test_self_training_drops_novel_images_without_a_novel_pseudo_box():
    """Official InstaGen: a novel image whose teacher finds no novel box (score > beta) is not
    trained as background; the kept images' loss is scaled by sqrt(kept / total)."""
    model = _self_training(novel_classes=['triangle'])
    circle, triangle = ([10., 10, 50, 50], 0), ([60., 60, 120, 100], 2)
    samples = _novel_samples([
        [(*circle, 1.0), (*triangle, 0.9)],  # a base box and a novel pseudo-box: kept
        [(*circle, 1.0)],                    # base boxes only: dropped
        [(*circle, 1.0), (*triangle, 0.3)],  # its novel box is under beta: dropped
    ])
    inputs = torch.randn(3, 3, 128, 128)
    torch.manual_seed(1)
    losses = model.loss_by_pseudo_instances(inputs, copy.deepcopy(samples))
    assert model.last_kept_novel_images == [0]
    torch.manual_seed(1)
    alone = model.student.loss(inputs[[0]], copy.deepcopy(samples[:1]))
    for k in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(losses[f'unsup_{k}'], alone[k] * (1 / 3) ** 0.5)
    none = model.loss_by_pseudo_instances(inputs[1:], copy.deepcopy(samples[1:]))
    assert model.last_kept_novel_images == [] and float(none['unsup_loss_cls']) == 0.0


def test_self_training_targets_keep_the_base_boxes_and_add_only_novel_teacher_boxes():
    model = _self_training(novel_classes=['triangle'], cls_pseudo_thr=0.001)
    circle = ([10., 10, 50, 50], 0, 1.0)
    samples = _novel_samples([[circle], [circle]])
    pseudo, _ = model.get_pseudo_instances(torch.randn(2, 3, 128, 128), samples)
    for s in pseudo:
        gt = s.gt_instances
        assert torch.equal(gt.bboxes[0], torch.tensor(circle[0])) and gt.labels[0] == 0
        assert gt.scores[0] == 1.0
        assert len(gt) > 1 and (gt.labels[1:] == 2).all()  # the teacher's boxes: novel only


def test_per_image_text_is_the_prompts_classes_and_special_tokens_get_no_target():
    import numpy as np
    from diffdet_plugin.datasets import PromptClassesText
    from diffdet_plugin.ldm import FrozenLDM
    from diffdet_plugin.models import LDMTextEncoder
    classes = ('circle', 'square', 'triangle', 'star')
    results = dict(text=classes, category_names=['star', 'circle'], img_path='x.png',
                   gt_bboxes=np.array([[0, 0, 9, 9], [5, 5, 20, 20], [1, 1, 8, 8]], np.float32),
                   gt_bboxes_labels=np.array([0, 1, 3]), gt_ignore_flags=np.zeros(3, bool))
    out = PromptClassesText()(results)
    assert out['text'] == ('star', 'circle') and out['custom_entities']
    assert out['gt_bboxes_labels'].tolist() == [1, 0]  # circle, star re-indexed; square dropped
    assert out['gt_bboxes'].tolist() == [[0, 0, 9, 9], [1, 1, 8, 8]]
    with pytest.raises(ValueError, match='names \\[.dog.\\]'):
        PromptClassesText()(dict(results, text=classes, category_names=['dog']))
    # the official class embedding: one vector per class (the name's state in context), and
    # no special token (BOS, separators, EOS, padding) is scored or gets a target
    enc = LDMTextEncoder(name_template='a photo of a {}', mask_special_tokens=True)
    enc.attach(FrozenLDM.from_preset('tiny'))
    model_ = MODELS.build(tiny_instagen_cfg().model)
    tokens, caption, _, _ = model_.get_tokens_positive_and_prompts(['red circle', 'star'], True)
    text = enc([caption])
    ids = enc.tokenizer([caption]).input_ids[0]
    special = [i for i, t in enumerate(ids) if t in enc.special_ids]
    assert not text['text_token_mask'][0, special].any()
    assert text['text_token_mask'][0].sum() == len(ids) - len(special)
    first = [i for i in range(len(ids)) if i not in special][:2]  # "red circle": two tokens
    torch.testing.assert_close(text['embedded'][0, first[0]], text['embedded'][0, first[1]])


def test_official_head_trains_with_per_image_text_and_the_normalised_score():
    from diffdet_plugin.models.dense_heads.instagen_head import NormalizedContrastiveEmbed
    cfg = tiny_instagen_cfg()
    cfg.model.language_model.update(name_template='a photo of a {}', mask_special_tokens=True)
    cfg.model.bbox_head.contrastive_cfg = dict(max_text_len=77, norm=True)
    torch.manual_seed(0)
    m = MODELS.build(cfg.model)
    m.init_weights()
    fc = m.bbox_head.cls_branches[0]
    assert isinstance(fc, NormalizedContrastiveEmbed)
    assert float(fc.scale) == pytest.approx(1 / 0.07)  # CLIP's, for a cosine bounded by 1
    assert float(fc.bias) == pytest.approx(-4.595, abs=1e-3)
    q, t = torch.randn(1, 5, 256), torch.randn(1, 3, 256)
    cos = torch.nn.functional.normalize(q, dim=-1) @ torch.nn.functional.normalize(t, dim=-1)[0].T
    torch.testing.assert_close(fc(q, t, torch.ones(1, 3, dtype=torch.bool))[..., :3],
                               fc.scale * cos + fc.bias)
    # each image grounds only its own prompt's classes (different texts in one batch)
    batch = samples(n=2)
    batch[0].set_metainfo(dict(text=('circle', 'triangle')))
    batch[0].gt_instances.labels = torch.tensor([0, 1])
    batch[1].set_metainfo(dict(text=('square', 'star')))
    batch[1].gt_instances.labels = torch.tensor([1, 0])
    m.train()
    losses = m.loss(torch.rand(2, 3, 128, 128) * 2 - 1, batch)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    assert fc.scale.grad is not None and m.text_feat_map.weight.grad.abs().sum() > 0


def test_random_names_control_keeps_norms_and_removes_the_shared_words():
    """Tier B's arm (d): one fixed random vector per class name at the real vector's norm, the
    same for the same name; "red circle" then no longer resembles "red triangle"."""
    from diffdet_plugin.ldm import FrozenLDM
    from diffdet_plugin.models import LDMTextEncoder
    ldm = FrozenLDM.build(pretrained='embedded:toy')
    caption = 'red circle. red triangle. blue star.'

    def class_vectors(**kw):
        enc = LDMTextEncoder(name_template='a photo of a {}', mask_special_tokens=True, **kw)
        ids = enc.attach(ldm).tokenizer([caption]).input_ids[0]
        special = [t in enc.special_ids for t in ids]
        firsts = [i for i in range(1, len(ids)) if special[i - 1] and not special[i]]
        return enc([caption])['embedded'][0, firsts]  # (3 classes, D)
    real, rand = class_vectors(), class_vectors(random_names=True)
    torch.testing.assert_close(rand.norm(dim=-1), real.norm(dim=-1))
    torch.testing.assert_close(class_vectors(random_names=True), rand)  # fixed per name

    def cos(v, i, j):
        return float(torch.nn.functional.cosine_similarity(v[i], v[j], dim=0))
    assert cos(real, 0, 1) > cos(real, 0, 2) + 0.2  # the toy encoder: "red" is shared
    assert abs(cos(rand, 0, 1)) < 0.4 and abs(cos(rand, 0, 2)) < 0.4
    with pytest.raises(ValueError, match='random_names=True .* needs a name_template'):
        LDMTextEncoder(random_names=True)


def test_alpha_and_beta_outside_the_open_unit_interval_are_refused():
    """InstaGen's β (synthesis score_thr, self-training cls_pseudo_thr) is a probability in
    (0, 1): at 0 every box passes, at 1 none does; one clear error names the setting."""
    from diffdet_plugin.synthesis.instagen import InstaGenConfig
    from diffdet_plugin.utils.thresholds import check_threshold
    assert check_threshold('0.4', 'beta') == 0.4
    for bad in (0, 1, -0.2, 1.5, float('nan'), 'high', None):
        with pytest.raises(ValueError, match=r'beta must be .*\(0, 1\)'):
            check_threshold(bad, 'beta')
    with pytest.raises(ValueError, match=r'synthesis.score_thr \(InstaGen β\) must be in'):
        InstaGenConfig(categories=['circle'], score_thr=0.0).validate()
    cfg = tiny_instagen_cfg()
    with pytest.raises(ValueError, match=r'cls_pseudo_thr \(InstaGen β\) must be in'):
        MODELS.build(dict(type='InstaGenSelfTraining', detector=cfg.model,
                          semi_train_cfg=dict(cls_pseudo_thr=1.2, novel_classes=('cross', ))))
