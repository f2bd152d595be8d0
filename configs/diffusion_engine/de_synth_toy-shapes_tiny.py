# DiffusionEngine synthesis at toy scale on the random-weight `tiny` preset (tests).
# Same engine and defaults as de_synth_coco_sd2-base.py; sizes fit 128 px toy images.
_base_ = ['../_base_/synthesis/toy_shapes.py', './de_adapter_dino-4scale_tiny_300it_toy-shapes.py']
