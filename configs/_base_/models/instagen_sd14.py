# InstaGen's grounding head (Feng et al., CVPR 2024, Sec. 3.2 and 4.1) on Stable Diffusion 1.4:
# mmdet's GroundingDINO layers on the frozen UNet's features at t = 1, the LDM's own CLIP
# text encoder (shared with the backbone, frozen). The official code's choices are the defaults
# (fcjian/InstaGen; docs/instagen.md lists each against it).
#
# | part                | value                                                          |
# | LDM                 | SD 1.4 (the original, not the fine-tuned generator), frozen     |
# | features            | [uncond || cond] UNet taps at t = 1 (two passes: the empty     |
# |                     | prompt and each image's generation prompt), as the official    |
# |                     | code concatenates the CFG halves                               |
# | taps                | every UNet block, strides 8/16/32/64: 2 x 960/1600/1920/3840 ch |
# | channel compression | a 1x1 conv per level to 256 channels (+ GroupNorm) (official;  |
# |                     | the paper says 3x3)                                            |
# | text per image      | the classes its prompt names (PromptClassesText in pipelines)  |
# | class embedding     | the name's CLIP state inside "a photograph of a {c}", one      |
# |                     | vector per class; BOS / separators / EOS neither scored nor    |
# |                     | trained                                                        |
# | feature enhancer    | 6 layers: deformable self-attn (image), self-attn (text),       |
# |                     | image<->text cross-attn                                         |
# | query selection     | language-guided, 900 queries, mixed (DINO)                      |
# | decoder             | 6 cross-modality layers (self, text cross, image cross attn)    |
# | class score         | sigmoid(scale * cos(query, text) + b), scale 1, b -4.6 at init  |
# | losses              | focal (alpha 0.25, gamma 2) 1.0, L1 5.0, GIoU 2.0; Hungarian     |
# | dropout             | 0.1 in the enhancer / decoder layers (official, both phases)    |
# | denoising queries   | mmdet's (kept: GroundingDINO needs them; off in the official    |
# |                     | code, and their label embedding is caption-indexed)             |
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)
ldm = dict(pretrained='CompVis/stable-diffusion-v1-4', dtype='fp16')
ldm_channels = [960, 1600, 1920, 3840]  # sd15-family taps, strides 8-64
num_levels = 4
embed_dims = 256  # fixed by mmdet's GroundingDINO text position encoding
dropout = 0.1

model = dict(
    type='InstaGen',
    feature_prompt='image',
    num_queries=900,
    with_box_refine=True,
    as_two_stage=True,
    num_feature_levels=num_levels,
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[127.5, 127.5, 127.5],
                           std=[127.5, 127.5, 127.5], bgr_to_rgb=True, pad_size_divisor=64),
    backbone=dict(type='LDMBackbone', ldm=ldm, timestep=1, size_divisor=64,
                  condition='uncond+cond'),
    language_model=dict(type='LDMTextEncoder', max_tokens=77, pad_to_max=False, frozen=True,
                        name_template='a photograph of a {}', mask_special_tokens=True),
    neck=dict(type='ChannelMapper', in_channels=[2 * c for c in ldm_channels], kernel_size=1,
              out_channels=embed_dims, act_cfg=None, bias=True,
              norm_cfg=dict(type='GN', num_groups=32), num_outs=num_levels),
    encoder=dict(
        num_layers=6,
        num_cp=0,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims, num_levels=num_levels, dropout=dropout),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=2048, ffn_drop=dropout)),
        text_layer_cfg=dict(
            self_attn_cfg=dict(num_heads=4, embed_dims=embed_dims, dropout=dropout),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=1024, ffn_drop=dropout)),
        fusion_layer_cfg=dict(v_dim=embed_dims, l_dim=embed_dims, embed_dim=1024, num_heads=4,
                              init_values=1e-4)),
    decoder=dict(
        num_layers=6,
        return_intermediate=True,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims, num_heads=8, dropout=dropout),
            cross_attn_text_cfg=dict(embed_dims=embed_dims, num_heads=8, dropout=dropout),
            cross_attn_cfg=dict(embed_dims=embed_dims, num_levels=num_levels, num_heads=8,
                                dropout=dropout),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=2048, ffn_drop=dropout)),
        post_norm_cfg=None),
    positional_encoding=dict(num_feats=embed_dims // 2, normalize=True, offset=0.0,
                             temperature=20),
    bbox_head=dict(
        type='InstaGenHead',
        num_classes=80,
        sync_cls_avg_factor=True,
        contrastive_cfg=dict(max_text_len=77, norm=True),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=5.0),
        loss_iou=dict(type='GIoULoss', loss_weight=2.0)),
    # no denoising queries (official); dn_cfg is mmdet's, used with denoising_queries=True
    denoising_queries=False,
    dn_cfg=dict(label_noise_scale=0.5, box_noise_scale=1.0,
                group_cfg=dict(dynamic=True, num_groups=None, num_dn_queries=100)),
    train_cfg=dict(assigner=dict(type='HungarianAssigner', match_costs=[
        dict(type='BinaryFocalLossCost', weight=2.0),
        dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
        dict(type='IoUCost', iou_mode='giou', weight=2.0)
    ])),
    test_cfg=dict(max_per_img=300))
