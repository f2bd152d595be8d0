# The DiffusionEngine DINO-R50 downstream config under this folder's naming scheme:
# identical to configs/de_dino_r50.py (the table is in dino-4scale_r50_270k_coco.py).
_base_ = '../../de_dino_r50.py'
