"""Generate the procedural, download-free "toy shapes" COCO dataset.

Example::

    python tools/make_toy_data.py --out data/toy_shapes \
        --num-train 4000 --num-val 200 --num-test 500 --image-size 128 --seed 0

``test`` is the held-out split: never used to tune a recipe or a threshold, only
to report results.
"""
import argparse
import sys

from diffdet_plugin.datasets.toy_shapes import generate_toy_shapes
from mmengine.utils import ProgressBar


def parse_args():
    parser = argparse.ArgumentParser(
        description='Generate the toy shapes detection dataset (COCO format)')
    parser.add_argument('--out', default='data/toy_shapes',
                        help='output root directory')
    for split, count, what in (
            ('train', 4000, 'training images'), ('val', 200, 'validation images'),
            ('test', 500, 'held-out test images (0: no test split)'),
            ('ldm', 0, 'images of the toy LDM\'s own training split "ldm" (its own seed '
             'stream; 0: none)')):
        parser.add_argument(f'--num-{split}', type=int, default=count, help=f'number of {what}')
    parser.add_argument('--image-size', type=int, default=128,
                        help='side length of the square images in pixels')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed; same seed -> identical dataset')
    return parser.parse_args()


def main():
    args = parse_args()
    total = args.num_train + args.num_val + args.num_test + args.num_ldm
    print(f'Generating {args.num_train} train + {args.num_val} val + '
          f'{args.num_test} test toy-shape '
          f'images ({args.image_size}px, seed={args.seed}) into {args.out}')
    bar = ProgressBar(total) if total > 0 else None
    info = generate_toy_shapes(
        args.out,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=args.image_size,
        seed=args.seed,
        num_test=args.num_test,
        num_ldm=args.num_ldm,
        progress=bar.update if bar is not None else None)
    print()
    print(f'classes: {", ".join(info["classes"])}')
    for split in ('train', 'val', 'test', 'ldm'):
        if split not in info:
            continue
        s = info[split]
        print(f'[{split}] {s["num_images"]} images, '
              f'{s["num_annotations"]} annotations')
        print(f'  images:      {s["img_dir"]}')
        print(f'  instances:   {s["ann_file"]}')
        print(f'  captions:    {s["caption_file"]}')


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
