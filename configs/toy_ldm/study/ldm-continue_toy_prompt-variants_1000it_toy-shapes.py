# Toy LDM v3 study, arm: colourless and count-free caption variants mixed in, so that
# "a photo of a triangle" is in the model's distribution.
# | change | caption rebuilt without colours with p = 0.3, without counts with p = 0.1 |
_base_ = './ldm-continue_toy_1000it_toy-shapes.py'
train_dataloader = dict(dataset=dict(caption_variants=dict(colourless=0.3, count_free=0.1)))
