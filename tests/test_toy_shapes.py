"""Tests for the procedural toy shapes COCO generator."""
import json
import os.path as osp

import numpy as np
import pytest
from diffdet_plugin.datasets.toy_shapes import (TOY_SHAPES_CLASSES, caption_for,
                                                generate_toy_shapes, render_scene)
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

NUM_TRAIN, NUM_VAL, SIZE = 12, 4, 64


def _generate(root, seed=0):
    return generate_toy_shapes(str(root), num_train=NUM_TRAIN,
                               num_val=NUM_VAL, image_size=SIZE, seed=seed)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    return _generate(tmp_path_factory.mktemp('toy_a'))


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def _pixels(img_dir, file_name):
    return np.asarray(Image.open(osp.join(img_dir, file_name)).convert('RGB'))


def test_layout_and_counts(dataset):
    root = dataset['out_dir']
    for split, num in (('train', NUM_TRAIN), ('val', NUM_VAL)):
        info = dataset[split]
        assert info['num_images'] == num
        assert info['ann_file'] == osp.join(root, 'annotations',
                                            f'instances_{split}.json')
        assert info['caption_file'] == osp.join(root, 'annotations',
                                                f'captions_{split}.json')
        assert osp.isfile(osp.join(root, split, '000000000001.png'))
        assert osp.isfile(osp.join(root, split, f'{num:012d}.png'))


def test_determinism(dataset, tmp_path):
    again = _generate(tmp_path / 'again', seed=0)
    other = _generate(tmp_path / 'other', seed=1)
    for split in ('train', 'val'):
        for key in ('ann_file', 'caption_file'):
            assert _read(dataset[split][key]) == _read(again[split][key])
            assert _read(dataset[split][key]) != _read(other[split][key])
        images = json.load(open(dataset[split]['ann_file']))['images']
        differs = False
        for im in images:
            a = _pixels(dataset[split]['img_dir'], im['file_name'])
            b = _pixels(again[split]['img_dir'], im['file_name'])
            c = _pixels(other[split]['img_dir'], im['file_name'])
            np.testing.assert_array_equal(a, b)
            differs |= not np.array_equal(a, c)
        assert differs


def test_image_k_independent_of_count(dataset, tmp_path):
    fewer = generate_toy_shapes(str(tmp_path), num_train=3, num_val=1,
                                image_size=SIZE, seed=0)
    for split, n in (('train', 3), ('val', 1)):
        for k in range(1, n + 1):
            name = f'{k:012d}.png'
            np.testing.assert_array_equal(
                _pixels(dataset[split]['img_dir'], name),
                _pixels(fewer[split]['img_dir'], name))


@pytest.mark.parametrize('split', ['train', 'val'])
def test_coco_annotations_consistent(dataset, split):
    coco = COCO(dataset[split]['ann_file'])
    cats = coco.loadCats(coco.getCatIds())
    assert [c['name'] for c in cats] == list(TOY_SHAPES_CLASSES)
    assert [c['id'] for c in cats] == list(range(1, len(cats) + 1))
    img_ids = sorted(coco.getImgIds())
    assert img_ids == list(range(1, len(img_ids) + 1))
    for img_id in img_ids:
        img = coco.loadImgs(img_id)[0]
        assert (img['width'], img['height']) == (SIZE, SIZE)
        assert img['file_name'] == f'{img_id:012d}.png'
        assert img['caption'].startswith('a photo of ')
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        assert 1 <= len(anns) <= 6
        for ann in anns:
            assert ann['iscrowd'] == 0
            assert 1 <= ann['category_id'] <= len(TOY_SHAPES_CLASSES)
            assert isinstance(ann['segmentation']['counts'], str)
            mask = mask_utils.decode(ann['segmentation'])
            assert mask.shape == (SIZE, SIZE)
            ys, xs = np.nonzero(mask)
            tight = [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                     ys.max() - ys.min() + 1]
            assert ann['bbox'] == [float(v) for v in tight]
            assert ann['area'] == float(mask.sum())
            assert ann['area'] >= 20
    captions = COCO(dataset[split]['caption_file'])
    for img_id in img_ids:
        cap = captions.loadAnns(captions.getAnnIds(imgIds=img_id))
        assert len(cap) == 1
        assert cap[0]['caption'] == coco.loadImgs(img_id)[0]['caption']


def test_render_scene_objects():
    rng = np.random.default_rng(123)
    for _ in range(20):
        image, objects = render_scene(rng, image_size=SIZE)
        assert image.mode == 'RGB' and image.size == (SIZE, SIZE)
        assert 1 <= len(objects) <= 6
        for obj in objects:
            assert obj['mask'].dtype == np.uint8
            assert obj['area'] == int(obj['mask'].sum())
            assert obj['area'] >= 0.3 * obj['full_area']


def test_caption_for():
    def objs(*pairs):
        return [{'color': c, 'category': s} for c, s in pairs]

    assert caption_for(objs(('red', 'circle'))) == 'a photo of a red circle'
    assert caption_for(objs(('orange', 'star'))) == 'a photo of an orange star'
    assert (caption_for(objs(('red', 'circle'), ('blue', 'square'),
                             ('blue', 'square')))
            == 'a photo of a red circle and two blue squares')
    assert (caption_for(objs(*[('green', 'cross')] * 3, ('red', 'cross'),
                             ('yellow', 'hexagon'), ('yellow', 'hexagon')))
            == 'a photo of three green crosses, a red cross and two yellow '
               'hexagons')
    assert (caption_for(objs(*[('purple', 'triangle')] * 6))
            == 'a photo of six purple triangles')


def test_caption_variants_without_colours_or_counts():
    objs = [{'color': c, 'category': s} for c, s in
            [('red', 'circle'), ('blue', 'square'), ('green', 'square'), ('orange', 'hexagon')]]
    assert caption_for(objs, colour=False) == 'a photo of a circle, two squares and a hexagon'
    assert (caption_for(objs, count=False)
            == 'a photo of a red circle, a blue square, a green square and an orange hexagon')
    assert (caption_for(objs[1:3] + objs[1:2], count=False)
            == 'a photo of blue squares and a green square')
    assert caption_for(objs[1:3], colour=False, count=False) == 'a photo of squares'


def test_ldm_split_has_its_own_seed_stream(tmp_path):
    info = generate_toy_shapes(str(tmp_path), num_train=3, num_val=1, image_size=SIZE, seed=0,
                               num_ldm=3)
    assert info['ldm']['num_images'] == 3
    for k in range(3):  # image k of the LDM split is never image k of train
        name = f'{k + 1:012d}.png'
        assert not np.array_equal(_pixels(info['train']['img_dir'], name),
                                  _pixels(info['ldm']['img_dir'], name))
