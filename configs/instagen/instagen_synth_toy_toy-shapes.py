# InstaGen synthesis on the embedded toy LDM with the toy head: every toy class, base and
# novel, by name (any other name works too: --cfg-options synthesis.categories="['a ring']").
#   python tools/synthesize.py configs/instagen/instagen_synth_toy_toy-shapes.py \
#       --checkpoint work_dirs/<head>/iter_N.pth --out data/toy_shapes_instagen --num-images 600
_base_ = [
    './instagen-head_toy_toy-shapes.py', '../_base_/synthesis/instagen.py',
    '../_base_/datasets/toy_shapes_ov_split.py'
]

synthesis = dict(
    categories=list(_base_.toy_base_classes + _base_.toy_novel_classes),
    batch_size=8,
    **_base_.toy_generation_prompt)
