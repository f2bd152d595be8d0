# DetDiffusion (CVPR 2024): layout-to-image SD 1.5 with P.A. Attr and the P.A. loss, the
# paper's model (last row of its ablation). See the two variants it combines.
#   python tools/train.py configs/detdiffusion/detdiffusion_sd15_60e_coco.py
_base_ = ['./detdiffusion-pa-loss_sd15_60e_coco.py']

train_dataloader = dict(dataset=dict(
    attributes_file='attributes/instances_train2017_attributes.json'))
