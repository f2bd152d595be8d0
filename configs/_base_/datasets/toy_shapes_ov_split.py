# The toy open-vocabulary split for InstaGen (as COCO's 48 base / 17 novel): 4 base and 2 novel
# toy-shapes classes. Novel are two shapes the toy LDM draws worst and the judge confuses least
# with each other, so a novel-category result cannot come from a lookalike base class.
toy_base_classes = ('circle', 'square', 'star', 'cross')
toy_novel_classes = ('triangle', 'hexagon')
# All 6 in the annotation files' category order, which is how mmdet's CocoDataset numbers
# labels (see coco_ov_split.py): every dataset of a toy OV config lists its classes so.
toy_ov_classes = ('circle', 'square', 'triangle', 'star', 'hexagon', 'cross')
toy_ov_metainfo = dict(classes=toy_ov_classes, base_classes=toy_base_classes,
                       novel_classes=toy_novel_classes)
# prompts in the toy captions' own words ("a photo of a circle and a square")
toy_prompt = dict(prompt_template='a photo of {}', name_format='a {}', name_joiner=' and ')
