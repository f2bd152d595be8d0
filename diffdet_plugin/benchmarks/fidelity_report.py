"""The tables of ``tools/benchmark.py fidelity`` (``fidelity.md``), from its result dict:
per LDM (text-to-image, img2img, per-class recall, generator gate), per synthesis run (label
fidelity) and per layout run (layout-to-image score, FID)."""
from __future__ import annotations

import os.path as osp


def _fmt(v) -> str:
    return 'n/a' if v is None else f'{v:.3f}'


def layout_markdown(result: dict) -> list[str]:
    """The layout-to-image rows (one per ``--layout-run``): detector, mAPs, FID."""
    det, ref = result['layout_detector'], result.get('fid_reference')
    head = (f"Layout-to-image score: detector `{osp.basename(det['config'])}` "
            f"(`{det['checkpoint']}`) on each run's generated images, the run's conditioning "
            "layouts (its annotations.json) as ground truth, mmdet `CocoMetric` bbox")
    if ref:
        head += (f"; FID against `{ref['dir']}` ({ref['images']} real images, Inception "
                 f"`{osp.basename(ref['inception'])}`)")
    cols = ['layout run', 'images', 'boxes', 'classes scored', 'mAP', 'mAP_50', 'mAP_75']
    cols += ['FID'] if ref else []
    lines = [head + '.', '', '| ' + ' | '.join(cols) + ' |',
             '|' + ' --- |' * len(cols)]
    for name, r in result['layout'].items():
        n = len(r['classes_scored'])
        cells = [f"{name} (`{r['dir']}`)", str(r['images']), str(r['boxes']),
                 f"{n} / {n + len(r['classes_unscored'])}",
                 _fmt(r['mAP']), _fmt(r['mAP_50']), _fmt(r['mAP_75'])]
        if ref:
            cells.append('n/a' if r.get('fid') is None else f"{r['fid']:.2f}")
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def markdown(result: dict) -> str:
    ratios = result['args']['ratios']
    judge = result['judge']
    lines = []
    if judge is not None:
        lines += [f"Judge `{osp.basename(judge['config'])}` ({judge['source']}), split "
                  f"`{result['args']['split']}` ({result['num_images']} images): judge bbox mAP "
                  f"on the real images **{judge['real_mAP']:.3f}**.", '']
    if result['ldms']:
        lines += ['| LDM | t2i precision | t2i recall | ' +
                  ' | '.join(f'img2img fidelity r={r}' for r in ratios) + ' | minutes |',
                  '| --- | --- | --- | ' + ' | '.join('---' for _ in ratios) + ' | --- |']
    for name, r in result['ldms'].items():
        cells = [_fmt(r['text_to_image']['precision']), _fmt(r['text_to_image']['recall'])]
        cells += [_fmt(r['img2img'][str(x)]['fidelity']) for x in ratios]
        lines.append(f"| {name} (`{r['source']}`) | " + ' | '.join(cells) +
                     f" | {r['seconds'] / 60:.1f} |")
    pcr = {n: r for n, r in result['ldms'].items() if 'per_class_recall' in r['text_to_image']}
    if pcr:
        classes = sorted({c for r in pcr.values() for c in r['text_to_image']['per_class_recall']})
        lines += ['', 'Text-to-image recall per class (coloured captions; colourless in '
                  'brackets where graded):', '',
                  '| LDM | ' + ' | '.join(classes) + ' | t2i P / R colourless |',
                  '| --- |' + ' --- |' * (len(classes) + 1)]
        for name, r in pcr.items():
            plain = r.get('text_to_image_colourless')
            cells = []
            for c in classes:
                cell = _fmt(r['text_to_image']['per_class_recall'].get(c))
                if plain:
                    cell += f" ({_fmt(plain['per_class_recall'].get(c))})"
                cells.append(cell)
            cells.append(f"{_fmt(plain['precision'])} / {_fmt(plain['recall'])}" if plain
                         else 'n/a')
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    gates = {n: r['generator_gate'] for n, r in result['ldms'].items() if r.get('generator_gate')}
    if gates:
        classes = list(next(iter(gates.values()))['recall'])
        n = next(iter(gates.values()))['per_class']
        lines += ['', f'Generator gate: recall of the prompted class from {n} single-object '
                  'prompts per class ("a photo of a {colour} {class}"):', '',
                  '| LDM | ' + ' | '.join(classes) + ' |', '| --- |' + ' --- |' * len(classes)]
        for name, g in gates.items():
            cells = ' | '.join(_fmt(g['recall'][c]) for c in classes)
            lines.append(f'| {name} | {cells} |')
    for name, r in result['ldms'].items():
        g = r.get('pair_gate')
        if not g:
            continue
        lines += ['', f"Pair-level generator gate ({name}; InstaGen Tier B): recall of the "
                  f"prompted colour-shape pair from {g['per_class']} prompts per pair (\"a "
                  'photo of a {colour} {shape}", the judge\'s box with the colour read from its '
                  'pixels); **bold**: the novel pair of its colour', '',
                  '| shape | ' + ' | '.join(g['colours']) + ' |',
                  '| --- |' + ' --- |' * len(g['colours'])]
        novel = set(g.get('split', {}).get('novel', ()))
        for shape in g['shapes']:
            cells = []
            for colour in g['colours']:
                pair = f'{colour} {shape}'
                cell = _fmt(g['recall'][pair])
                cells.append(f'**{cell}**' if pair in novel else cell)
            lines.append(f'| {shape} | ' + ' | '.join(cells) + ' |')
        lines += ['', f"Split: novel {sorted(novel)}" if novel else
                  f"No split: {g.get('split_error')}"]
    if result.get('synthesis'):
        lines += ['', '| synthesis run | images | label precision | label recall | label mAP |',
                  '| --- | --- | --- | --- | --- |']
        for name, r in result['synthesis'].items():
            lines.append(f"| {name} (`{r['dir']}`) | {r['images']} | {_fmt(r['precision'])} | "
                         f"{_fmt(r['recall'])} | {_fmt(r['mAP'])} |")
    if result.get('layout'):
        lines += ([''] if lines and lines[-1] else []) + layout_markdown(result)
    return '\n'.join(lines) + '\n'
