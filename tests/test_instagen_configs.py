"""InstaGen's configs read like its tables: every config parses, each `-instagen` downstream
variant adds the synthetic source to its real-only base, the OV configs evaluate base/novel."""
import glob
import json
import os.path as osp

import pytest
from conftest import REPO
from mmengine.config import Config

INSTAGEN = osp.join(REPO, 'configs', 'instagen')


def test_every_instagen_config_parses_and_variants_extend_their_base():
    # the paper-scale ones (the toy ones are built and run by the other InstaGen tests)
    files = glob.glob(osp.join(INSTAGEN, '*sd14*.py')) + glob.glob(
        osp.join(INSTAGEN, 'base-triplets_faster*.py'))
    assert len(files) == 5
    for f in files:
        Config.fromfile(f)
    for f in glob.glob(osp.join(INSTAGEN, 'downstream', '*-10pct-instagen.py')) + glob.glob(
            osp.join(INSTAGEN, 'downstream', '*-base-instagen.py')):
        cfg, base = Config.fromfile(f), Config.fromfile(f.replace('-instagen.py', '.py'))
        real, syn = cfg.train_dataloader.dataset.real, cfg.train_dataloader.dataset.synthetic
        assert real.ann_file == base.train_dataloader.dataset.ann_file
        assert syn.type == 'SyntheticCocoDataset' and cfg.train_cfg == base.train_cfg
        assert cfg.optim_wrapper == base.optim_wrapper


def test_open_vocabulary_configs_train_on_base_and_report_novel():
    from mmdet.datasets import CocoDataset
    base = Config.fromfile(osp.join(INSTAGEN, 'downstream', 'faster-rcnn_r50_fpn_1x_coco-base.py'))
    meta = base.test_dataloader.dataset.metainfo
    assert len(meta['classes']) == 65 and len(meta['novel_classes']) == 17
    assert len(meta['base_classes']) == 48
    assert not set(meta['base_classes']) & set(meta['novel_classes'])
    assert base.test_evaluator.type == 'OVCocoMetric'
    assert base.model.roi_head.bbox_head.num_classes == 65
    # mmdet's CocoDataset numbers labels in the file's category order (COCO ids), whatever the
    # order of metainfo.classes: every OV dataset lists the 65 in that order, so a name has one
    # label in training (real base-only file, synthetic data) and in testing
    ov = tuple(c for c in CocoDataset.METAINFO['classes'] if c in meta['classes'])
    assert tuple(meta['classes']) == ov
    from diffdet_plugin.datasets import RealSyntheticDataset
    mixed = Config.fromfile(osp.join(
        INSTAGEN, 'downstream', 'faster-rcnn_r50_fpn_1x_coco-base-instagen.py')
    ).train_dataloader.dataset
    real, syn = RealSyntheticDataset.source_configs(mixed.real, mixed.synthetic)
    assert tuple(real['metainfo']['classes']) == tuple(syn['metainfo']['classes']) == ov
    assert real['ann_file'].endswith('_ov-base.json')  # novel boxes removed, all images kept
    head = Config.fromfile(osp.join(INSTAGEN, 'instagen_sd14_4500it_coco-base-triplets.py'))
    assert tuple(head.val_dataloader.dataset.metainfo['classes']) == ov
    assert head.model.num_queries == 900 and head.model.encoder.num_layers == 6
    assert head.model.decoder.num_layers == 6 and head.test_evaluator.type == 'OVCocoMetric'
    st = Config.fromfile(osp.join(INSTAGEN, 'instagen-selftrain_sd14_4500it_coco.py'))
    assert st.model.semi_train_cfg.cls_pseudo_thr == 0.4
    # the noisy student: 0.1 on every attention and FFN of the enhancer and decoder
    from diffdet_plugin.models.detectors.instagen_self_training import with_dropout
    noisy = with_dropout(st.model.detector, st.model.student_dropout)
    assert st.model.student_dropout == 0.1
    for layer in (noisy.encoder.layer_cfg, noisy.encoder.text_layer_cfg, noisy.decoder.layer_cfg):
        assert layer.ffn_cfg.ffn_drop == layer.self_attn_cfg.dropout == 0.1
    assert noisy.decoder.layer_cfg.cross_attn_cfg.dropout == 0.1
    assert noisy.decoder.layer_cfg.cross_attn_text_cfg.dropout == 0.1
    assert [h.type for h in st.custom_hooks] == ['CheckOpenVocabularySplitHook', 'MeanTeacherHook']
    assert st.custom_hooks[1].momentum == 0.001  # EMA 0.999
    assert tuple(base.custom_hooks[0].novel_classes) == tuple(meta['novel_classes'])


