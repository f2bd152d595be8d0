# DetDiffusion at toy scale: P.A. Attr (the shipped judge's easy / hard) and the P.A. loss.
#   python tools/train.py configs/detdiffusion/detdiffusion_toy-ldm_12000it_toy-shapes.py
_base_ = './detdiffusion-pa-loss_toy-ldm_12000it_toy-shapes.py'

train_dataloader = dict(dataset=dict(attributes_file='attributes/instances_train.json'))
