# Toy LDM v3 study, arm: Min-SNR-gamma loss weighting (Hang et al. 2023), gamma = 5.
# | change | per-sample loss weight min(SNR_t, 5) / SNR_t (eps-prediction) |
_base_ = './ldm-continue_toy_1000it_toy-shapes.py'
model = dict(min_snr_gamma=5.0)
