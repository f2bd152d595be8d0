"""DetDiffusion's layout as text: location tokens (GeoDiffusion) and LayoutCaptionDataset."""
import json
import logging
import os.path as osp
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import REPO
from diffdet_plugin.datasets import LayoutCaptionDataset
from diffdet_plugin.ldm import (FrozenLDM, add_attribute_tokens, add_location_tokens,
                                box_to_location_tokens, build_byte_clip_tokenizer, fit_objects,
                                layout_prompt, load_tokenizer, location_token_names,
                                location_tokens_to_box, prompt_length, sincos_2d_embedding)

OBJECT = re.compile(r'(\w+) <l(\d+)><l(\d+)>(?: \[(\w+)\])?')


def parse(prompt):
    """(name, tl index, br index, attribute or None) of each object a layout prompt names."""
    return [(n, int(tl), int(br), a or None) for n, tl, br, a in OBJECT.findall(prompt)]


# ------------------------------------------------------------------ location tokens


@pytest.mark.parametrize('grid', [(16, 16), (32, 8)])
def test_box_tokens_box_within_one_bin(grid):
    rng = np.random.default_rng(0)
    W, H = 200, 120
    for _ in range(200):
        x0, x1 = np.sort(rng.uniform(-20, W + 20, 2))
        y0, y1 = np.sort(rng.uniform(-20, H + 20, 2))
        tl, br = box_to_location_tokens((x0, y0, x1, y1), W, H, grid)
        box = location_tokens_to_box(tl, br, W, H, grid)
        clipped = np.clip([x0, y0, x1, y1], 0, [W, H, W, H])
        bin_size = np.array([W / grid[0], H / grid[1]] * 2)
        assert (np.abs(np.array(box) - clipped) <= bin_size).all()
    # row-major bins; the far edge falls in the last bin
    assert box_to_location_tokens((0, 0, W, H), W, H, grid) == (
        '<l0>', f'<l{grid[0] * grid[1] - 1}>')
    assert box_to_location_tokens((W / grid[0] + 1, 0, 1, H / grid[1] + 1), W, H, grid)[0] == '<l1>'
    with pytest.raises(ValueError, match='not a location token'):
        location_tokens_to_box('<l0>', f'<l{grid[0] * grid[1]}>', W, H, grid)


def test_sincos_table():
    table = sincos_2d_embedding((4, 3), 16)
    assert table.shape == (12, 16) and table.dtype == torch.float32
    # bin 0 = (row 0, col 0): sines 0, cosines 1, in both halves
    assert torch.equal(table[0], torch.tensor(([0.0] * 4 + [1.0] * 4) * 2))
    # row-major: bins of one row share the y half, bins of one column the x half
    assert torch.equal(table[5, :8], table[4, :8]) and torch.equal(table[5, 8:], table[1, 8:])
    assert torch.allclose(table[1, 8], torch.sin(torch.tensor(1.0)))
    assert torch.allclose(table[1, 9], torch.sin(torch.tensor(1 / 10000 ** 0.25)))
    with pytest.raises(ValueError, match='divisible by 4'):
        sincos_2d_embedding((4, 4), 30)


