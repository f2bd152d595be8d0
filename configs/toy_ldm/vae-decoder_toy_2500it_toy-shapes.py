# The embedded toy LDM, stage 1b: fine-tune the VAE *decoder* on the stage-1 encoder's
# latents (the encoder, so the latent space stage 2 trains in, stays fixed; like SD's
# ft-MSE decoder). Runs independently of stage 2; tools/export_ldm.py --vae takes this
# decoder into the shipped model.
#   python tools/train.py configs/toy_ldm/vae-decoder_toy_2500it_toy-shapes.py
#
# | hyper-parameter | value                                         |
# | trainable       | VAE decoder (+ post_quant_conv); encoder frozen |
# | loss            | L1 + 1.0 x L2 reconstruction                  |
# | optimizer       | AdamW, lr 5e-4 (100 it warm-up), cosine to 1e-5 |
# | batch, iters    | 16 random 64 px crops, 2500                   |
_base_ = './vae_toy_2500it_toy-shapes.py'

model = dict(ldm=dict(_delete_=True, pretrained='work_dirs/vae_toy_2500it_toy-shapes/diffusers'),
             train_encoder=False, l2_weight=1.0)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
