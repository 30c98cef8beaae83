"""FrameInit for a flow-matching sampler (vcd/frameinit.py)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from vcd.frameinit import (
    frame_init_latents,
    gaussian_low_pass,
    generate_video_frameinit,
    mix_frequencies,
    noise_sigma,
    snr_matched_sigma,
    static_latents,
)
from vcd.frames import load_image
from vcd.models import load_pipeline
from vcd.sampling import generate_video
from vcd.settings import FrameInitConfig, SettingsError

CONFIG = FrameInitConfig(ddpm_timestep=850, sigma=None, spatial_cutoff=0.25, temporal_cutoff=0.25)


def _freeinit_grid_filter(shape, d_s, d_t):
    """FreeInit's Gaussian low-pass as its code builds it (loops over the fftshift-ed grid,
    frequency 2k/N - 1), then unshifted: the reference for even sizes."""
    frames, height, width = shape
    mask = torch.zeros(shape, dtype=torch.float64)
    for t in range(frames):
        for h in range(height):
            for w in range(width):
                d2 = ((d_s / d_t) * (2 * t / frames - 1)) ** 2 + (2 * h / height - 1) ** 2 + (2 * w / width - 1) ** 2
                mask[t, h, w] = math.exp(-1 / (2 * d_s**2) * d2)
    return torch.fft.ifftshift(mask, dim=(-3, -2, -1))


def test_sigma_matches_the_snr_of_consisti2v_timestep():
    sigma = snr_matched_sigma(850)
    assert sigma == pytest.approx(0.9156, abs=1e-4)  # the "about 0.92"; the naive t/1000 would be 0.85
    betas = np.linspace(0.00085, 0.012, 1000)
    abar = np.cumprod(1 - betas)[850]
    assert ((1 - sigma) / sigma) ** 2 == pytest.approx(abar / (1 - abar), rel=1e-9)  # equal SNR
    sigmas = [snr_matched_sigma(t) for t in range(0, 1000, 37)]
    assert all(a < b for a, b in zip(sigmas, sigmas[1:])) and sigmas[-1] < 1  # the schedule never reaches pure noise
    assert noise_sigma(CONFIG) == sigma and noise_sigma(replace(CONFIG, sigma=0.5)) == 0.5


def test_low_pass_equals_freeinit_for_even_sizes_and_is_centred_for_odd_ones():
    torch.testing.assert_close(
        gaussian_low_pass((4, 6, 8), 0.25, 0.25).double(),
        _freeinit_grid_filter((4, 6, 8), 0.25, 0.25),
        atol=1e-6,
        rtol=0,
    )
    odd = gaussian_low_pass((7, 5, 9), 0.25, 0.25)
    assert odd[0, 0, 0] == 1.0  # the zero frequency keeps weight 1 at odd sizes
    assert _freeinit_grid_filter((7, 5, 9), 0.25, 0.25).max() < 0.99  # the upstream grid misses it
    # symmetric in +f / -f (a real input stays real) and falling off with frequency
    torch.testing.assert_close(odd, torch.roll(torch.flip(odd, dims=(0, 1, 2)), shifts=(1, 1, 1), dims=(0, 1, 2)))
    assert odd[1, 0, 0] < 1 and odd[0, 1, 0] > odd[0, 2, 0]
    assert not gaussian_low_pass((5, 4, 4), 0.0, 0.25).any()


def test_mixing_keeps_the_low_band_of_one_input_and_the_high_band_of_the_other():
    generator = torch.Generator().manual_seed(0)
    low, high = torch.randn(2, 3, 5, 6, 7, generator=generator), torch.randn(2, 3, 5, 6, 7, generator=generator)
    mask = gaussian_low_pass((5, 6, 7), 0.25, 0.25)
    mixed = mix_frequencies(low, high, mask)
    spectrum = torch.fft.fftn(mixed.double(), dim=(-3, -2, -1))
    expected = mask * torch.fft.fftn(low.double(), dim=(-3, -2, -1)) + (1 - mask) * torch.fft.fftn(
        high.double(), dim=(-3, -2, -1)
    )
    torch.testing.assert_close(spectrum, expected, atol=1e-4, rtol=0)
    torch.testing.assert_close(mixed.mean(dim=(-3, -2, -1)), low.mean(dim=(-3, -2, -1)), atol=1e-6, rtol=0)


def test_a_static_input_keeps_its_low_band():
    # a static latent video (the same frame at every time) has energy only at f_t = 0
    generator = torch.Generator().manual_seed(1)
    frame = torch.nn.functional.avg_pool2d(torch.randn(1, 4, 12, 12, generator=generator), 3, 1, 1)
    static = frame.unsqueeze(2).expand(-1, -1, 5, -1, -1).contiguous()
    noise = torch.randn(static.shape, generator=generator)
    out = frame_init_latents(noise, static, replace(CONFIG, sigma=1e-6))  # (almost) no noise on the static video
    mask = gaussian_low_pass((5, 12, 12), 0.25, 0.25).double()

    def low(x):
        return torch.fft.ifftn(mask * torch.fft.fftn(x.double(), dim=(-3, -2, -1)), dim=(-3, -2, -1)).real

    torch.testing.assert_close(low(out), low(low(static)) + low(noise - low(noise)), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.mean(dim=(-3, -2, -1)), static.mean(dim=(-3, -2, -1)), atol=1e-5, rtol=0)
    # the more static signal FrameInit keeps, the closer the result is to the static video
    far = (frame_init_latents(noise, static, CONFIG) - static).norm()
    assert (out - static).norm() < far < (noise - static).norm()


def test_zero_cutoff_is_plain_sampling_exactly(tiny_settings, tiny_layout, tiny_items):
    pipe = load_pipeline(tiny_settings.model, tiny_layout, "cpu")
    images = [load_image(it.image) for it in tiny_items[:2]]
    prompts = [it.caption for it in tiny_items[:2]]
    sampling = tiny_settings.sampling
    plain = generate_video(pipe, images, prompts, [0, 1], sampling)
    off = generate_video_frameinit(pipe, images, prompts, [0, 1], sampling, replace(CONFIG, spatial_cutoff=0.0))
    assert torch.equal(plain, off)
    on = generate_video_frameinit(pipe, images, prompts, [0, 1], sampling, CONFIG)
    assert on.shape == plain.shape and not torch.equal(on, plain)
    # the static latent video has the model's latent shape: one latent frame, then one per temporal factor
    static = static_latents(pipe, images, sampling.num_frames, sampling.height, sampling.width)
    factor = pipe.vae_scale_factor_temporal
    assert static.shape[2] == 1 + (sampling.num_frames - 1) // factor
    assert torch.allclose(static[:, :, 1], static[:, :, -1], atol=0.5)  # static over time, up to the causal start


def test_settings_refuse_bad_options():
    with pytest.raises(SettingsError, match="sigma"):
        FrameInitConfig(ddpm_timestep=850, sigma=1.5, spatial_cutoff=0.25, temporal_cutoff=0.25)
    with pytest.raises(SettingsError, match="spatial_cutoff"):
        FrameInitConfig(ddpm_timestep=850, sigma=None, spatial_cutoff=-0.1, temporal_cutoff=0.25)
    with pytest.raises(SettingsError, match="ddpm_timestep"):
        FrameInitConfig(ddpm_timestep=1000, sigma=None, spatial_cutoff=0.25, temporal_cutoff=0.25)
