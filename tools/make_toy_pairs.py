"""Write the colour × shape view of the toy-shapes splits (InstaGen's Tier B, issue #20).

Each box's class becomes the pair "{its colour} {its shape}" (30 classes for 5 shapes × 6
colours); the images are the toy data's own. Objects of a shape not listed stay in their
images unlabelled.

Example::

    python tools/make_toy_data.py --out data/toy_shapes
    python tools/make_toy_pairs.py data/toy_shapes
    # -> data/toy_shapes/annotations/instances_{train,val,test}_pairs.json
    # then the base-only training file of the Tier B split:
    python tools/make_ov_base_annotations.py \
        data/toy_shapes/annotations/instances_train_pairs.json \
        configs/_base_/datasets/toy_shapes_pairs_split.py
"""
import argparse
import sys

from diffdet_plugin.datasets.colour_shape import DRAWABLE_SHAPES, ensure_pair_views
from diffdet_plugin.datasets.toy_shapes import TOY_SHAPES_COLORS


def parse_args():
    parser = argparse.ArgumentParser(
        description='Write the colour-shape pair view of the toy-shapes annotation files')
    parser.add_argument('data_root', help='the toy data folder (tools/make_toy_data.py --out)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val', 'test'])
    parser.add_argument('--shapes', nargs='+', default=list(DRAWABLE_SHAPES),
                        help='the pair shapes (default: the five the LDM v3 draws; hexagon '
                        'fails the generator gate)')
    parser.add_argument('--colours', nargs='+', default=list(TOY_SHAPES_COLORS))
    return parser.parse_args()


def main():
    args = parse_args()
    written = ensure_pair_views(args.data_root, args.splits, args.colours, args.shapes,
                                overwrite=True)
    for counts in written.values():
        print(f'{counts["out"]}: {counts["images"]} images, {counts["boxes"]} boxes in '
              f'{len(args.colours) * len(args.shapes)} pair classes ({counts["left_out"]} boxes '
              'of other shapes left unlabelled)')

if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
