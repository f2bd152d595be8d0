"""InstaGen's configs read like its tables: every config parses, each `-instagen` downstream
variant adds the synthetic source to its real-only base, the OV configs evaluate base/novel."""
import glob
import os.path as osp

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
        real, syn = cfg.train_dataloader.dataset.datasets
        assert real.ann_file == base.train_dataloader.dataset.ann_file
        assert syn.type == 'SyntheticCocoDataset' and cfg.train_cfg == base.train_cfg
        assert cfg.optim_wrapper == base.optim_wrapper


def test_open_vocabulary_configs_train_on_base_and_report_novel():
    base = Config.fromfile(osp.join(INSTAGEN, 'downstream', 'faster-rcnn_r50_fpn_1x_coco-base.py'))
    assert len(base.train_dataloader.dataset.metainfo['classes']) == 48
    meta = base.test_dataloader.dataset.metainfo
    assert len(meta['classes']) == 65 and len(meta['novel_classes']) == 17
    assert not set(meta['base_classes']) & set(meta['novel_classes'])
    assert base.test_evaluator.type == 'OVCocoMetric'
    assert base.model.roi_head.bbox_head.num_classes == 65
    # the labels of the base-only real data are the first 48 of the 65
    assert tuple(meta['classes'][:48]) == tuple(base.train_dataloader.dataset.metainfo['classes'])
    head = Config.fromfile(osp.join(INSTAGEN, 'instagen_sd14_4500it_coco-base-triplets.py'))
    assert head.model.num_queries == 900 and head.model.encoder.num_layers == 6
    assert head.model.decoder.num_layers == 6 and head.test_evaluator.type == 'OVCocoMetric'
    st = Config.fromfile(osp.join(INSTAGEN, 'instagen-selftrain_sd14_4500it_coco.py'))
    assert st.model.semi_train_cfg.cls_pseudo_thr == 0.4
    assert st.custom_hooks[0].momentum == 0.001  # EMA 0.999
