from .ldm_trainer import AutoencoderTrainer, LatentDiffusionTrainer

__all__ = ['AutoencoderTrainer', 'LatentDiffusionTrainer']
