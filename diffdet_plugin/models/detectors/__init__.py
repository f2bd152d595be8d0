from .instagen import InstaGen
from .instagen_self_training import InstaGenSelfTraining
from .predict_from_feats import make_data_samples, predict_from_feats, register_feats_predictor

__all__ = ['InstaGen', 'InstaGenSelfTraining', 'make_data_samples', 'predict_from_feats',
           'register_feats_predictor']
