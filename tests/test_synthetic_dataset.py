"""SyntheticCocoDataset, real + synthetic mixing, the downstream configs, browse_dataset.py."""
import glob
import json
import os
import os.path as osp

import pytest
from conftest import REPO, ok, run_tool_in_process
from PIL import Image

TOY_DE_CONFIG = osp.join(REPO, 'configs', 'diffusion_engine', 'downstream',
                         'fcos_r18-half_fpn_1500it_toy-shapes-de.py')
DOWNSTREAM_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'diffusion_engine',
                                               'downstream', '*.py')))
DOWNSTREAM_CONFIGS.append(osp.join(REPO, 'configs', 'de_dino_r50.py'))

# One row per synthetic image: encode ratio, scores of its boxes (None: a kept negative).
# Boxes are the real toy boxes of the reference image, as many as scores are given.
ROWS = [
    (0.30, [0.9, 0.4]),
    (0.45, [0.8]),
    (0.60, [0.95, 0.35, 0.7]),
    (0.75, [0.6]),
    (0.90, [0.35, 0.32]),  # every box below 0.5: a negative once min_score=0.5
    (1.00, None),          # written without boxes by the engine
]


def _provenance(image_id, ref, ratio):
    return dict(ref_image_id=ref['id'], ref_file_name=ref['file_name'],
                prompt=f'a photo of shapes #{image_id}', negative_prompt='',
                seed=1000 + image_id, encode_ratio=ratio, denoising_steps=round(ratio * 30),
                guidance_scale=7.5,
                num_inference_steps=30, scheduler='DPMSolverMultistepScheduler',
                ldm='preset:tiny:seed0', ldm_fingerprint='9e61' * 4,
                adapter_checkpoint='work_dirs/adapter/iter_300.pth', adapter_sha256='ab12' * 8)


def write_synthetic(real_root, out_dir, rows=ROWS):
    """A folder as tools/synthesize.py writes it, from toy-shapes train images."""
    with open(osp.join(real_root, 'annotations', 'instances_train.json')) as f:
        real = json.load(f)
    os.makedirs(osp.join(out_dir, 'images'), exist_ok=True)
    images, anns = [], []
    for k, (ratio, scores) in enumerate(rows):
        image_id = k + 1
        ref = real['images'][k]
        file_name = f'{image_id:012d}.jpg'
        Image.open(osp.join(real_root, 'train', ref['file_name'])).convert('RGB').save(
            osp.join(out_dir, 'images', file_name), quality=90)
        images.append(dict(id=image_id, file_name=file_name, width=ref['width'],
                           height=ref['height'], **_provenance(image_id, ref, ratio)))
        ref_anns = [a for a in real['annotations'] if a['image_id'] == ref['id']]
        for j, score in enumerate(scores or []):
            a = ref_anns[j % len(ref_anns)]
            x, y, w, h = a['bbox']
            if j >= len(ref_anns):  # more scores than real boxes: a shifted copy
                x, y = max(0, x - 4), max(0, y - 4)
            anns.append(dict(id=len(anns) + 1, image_id=image_id, category_id=a['category_id'],
                             bbox=[x, y, w, h], area=w * h, iscrowd=0, score=score))
    data = dict(info=dict(description='fake DiffusionEngine synthesis'), images=images,
                annotations=anns, categories=real['categories'])
    with open(osp.join(out_dir, 'annotations.json'), 'w') as f:
        json.dump(data, f)
    return data


@pytest.fixture(scope='module')
def small_real(tmp_path_factory):
    from diffdet_plugin.datasets import generate_toy_shapes
    root = str(tmp_path_factory.mktemp('toy_real'))
    generate_toy_shapes(root, num_train=8, num_val=4, image_size=128, seed=0)
    return root


@pytest.fixture(scope='module')
def synthetic(small_real, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('toy_de'))
    data = write_synthetic(small_real, out)
    return out, data


def _build(root, **kwargs):
    from diffdet_plugin.datasets import SyntheticCocoDataset
    return SyntheticCocoDataset(data_root=root, **kwargs)


def _ids(ds):
    return [ds.get_data_info(i)['img_id'] for i in range(len(ds))]


