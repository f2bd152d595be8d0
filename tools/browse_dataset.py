"""Look at a config's training data as the detector sees it: images with their gt boxes.

Builds ``train_dataloader.dataset`` from the config (so the training pipeline and its
augmentation apply) and draws every sample's ground-truth boxes with mmdet's
``DetLocalVisualizer``. Works on real COCO/VOC data, on synthesized data
(``SyntheticCocoDataset``) and on their mixture (``ConcatDataset``); for synthesized
samples the provenance (prompt, encode ratio, seed) is printed next to the file name.

    python tools/browse_dataset.py CONFIG --output-dir work_dirs/browse --not-show --num 20
    # only the synthetic source of a real + synthetic config (ConcatDataset entry 1)
    python tools/browse_dataset.py configs/de_dino_r50.py --source 1 --output-dir out --not-show
"""
import argparse
import os
import os.path as osp
import sys

import diffdet_plugin  # noqa: F401  (registers components and the config package)
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from mmdet.registry import DATASETS, VISUALIZERS
from mmdet.structures.bbox import BaseBoxes
from mmdet.visualization import DetLocalVisualizer


def parse_args():
    parser = argparse.ArgumentParser(description='Draw the ground truth of a training set')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', default=None,
                        help='write the drawn images (one file per sample) to this folder')
    parser.add_argument('--not-show', action='store_true', help='do not open a window')
    parser.add_argument('--show-interval', type=float, default=2,
                        help='seconds each image is shown (0: wait for a key)')
    parser.add_argument('--num', type=int, default=None, help='stop after this many samples')
    parser.add_argument('--source', type=int, default=None,
                        help='for a ConcatDataset training set, browse only its entry SOURCE '
                        '(in this plugin\'s real + synthetic configs: 0 real, 1 synthetic)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    args = parser.parse_args()
    if args.not_show and args.output_dir is None:
        parser.error('nothing to do: pass --output-dir, or drop --not-show')
    if args.num is not None and args.num < 1:
        parser.error('--num must be >= 1')
    return args


def pick_source(dataset, source, config):
    if source is None:
        return dataset
    subsets = getattr(dataset, 'datasets', None)
    if subsets is None:
        raise SystemExit(f'--source {source}: the training set of {config} is a '
                         f'{type(dataset).__name__}, not a ConcatDataset; drop --source')
    if not 0 <= source < len(subsets):
        raise SystemExit(f'--source {source}: the training set of {config} has '
                         f'{len(subsets)} sources (0..{len(subsets) - 1})')
    return subsets[source]


def build_visualizer(cfg, dataset_meta):
    vis_cfg = cfg.get('visualizer')
    if vis_cfg is not None:
        vis_cfg = vis_cfg.copy()
        vis_cfg['name'] = 'browse_dataset'
        vis_cfg.pop('vis_backends', None)  # draw and save here, no log backend
        visualizer = VISUALIZERS.build(vis_cfg)
    else:
        visualizer = DetLocalVisualizer(name='browse_dataset')
    if not isinstance(visualizer, DetLocalVisualizer):
        visualizer = DetLocalVisualizer(name='browse_dataset_det')
    visualizer.dataset_meta = dataset_meta
    return visualizer


def describe(sample):
    meta = sample.metainfo
    parts = [osp.basename(meta.get('img_path', '?')), f'{len(sample.gt_instances)} boxes']
    if meta.get('prompt') is not None:
        parts.append(f'encode_ratio={meta.get("encode_ratio")} seed={meta.get("seed")} '
                     f'prompt={meta["prompt"]!r}')
    return ' | '.join(parts)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))

    dataset = pick_source(DATASETS.build(cfg.train_dataloader.dataset), args.source,
                          args.config)
    visualizer = build_visualizer(cfg, dataset.metainfo)
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)

    total = len(dataset) if args.num is None else min(args.num, len(dataset))
    width = len(str(max(total - 1, 0)))
    for index in range(total):
        item = dataset[index]
        sample = item['data_samples']
        boxes = sample.gt_instances.get('bboxes', None)
        if isinstance(boxes, BaseBoxes):  # the visualizer draws plain (N, 4) arrays
            sample.gt_instances.bboxes = boxes.tensor
        sample = sample.numpy()
        image = item['inputs'].permute(1, 2, 0).numpy()[..., ::-1]  # CHW BGR -> HWC RGB
        name = osp.basename(sample.metainfo.get('img_path', f'{index}.jpg'))
        # an index prefix keeps real and synthetic files with equal names apart
        out_file = (osp.join(args.output_dir, f'{index:0{width}d}_{name}')
                    if args.output_dir else None)
        visualizer.add_datasample(name, image, data_sample=sample, draw_pred=False,
                                  show=not args.not_show, wait_time=args.show_interval,
                                  out_file=out_file)
        print(f'[{index + 1}/{total}] {describe(sample)}', flush=True)
    if args.output_dir:
        print(f'wrote {total} images to {args.output_dir}')


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
