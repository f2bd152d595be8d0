"""FrozenLDM's diffusion math against the scheduler's own tables."""
import pytest
import torch
from diffdet_plugin.ldm import FrozenLDM
from diffdet_plugin.ldm.presets import build_scheduler, get_preset


@pytest.fixture(params=['epsilon', 'v_prediction'])
def ldm(request, tiny_ldm):
    sched = build_scheduler(dict(get_preset('tiny')['scheduler'], prediction_type=request.param))
    return FrozenLDM(tiny_ldm.vae, tiny_ldm.unet, tiny_ldm.text_encoder, tiny_ldm.tokenizer,
                     sched, source='test')


def test_add_noise_matches_tables(ldm):
    g = torch.Generator().manual_seed(0)
    z0, eps = torch.randn(4, 4, 8, 8, generator=g), torch.randn(4, 4, 8, 8, generator=g)
    t = torch.tensor([0, 1, 500, 999])
    acp = ldm.scheduler.alphas_cumprod[t].view(-1, 1, 1, 1)
    expected = acp.sqrt() * z0 + (1 - acp).sqrt() * eps
    torch.testing.assert_close(ldm.add_noise(z0, eps, t), expected)
    a, s = ldm.alpha_sigma(t, 4, 'cpu')
    torch.testing.assert_close(a**2 + s**2, torch.ones_like(a))
    # scalar t broadcasts over the batch
    torch.testing.assert_close(ldm.add_noise(z0, eps, 1),
                               acp[1].sqrt() * z0 + (1 - acp[1]).sqrt() * eps)


def test_targets_and_inversions(ldm):
    g = torch.Generator().manual_seed(1)
    z0, eps = torch.randn(3, 4, 8, 8, generator=g), torch.randn(3, 4, 8, 8, generator=g)
    t = torch.tensor([10, 400, 900])
    zt = ldm.add_noise(z0, eps, t)
    target = ldm.training_target(z0, eps, t)
    a, s = ldm.alpha_sigma(t, 3, 'cpu')
    if ldm.prediction_type == 'epsilon':
        torch.testing.assert_close(target, eps)
    else:
        torch.testing.assert_close(target, a * eps - s * z0)
    # a perfect prediction recovers z0 and ε
    torch.testing.assert_close(ldm.predict_x0(zt, target, t), z0, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ldm.predict_noise(zt, target, t), eps, atol=1e-4, rtol=1e-4)


def test_bad_timestep_is_refused(ldm):
    with pytest.raises(ValueError, match='timesteps must lie'):
        ldm.add_noise(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2), 1000)


def test_vae_scaling_and_empty_prompt_cache(tiny_ldm):
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    raw = tiny_ldm.vae.encode(x).latent_dist.mean
    torch.testing.assert_close(tiny_ldm.encode_images(x), raw * tiny_ldm.scaling_factor)
    e1 = tiny_ldm.empty_prompt_embedding
    assert tiny_ldm.empty_prompt_embedding.data_ptr() == e1.data_ptr()  # computed once
    torch.testing.assert_close(e1, tiny_ldm.encode_prompt(['']))
