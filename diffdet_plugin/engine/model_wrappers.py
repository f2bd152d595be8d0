"""Model wrappers for distributed runs."""
import torch
from mmengine.model import MMDistributedDataParallel

from mmdet.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper that also runs on CPU (gloo).

    mmengine's Runner always passes ``device_ids=[LOCAL_RANK]``, which torch's
    DDP refuses for CPU modules. This drops ``device_ids`` when the module's
    parameters live on the CPU; on GPUs it is exactly ``MMDistributedDataParallel``.
    ``tools/train.py`` selects it for CPU-only distributed runs.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        params = list(module.parameters())
        if not params or params[0].device.type == 'cpu' or not torch.cuda.is_available():
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
