"""DetDiffusion's perception-aware attributes (P.A. Attr): label every object of a COCO
dataset ``easy`` / ``hard`` (or ``background``) for a detector.

    python tools/extract_attributes.py DETECTOR_CONFIG CHECKPOINT \
        --ann-file data/toy_shapes/annotations/instances_train.json \
        --img-dir data/toy_shapes/train --out data/toy_shapes/pa_attributes_train.json
    torchrun --nproc_per_node 8 tools/extract_attributes.py ... --launcher pytorch

A prediction counts iff its score > ``--score-thr`` (γ); an object is easy iff a counted
prediction (of any category, the paper's eq. 2; ``--same-category``: of its own, matched by
name) has IoU > ``--iou-thr`` (β) with it
(diffdet_plugin/attributes/perception_attributes.py). Each rank appends its images to
``<out>.rank{r}.jsonl``: running the same command again after an interruption continues where
it stopped; rank 0 merges the shards into ``--out``.
"""
import argparse
import os
import sys

import diffdet_plugin  # noqa: F401
import torch
from diffdet_plugin.attributes import extract_attributes
from diffdet_plugin.runner_utils import finish_distributed, init_distributed
from mmengine.dist import get_dist_info
from mmengine.logging import print_log

from mmdet.utils import register_all_modules


def parse_args():
    p = argparse.ArgumentParser(
        description='DetDiffusion perception-aware attributes (easy / hard per object)')
    p.add_argument('config', help='the detector\'s mmdet config')
    p.add_argument('checkpoint', help='the detector\'s weights')
    p.add_argument('--ann-file', required=True, help='COCO instances json of the dataset')
    p.add_argument('--img-dir', required=True, help='folder of its images')
    p.add_argument('--out', required=True, help='the attribute file (json) to write')
    p.add_argument('--score-thr', type=float, default=0.3,
                   help='γ: predictions with score > γ count (default 0.3)')
    p.add_argument('--iou-thr', type=float, default=0.5,
                   help='β: an object is easy iff a counted prediction has IoU > β with it '
                   '(default 0.5)')
    p.add_argument('--same-category', action='store_true',
                   help='only a prediction of the object\'s own category makes it easy (stricter '
                   'than the paper\'s eq. 2, which takes any)')
    p.add_argument('--batch-size', type=int, default=8, help='images per detector call')
    p.add_argument('--device', default=None, help='cuda / cpu (default: cuda if available)')
    p.add_argument('--no-resume', action='store_true',
                   help='start over instead of continuing the shards of an interrupted run')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return p.parse_args()


def main():
    args = parse_args()
    init_distributed(args.launcher)
    rank, world = get_dist_info()
    register_all_modules(init_default_scope=True)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and world > 1:
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
    result = extract_attributes(args.config, args.checkpoint, args.ann_file, args.img_dir,
                                args.out, score_thr=args.score_thr, iou_thr=args.iou_thr,
                                same_category=args.same_category,
                                batch_size=args.batch_size, device=device, rank=rank,
                                world_size=world, resume=not args.no_resume)
    if rank == 0:
        print_log('\n==== perception-aware attributes ====', logger='current')
        for k, v in result['counts'].items():
            print_log(f'{k:>12}: {v}', logger='current')
        print_log(f'{"skipped":>12}: {len(result["skipped"])}', logger='current')
        print_log(f'{"file":>12}: {os.path.abspath(args.out)}', logger='current')
    finish_distributed()


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
