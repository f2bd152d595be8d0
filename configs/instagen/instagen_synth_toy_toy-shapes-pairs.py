# InstaGen Tier B synthesis (issue #20): the toy head grounds colour-shape pair names in the toy
# LDM's images, prompts in the LDM's own grammar ("a photo of a red cross and a blue star"; the
# pair name carries its colour, so no colour is added).
#   python tools/synthesize.py configs/instagen/instagen_synth_toy_toy-shapes-pairs.py \
#       --checkpoint work_dirs/<pair head>/iter_N.pth --out data/toy_shapes_pairs_instagen \
#       --num-images 1500
_base_ = ['./instagen_synth_toy_toy-shapes.py', '../_base_/datasets/toy_shapes_pairs_split.py']

text_tokens = 128
model = dict(language_model=dict(max_tokens=text_tokens),
             bbox_head=dict(num_classes=len(_base_.toy_pairs_classes),
                            contrastive_cfg=dict(max_text_len=text_tokens)))
synthesis = dict(categories=list(_base_.toy_pairs_classes), name_attributes=[])
