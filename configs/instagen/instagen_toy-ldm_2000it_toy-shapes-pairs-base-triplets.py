# InstaGen Tier B phase 1 (issue #20): the toy grounding head trained on base-pair triplets
# (base-triplets_judge-pairs-base_toy-shapes-pairs.py), tested on the real toy images' pair view
# with all 30 pair names as text: a novel pair's AP is transfer through the text space ("red
# cross" from "red circle", "red star" and "blue cross", ...).
#   python tools/train.py configs/instagen/instagen_toy-ldm_2000it_toy-shapes-pairs-base-triplets.py
#
# | hyper-parameter | Tier A (shapes)               | Tier B (pairs)                          |
# | classes         | 6 shapes (4 base)             | 30 colour-shape pairs (24 base)         |
# | text per image  | the prompt's 1-2 classes      | the same                                |
# | test caption    | 6 names                       | 30 names: 92 tokens, so max_tokens and  |
# |                 |                               | max_text_len 128 (each name is encoded  |
# |                 |                               | on its own, CLIP never sees > 77)       |
# | rest            | instagen_toy-ldm_2000it_toy-shapes-base-triplets.py                     |
_base_ = ['./instagen_toy-ldm_2000it_toy-shapes-base-triplets.py',
          '../_base_/datasets/toy_shapes_pairs_split.py']

classes = _base_.toy_pairs_classes
metainfo = dict(classes=classes)
text_tokens = 128
model = dict(language_model=dict(max_tokens=text_tokens),
             bbox_head=dict(num_classes=len(classes),
                            contrastive_cfg=dict(max_text_len=text_tokens)))
triplets_root = 'data/toy_shapes_pairs_base_triplets/'
train_dataloader = dict(dataset=dict(data_root=triplets_root))
val_dataloader = dict(dataset=dict(metainfo=metainfo,
                                   ann_file='annotations/instances_val_pairs.json'))
test_dataloader = dict(dataset=dict(metainfo=metainfo,
                                    ann_file='annotations/instances_test_pairs.json'))
val_evaluator = dict(ann_file=_base_.data_root + 'annotations/instances_val_pairs.json')
test_evaluator = dict(ann_file=_base_.data_root + 'annotations/instances_test_pairs.json')
custom_hooks = [dict(type='CheckOpenVocabularySplitHook',
                     base_classes=_base_.toy_pairs_base_classes,
                     novel_classes=_base_.toy_pairs_novel_classes)]
