# DiffusionEngine synthesis on the embedded, trained toy LDM (what `make demo` runs):
#   python tools/synthesize.py configs/diffusion_engine/de_synth_toy-shapes_toy.py \
#       --checkpoint work_dirs/de_adapter_dino-4scale_toy_1500it_toy-shapes/iter_1500.pth \
#       --out work_dirs/synth_toy --num-images 200
#
# One change from the paper's defaults: the encode ratio is drawn from U(0.2, 0.6), not
# U(0.3, 1.0). The small toy LDM keeps a reference's shapes only at low ratios; from about 0.6
# up, and from pure noise, it draws coloured blobs (docs/toy_ldm.md, Limitations).
_base_ = ['../_base_/synthesis/toy_shapes.py', './de_adapter_dino-4scale_toy_1500it_toy-shapes.py']

synthesis = dict(batch_size=8, encode_ratio=(0.2, 0.6))
