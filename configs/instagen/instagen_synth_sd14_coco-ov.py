# InstaGen synthesis on COCO: the 65 OV-COCO category names (48 base + 17 novel), 3000 images
# per category, SD 1.4 fine-tuned on base crops, labelled by the self-trained head (its
# teacher's weights) with beta = 0.4. For the data-sparse setting, set synthesis.categories
# to the 80 COCO names.
#   bash tools/dist_synthesize.sh configs/instagen/instagen_synth_sd14_coco-ov.py 8 \
#       --checkpoint <phase-2 checkpoint: its teacher is used> --out data/coco_instagen
_base_ = [
    './instagen_sd14_4500it_coco-base-triplets.py', '../_base_/synthesis/instagen.py'
]

# the fine-tuned SD 1.4 draws; the head reads the original SD 1.4 (official)
synthesis = dict(categories=list(_base_.coco_ov_classes), num_images=3000 * 65,
                 generator=dict(pretrained=_base_.finetuned_ldm, dtype='fp16'))