def test_add_location_tokens_grows_idempotent_and_reloads(tmp_path):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    ldm = FrozenLDM.from_preset('tiny')  # its own copy: this test mutates it
    grid = (16, 16)
    n0 = len(ldm.tokenizer)
    old = ldm.text_encoder.get_input_embeddings().weight.clone()
    empty = ldm.empty_prompt_embedding.clone()
    ids = add_location_tokens(ldm, grid, scale=1.0)  # the raw table (GeoDiffusion's rows)
    emb = ldm.text_encoder.get_input_embeddings().weight
    assert len(ldm.tokenizer) == n0 + 256 and emb.shape[0] == n0 + 256
    assert ids == list(range(n0, n0 + 256))
    assert torch.equal(emb[ids], sincos_2d_embedding(grid, emb.shape[1]))
    assert torch.equal(emb[:n0], old) and not emb.requires_grad
    assert torch.allclose(ldm.empty_prompt_embedding, empty)  # old prompts unchanged
    # each location token is one token, also with no space between two of them
    prompt = 'square <l3><l200> [easy] and circle <l0><l255>'
    pieces = ldm.tokenizer.tokenize(prompt)
    assert [p for p in pieces if p.startswith('<l')] == ['<l3>', '<l200>', '<l0>', '<l255>']
    assert ids[3] in ldm.tokenizer(prompt).input_ids
    assert ldm.encode_prompt(prompt).shape == (1, 77, emb.shape[1])
    # idempotent, in memory and after save / load (a fine-tuned model loaded again)
    assert add_location_tokens(ldm, grid) == ids
    assert len(ldm.tokenizer) == n0 + 256 and torch.equal(
        ldm.text_encoder.get_input_embeddings().weight, emb)
    ldm.tokenizer.save_pretrained(str(tmp_path / 'tokenizer'))
    ldm.text_encoder.save_pretrained(str(tmp_path / 'text_encoder'))
    again = SimpleNamespace(tokenizer=CLIPTokenizer.from_pretrained(str(tmp_path / 'tokenizer')),
                            text_encoder=CLIPTextModel.from_pretrained(
                                str(tmp_path / 'text_encoder')))
    assert add_location_tokens(again, grid) == ids
    assert torch.equal(again.text_encoder.get_input_embeddings().weight, emb)
    with pytest.raises(ValueError, match='larger grid'):
        add_location_tokens(again, (8, 8))
    # a table larger than the tokenizer (the sd presets: byte tokenizer, CLIP's 49408 rows)
    big = SimpleNamespace(tokenizer=build_byte_clip_tokenizer(), text_encoder=CLIPTextModel(
        CLIPTextConfig(vocab_size=1000, hidden_size=8, intermediate_size=8, num_hidden_layers=1,
                       num_attention_heads=2)))
    assert add_location_tokens(big, (4, 4)) == list(range(514, 530))
    assert big.text_encoder.get_input_embeddings().weight.shape == (1000, 8)
    # a tokenizer holding only some of them
    partial = SimpleNamespace(tokenizer=build_byte_clip_tokenizer(), text_encoder=ldm.text_encoder)
    partial.tokenizer.add_tokens(['<l0>', '<l1>'])
    with pytest.raises(ValueError, match='2 of the 256'):
        add_location_tokens(partial, grid)


def test_location_tokens_whole_in_the_toy_tokenizer():
    """The toy LDM's tokenizer has BPE merges (whole words): names and tokens stay whole."""
    tok = load_tokenizer(preset='toy')
    tok.add_tokens(location_token_names((16, 16)))
    assert tok.tokenize('with square <l3><l200> [easy]') == [
        'with</w>', 'square</w>', '<l3>', '<l200>', '[</w>', 'e', 'a', 's', 'y</w>', ']</w>']


def test_layout_prompt_and_fit_objects():
    objects = [('square', '<l3>', '<l200>', 'easy'), ('circle', '<l0>', '<l17>', None)]
    assert layout_prompt(objects) == 'An image with square <l3><l200> [easy] and circle <l0><l17>'
    shuffled = layout_prompt(objects * 3, shuffle_rng=np.random.default_rng(1))
    assert sorted(parse(shuffled)) == sorted(parse(layout_prompt(objects * 3)))
    tok = build_byte_clip_tokenizer()
    tok.add_tokens(location_token_names((16, 16)))
    kept, dropped = fit_objects(tok, objects, 77)
    assert (kept, dropped) == (objects, 0)
    many = [('hexagon', f'<l{i}>', f'<l{i + 1}>', 'hard') for i in range(30)]
    kept, dropped = fit_objects(tok, many, 77)
    assert 0 < len(kept) < 30 and len(kept) + dropped == 30 and kept == many[:len(kept)]
    assert prompt_length(tok, layout_prompt(kept)) <= 77
    assert prompt_length(tok, layout_prompt(many[:len(kept) + 1])) > 77