def _num_boxes(ds):
    return sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds)))


# ---------------------------------------------------------------- the dataset
def test_loads_with_classes_from_file(synthetic):
    from diffdet_plugin.datasets import TOY_SHAPES_CLASSES

    from mmdet.registry import DATASETS
    root, data = synthetic
    ds = DATASETS.build(dict(type='SyntheticCocoDataset', data_root=root))
    assert ds.metainfo['classes'] == TOY_SHAPES_CLASSES
    assert _ids(ds) == [1, 2, 3, 4, 5, 6]
    assert _num_boxes(ds) == len(data['annotations']) == 9
    info = ds.get_data_info(0)
    assert info['img_path'] == osp.join(root, 'images', '000000000001.jpg')
    assert info['prompt'] == 'a photo of shapes #1' and info['encode_ratio'] == 0.30
    ann = data['annotations'][0]
    x, y, w, h = ann['bbox']
    assert info['instances'][0]['bbox'] == [x, y, x + w, y + h]
    assert info['instances'][0]['bbox_label'] == ann['category_id'] - 1
    assert ds.get_data_info(5)['instances'] == []  # the kept negative


def test_provenance_reaches_data_samples_metainfo(synthetic):
    from diffdet_plugin.datasets import PROVENANCE_KEYS, SYNTHETIC_META_KEYS
    root, data = synthetic
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackDetInputs', meta_keys=SYNTHETIC_META_KEYS)]
    ds = _build(root, pipeline=pipeline)
    item = ds[2]
    meta = item['data_samples'].metainfo
    record = data['images'][2]
    for key in PROVENANCE_KEYS:
        assert meta[key] == record[key], key
    assert meta['img_id'] == 3 and tuple(item['inputs'].shape) == (3, 128, 128)
    assert len(item['data_samples'].gt_instances) == 3


def test_min_score_filter(synthetic):
    root, _ = synthetic
    ds = _build(root, min_score=0.5)
    assert _num_boxes(ds) == 5  # 0.9, 0.8, 0.95, 0.7, 0.6
    assert _ids(ds) == [1, 2, 3, 4, 5, 6]  # negatives kept by default
    assert ds.get_data_info(4)['instances'] == []
    assert ds.filter_stats['dropped_low_score_boxes'] == 4


def test_keep_negatives_false(synthetic):
    root, _ = synthetic
    assert _ids(_build(root, keep_negatives=False)) == [1, 2, 3, 4, 5]
    assert _ids(_build(root, min_score=0.5, keep_negatives=False)) == [1, 2, 3, 4]
    # mmdet's filter_empty_gt sees the boxes left after min_score, not the file's
    assert _ids(_build(root, min_score=0.5, filter_cfg=dict(filter_empty_gt=True))) == [1, 2, 3, 4]
    lazy = _build(root, min_score=0.5, lazy_init=True)
    assert lazy._raw is None and _ids(lazy) == [1, 2, 3, 4, 5, 6]


def test_max_images_and_encode_ratio_range(synthetic):
    root, _ = synthetic
    assert _ids(_build(root, max_images=2)) == [1, 2]
    assert _ids(_build(root, encode_ratio_range=(0.4, 0.8))) == [2, 3, 4]
    assert _ids(_build(root, encode_ratio_range=(0.4, 0.8), max_images=2)) == [2, 3]
    with pytest.raises(ValueError, match='encode_ratio_range'):
        _build(root, encode_ratio_range=(0.8, 0.4))


def test_metainfo_classes_matched_by_name(synthetic):
    from diffdet_plugin.datasets import TOY_SHAPES_CLASSES
    root, data = synthetic
    reversed_classes = tuple(reversed(TOY_SHAPES_CLASSES))
    ds = _build(root, metainfo=dict(classes=reversed_classes))
    assert ds.metainfo['classes'] == reversed_classes
    ann = data['annotations'][0]
    name = data['categories'][ann['category_id'] - 1]['name']
    assert ds.get_data_info(0)['instances'][0]['bbox_label'] == reversed_classes.index(name)


