# Toy LDM v3 study, arm: a larger procedural training set for the LDM, 20k scenes from its own
# seed stream (split "ldm": python tools/make_toy_data.py ... --num-ldm 20000), never a
# detector's train, val or test scene: the analogue of SD having seen more than any detection set.
# | change | data: toy-shapes ldm split (20000 scenes) instead of train (4000) |
_base_ = './ldm-continue_toy_1000it_toy-shapes.py'
train_dataloader = dict(dataset=dict(ann_file='annotations/instances_ldm.json', img_dir='ldm/',
                                     caption_file='annotations/captions_ldm.json'))