# ------------------------------------------------------------------------ dataset


def test_location_rows_start_at_the_word_row_norm_with_distinct_directions():
    ldm = FrozenLDM.build(pretrained='embedded:toy')
    n0 = len(ldm.tokenizer)
    words = ldm.text_encoder.get_input_embeddings().weight[:n0].norm(dim=1).mean()
    ids = add_location_tokens(ldm, (16, 16))  # default 'auto'
    rows = ldm.text_encoder.get_input_embeddings().weight[ids].detach()
    norms = rows.norm(dim=1)
    assert ((norms - words).abs() <= 0.1 * words).all()  # ±10 % of the word rows' mean norm
    raw = sincos_2d_embedding((16, 16), rows.shape[1])
    assert raw.norm(dim=1).mean() > 30 * words  # what scale 1 would have given (35×)
    cos = torch.nn.functional.normalize(rows, dim=1) @ torch.nn.functional.normalize(rows, dim=1).T
    assert cos[~torch.eye(len(ids), dtype=torch.bool)].max() < 0.999  # every bin its own row
    torch.testing.assert_close(torch.nn.functional.normalize(rows, dim=1),
                               torch.nn.functional.normalize(raw, dim=1))  # same directions
    # the attributes: one token each, at the word norm, easy and hard apart
    ids = add_attribute_tokens(ldm)
    assert ldm.tokenizer.tokenize('circle <l3><l4> [hard]')[-1] == '[hard]'
    attr = ldm.text_encoder.get_input_embeddings().weight[ids].detach()
    torch.testing.assert_close(attr.norm(dim=1), words.expand(3).detach())
    assert not torch.allclose(attr[0], attr[1])
    with pytest.raises(ValueError, match="'auto'"):
        add_location_tokens(FrozenLDM.build(pretrained='embedded:toy'), (4, 4), scale=0)


def test_foreground_weights_are_geodiffusions():
    """A 32 × 32 px box on a 128² image is 4 × 4 latent pixels: weight 2 / (5 · 5)^0.2 there,
    1 / 256^0.2 elsewhere, the map normalised to mean 1."""
    from mmengine.config import Config

    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'detdiffusion',
                                   'detdiffusion-l2i_toy-ldm_12000it_toy-shapes.py')).model
    cfg.update(foreground_weight=2.0, latent_cache_size=0)
    model = MODELS.build(cfg)
    w = model.foreground_weights([dict(bboxes=torch.tensor([[0.0, 0.0, 32.0, 32.0]]))],
                                 (128, 128))
    assert w.shape == (1, 1, 16, 16)
    torch.testing.assert_close(w.mean(), torch.tensor(1.0))
    ratio = (2 / 25 ** 0.2) / (1 / 256 ** 0.2)
    torch.testing.assert_close(w[0, 0, 0, 0] / w[0, 0, 8, 8], torch.tensor(ratio))
    assert (w[0, 0, :4, :4] == w[0, 0, 0, 0]).all() and w[0, 0, 4, 4] == w[0, 0, 8, 8]


def _dataset(root, split='train', **kwargs):
    kwargs.setdefault('image_size', (96, 64))
    kwargs.setdefault('seed', 0)
    return LayoutCaptionDataset(f'annotations/instances_{split}.json', split, data_root=root,
                                **kwargs)


def _check_sample(ds, sample):
    W, H = ds.image_size
    img, d = sample['inputs'], sample['data_samples']
    assert img.shape == (3, H, W) and img.dtype == torch.uint8
    n = len(d['labels'])
    assert d['masks'].shape == (n, H, W) and d['masks'].dtype == torch.bool
    assert d['bboxes'].shape == (n, 4) and d['labels'].dtype == torch.long
    objects = parse(d['prompt'])
    assert len(objects) == n >= 1
    classes = ds.metainfo['classes']
    for (name, tl, br, _), label, box, mask in zip(objects, d['labels'], d['bboxes'],
                                                   d['masks']):
        assert classes[label] == name
        assert box_to_location_tokens(box.tolist(), W, H, ds.grid) == (f'<l{tl}>', f'<l{br}>')
        ys, xs = torch.nonzero(mask, as_tuple=True)
        assert len(xs) > 0  # pixel centres inside the box
        assert (xs + 0.5 >= box[0]).all() and (xs + 0.5 <= box[2]).all()
        assert (ys + 0.5 >= box[1]).all() and (ys + 0.5 <= box[3]).all()
    assert prompt_length(ds.tokenizer, d['prompt']) <= ds.max_length
    return d


