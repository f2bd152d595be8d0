# InstaGen Tier B arm (d) (issue #20): the phase-1 head with each class text replaced by a fixed
# random vector (LDMTextEncoder random_names=True, at the real vector's norm). It can learn the
# base pairs, but a novel pair shares nothing with the base pairs it resembles: what the head
# gets without text-side transfer.
#   python tools/train.py \
#       configs/instagen/instagen_toy-ldm_2000it_toy-shapes-pairs-base-triplets-random-names.py
_base_ = './instagen_toy-ldm_2000it_toy-shapes-pairs-base-triplets.py'

model = dict(language_model=dict(random_names=True))
