# InstaGen's base triplets on COCO: the fine-tuned SD 1.4 draws 1-2 of the 48 base categories
# per prompt; a Faster R-CNN trained on COCO-base (downstream/faster-rcnn_r50_fpn_1x_coco-base.py)
# labels the images (score > alpha = 0.8). 1000 images per base category.
#   bash tools/dist_synthesize.sh \
#       configs/instagen/base-triplets_faster-rcnn_r50_fpn_1x_coco-base.py 8 \
#       --checkpoint work_dirs/faster-rcnn_r50_fpn_1x_coco-base/iter_90000.pth \
#       --out data/coco_base_triplets --num-images 48000
_base_ = [
    './downstream/faster-rcnn_r50_fpn_1x_coco-base.py',
    '../_base_/synthesis/instagen_base_triplets.py'
]

synthesis = dict(
    ldm=dict(_delete_=True,
             pretrained='work_dirs/instagen-finetune_sd14_10k-it_coco-base/diffusers',
             dtype='fp16'),
    categories=list(_base_.coco_base_classes), num_images=48000)
