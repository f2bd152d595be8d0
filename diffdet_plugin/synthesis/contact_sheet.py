"""A contact sheet of synthesized images with their boxes (mmdet's DetLocalVisualizer)."""
from __future__ import annotations

import os.path as osp

import numpy as np


def write_contact_sheet(out_dir: str, num_images: int = 16, cols: int = 4,
                        ann_file: str | None = None, out_file: str | None = None) -> str:
    """Draw the first ``num_images`` images of ``annotations.json`` with boxes and class names.

    Returns the PNG path (``DIR/contact_sheet.png`` by default).
    """
    from .coco_reader import SynthesisRun
    run = SynthesisRun(out_dir, ann_file)
    out_file = out_file or osp.join(out_dir, 'contact_sheet.png')
    records = run.image_records(num_images)
    if not records:
        return ''
    return draw_detection_grid([run.rgb(r) for r in records], [run.boxes(r) for r in records],
                               run.classes, out_file, cols)


def draw_detection_grid(images, dets, classes, out_file: str, cols: int = 4) -> str:
    """Tile RGB uint8 images with their boxes (``dets[i]``: ``bboxes`` xyxy, ``labels``,
    ``scores``), drawn by mmdet's ``DetLocalVisualizer``; writes and returns ``out_file``."""
    import torch
    from mmengine.structures import InstanceData
    from PIL import Image

    from mmdet.structures import DetDataSample
    from mmdet.visualization import DetLocalVisualizer
    vis = DetLocalVisualizer(name=f'detection_grid_{id(images)}')
    vis.dataset_meta = dict(classes=list(classes))
    tiles = []
    for rgb, det in zip(images, dets):
        inst = InstanceData()
        inst.bboxes = torch.as_tensor(np.asarray(det['bboxes']), dtype=torch.float32).reshape(-1, 4)
        inst.labels = torch.as_tensor(np.asarray(det['labels']), dtype=torch.long)
        inst.scores = torch.as_tensor(np.asarray(det['scores']), dtype=torch.float32)
        sample = DetDataSample()
        sample.pred_instances = inst
        vis.add_datasample('image', np.asarray(rgb), data_sample=sample, draw_gt=False,
                           draw_pred=True, show=False, pred_score_thr=0.0)
        tiles.append(vis.get_image())
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    rows = (len(tiles) + cols - 1) // cols
    sheet = np.full((rows * h, min(cols, len(tiles)) * w, 3), 255, np.uint8)
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        sheet[r * h:r * h + t.shape[0], c * w:c * w + t.shape[1]] = t
    Image.fromarray(sheet).save(out_file)
    return out_file
