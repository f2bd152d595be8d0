# DiffusionEngine synthesis on the embedded, trained toy LDM (what `make demo` runs):
#   python tools/synthesize.py configs/diffusion_engine/de_synth_toy-shapes_toy.py \
#       --checkpoint work_dirs/de_adapter_dino-4scale_toy_2000it_toy-shapes/iter_2000.pth \
#       --out work_dirs/synth_toy --num-images 200
_base_ = ['../_base_/synthesis/toy_shapes.py', './de_adapter_dino-4scale_toy_2000it_toy-shapes.py']

synthesis = dict(batch_size=8)
