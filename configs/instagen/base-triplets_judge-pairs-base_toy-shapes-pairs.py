# InstaGen Tier B's base triplets (issue #20): the toy LDM draws 1-2 base pairs per prompt in
# its own grammar ("a photo of a red circle and a blue star": the colour is the class name's own
# word) and the base-pair detector (trained on the 24 base pairs only) labels them, boxes with
# score >= alpha (the protocol calibrates it on val: the lowest 99 %-precise threshold, 0.25).
#   python tools/synthesize.py configs/instagen/base-triplets_judge-pairs-base_toy-shapes-pairs.py \
#       --checkpoint <base-pair judge .pth> --out data/toy_shapes_pairs_base_triplets \
#       --num-images 1500
_base_ = [  # the labelling detector's config brings the pair split
    '../judge/fcos_r18-half_fpn_3000it_toy-shapes-pairs-base.py',
    '../_base_/synthesis/instagen_base_triplets.py',
    '../_base_/datasets/toy_shapes_ov_split.py'  # toy_prompt: the toy captions' grammar
]

synthesis = dict(
    ldm=dict(_delete_=True, pretrained='embedded:toy', dtype='fp32'),
    categories=list(_base_.toy_pairs_base_classes),
    score_thr=0.25,
    batch_size=8,
    **_base_.toy_prompt)  # no added colour: a pair name carries its own