def test_dataset_samples_and_flip(toy_data):
    ds = _dataset(toy_data, tokenizer='toy', hflip_prob=0.5)
    assert ds.metainfo['classes'][:2] == ('circle', 'square') and len(ds) == 48
    assert ds.skipped == {} and ds.num_dropped_from_prompt == 0
    for i in range(6):
        _check_sample(ds, ds[i])
    # a flip mirrors image, boxes and masks, and re-derives the tokens
    plain = _dataset(toy_data, tokenizer='toy', shuffle_objects=False)[3]
    flipped = _dataset(toy_data, tokenizer='toy', shuffle_objects=False, hflip_prob=1.0)[3]
    p, f = plain['data_samples'], _check_sample(ds, flipped)
    assert torch.equal(flipped['inputs'], plain['inputs'].flip(-1))
    assert torch.equal(f['masks'], p['masks'].flip(-1))
    assert torch.allclose(f['bboxes'][:, [2, 0]], 96 - p['bboxes'][:, [0, 2]])
    assert f['prompt'] != p['prompt']
    # test mode: no shuffle, no flip; largest box first
    test = _dataset(toy_data, tokenizer='toy', hflip_prob=1.0, test_mode=True)
    t = test[3]['data_samples']
    assert torch.equal(t['bboxes'], p['bboxes'])
    area = (t['bboxes'][:, 2] - t['bboxes'][:, 0]) * (t['bboxes'][:, 3] - t['bboxes'][:, 1])
    assert (area[:-1] >= area[1:]).all()


def test_min_area_and_object_count_filters(toy_data):
    with open(osp.join(toy_data, 'annotations', 'instances_val.json')) as f:
        total = len(json.load(f)['annotations'])
    ds = _dataset(toy_data, 'val', tokenizer='toy', min_area_frac=0.1, min_objects=0)
    kept = [o for i in range(len(ds)) for o in ds.get_data_info(i)['objects']]
    assert ds.skipped['small'] > 0 and len(kept) + ds.skipped['small'] == total
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        for o in info['objects']:
            x0, y0, x1, y1 = o['bbox']
            assert (x1 - x0) * (y1 - y0) >= 0.1 * info['width'] * info['height']
    restricted = _dataset(toy_data, 'val', tokenizer='toy', classes=('square', 'circle'),
                          min_objects=0)
    assert restricted.metainfo['classes'] == ('square', 'circle')
    labels = [o['label'] for i in range(len(restricted))
              for o in restricted.get_data_info(i)['objects']]
    assert set(labels) == {0, 1} and restricted.skipped['not_in_classes'] > 0
    lazy = _dataset(toy_data, 'val', tokenizer='toy', lazy_init=True)
    assert lazy.prompt_for(0) == _dataset(toy_data, 'val', tokenizer='toy').prompt_for(0)
    two_three = _dataset(toy_data, 'val', tokenizer='toy', min_objects=2, max_objects=3)
    counts = [len(two_three.get_data_info(i)['objects']) for i in range(len(two_three))]
    assert counts and all(2 <= c <= 3 for c in counts)
    assert sum(two_three.images_skipped.values()) == 16 - len(two_three)


