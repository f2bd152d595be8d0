"""Write an open-vocabulary training file: a COCO file without the novel categories' boxes.

Examples::

    # OV-COCO (48 base / 17 novel): data/coco/annotations/instances_train2017_ov-base.json
    python tools/make_ov_base_annotations.py data/coco/annotations/instances_train2017.json \
        configs/_base_/datasets/coco_ov_split.py
    # the toy split (4 base / 2 novel): data/toy_shapes/annotations/instances_train_ov-base.json
    python tools/make_ov_base_annotations.py data/toy_shapes/annotations/instances_train.json \
        configs/_base_/datasets/toy_shapes_ov_split.py

Images and category entries are kept, so labels agree with the full evaluation file.
"""
import argparse
import os.path as osp
import sys

from diffdet_plugin.datasets.open_vocabulary import base_only_annotations, split_from_config


def parse_args():
    parser = argparse.ArgumentParser(
        description='Remove the novel categories\' boxes from a COCO annotation file')
    parser.add_argument('ann_file', help='the COCO annotation file (e.g. instances_train2017.json)')
    parser.add_argument('split', help='a split config with one *_base_classes and one '
                        '*_novel_classes list (configs/_base_/datasets/*_ov_split.py)')
    parser.add_argument('--out', help='output file (default: ANN_FILE with suffix _ov-base)')
    return parser.parse_args()


def main():
    args = parse_args()
    out = args.out or osp.splitext(args.ann_file)[0] + '_ov-base.json'
    base, novel = split_from_config(args.split)
    counts = base_only_annotations(args.ann_file, out, base, novel)
    print(f'{out}: {counts["images"]} images, {counts["boxes"]} base boxes '
          f'({counts["novel_boxes_removed"]} novel boxes removed; {len(base)} base / '
          f'{len(novel)} novel categories)')


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