def test_overlapping_split_is_refused_when_the_runner_builds_its_hooks():
    import diffdet_plugin  # noqa: F401  (registers the hook)

    from mmdet.registry import HOOKS
    hook = dict(type='CheckOpenVocabularySplitHook', base_classes=('circle', 'square'))
    HOOKS.build(dict(hook, novel_classes=('triangle', )))
    with pytest.raises(ValueError, match=r"\['square'\] as both base and novel"):
        HOOKS.build(dict(hook, novel_classes=('triangle', 'Square')))


def test_toy_open_vocabulary_detector_gives_a_name_one_label(toy_data, tmp_path):
    """The toy OV downstream configs on real data: the base-only training file (made by
    tools/make_ov_base_annotations.py's function) has no novel box, and train, synthetic and
    test datasets give each class name the same label."""
    from diffdet_plugin.datasets import base_only_annotations, split_from_config

    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules()
    base, novel = split_from_config(osp.join(REPO, 'configs', '_base_', 'datasets',
                                             'toy_shapes_ov_split.py'))
    out = str(tmp_path / 'instances_train_ov-base.json')
    counts = base_only_annotations(osp.join(toy_data, 'annotations', 'instances_train.json'), out,
                                   base, novel)
    assert counts['novel_boxes_removed'] > 0
    cfg = Config.fromfile(osp.join(
        INSTAGEN, 'downstream', 'fcos_r18-half_fpn_1500it_toy-shapes-base-instagen.py'))
    from diffdet_plugin.datasets import RealSyntheticDataset
    real_cfg, syn_cfg = RealSyntheticDataset.source_configs(cfg.train_dataloader.dataset.real,
                                                            cfg.train_dataloader.dataset.synthetic)
    real = DATASETS.build(dict(real_cfg, data_root=toy_data + '/', ann_file=out))
    test = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=toy_data + '/'))
    labels = {real.metainfo['classes'][i['bbox_label']] for k in range(len(real))
              for i in real.get_data_info(k)['instances']}
    assert labels and not labels & set(novel)
    for ds in (real, test):  # label k is the k-th name of metainfo.classes, in both
        with open(ds.ann_file) as f:
            names = {c['id']: c['name'] for c in json.load(f)['categories']}
        assert all(ds.metainfo['classes'][lab] == names[cid] for cid, lab in ds.cat2label.items())
    assert tuple(real.metainfo['classes']) == tuple(test.metainfo['classes']) == tuple(
        syn_cfg['metainfo']['classes'])
    with pytest.raises(ValueError, match='both base and novel'):
        base_only_annotations(out, str(tmp_path / 'x.json'), base, ('star', ))


def test_tier_b_pair_configs_give_a_pair_one_label(toy_data, tmp_path):
    """Tier B's downstream configs: 30 pair classes in the pair files' order, the novel pairs'
    loss masked on real images, base-only real data without a novel box."""
    import shutil

    from diffdet_plugin.datasets import base_only_annotations, split_from_config
    from diffdet_plugin.datasets.colour_shape import colour_shape_annotations

    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules()
    root = tmp_path / 'toy'
    shutil.copytree(osp.join(toy_data, 'annotations'), root / 'annotations')
    for split in ('train', 'test'):
        (root / split).symlink_to(osp.join(toy_data, split))
        colour_shape_annotations(str(root / 'annotations' / f'instances_{split}.json'),
                                 str(root / 'annotations' / f'instances_{split}_pairs.json'),
                                 shapes=('circle', 'square', 'triangle', 'star', 'cross'))
    base, novel = split_from_config(osp.join(REPO, 'configs', '_base_', 'datasets',
                                             'toy_shapes_pairs_split.py'))
    base_only_annotations(str(root / 'annotations' / 'instances_train_pairs.json'),
                          str(root / 'annotations' / 'instances_train_pairs_ov-base.json'),
                          base, novel)
    cfg = Config.fromfile(osp.join(
        INSTAGEN, 'downstream', 'fcos_r18-half_fpn_1500it_toy-shapes-pairs-base-instagen.py'))
    head = cfg.model.bbox_head
    assert head.num_classes == 30 and tuple(head.novel_classes) == novel
    assert cfg.test_evaluator.type == 'OVCocoMetric'
    real = DATASETS.build(dict(cfg.train_dataloader.dataset.real, data_root=str(root) + '/'))
    test = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=str(root) + '/'))
    labels = {real.metainfo['classes'][i['bbox_label']] for k in range(len(real))
              for i in real.get_data_info(k)['instances']}
    assert labels and labels <= set(base)
    for ds in (real, test):  # label k is the k-th pair name in both
        with open(ds.ann_file) as f:
            names = {c['id']: c['name'] for c in json.load(f)['categories']}
        assert all(ds.metainfo['classes'][lab] == names[cid] for cid, lab in ds.cat2label.items())
    assert set(test.metainfo['novel_classes']) == set(novel)
