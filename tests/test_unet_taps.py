"""UNet taps return the documented strides and channels."""
import pytest
import torch
from diffdet_plugin.ldm import ALL_BLOCKS, UNetTaps, get_preset, tap_layout

# The table in diffdet_plugin/ldm/unet_taps.py's docstring.
DOCUMENTED = {
    'sd15': (960, 1600, 1920, 3840),
    'sd2-base': (960, 1600, 1920, 3840),
    'sd2': (960, 1600, 1920, 3840),
    'tiny': (64, 96, 96, 192),
    'toy': (160, 192, 224, 384),
}


@pytest.mark.parametrize('name', list(DOCUMENTED))
def test_layout_matches_documentation(name):
    levels = tap_layout(get_preset(name)['unet'])
    assert [lvl.stride for lvl in levels] == [8, 16, 32, 64]
    assert tuple(lvl.channels for lvl in levels) == DOCUMENTED[name]
    assert sorted(b for lvl in levels for b in lvl.blocks) == sorted(ALL_BLOCKS)


def test_taps_on_a_real_forward(tiny_ldm):
    x = torch.rand(2, 3, 128, 192) * 2 - 1
    z = tiny_ldm.encode_images(x)
    with UNetTaps(tiny_ldm.unet) as taps:
        tiny_ldm.unet_forward(z, 1, tiny_ldm.prompt_embedding('', 2))
        tiny_ldm.unet_forward(z, 2, tiny_ldm.prompt_embedding('', 2))
        pyramid = taps.pyramid((128, 192))
        assert taps.calls == 2
    levels = tap_layout(tiny_ldm.unet.config)
    assert len(pyramid) == len(levels)
    for feat, lvl in zip(pyramid, levels):
        assert feat.shape == (2, lvl.channels, 128 // lvl.stride, 192 // lvl.stride)
    # hooks are gone after the context
    n = len(taps.outputs)
    taps.clear()
    tiny_ldm.unet_forward(z, 1, tiny_ldm.prompt_embedding('', 2))
    assert len(taps.outputs) == 0 and n == len(ALL_BLOCKS)


def test_subset_of_blocks(tiny_ldm):
    blocks = ('up_blocks.1', 'up_blocks.2', 'up_blocks.3')
    levels = tap_layout(tiny_ldm.unet.config, blocks)
    assert [(lvl.stride, lvl.channels) for lvl in levels] == [(8, 64), (16, 64)]


def test_bad_block_name(tiny_ldm):
    with pytest.raises(KeyError, match='valid names'):
        UNetTaps(tiny_ldm.unet, ['up_blocks.7'])
