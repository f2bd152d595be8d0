# DiffusionEngine synthesis on the embedded, trained toy LDM (what `make demo` runs), labelled
# by the toy FCOS Detection-Adapter:
#   python tools/synthesize.py configs/diffusion_engine/de_synth_toy-shapes_toy.py \
#       --checkpoint work_dirs/de_adapter_fcos_fpn_1500it_toy-shapes/iter_1500.pth \
#       --out data/toy_shapes_de --num-images 400
# The paper's DINO adapter: de_synth_toy-shapes_toy-dino.py.
_base_ = ['../_base_/synthesis/toy_shapes.py', './de_adapter_fcos_fpn_1500it_toy-shapes.py']
