"""mmdet components: importing this module registers them in mmdet's registries."""
from .backbones import LDMBackbone, LDMMismatchError
from .detectors import make_data_samples, predict_from_feats, register_feats_predictor
from .ldm_trainers import AutoencoderTrainer, LatentDiffusionTrainer

__all__ = ['LDMBackbone', 'LDMMismatchError', 'make_data_samples', 'predict_from_feats',
           'register_feats_predictor', 'AutoencoderTrainer', 'LatentDiffusionTrainer']
