"""Segmentation heads on UNet features (DetDiffusion's perception-aware loss)."""
from .perception_aware_seg_head import PerceptionAwareSegHead
from .unet_feature_fusion import UNetFeatureFusion

__all__ = ['PerceptionAwareSegHead', 'UNetFeatureFusion']
