"""Data synthesis: the DiffusionEngine engine, its COCO shard writer and tools."""
from .coco_writer import ShardWriter, load_batch_records, merge_shards
from .contact_sheet import write_contact_sheet
from .engine import DiffusionEngineSynthesizer, SynthesisConfig, synthesize_with_config
from .prompts import PHOTO_NEGATIVE_PROMPT, PHOTO_POSITIVE_SUFFIX, PromptBuilder, generic_prompt

__all__ = [
    'ShardWriter', 'load_batch_records', 'merge_shards', 'write_contact_sheet',
    'DiffusionEngineSynthesizer', 'SynthesisConfig', 'synthesize_with_config', 'PHOTO_NEGATIVE_PROMPT',
    'PHOTO_POSITIVE_SUFFIX', 'PromptBuilder', 'generic_prompt'
]
