# The embedded toy LDM v3, part 2. Part 1 (ldm-v3_toy_3000it_toy-shapes.py: v2 + 3000 it of
# today's recipe) beat v2 on val on every fidelity measure but one: colourless text-to-image
# recall (0.273 vs 0.279; precision 0.528 vs 0.435), prompts that were never in its training
# distribution. Part 2 continues part 1 for 1000 iterations with the study's prompt-variants
# arm: captions rebuilt without colours with p = 0.3 and without counts with p = 0.1.
#   bash tools/train_toy_ldm_v3.sh      (both parts, resumable, graded on val, export if better)
#
# | hyper-parameter | value                                                        |
# | start           | part 1's EMA weights (work_dirs/ldm-v3_toy_3000it_toy-shapes/diffusers) |
# | captions        | colourless p = 0.3, count-free p = 0.1, else the toy caption |
# | optimizer       | AdamW, lr 3e-4 (100 it warm-up), cosine to 1e-5              |
# | EMA             | momentum 0.005 (time constant 200 it)                        |
# | batch, iters    | 32 x 128 px, 1000 (checkpoint and export every 500)          |
_base_ = './study/ldm-continue_toy_prompt-variants_1000it_toy-shapes.py'

model = dict(ldm=dict(pretrained='work_dirs/ldm-v3_toy_3000it_toy-shapes/diffusers'))
