# The generative recipes' runtime (VAE, LDM, layout-to-image and crop fine-tuning) on mmdet's
# default runtime: AdamW with gradient clipping at 1 (lr, weight decay, precision, sampler and
# schedule are each recipe's), a loader of un-collated samples (the trainers encode and batch
# them), no validation or test loop (the probes run as hooks), a log line every 50 iterations.
_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['diffdet_plugin'], allow_failed_imports=False)

train_dataloader = dict(persistent_workers=True, collate_fn=dict(type='pseudo_collate'))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', weight_decay=1e-2),
                     clip_grad=dict(max_norm=1.0))
default_hooks = dict(logger=dict(interval=50))
