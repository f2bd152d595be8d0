"""Merge synthesis shards into DIR/annotations.json (e.g. after runs on several nodes).

    python tools/merge_shards.py DIR [--no-contact-sheet]
"""
import argparse
import sys

from diffdet_plugin.synthesis import merge_shards, write_contact_sheet


def main():
    p = argparse.ArgumentParser(description='Merge synthesis shards into one COCO file')
    p.add_argument('out_dir', help='the synthesis output folder (holds shards/)')
    p.add_argument('--no-contact-sheet', action='store_true')
    p.add_argument('--sheet-images', type=int, default=16)
    args = p.parse_args()
    summary = merge_shards(args.out_dir)  # info from DIR/info.json
    if not args.no_contact_sheet:
        summary['contact_sheet'] = write_contact_sheet(args.out_dir, args.sheet_images)
    for k, v in summary.items():
        print(f'{k:>18}: {v}')


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
