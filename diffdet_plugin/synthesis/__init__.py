"""Data synthesis: one skeleton (``base``), its modes, their labellers, the COCO shard writer
and tools. Synthesis is sources × sampler × labeller: a mode is a source of images (reference
images, category names, layouts) plus a :class:`~.labellers.Labeller`.

Modes register in ``diffdet_plugin.registry.SYNTHESIZERS`` under the name a config's
``synthesis.mode`` gives: ``diffusion_engine`` (:mod:`.diffusion_engine`), ``text_to_image``
(:mod:`.text_to_image`: category names, labelled by any mmdet detector), ``instagen``
(:mod:`.instagen`: category names, labelled by the grounding head) and ``detdiffusion``
(:mod:`.detdiffusion`: layouts with easy / hard attributes; the layout is the label).
"""
from .balance import base_batches, plan_round
from .base import (BaseSynthesizer, BatchOutput, Generated, SynthesisConfig, build_synthesizer,
                   item_seed)
from .coco_writer import ShardWriter, load_batch_records, merge_shards
from .contact_sheet import write_contact_sheet
from .detdiffusion import DetDiffusionConfig, DetDiffusionSynthesizer
from .diffusion_engine import (DiffusionEngineConfig, DiffusionEngineSynthesizer,
                               synthesize_with_config)
from .instagen import InstaGenConfig, InstaGenSynthesizer
from .labellers import (AdapterLabeller, DetectorLabeller, GroundingLabeller, LabelBatch, Labeller,
                        LayoutLabeller)
from .prompts import PHOTO_NEGATIVE_PROMPT, PHOTO_POSITIVE_SUFFIX, PromptBuilder, generic_prompt
from .text_to_image import (DetectorLabelledSynthesizer, PromptSource, TextToImageConfig,
                            TextToImageSynthesizer, prompt_sources)

__all__ = [
    'base_batches', 'plan_round', 'BaseSynthesizer', 'BatchOutput', 'Generated',
    'SynthesisConfig', 'build_synthesizer', 'item_seed', 'ShardWriter', 'load_batch_records',
    'merge_shards', 'write_contact_sheet', 'DiffusionEngineConfig', 'DiffusionEngineSynthesizer',
    'synthesize_with_config', 'PHOTO_NEGATIVE_PROMPT', 'PHOTO_POSITIVE_SUFFIX', 'PromptBuilder',
    'generic_prompt', 'InstaGenConfig', 'InstaGenSynthesizer', 'DetectorLabelledSynthesizer',
    'PromptSource', 'TextToImageConfig', 'TextToImageSynthesizer', 'prompt_sources',
    'DetDiffusionConfig', 'DetDiffusionSynthesizer', 'AdapterLabeller', 'DetectorLabeller',
    'GroundingLabeller', 'LabelBatch', 'Labeller', 'LayoutLabeller'
]
