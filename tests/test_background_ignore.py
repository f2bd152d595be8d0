"""Gen2Det's background ignore: BackgroundIgnoreFCOSHead and IgnoreIndexLoss."""
import diffdet_plugin  # noqa: F401  (registers the components)
import torch
from diffdet_plugin.config_package import config_dir
from diffdet_plugin.datasets import SYNTHETIC_META_KEYS
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmdet.registry import MODELS

DE_CONFIG = 'diffusion_engine/downstream/fcos_r18-half_fpn_1500it_toy-shapes-de'


def _heads():
    cfg = Config.fromfile(f'{config_dir()}/{DE_CONFIG}-bg-ignore.py')
    assert cfg.model.bbox_head.type == 'BackgroundIgnoreFCOSHead'
    plain = dict(cfg.model.bbox_head, type='FCOSHead')
    torch.manual_seed(0)
    ignoring = MODELS.build(cfg.model.bbox_head)
    torch.manual_seed(0)
    return ignoring, MODELS.build(plain)


def _losses(head, feats, gts, metas):
    cls_scores, bbox_preds, centernesses = head(feats)
    return head.loss_by_feat(cls_scores, bbox_preds, centernesses, gts, metas)


def test_background_of_synthetic_images_adds_no_classification_loss():
    ignoring, plain = _heads()
    torch.manual_seed(1)
    feats = [torch.randn(2, ignoring.in_channels, 128 // s, 128 // s) for s in (8, 16, 32, 64, 128)]
    gt = InstanceData(bboxes=torch.tensor([[20., 20., 70., 60.]]), labels=torch.tensor([2]))
    empty = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    real = dict(img_shape=(128, 128), pad_shape=(128, 128))
    synthetic = dict(real, ldm_fingerprint=None)  # SyntheticCocoDataset packs every key
    assert ignoring.synthetic_key in SYNTHETIC_META_KEYS


    # image 1 is an unlabelled synthetic image: only the background of it exists
    both_ign = _losses(ignoring, feats, [gt, empty], [real, synthetic])
    both_plain = _losses(plain, feats, [gt, empty], [real, synthetic])
    alone = _losses(ignoring, [f[:1] for f in feats], [gt], [real])  # GN: per-image scores
    torch.testing.assert_close(both_ign['loss_cls'], alone['loss_cls'])
    assert both_plain['loss_cls'] > alone['loss_cls'] * 1.2  # the plain head learns "background"
    for k in ('loss_bbox', 'loss_centerness'):  # positives only: identical in both heads
        torch.testing.assert_close(both_ign[k], both_plain[k])
    # the same empty image marked real is background for both heads
    real_ign = _losses(ignoring, feats, [gt, empty], [real, real])
    torch.testing.assert_close(real_ign['loss_cls'], both_plain['loss_cls'])


def test_ignore_index_loss_weights_and_errors():
    loss = MODELS.build(dict(type='IgnoreIndexLoss', loss=dict(
        type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)))
    assert loss.use_sigmoid
    pred = torch.randn(5, 3)
    target = torch.tensor([0, 3, -1, 2, -1])
    kept = loss.loss(pred[[0, 1, 3]], target[[0, 1, 3]], avg_factor=2.0)
    torch.testing.assert_close(loss(pred, target, avg_factor=2.0), kept)
    w = torch.tensor([2., 1., 5., 1., 5.])
    torch.testing.assert_close(loss(pred, target, weight=w, avg_factor=2.0),
                               loss.loss(pred[[0, 1, 3]], target[[0, 1, 3]],
                                         weight=w[[0, 1, 3]], avg_factor=2.0))


def test_novel_masked_head_gives_novel_channels_no_gradient_on_real_images():
    cfg = Config.fromfile(f'{config_dir()}/{DE_CONFIG}-bg-ignore.py')
    plain_cfg = dict(cfg.model.bbox_head, type='FCOSHead')
    torch.manual_seed(0)
    head = MODELS.build(dict(plain_cfg, type='NovelMaskedFCOSHead', novel_classes=[2, 5]))
    torch.manual_seed(0)
    plain = MODELS.build(plain_cfg)
    torch.manual_seed(1)
    feats = [torch.randn(2, head.in_channels, 128 // s, 128 // s) for s in (8, 16, 32, 64, 128)]
    base = InstanceData(bboxes=torch.tensor([[20., 20., 70., 60.]]), labels=torch.tensor([0]))
    novel = InstanceData(bboxes=torch.tensor([[30., 40., 90., 100.]]), labels=torch.tensor([2]))
    real = dict(img_shape=(128, 128), pad_shape=(128, 128))
    synthetic = dict(real, ldm_fingerprint=None)

    def novel_grads(metas):
        scores, boxes, ctr = head(feats)
        for s in scores:
            s.retain_grad()
        loss = head.loss_by_feat(scores, boxes, ctr, [base, novel], metas)['loss_cls']
        loss.backward()
        return [torch.stack([s.grad[i, [2, 5]].abs().sum() for s in scores]).sum()
                for i in range(2)], loss

    (g_real, g_syn), _ = novel_grads([real, synthetic])
    assert g_real == 0  # real base-only image: its novel channels learn nothing
    assert g_syn > 0    # synthetic image with a novel box: they learn
    # every channel of a synthetic image, and base channels of real ones, train as in FCOS
    (g_real2, _), masked_all_syn = novel_grads([synthetic, synthetic])
    assert g_real2 > 0
    scores, boxes, ctr = plain(feats)
    ref = plain.loss_by_feat(scores, boxes, ctr, [base, novel], [synthetic, synthetic])
    torch.testing.assert_close(masked_all_syn, ref['loss_cls'])
    import pytest
    with pytest.raises(ValueError, match='novel_classes'):
        MODELS.build(dict(plain_cfg, type='NovelMaskedFCOSHead', novel_classes=[9]))
