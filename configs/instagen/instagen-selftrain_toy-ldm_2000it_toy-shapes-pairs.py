# InstaGen Tier B phase 2 (issue #20): self-training on the 6 novel pairs, as
# instagen-selftrain_toy-ldm_2000it_toy-shapes.py on the pair view: base-pair triplets
# (supervised) and novel-pair-led images ("a photo of a red cross [and a ...]") that carry the
# base-pair detector's boxes, to which the EMA teacher adds its novel boxes (score > beta);
# images with no novel pseudo-box are dropped.
#   python tools/train.py configs/instagen/instagen-selftrain_toy-ldm_2000it_toy-shapes-pairs.py \
#       --cfg-options load_from=<phase-1 .pth>
_base_ = ['./instagen-selftrain_toy-ldm_2000it_toy-shapes.py',
          '../_base_/datasets/toy_shapes_pairs_split.py']

classes = _base_.toy_pairs_classes
metainfo = dict(classes=classes)
text_tokens = 128
novel_images_root = 'data/toy_shapes_pairs_novel_images/'
model = dict(
    detector=dict(language_model=dict(max_tokens=text_tokens),
                  bbox_head=dict(num_classes=len(classes),
                                 contrastive_cfg=dict(max_text_len=text_tokens))),
    semi_train_cfg=dict(novel_classes=_base_.toy_pairs_novel_classes))
train_dataloader = dict(dataset=dict(datasets=[
    dict(_base_.train_dataloader.dataset.datasets[0],
         data_root='data/toy_shapes_pairs_base_triplets/'),
    dict(_base_.train_dataloader.dataset.datasets[1], data_root=novel_images_root)]))
val_dataloader = dict(dataset=dict(metainfo=metainfo,
                                   ann_file='annotations/instances_val_pairs.json'))
test_dataloader = dict(dataset=dict(metainfo=metainfo,
                                    ann_file='annotations/instances_test_pairs.json'))
val_evaluator = dict(ann_file=_base_.data_root + 'annotations/instances_val_pairs.json')
test_evaluator = dict(ann_file=_base_.data_root + 'annotations/instances_test_pairs.json')
custom_hooks = [dict(type='CheckOpenVocabularySplitHook',
                     base_classes=_base_.toy_pairs_base_classes,
                     novel_classes=_base_.toy_pairs_novel_classes),
                dict(type='MeanTeacherHook', momentum=0.001)]