def test_class_mismatch_error(synthetic):
    root, _ = synthetic
    classes = ('circle', 'square', 'triangle', 'star', 'hexagon', 'blob')
    with pytest.raises(ValueError) as err:
        _build(root, metainfo=dict(classes=classes))
    msg = str(err.value)
    assert osp.join(root, 'annotations.json') in msg
    assert "'blob'" in msg and "'cross'" in msg


def test_missing_file_error(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        _build(str(tmp_path / 'not_synthesized'))
    msg = str(err.value)
    assert osp.join(str(tmp_path / 'not_synthesized'), 'annotations.json') in msg
    assert 'tools/synthesize.py' in msg


def test_meta_keys_are_the_modes_declared_record_fields():
    """The provenance keys a synthetic sample carries are what the modes write: the
    DiffusionEngine record fields (mode, sampler, LDM, adapter) and text-to-image's
    category names, each declared once."""
    from diffdet_plugin.datasets import PROVENANCE_KEYS, SYNTHETIC_META_KEYS
    from diffdet_plugin.synthesis import DiffusionEngineSynthesizer, InstaGenSynthesizer
    assert PROVENANCE_KEYS == (
        'ref_image_id', 'ref_file_name', 'prompt', 'negative_prompt', 'seed', 'encode_ratio',
        'denoising_steps', 'guidance_scale', 'num_inference_steps', 'scheduler', 'ldm',
        'ldm_fingerprint', 'adapter_checkpoint', 'adapter_sha256')
    assert PROVENANCE_KEYS == DiffusionEngineSynthesizer.record_fields()
    assert SYNTHETIC_META_KEYS[-1] == 'category_names'
    assert set(InstaGenSynthesizer.record_fields()) - set(SYNTHETIC_META_KEYS) == {
        'head_checkpoint', 'head_sha256'}


# ---------------------------------------------------------------- real + synthetic
def toy_de_options(real_root, synthetic_root):
    """--cfg-options pointing the tiny downstream configs at tmp data folders."""
    real, syn = real_root.rstrip('/') + '/', synthetic_root.rstrip('/') + '/'
    return [
        f'train_dataloader.dataset.real.data_root={real}',
        f'train_dataloader.dataset.synthetic.data_root={syn}',
        f'val_dataloader.dataset.data_root={real}',
        f'test_dataloader.dataset.data_root={real}',
        f'val_evaluator.ann_file={real}annotations/instances_val.json',
        f'test_evaluator.ann_file={real}annotations/instances_val.json',
    ]


def _cfg(path, options):
    import argparse

    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(path)
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    return cfg


@pytest.mark.parametrize('ratio', [[1, 3], [1, 1]])
def test_multi_source_sampler_ratio(small_real, synthetic, ratio):
    """The per-batch arms (-de-1to1, -de-3to1): a fixed real : synthetic share per batch."""
    from mmengine.runner import Runner
    root, _ = synthetic
    batch = 4
    cfg = _cfg(TOY_DE_CONFIG.replace('-de.py', '-de-1to1.py'), [
        *toy_de_options(small_real, root), f'train_dataloader.batch_size={batch}',
        f'train_dataloader.sampler.batch_size={batch}'])
    cfg.train_dataloader.sampler.source_ratio = ratio
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    # the shared metainfo made RealSyntheticDataset (a ConcatDataset) accept both sources
    assert [len(d) for d in loader.dataset.datasets] == [8, 5]  # 6 written, 1 negative
    expect_syn = batch * ratio[1] // sum(ratio)
    n_batches = 0
    for data in loader:
        paths = [s.img_path for s in data['data_samples']]
        syn = sum(p.startswith(root) for p in paths)
        assert (syn, len(paths) - syn) == (expect_syn, batch - expect_syn), paths
        n_batches += 1
        if n_batches == 3:  # enough to wrap around the 5 synthetic images once
            break
    # synthetic samples carry their provenance, real ones do not
    meta = [s.metainfo for s in data['data_samples']]
    assert all(('prompt' in m) == m['img_path'].startswith(root) for m in meta)


def test_concatenated_mixing_samples_every_image_equally(small_real, synthetic):
    """The -de configs concatenate real and synthetic data (the official code): over a fixed
    seed every image, real or synthetic, is drawn equally often (a shuffled pass over the 13
    images per 13 draws), so the synthetic share is its share of the images, not 1 : 1."""
    from collections import Counter

    from mmengine.runner import Runner
    root, _ = synthetic
    cfg = _cfg(TOY_DE_CONFIG, [*toy_de_options(small_real, root),
                               'train_dataloader.batch_size=1'])
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    sizes = [len(d) for d in loader.dataset.datasets]
    assert sizes == [8, 5]  # the synthetic negative is dropped (keep_negatives=False)
    draws, paths = Counter(), []
    for i, data in enumerate(loader):
        paths.append(data['data_samples'][0].img_path)
        if i + 1 == 10 * sum(sizes):
            break
    draws = Counter(paths)
    assert len(draws) == 13 and set(draws.values()) == {10}
    assert sum(p.startswith(root) for p in paths) == 50


# ---------------------------------------------------------------- configs
def _fake_coco(small_real, synthetic_root, out):
    """data/coco-like (train2017) and data/coco_de-like folders with COCO's 80 categories."""
    import shutil

    from mmdet.datasets import CocoDataset
    cats = [dict(id=i + 1, name=n) for i, n in enumerate(CocoDataset.METAINFO['classes'])]
    with open(osp.join(small_real, 'annotations', 'instances_train.json')) as f:
        real = json.load(f)
    real['categories'] = cats
    os.makedirs(osp.join(out, 'coco', 'annotations'))
    shutil.copytree(osp.join(small_real, 'train'), osp.join(out, 'coco', 'train2017'))
    with open(osp.join(out, 'coco', 'annotations', 'instances_train2017.json'), 'w') as f:
        json.dump(real, f)
    shutil.copytree(synthetic_root, osp.join(out, 'coco_de'))
    with open(osp.join(out, 'coco_de', 'annotations.json')) as f:
        syn = json.load(f)
    syn['categories'] = cats
    with open(osp.join(out, 'coco_de', 'annotations.json'), 'w') as f:
        json.dump(syn, f)
    return osp.join(out, 'coco') + '/', osp.join(out, 'coco_de') + '/'


def _fake_voc(out, synthetic_root):
    """VOCdevkit/VOC2007 + VOC2012 with 3 images each, and a synthetic folder with VOC classes."""
    import shutil

    from mmdet.datasets import VOCDataset
    for year in ('VOC2007', 'VOC2012'):
        d = osp.join(out, 'VOCdevkit', year)
        for sub in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
            os.makedirs(osp.join(d, sub))
        ids = [f'{year}_{i}' for i in range(3)]
        for i in ids:
            Image.new('RGB', (200, 150), (90, 90, 90)).save(osp.join(d, 'JPEGImages', i + '.jpg'))
            with open(osp.join(d, 'Annotations', i + '.xml'), 'w') as f:
                f.write(f'<annotation><filename>{i}.jpg</filename><size><width>200</width>'
                        '<height>150</height><depth>3</depth></size><object><name>dog</name>'
                        '<difficult>0</difficult><bndbox><xmin>10</xmin><ymin>10</ymin>'
                        '<xmax>120</xmax><ymax>100</ymax></bndbox></object></annotation>')
        with open(osp.join(d, 'ImageSets', 'Main', 'trainval.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
    syn_root = osp.join(out, 'voc_de')
    shutil.copytree(synthetic_root, syn_root)
    with open(osp.join(syn_root, 'annotations.json')) as f:
        syn = json.load(f)
    voc_classes = VOCDataset.METAINFO['classes']
    syn['categories'] = [dict(id=i + 1, name=n) for i, n in enumerate(voc_classes)]
    with open(osp.join(syn_root, 'annotations.json'), 'w') as f:
        json.dump(syn, f)
    return osp.join(out, 'VOCdevkit') + '/', syn_root + '/'


MIXED_CONFIGS = ['configs/de_dino_r50.py',
                 'configs/diffusion_engine/downstream/faster-rcnn_r50_fpn_270k_coco-de.py',
                 'configs/diffusion_engine/downstream/faster-rcnn_r50_fpn_18k_voc0712-de.py',
                 'configs/diffusion_engine/downstream/'
                 'faster-rcnn_r50_fpn_18k_voc0712-clipart-de-to-clipart1k.py']


@pytest.mark.parametrize('config', MIXED_CONFIGS, ids=osp.basename)
def test_full_scale_config_mixes_real_and_synthetic(config, small_real, synthetic, tmp_path):
    """The COCO/VOC configs' shared metainfo lets ConcatDataset take both sources."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(REPO, config))
    loader_cfg = cfg.train_dataloader
    loader_cfg.num_workers, loader_cfg.persistent_workers = 0, False
    real, syn = loader_cfg.dataset.real, loader_cfg.dataset.synthetic
    if 'voc' in config:
        voc_root, syn_root = _fake_voc(str(tmp_path), synthetic[0])
        for d in real.datasets:
            d.data_root = voc_root
    else:
        real.data_root, syn_root = _fake_coco(small_real, synthetic[0], str(tmp_path))
    syn.data_root = syn_root
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    data = next(iter(loader))
    paths = [s.img_path for s in data['data_samples']]
    assert loader_cfg.sampler.type == 'InfiniteSampler'  # concatenated: no per-batch share
    assert len(paths) == loader_cfg.batch_size
    assert [type(d).__name__ for d in loader.dataset.datasets][1] == 'SyntheticCocoDataset'


@pytest.mark.parametrize('config', DOWNSTREAM_CONFIGS, ids=osp.basename)
def test_config_parses_and_builds_model(config):
    from mmengine.config import Config

    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    assert cfg.custom_imports['imports'] == ['diffdet_plugin']
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    loader = cfg.train_dataloader
    if loader.dataset.type == 'RealSyntheticDataset':
        from diffdet_plugin.datasets import SYNTHETIC_META_KEYS, RealSyntheticDataset
        real, syn = RealSyntheticDataset.source_configs(loader.dataset.real.to_dict(),
                                                        loader.dataset.synthetic.to_dict())
        assert syn['type'] == 'SyntheticCocoDataset'
        assert tuple(syn['pipeline'][-1]['meta_keys']) == SYNTHETIC_META_KEYS
    if loader.sampler.type == 'MultiSourceSampler':
        assert loader.dataset.type == 'RealSyntheticDataset'
        assert loader.batch_sampler is None
        assert loader.sampler.batch_size == loader.batch_size
    model = MODELS.build(cfg.model)
    assert model is not None


def test_equal_iterations_in_each_pair():
    from mmengine.config import Config
    names = {osp.basename(p): p for p in DOWNSTREAM_CONFIGS}
    pairs = [('fcos_r18-half_fpn_1500it_toy-shapes-de.py',
              'fcos_r18-half_fpn_1500it_toy-shapes.py'),
             ('faster-rcnn_r50_fpn_270k_coco-de.py', 'faster-rcnn_r50_fpn_270k_coco.py'),
             ('retinanet_r50_fpn_270k_coco-de.py', 'retinanet_r50_fpn_270k_coco.py'),
             ('faster-rcnn_r50_fpn_18k_voc0712-de.py', 'faster-rcnn_r50_fpn_18k_voc0712.py'),
             ('faster-rcnn_r50_fpn_18k_voc0712-clipart-de-to-clipart1k.py',
              'faster-rcnn_r50_fpn_18k_voc0712-to-clipart1k.py'),
             ('de_dino_r50.py', 'dino-4scale_r50_270k_coco.py')]
    for de, base in pairs:
        de_cfg, base_cfg = Config.fromfile(names[de]), Config.fromfile(names[base])
        assert de_cfg.train_cfg.max_iters == base_cfg.train_cfg.max_iters
        assert de_cfg.train_dataloader.batch_size == base_cfg.train_dataloader.batch_size
        assert 'SyntheticCocoDataset' in str(de_cfg.train_dataloader.dataset)
        assert 'SyntheticCocoDataset' not in str(base_cfg.train_dataloader.dataset)
        assert de_cfg.val_evaluator == base_cfg.val_evaluator
    dino = Config.fromfile(names['de_dino_r50.py'])
    assert dino.train_cfg.max_iters == 270000 and dino.optim_wrapper.optimizer.lr == 2e-4
    assert dino.train_dataloader.batch_size * 8 == dino.auto_scale_lr.base_batch_size == 32
    # the paper's Table 6 schedules: 270k iterations at batch 32 (RetinaNet) / 48 (FRCNN)
    for name, batch, lr in (('retinanet_r50_fpn_270k_coco-de.py', 32, 0.02),
                            ('faster-rcnn_r50_fpn_270k_coco-de.py', 48, 0.04)):
        cfg = Config.fromfile(names[name])
        assert cfg.train_cfg.max_iters == 270000 and cfg.optim_wrapper.optimizer.lr == lr
        assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == batch


# ---------------------------------------------------------------- tools
def test_tiny_downstream_trains_on_real_and_synthetic(small_real, synthetic, tmp_path):
    root, _ = synthetic
    work = str(tmp_path / 'work')
    ok(run_tool_in_process('tools/train.py', TOY_DE_CONFIG, '--work-dir', work,
                           '--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=100',
                           'default_hooks.checkpoint.interval=3', 'default_hooks.logger.interval=1',
                           'train_dataloader.batch_size=2',
                           *toy_de_options(small_real, root)))
    assert osp.isfile(osp.join(work, 'iter_3.pth'))
    import torch
    from diffdet_plugin.runner_utils import allow_mmengine_checkpoints
    allow_mmengine_checkpoints()  # torch.load stays weights-only
    assert torch.load(osp.join(work, 'iter_3.pth'), map_location='cpu')['meta']['iter'] == 3


def test_browse_dataset_writes_synthetic_images(small_real, synthetic, tmp_path):
    root, _ = synthetic
    out_dir = str(tmp_path / 'browse')
    out = ok(run_tool_in_process('tools/browse_dataset.py', TOY_DE_CONFIG, '--source', '1',
                                 '--output-dir', out_dir, '--not-show', '--num', '4',
                                 '--cfg-options', *toy_de_options(small_real, root)))
    files = sorted(os.listdir(out_dir))
    assert len(files) == 4 and files[0] == '0_000000000001.jpg', files
    assert Image.open(osp.join(out_dir, files[0])).size == (128, 128)
    assert "prompt='a photo of shapes #1'" in out


def test_real_synthetic_dataset_completes_the_synthetic_source():
    """The synthetic source takes the real one's classes, backend and train pipeline (packing
    the provenance keys); a wrapped real source lends its first leaf's; bad input is named."""
    from diffdet_plugin.datasets import SYNTHETIC_META_KEYS, RealSyntheticDataset
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackDetInputs', meta_keys=('img_id',))]
    leaf = dict(type='CocoDataset', metainfo=dict(classes=('a', 'b')), pipeline=pipeline,
                backend_args=None)
    for real in (leaf, dict(type='ConcatDataset', datasets=[leaf, leaf])):
        _, syn = RealSyntheticDataset.source_configs(real, dict(data_root='d/', min_score=0.3))
        assert syn['type'] == 'SyntheticCocoDataset' and syn['min_score'] == 0.3
        assert syn['metainfo'] == leaf['metainfo'] and 'backend_args' in syn
        assert syn['pipeline'][0] == pipeline[0]
        assert syn['pipeline'][-1]['meta_keys'] == ('img_id', *[
            k for k in SYNTHETIC_META_KEYS if k != 'img_id'])
    assert pipeline[-1]['meta_keys'] == ('img_id',)  # the real pipeline is not touched
    # an explicit synthetic pipeline / metainfo wins
    _, syn = RealSyntheticDataset.source_configs(
        leaf, dict(data_root='d/', pipeline=[], metainfo=dict(classes=('c',))))
    assert syn['pipeline'] == [] and syn['metainfo'] == dict(classes=('c',))
    with pytest.raises(ValueError, match='needs data_root'):
        RealSyntheticDataset.source_configs(leaf, dict(ann_file='a.json'))
    with pytest.raises(ValueError, match='no PackDetInputs'):
        RealSyntheticDataset.source_configs(dict(leaf, pipeline=[]), dict(data_root='d/'))
    with pytest.raises(TypeError, match='two dataset configs'):
        RealSyntheticDataset.source_configs(leaf, 'data/x')
