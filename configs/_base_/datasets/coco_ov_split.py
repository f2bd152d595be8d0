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
