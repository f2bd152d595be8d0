"""DetDiffusion's evaluation: FID with a local TorchScript extractor, the layout-to-image score.

FID runs a tiny random-weight TorchScript module with the contract of NVIDIA's
``inception-2015-12-05.pt``; the layout score runs the shipped judge on a hand-made
DetDiffusion-style run (real toy images whose layouts are their own boxes, written by the
synthesis writer).
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from diffdet_plugin.evaluation.fid import (feature_statistics, fid, frechet_distance,
                                           inception_features, load_inception)
from diffdet_plugin.evaluation.fidelity import layout_score


# ---------------------------------------------------------------------------
# FID
# ---------------------------------------------------------------------------
class TinyInception(torch.nn.Module):
    """uint8 (N, 3, H, W) → (N, 16) features; resizes internally, as NVIDIA's model does."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2)
        self.fc = torch.nn.Linear(8 * 4 * 4, 16)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = torch.nn.functional.interpolate(x.float() / 127.5 - 1, size=(32, 32),
                                            mode='bilinear', align_corners=False)
        x = torch.nn.functional.adaptive_avg_pool2d(torch.relu(self.conv(x)), 4).flatten(1)
        f = self.fc(x)
        return f if return_features else f.softmax(-1)


class NoFlagInception(torch.nn.Module):
    """The same without a ``return_features`` argument: called as ``model(x)``."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x, True)


@pytest.fixture(scope='module')
def inception_path(tmp_path_factory):
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('inception') / 'tiny_inception.pt')
    torch.jit.script(TinyInception()).save(path)
    return path


def _noise_images(seed, n=48, lo=0, hi=256, sizes=((24, 24), (32, 40))):
    rng = np.random.default_rng(seed)
    return [rng.integers(lo, hi, (*sizes[i % len(sizes)], 3), dtype=np.uint8)
            for i in range(n)]


def test_fid_of_a_set_with_itself_is_zero_and_a_different_set_is_far(inception_path):
    model = load_inception(inception_path)
    a, a2 = _noise_images(0), _noise_images(1)  # two draws of one distribution
    b = _noise_images(2, lo=150, hi=256)  # brighter, less varied: another distribution
    same = fid(model, iter(a), iter(a), batch_size=5)  # iterators, ragged last batch
    assert abs(same) < 1e-6
    near, far = fid(model, a, a2, batch_size=16), fid(model, a, b, batch_size=16)
    assert far > 3 * near > 0, (near, far)


def test_features_of_mixed_sizes_and_without_return_features(inception_path):
    model = load_inception(inception_path)
    images = _noise_images(3, n=7)
    feats = inception_features(model, images, batch_size=4)  # 2 sizes in each batch
    assert feats.shape == (7, 16) and feats.dtype == np.float64
    one_by_one = np.concatenate([inception_features(model, [im], 1) for im in images])
    np.testing.assert_allclose(feats, one_by_one, rtol=1e-5, atol=1e-6)
    plain = torch.jit.script(NoFlagInception(model))  # fall back to model(x)
    np.testing.assert_allclose(inception_features(plain, images, 4), feats, rtol=1e-6)


def test_missing_inception_file_names_the_flag_and_the_source(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'--inception .*inception-2015-12-05\.pt'):
        load_inception(str(tmp_path / 'nope.pt'))
    with pytest.raises(ValueError, match='at least 2 images'):
        feature_statistics(np.zeros((1, 16)))


def test_frechet_distance_closed_forms():
    # 1-D Gaussians: (m1 − m2)² + (s1 − s2)²
    assert frechet_distance(1.0, 4.0, -2.0, 9.0) == pytest.approx(9 + (2 - 3) ** 2)
    assert frechet_distance([0.5], [[2.0]], [0.5], [[2.0]]) == pytest.approx(0, abs=1e-12)
    # diagonal covariances: Σ_i (μ1_i − μ2_i)² + (σ1_i − σ2_i)²
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    v1, v2 = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    expect = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    got = frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expect, rel=1e-9)
    assert frechet_distance(mu2, np.diag(v2), mu1, np.diag(v1)) == pytest.approx(got, rel=1e-9)
    # a rotated pair (same eigenvectors, full matrices): the same closed form
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    got = frechet_distance(q @ mu1, q @ np.diag(v1) @ q.T, q @ mu2, q @ np.diag(v2) @ q.T)
    assert got == pytest.approx(expect, rel=1e-6)


# ---------------------------------------------------------------------------
# layout-to-image score
# ---------------------------------------------------------------------------
class CountingJudge:
    """The shipped judge, detections cached by image bytes (the runs below share images)."""

    def __init__(self, judge):
        self.judge, self.classes, self.cache, self.calls = judge, judge.classes, {}, 0

    def detect(self, images, score_thr=0.0, batch_size=16):
        todo = [im for im in images if im.tobytes() not in self.cache]
        if todo:
            self.calls += 1
            for im, d in zip(todo, self.judge.detect(todo, score_thr, batch_size)):
                self.cache[im.tobytes()] = d
        return [self.cache[im.tobytes()] for im in images]


def _toy_split(root, split='val'):
    from diffdet_plugin.evaluation.fidelity import load_split
    return load_split(root, split)


def write_layout_run(out, images, layouts, categories):
    """A folder as a DetDiffusion run writes it (the synthesis writer: JPEGs, shard record,
    merge): image i is ``images[i]``, its annotations the layout ``layouts[i]``, score 1."""
    from diffdet_plugin.synthesis.coco_writer import (ShardWriter, annotation_records, image_record,
                                                      merge_shards)
    writer = ShardWriter(str(out))
    record = dict(items=[[i, i] for i in range(len(images))], categories=categories, images=[],
                  annotations=[], failures=[])
    for i, (im, lay) in enumerate(zip(images, layouts)):
        rec = image_record(i + 1, im.shape[1], im.shape[0], prompt='toy layout',
                           layout_image_id=lay['img_id'], strategy='hard', attributes=[],
                           objects_dropped=0, negative_prompt='', seed=i, guidance_scale=3.5,
                           num_inference_steps=50, scheduler='DPMSolverMultistepScheduler',
                           ldm='test', ldm_fingerprint='0', synthesis_item=i)
        writer.write_image(rec['file_name'], im)
        record['images'].append(rec)
        n = len(lay['labels'])
        record['annotations'].extend(annotation_records(i + 1, lay['bboxes'], np.ones(n),
                                                        lay['labels']))
    writer.commit_batch(0, record)
    merge_shards(str(out), info=dict(mode='detdiffusion'))
    return str(out)


@pytest.fixture(scope='module')
def layout_runs(toy_data, tmp_path_factory):
    """Real val images with their own layouts, with another image's layout, and with their own
    layouts under other category ids plus a class the judge does not know."""
    from diffdet_plugin.datasets.toy_shapes import TOY_SHAPES_CLASSES
    split = _toy_split(toy_data)
    ims = split['images']
    lays = [dict(g, img_id=i) for g, i in zip(split['gts'], split['ids'])]
    cats = [dict(id=i + 1, name=n) for i, n in enumerate(TOY_SHAPES_CLASSES)]
    root = tmp_path_factory.mktemp('layout_runs')
    real = write_layout_run(root / 'real', ims, lays, cats)
    shuffled = write_layout_run(root / 'shuffled', ims, lays[1:] + lays[:1], cats)
    # ids reversed (category id 1 = 'dog', unknown to the judge; cross = 2, ..., circle = 7)
    renamed = [dict(id=1, name='dog')] + [dict(id=8 - i - 1, name=n)
                                          for i, n in enumerate(TOY_SHAPES_CLASSES)]
    relabelled = [dict(lay, labels=np.array([6 - int(x) for x in lay['labels']]))
                  for lay in lays]  # label index j → category id j + 1 = 7 − class index
    other = write_layout_run(root / 'renamed', ims, relabelled, renamed)
    return dict(real=real, shuffled=shuffled, renamed=other, split=split)


def test_layout_score_real_images_high_shuffled_layouts_low(layout_runs, shipped_judge):
    judge = CountingJudge(shipped_judge)
    real = layout_score(layout_runs['real'], judge)
    assert real['mAP_50'] > 0.5, real
    assert real['images'] == 16 and real['boxes'] == sum(len(g['labels'])
                                                         for g in layout_runs['split']['gts'])
    assert real['classes_unscored'] == [] and len(real['classes_scored']) == 6
    shuffled = layout_score(layout_runs['shuffled'], judge)
    assert shuffled['mAP_50'] < min(0.2, 0.3 * real['mAP_50']), (real, shuffled)
    # categories matched by name: other ids, other order, an extra class left out
    renamed = layout_score(layout_runs['renamed'], judge)
    assert renamed['classes_unscored'] == ['dog']
    for k in ('mAP', 'mAP_50', 'mAP_75'):
        assert renamed[k] == pytest.approx(real[k]), k
    # the first N images only
    assert layout_score(layout_runs['real'], judge, max_images=4)['images'] == 4
    assert judge.calls <= 2  # the images were detected once
    with open(osp.join(layout_runs['real'], 'annotations.json')) as f:
        assert json.load(f)['images'][0]['strategy'] == 'hard'


def test_layout_score_with_mmdet_detector_and_no_common_class(layout_runs, shipped_judge):
    model = shipped_judge.model  # a plain init_detector model: classes from dataset_meta
    res = layout_score(layout_runs['real'], model, max_images=2)
    assert res['images'] == 2 and len(res['classes_scored']) == 6
    with pytest.raises(ValueError, match='matched by name'):
        layout_score(layout_runs['real'], model, classes=('dog', 'cat'))


def _fidelity_args(argv):
    from diffdet_plugin.benchmarks import build_parser
    return build_parser().parse_args(['fidelity', *argv])


def test_cli_layout_runs_with_detector_and_fid(layout_runs, inception_path, repo_root, toy_data,
                                               tmp_path):
    from diffdet_plugin.benchmarks import fidelity
    from diffdet_plugin.evaluation.judge import ASSET_DIR
    cfg = osp.join(repo_root, 'configs', 'judge', 'fcos_r18-half_fpn_3000it_toy-shapes.py')
    ckpt = osp.join(ASSET_DIR, 'fcos_r18-half_fpn_3000it_toy-shapes.pth')
    out = str(tmp_path / 'bench')
    args = _fidelity_args([
        '--layout-run', f"real={layout_runs['real']},{layout_runs['shuffled']}",
        '--layout-detector', cfg, '--layout-checkpoint', ckpt, '--max-layout-images', '8',
        '--fid-reference', osp.join(toy_data, 'test'), '--inception', inception_path,
        '--out-dir', out])
    result = fidelity.run(args)
    assert result['judge'] is None and result['ldms'] == {}  # no toy split, no judge, no LDM
    assert list(result['layout']) == ['real', 'shuffled']
    real, shuffled = result['layout']['real'], result['layout']['shuffled']
    assert real['images'] == real['fid_images'] == 8
    assert real['mAP_50'] > 0.5 > shuffled['mAP_50']
    assert real['fid'] == pytest.approx(shuffled['fid'])  # the same images
    assert result['fid_reference']['images'] == 16
    with open(osp.join(out, 'fidelity.json')) as f:
        assert json.load(f)['layout']['real']['mAP_50'] == real['mAP_50']
    with open(osp.join(out, 'fidelity.md')) as f:
        md = f.read()
    assert '| layout run | images | boxes | classes scored | mAP | mAP_50 | mAP_75 | FID |' in md
    assert f"| real (`{layout_runs['real']}`) | 8 |" in md


@pytest.mark.parametrize('argv, match', [
    (['--fid-reference', '.'], '--fid-reference needs --inception'),
    (['--inception', 'x.pt'], '--inception needs --fid-reference'),
    (['--fid-reference', '.', '--inception', 'missing.pt'],
     r'--inception .*does not exist.*inception-2015-12-05\.pt'),
    (['--layout-detector', 'x.py'], 'go together'),
])
def test_cli_errors(layout_runs, argv, match):
    from diffdet_plugin.benchmarks import fidelity
    args = _fidelity_args(['--layout-run', layout_runs['real'], *argv])
    with pytest.raises(ValueError, match=match):
        fidelity.run(args)
    with pytest.raises(ValueError, match='no annotations.json'):
        fidelity.run(_fidelity_args(['--layout-run', 'a=/nonexistent']))
