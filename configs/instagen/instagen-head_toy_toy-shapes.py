# InstaGen's grounding head at toy scale, on the embedded toy LDM: the structure of
# configs/_base_/models/instagen_sd14.py cut to fit 2 CPU cores (the widths stay 256: mmdet's
# GroundingDINO text position encoding is fixed at 256).
#
# | hyper-parameter     | paper (instagen_sd14)  | toy                          |
# | LDM                 | SD 1.4                 | embedded:toy                 |
# | taps (ch)           | 2 x 960/1600/1920/3840 | 2 x 160/192/224/384          |
# | class embedding     | "a photograph of a {c}"| "a photo of a {c}" (its own grammar) |
# | enhancer / decoder  | 6 / 6 layers           | 2 / 2 layers                 |
# | queries             | 900                    | 100                          |
# | FFN width           | 2048                   | 512                          |
_base_ = '../_base_/models/instagen_sd14.py'

model = dict(
    num_queries=100,
    backbone=dict(ldm=dict(_delete_=True, pretrained='embedded:toy', dtype='fp32')),
    neck=dict(in_channels=[2 * c for c in (160, 192, 224, 384)]),
    language_model=dict(name_template='a photo of a {}'),
    encoder=dict(num_layers=2, layer_cfg=dict(ffn_cfg=dict(feedforward_channels=512)),
                 text_layer_cfg=dict(ffn_cfg=dict(feedforward_channels=512)),
                 fusion_layer_cfg=dict(embed_dim=512)),
    decoder=dict(num_layers=2, layer_cfg=dict(ffn_cfg=dict(feedforward_channels=512))),
    bbox_head=dict(num_classes=6),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=20)),
    test_cfg=dict(max_per_img=50))
