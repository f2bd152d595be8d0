# fcos_r18-half_fpn_1500it_toy-shapes-de.py with Gen2Det's "background ignore" (beyond the
# DiffusionEngine paper): on synthetic images only the points assigned to a labelled box add
# to the classification loss, so the drawn objects the adapter missed are not taught as
# background. Real images train as before; box and centerness losses are unchanged.
#
# | hyper-parameter                | value                              | source  |
# | ------------------------------ | ---------------------------------- | ------- |
# | synthetic background cls. loss | ignored (BackgroundIgnoreFCOSHead) | Gen2Det |
# | everything else                | as the -de config                  |         |
_base_ = ['./fcos_r18-half_fpn_1500it_toy-shapes-de.py']

model = dict(bbox_head=dict(type='BackgroundIgnoreFCOSHead'))
