# The standard open-vocabulary COCO split (48 base / 17 novel; OVR-CNN, used by InstaGen,
# Detic, ...): the 65 COCO categories with a WordNet synset, 15 others left out.
coco_base_classes = (
    'person', 'bicycle', 'car', 'motorcycle', 'train', 'truck', 'boat', 'bench', 'bird', 'horse',
    'sheep', 'bear', 'zebra', 'giraffe', 'backpack', 'handbag', 'suitcase', 'frisbee', 'skis',
    'kite', 'surfboard', 'bottle', 'fork', 'spoon', 'bowl', 'banana', 'apple', 'sandwich',
    'orange', 'broccoli', 'carrot', 'pizza', 'donut', 'chair', 'bed', 'toilet', 'tv', 'laptop',
    'mouse', 'remote', 'microwave', 'oven', 'toaster', 'refrigerator', 'book', 'clock', 'vase',
    'toothbrush')
coco_novel_classes = ('airplane', 'bus', 'cat', 'dog', 'cow', 'elephant', 'umbrella', 'tie',
                      'snowboard', 'skateboard', 'cup', 'knife', 'cake', 'couch', 'keyboard',
                      'sink', 'scissors')
# All 65 in COCO's category-id order. mmdet's CocoDataset and CocoMetric number labels in the
# annotation file's category order, whatever the order of metainfo.classes, so every dataset of
# an OV config lists its classes in this order (base first would shift the labels of every base
# class after 'airplane' between training and testing).
coco_ov_classes = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra',
    'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis',
    'snowboard', 'kite', 'skateboard', 'surfboard', 'bottle', 'cup', 'fork', 'knife', 'spoon',
    'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'pizza', 'donut',
    'cake', 'chair', 'couch', 'bed', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard',
    'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
    'toothbrush')
coco_ov_metainfo = dict(classes=coco_ov_classes, base_classes=coco_base_classes,
                        novel_classes=coco_novel_classes)
