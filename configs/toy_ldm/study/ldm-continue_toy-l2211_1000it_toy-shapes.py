# Toy LDM v3 study, arm: a second ResNet + attention layer per block at the 16 x 16 and 8 x 8
# levels (layers_per_block 2-2-1-1; +1.33 M UNet parameters, +2.7 MB fp16), grown from v2
# function-preserving (diffdet_plugin/ldm/deepen.py: the new layers start as identities):
#   python tools/export_ldm.py work_dirs/ldm_toy_6000it_toy-shapes/diffusers \
#       work_dirs/ldm_toy-l2211_start --dtype fp32 --layers-per-block 2 2 1 1
# | change | UNet layers_per_block 1-1-1-1 -> 2-2-1-1 |
_base_ = './ldm-continue_toy_1000it_toy-shapes.py'
model = dict(ldm=dict(pretrained='work_dirs/ldm_toy-l2211_start'))
