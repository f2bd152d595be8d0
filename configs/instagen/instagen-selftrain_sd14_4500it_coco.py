# InstaGen phase 2 on COCO (paper setting): epochs 7-12 as self-training. Teacher and student
# start from phase 1 (load_from), the EMA teacher (0.999) labels generated images of the 17
# novel categories (score > 0.4) for the dropout student, which also keeps training on the base
# triplets; lr /10 at epoch 11 (iteration 3750 of 4500 here).
#   bash tools/dist_train.sh configs/instagen/instagen-selftrain_sd14_4500it_coco.py 8 \
#       --cfg-options load_from=work_dirs/instagen_sd14_4500it_coco-base-triplets/iter_4500.pth
# Novel images: tools/synthesize.py instagen_synth_sd14_coco-ov.py with
#   synthesis.categories=<the 17 novel names> synthesis.with_labels=False
#   synthesis.keep_negatives=True --out data/coco_novel_images
_base_ = './instagen_sd14_4500it_coco-base-triplets.py'

model = dict(
    _delete_=True, type='InstaGenSelfTraining', detector=_base_.model,
    student_dropout=0.1,  # the noisy student: every enhancer and decoder layer
    # official novel-image rules (loops.py): base boxes + teacher novel boxes > beta, images with no
    # novel pseudo-box dropped, loss x sqrt(kept / total); the teacher predicts at test time
    semi_train_cfg=dict(cls_pseudo_thr=0.4, novel_classes=_base_.coco_novel_classes,
                        drop_empty_novel=True))

branch_meta_keys = _base_.grounding_meta_keys + ('homography_matrix', )
sup_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PromptClassesText'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='MultiBranch', branch_field=['sup', 'unsup_teacher', 'unsup_student'],
         sup=dict(type='PackDetInputs', meta_keys=branch_meta_keys))
]
unsup_pipeline = [
    dict(type='LoadImageFromFile'),
    # the novel image's base-detector boxes, if it has them (official); then its prompt's text
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PromptClassesText'),
    dict(type='Resize', scale=(512, 512), keep_ratio=True),  # records the homography matrix
    dict(type='MultiBranch', branch_field=['sup', 'unsup_teacher', 'unsup_student'],
         unsup_teacher=dict(type='PackDetInputs', meta_keys=branch_meta_keys),
         unsup_student=[dict(type='RandomFlip', prob=0.5),
                        dict(type='PackDetInputs', meta_keys=branch_meta_keys)])
]
novel_images = dict(type='SyntheticCocoDataset', data_root='data/coco_novel_images/',
                    ann_file='annotations.json', data_prefix=dict(img='images/'),
                    filter_cfg=dict(filter_empty_gt=False), return_classes=True,
                    pipeline=unsup_pipeline)
batch_size = 8
train_dataloader = dict(
    _delete_=True, batch_size=batch_size, num_workers=4,
    sampler=dict(type='GroupMultiSourceSampler', batch_size=batch_size, source_ratio=[1, 1]),
    dataset=dict(type='ConcatDataset', datasets=[
        dict(_base_.base_triplets, pipeline=sup_pipeline), novel_images]))

param_scheduler = [dict(type='MultiStepLR', begin=0, end=_base_.max_iters, by_epoch=False,
                        milestones=[3750], gamma=0.1)]
# the base config's split check, and the EMA teacher (0.999)
custom_hooks = _base_.custom_hooks + [dict(type='MeanTeacherHook', momentum=0.001)]
