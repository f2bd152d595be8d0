"""DetDiffusion's perception-aware attributes: the easy / hard rule, the attribute file's
checks, and an extraction with the shipped judge (interrupted, resumed, identical)."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from conftest import write_tiny_judge_config
from diffdet_plugin.attributes import (ATTRIBUTES, assign_attributes, extract_attributes,
                                       load_attributes)
from diffdet_plugin.attributes import perception_attributes as pa

GT = [[0, 0, 10, 10]]
KNOWN = ('circle', 'square')


def _assign(pred_box, score=0.9, pred_name='circle', gt_name='circle', known=KNOWN, **kw):
    return assign_attributes(np.array(GT, dtype=np.float32), [gt_name],
                             np.array([pred_box], dtype=np.float32), np.array([score]),
                             [pred_name], known, score_thr=0.3, iou_thr=0.5, **kw)[0]


def test_iou_threshold_is_strict():
    assert _assign([0, 0, 10, 5.1]) == 'easy'  # IoU 0.51
    assert _assign([0, 0, 10, 4.9]) == 'hard'  # IoU 0.49
    assert _assign([0, 0, 10, 5]) == 'hard'  # IoU exactly β does not count


def test_score_threshold_and_category():
    assert _assign(GT[0], score=0.31) == 'easy'
    assert _assign(GT[0], score=0.29) == 'hard'  # under γ: ignored
    assert _assign(GT[0], score=0.3) == 'hard'  # exactly γ: ignored
    # eq. 2: any kept prediction over the box makes it easy; the stricter rule wants its own
    assert _assign(GT[0], pred_name='square') == 'easy'
    assert _assign(GT[0], pred_name='square', same_category=True) == 'hard'
    assert _assign(GT[0], pred_name='circle', same_category=True) == 'easy'
    assert _assign(GT[0], gt_name='star') == 'background'  # the detector does not know it


def test_several_objects_and_empty_inputs():
    import torch
    gts = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]])
    preds = torch.tensor([[21, 21, 30, 30], [0, 0, 10, 10], [40, 40, 50, 50]])
    got = assign_attributes(gts, ['circle', 'square', 'star'], preds,
                            torch.tensor([0.8, 0.1, 0.9]), ['square', 'circle', 'star'],
                            KNOWN, 0.3, 0.5)
    assert got == ['hard', 'easy', 'background']
    assert assign_attributes(np.zeros((0, 4)), [], preds, [0.9] * 3, ['circle'] * 3, KNOWN,
                             0.3, 0.5) == []
    assert assign_attributes(gts[:2], ['circle', 'square'], np.zeros((0, 4)), [], [], KNOWN,
                             0.3, 0.5) == ['hard', 'hard']
    assert set(ATTRIBUTES) == {'easy', 'hard', 'background'}


@pytest.fixture(scope='module')
def small_val(toy_data, tmp_path_factory):
    """4 toy val images + one whose file is missing + a crowd annotation."""
    root = tmp_path_factory.mktemp('attr_data')
    with open(osp.join(toy_data, 'annotations', 'instances_val.json')) as f:
        coco = json.load(f)
    images = coco['images'][:4]
    ids = {im['id'] for im in images}
    anns = [a for a in coco['annotations'] if a['image_id'] in ids]
    next_id = max(a['id'] for a in coco['annotations']) + 1
    images.append(dict(images[0], id=999, file_name='not_there.png'))
    anns.append(dict(anns[0], id=next_id, image_id=999))
    anns.append(dict(anns[0], id=next_id + 1, iscrowd=1))
    coco.update(images=images, annotations=anns)
    ann_file = str(root / 'instances_val_small.json')
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    return dict(ann_file=ann_file, img_dir=osp.join(toy_data, 'val'), coco=coco,
                root=root, missing_ann=next_id, crowd_ann=next_id + 1)


@pytest.fixture(scope='module')
def extracted(small_val, shipped_judge, tmp_path_factory):
    config = write_tiny_judge_config(tmp_path_factory.mktemp('attr_cfg'))
    out = str(small_val['root'] / 'attributes.json')
    result = extract_attributes(config, shipped_judge.checkpoint, small_val['ann_file'],
                                small_val['img_dir'], out, batch_size=2)
    return dict(config=config, out=out, result=result, checkpoint=shipped_judge.checkpoint)


def test_extract_labels_the_toy_val_split(small_val, extracted):
    res, coco = extracted['result'], small_val['coco']
    with open(extracted['out']) as f:
        assert json.load(f) == res
    assert not [p for p in os.listdir(small_val['root']) if '.rank' in p]  # shards merged
    real = [a['id'] for a in coco['annotations']
            if a['image_id'] != 999 and not a.get('iscrowd')]
    assert sorted(map(int, res['attributes'])) == sorted(real)
    assert {s['ann_id']: s['reason'] for s in res['skipped']} == {
        small_val['missing_ann']: 'image file missing: ' + osp.join(small_val['img_dir'],
                                                                     'not_there.png'),
        small_val['crowd_ann']: 'iscrowd=1'}
    assert res['num_annotations'] == len(coco['annotations'])
    assert sum(res['counts'].values()) == len(real)
    assert res['counts']['background'] == 0  # the judge knows every toy category
    # the shipped judge (val mAP ~0.9) finds most real toy objects
    assert res['counts']['easy'] > 0.5 * len(real), res['counts']
    det = res['detector']
    assert det['checkpoint_sha256'] == pa.file_sha256(extracted['checkpoint'])
    assert det['config'] == osp.abspath(extracted['config'])
    assert (res['score_thr'], res['iou_thr']) == (0.3, 0.5)
    attrs = load_attributes(extracted['out'], small_val['ann_file'], extracted['checkpoint'])
    assert attrs == {int(k): v for k, v in res['attributes'].items()}


def test_interrupted_extraction_resumes_to_the_same_file(small_val, extracted, tmp_path,
                                                         monkeypatch):
    out = str(tmp_path / 'attributes.json')
    args = (extracted['config'], extracted['checkpoint'], small_val['ann_file'],
            small_val['img_dir'], out)
    real_detect, seen = pa.detect_rgb, []

    def killed_on_second_batch(model, images, *a, **k):
        if seen:
            raise KeyboardInterrupt
        seen.extend(images)
        return real_detect(model, images, *a, **k)

    monkeypatch.setattr(pa, 'detect_rgb', killed_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        extract_attributes(*args, batch_size=2)
    shard = out + '.rank0.jsonl'
    with open(shard, 'a') as f:
        f.write('{"image_id": 3, "file_na')  # a line torn by the kill
    seen.clear()

    def counting(model, images, *a, **k):
        seen.extend(images)
        return real_detect(model, images, *a, **k)

    monkeypatch.setattr(pa, 'detect_rgb', counting)
    resumed = extract_attributes(*args, batch_size=2)
    assert len(seen) == 2  # only the 2 real images not done before the kill
    assert not osp.exists(shard)
    expected = dict(extracted['result'])
    assert resumed == expected  # no duplicates, nothing lost: the uninterrupted run's file
    seen.clear()
    assert extract_attributes(*args, batch_size=2) == expected and not seen  # already done


def test_load_attributes_checks_its_inputs(small_val, extracted, tmp_path):
    out, ann_file = extracted['out'], small_val['ann_file']
    with pytest.raises(FileNotFoundError, match='extract_attributes.py'):
        load_attributes(str(tmp_path / 'nope.json'), ann_file)

    coco = dict(small_val['coco'])
    coco['annotations'] = coco['annotations'][1:] + [dict(coco['annotations'][0], id=10 ** 6)]
    other_ann = str(tmp_path / 'other.json')
    with open(other_ann, 'w') as f:
        json.dump(coco, f)
    with pytest.raises(ValueError) as e:
        load_attributes(out, other_ann)
    msg = str(e.value)
    assert out in msg and 'content differs' in msg and 'extract_attributes.py' in msg
    assert '1 of the' in msg and '1 records name annotations not there' in msg

    other_ckpt = str(tmp_path / 'other_detector.pth')
    with open(other_ckpt, 'wb') as f:
        f.write(b'another detector')
    with pytest.raises(ValueError) as e:
        load_attributes(out, ann_file, other_ckpt)
    msg = str(e.value)
    assert extracted['checkpoint'] in msg and other_ckpt in msg

    broken = str(tmp_path / 'broken.json')
    with open(broken, 'w') as f:
        json.dump({'attributes': {}}, f)
    with pytest.raises(ValueError, match='not a perception-aware attribute file'):
        load_attributes(broken, ann_file)
