# InstaGen phase 2 at toy scale: self-training on the 2 novel classes. The phase-1 head is both
# teacher and student at the start (load_from); each batch holds base triplets (supervised) and
# generated novel-class images that the EMA teacher labels (score > beta = 0.4); the student
# has dropout 0.1 after each enhancer and decoder layer.
#   python tools/synthesize.py configs/instagen/instagen_synth_toy_toy-shapes.py \
#       --checkpoint <phase-1 .pth> --out data/toy_shapes_novel_images --num-images 1000 \
#       --cfg-options "synthesis.lead_categories=['triangle','cross']" \
#       "synthesis.categories_per_prompt=(1,2)" synthesis.with_labels=False \
#       synthesis.keep_negatives=True
#   python tools/train.py configs/instagen/instagen-selftrain_toy-ldm_2000it_toy-shapes.py \
#       --cfg-options load_from=<phase-1 .pth>
#
# | hyper-parameter      | paper                         | toy                             |
# | teacher init         | the supervised head           | the phase-1 checkpoint          |
# | EMA momentum         | 0.999                         | 0.999 (MeanTeacherHook 0.001)   |
# | pseudo-label beta    | 0.4                           | 0.4                             |
# | empty novel images   | dropped, loss x sqrt(kept/all)| the same                        |
# | student dropout      | yes                           | 0.1 (enhancer and decoder)      |
# | batch                | 64                            | 4 base + 4 novel                |
# | schedule             | 6 epochs, lr /10 at epoch 11  | 2000 iterations, x0.1 at 1800   |
_base_ = './instagen_toy-ldm_2000it_toy-shapes-base-triplets.py'

novel_images_root = 'data/toy_shapes_novel_images/'
model = dict(
    _delete_=True, type='InstaGenSelfTraining', detector=_base_.model,
    student_dropout=0.1,  # the noisy student: every enhancer and decoder layer
    # official novel-image rules: base boxes + teacher novel boxes > beta, images with no
    # novel pseudo-box dropped, loss x sqrt(kept / total); the teacher predicts at test time
    semi_train_cfg=dict(cls_pseudo_thr=0.4, novel_classes=_base_.toy_novel_classes,
                        drop_empty_novel=True))

branch_meta_keys = _base_.grounding_meta_keys + ('homography_matrix', )
sup_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PromptClassesText'),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='MultiBranch', branch_field=['sup', 'unsup_teacher', 'unsup_student'],
         sup=dict(type='PackDetInputs', meta_keys=branch_meta_keys))
]
unsup_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    # the novel image's base-detector boxes, if it has them (official); then its prompt's text
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PromptClassesText'),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='MultiBranch', branch_field=['sup', 'unsup_teacher', 'unsup_student'],
         unsup_teacher=dict(type='PackDetInputs', meta_keys=branch_meta_keys),
         unsup_student=[dict(type='RandomFlip', prob=0.5),
                        dict(type='PackDetInputs', meta_keys=branch_meta_keys)])
]
novel_images = dict(type='SyntheticCocoDataset', data_root=novel_images_root,
                    ann_file='annotations.json', data_prefix=dict(img='images/'),
                    filter_cfg=dict(filter_empty_gt=False), return_classes=True,
                    pipeline=unsup_pipeline)
batch_size = 8
train_dataloader = dict(
    _delete_=True, batch_size=batch_size, num_workers=0, persistent_workers=False,
    sampler=dict(type='GroupMultiSourceSampler', batch_size=batch_size, source_ratio=[1, 1]),
    dataset=dict(type='ConcatDataset', datasets=[
        dict(_base_.base_triplets, pipeline=sup_pipeline), novel_images]))

# the base config's split check, and the EMA teacher (0.999)
custom_hooks = _base_.custom_hooks + [dict(type='MeanTeacherHook', momentum=0.001)]
