# InstaGen Tier B arm (d)'s synthesis (issue #20): instagen_synth_toy_toy-shapes-pairs.py with the
# random-name head (instagen_toy-ldm_2000it_toy-shapes-pairs-base-triplets-random-names.py).
_base_ = './instagen_synth_toy_toy-shapes-pairs.py'

model = dict(language_model=dict(random_names=True))
