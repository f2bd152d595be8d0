# InstaGen's base triplets at toy scale: the embedded toy LDM draws 1-2 base categories per
# prompt and the judge restricted to the 4 base classes (the "off-the-shelf detector trained on
# base categories") labels them, keeping boxes with score > alpha = 0.8.
#   python tools/synthesize.py configs/instagen/base-triplets_judge-base4_toy-shapes.py \
#       --checkpoint <base-4 judge .pth> --out data/toy_shapes_base_triplets --num-images 2000
_base_ = [  # the judge config brings the toy split (../_base_/datasets/toy_shapes_ov_split.py)
    '../judge/fcos_r18-half_fpn_3000it_toy-shapes-base4.py',
    '../_base_/synthesis/instagen_base_triplets.py'
]

synthesis = dict(
    ldm=dict(_delete_=True, pretrained='embedded:toy', dtype='fp32'),
    categories=list(_base_.toy_base_classes),
    batch_size=8,
    **_base_.toy_generation_prompt)