def test_bad_input_is_counted_and_logged(toy_data, tmp_path):
    from mmengine.logging import MMLogger
    with open(osp.join(toy_data, 'annotations', 'instances_train.json')) as f:
        coco = json.load(f)
    anns = coco['annotations']
    anns[0]['bbox'] = [500.0, 10.0, 20.0, 20.0]       # outside the 128 px image
    anns[1]['bbox'] = [10.0, 10.0, 0.0, 20.0]         # zero area
    anns[2]['category_id'] = 99                       # unknown category
    anns[3]['iscrowd'] = 1                            # crowd: left out
    x, y, w, h = anns[4]['bbox']                      # a polygon (its box) instead of RLE
    anns[4]['segmentation'] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    del anns[5]['segmentation']                       # no segmentation: a box mask
    path = tmp_path / 'instances_bad.json'
    path.write_text(json.dumps(coco))
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        ds = LayoutCaptionDataset(str(path), osp.join(toy_data, 'train'), image_size=128,
                                  tokenizer='toy', min_objects=0, shuffle_objects=False)
    finally:
        logger.removeHandler(handler)
    assert ds.skipped == dict(box_outside_image=1, bad_box=1, unknown_category=1, crowd=1)
    assert any(r.levelno == logging.WARNING and 'box_outside_image' in r.getMessage()
               for r in records)
    for ann in (anns[4], anns[5]):
        idx = ds.index_of(ann['image_id'])
        d = _check_sample(ds, ds[idx])
        i = [o['ann_id'] for o in ds.get_data_info(idx)['objects']].index(ann['id'])
        x, y, w, h = ann['bbox']
        box_mask = torch.zeros(128, 128, dtype=torch.bool)
        box_mask[round(y):round(y + h), round(x):round(x + w)] = True
        assert torch.equal(d['masks'][i], box_mask)


def test_attributes_strategies_and_prompt_fit(toy_data, tmp_path):
    from diffdet_plugin.utils.fileio import file_sha256
    ann_file = osp.join(toy_data, 'annotations', 'instances_train.json')
    with open(ann_file) as f:
        anns = json.load(f)['annotations']
    attrs = {str(a['id']): ('easy', 'hard')[a['id'] % 2] for a in anns}
    path = tmp_path / 'pa_attributes.json'  # load_attributes' format
    path.write_text(json.dumps(dict(attributes=attrs, skipped=[], detector={},
                                    ann_file=ann_file, ann_file_sha256=file_sha256(ann_file))))
    ds = _dataset(toy_data, tokenizer='toy', attributes_file=str(path))
    for i in range(4):
        d = _check_sample(ds, ds[i])
        names = {o['ann_id']: o for o in ds.get_data_info(i)['objects']}
        assert all(a in ('easy', 'hard') for *_, a in parse(d['prompt']))
        assert sorted(a for *_, a in parse(d['prompt'])) == sorted(
            ('easy', 'hard')[k % 2] for k in names)
    layout = ds.layout_for(0, 'hard')
    assert [a for *_, a in parse(layout['prompt'])] == ['hard'] * len(layout['labels'])
    assert ds.prompt_for(0, 'easy') == layout['prompt'].replace('[hard]', '[easy]')
    assert ds.prompt_for(0) == ds.prompt_for(0, 'origin')
    with pytest.raises(ValueError, match='strategy'):
        ds.prompt_for(0, 'medium')
    # the same from a dict; counted with the byte-level default tokenizer objects are dropped
    # from a short context ([easy] / [hard] are one token each now: 77 fits every toy layout)
    by_bytes = _dataset(toy_data, attributes_file={int(k): v for k, v in attrs.items()},
                        max_length=40)
    assert by_bytes.prompt_for(0) != ''
    assert by_bytes.num_dropped_from_prompt > 0
    dropped = 0
    for i in range(len(by_bytes)):
        d = _check_sample(by_bytes, by_bytes[i])['num_dropped']
        dropped += d
    assert dropped > 0
    capped = _dataset(toy_data, tokenizer='toy', max_prompt_objects=1)
    assert all(len(capped[i]['data_samples']['labels']) == 1 for i in range(5))
    assert capped.num_dropped_from_prompt == sum(
        len(capped.get_data_info(i)['objects']) - 1 for i in range(len(capped)))
