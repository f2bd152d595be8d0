# Names shared by the DiffusionEngine downstream configs (real + synthetic data): the class
# lists (one `metainfo` per domain, shared by the real and the synthetic source: mmengine's
# ConcatDataset requires equal metainfo, and SyntheticCocoDataset checks the names against
# the synthesized file's categories). Only new names are defined here, so this file can be
# one of several `_base_` files next to any mmdet config.

coco_metainfo = dict(classes=(
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
    'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
    'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake',
    'chair', 'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop',
    'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush'))

# VOCDataset has its own palette: the synthetic source must use the same one.
voc_metainfo = dict(
    classes=('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
             'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
             'sheep', 'sofa', 'train', 'tvmonitor'),
    palette=[(106, 0, 228), (119, 11, 32), (165, 42, 42), (0, 0, 192), (197, 226, 255),
             (0, 60, 100), (0, 0, 142), (255, 77, 255), (153, 69, 1), (120, 166, 157),
             (0, 182, 199), (0, 226, 252), (182, 182, 255), (0, 0, 230), (220, 20, 60),
             (163, 255, 0), (0, 82, 0), (3, 95, 161), (0, 80, 100), (183, 130, 88)])


# The synthetic source of every `-de` config: SyntheticCocoDataset on a tools/synthesize.py
# output folder; RealSyntheticDataset adds metainfo, backend_args and the real train pipeline,
# packing the synthetic provenance (diffdet_plugin.datasets.SYNTHETIC_META_KEYS: the keys the
# synthesis modes declare); a `-de` config adds data_root.
synthetic_dataset_defaults = dict(
    type='SyntheticCocoDataset', ann_file='annotations.json', data_prefix=dict(img='images/'),
    min_score=0.3,              # the adapter's box threshold (DiffusionEngine paper)
    encode_ratio_range=None,    # e.g. (0.3, 1.0): keep images by encode ratio
    max_images=None,            # e.g. 100000: the first N synthetic images by id
    keep_negatives=False,       # drop images without a box (the official code, twice)
    filter_cfg=dict(filter_empty_gt=False))
# `-de` configs concatenate real and synthetic data (the official code). The per-batch arms
# (-de-1to1, -de-3to1) set real : synthetic here (both > 0: mmdet's MultiSourceSampler cannot
# fill a source with 0 samples per batch); the sampler's batch_size must equal the dataloader's
source_ratio = [1, 1]
# real and synthetic images 1 : 1 in every batch (InstaGen's mixing): a train loader takes it as
# sampler=dict(real_synthetic_sampler, batch_size=<its batch size>), batch_sampler=None
real_synthetic_sampler = dict(_delete_=True, type='MultiSourceSampler', source_ratio=source_ratio)
