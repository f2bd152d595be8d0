# de_synth_toy-shapes_toy.py with the paper's Detection-Adapter, DINO
# (de_adapter_dino-4scale_toy_1500it_toy-shapes.py):
#   python tools/synthesize.py configs/diffusion_engine/de_synth_toy-shapes_toy-dino.py \
#       --checkpoint work_dirs/de_adapter_dino-4scale_toy_1500it_toy-shapes/iter_1500.pth \
#       --out data/toy_shapes_de --num-images 400
_base_ = ['../_base_/synthesis/toy_shapes.py', './de_adapter_dino-4scale_toy_1500it_toy-shapes.py']
