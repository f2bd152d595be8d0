from .instagen import InstaGen
from .predict_from_feats import make_data_samples, predict_from_feats, register_feats_predictor

__all__ = ['InstaGen', 'make_data_samples', 'predict_from_feats', 'register_feats_predictor']
