# + P.A. loss at toy scale: a smaller Mask2Former-style head (64 channels, 20 queries, 3
# masked-attention layers) on the toy UNet's four levels (strides 64/32/16/8: 2x2 to 16x16);
# the loss as the paper writes it (see detdiffusion-pa-loss_sd15_60e_coco.py).
_base_ = './detdiffusion-l2i_toy-ldm_12000it_toy-shapes.py'

dims = 64
model = dict(seg_head=dict(
    _delete_=True, type='PerceptionAwareSegHead', feat_channels=dims, out_channels=dims,
    num_classes=6, num_queries=20,
    transformer_decoder=dict(
        return_intermediate=True, num_layers=3,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=dims, num_heads=4, dropout=0.0, batch_first=True),
            cross_attn_cfg=dict(embed_dims=dims, num_heads=4, dropout=0.0, batch_first=True),
            ffn_cfg=dict(embed_dims=dims, feedforward_channels=4 * dims, num_fcs=2,
                         act_cfg=dict(type='ReLU', inplace=True), ffn_drop=0.0,
                         add_identity=True)),
        init_cfg=None)))
