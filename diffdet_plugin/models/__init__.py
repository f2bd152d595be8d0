"""mmdet components: importing this module registers them in mmdet's registries."""
from .backbones import LDMBackbone, LDMMismatchError
from .dense_heads import BackgroundIgnoreFCOSHead, InstaGenHead
from .detectors import (InstaGen, InstaGenSelfTraining, make_data_samples, predict_from_feats,
                        register_feats_predictor)
from .language_models import LDMTextEncoder
from .ldm_trainers import AutoencoderTrainer, LatentDiffusionTrainer, LayoutLDM
from .losses import IgnoreIndexLoss
from .seg_heads import PerceptionAwareSegHead, UNetFeatureFusion

__all__ = ['LDMBackbone', 'LDMMismatchError', 'BackgroundIgnoreFCOSHead', 'IgnoreIndexLoss',
           'InstaGenHead', 'InstaGen', 'InstaGenSelfTraining',
           'LDMTextEncoder',
           'make_data_samples', 'predict_from_feats', 'register_feats_predictor',
           'AutoencoderTrainer', 'LatentDiffusionTrainer', 'LayoutLDM', 'PerceptionAwareSegHead',
           'UNetFeatureFusion']
