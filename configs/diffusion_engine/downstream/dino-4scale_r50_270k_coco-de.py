# The DiffusionEngine DINO-R50 downstream config under this folder's naming scheme:
# identical to configs/de_dino_r50.py (which holds the hyper-parameter table).
_base_ = '../../de_dino_r50.py'
