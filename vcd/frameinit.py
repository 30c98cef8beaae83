"""FrameInit (ConsistI2V, Ren et al. 2024, Sec. 3.3) for flow-matching image-to-video models.

ConsistI2V keeps a generated video close to its first frame at no training cost by
changing only the initial noise: the first frame, repeated over time, is encoded into a
*static* latent video, noised to an early timestep, and its low spatio-temporal
frequencies replace those of the initial noise; sampling then runs as usual. Its code
follows FreeInit (Wu et al. 2023): a 3-D FFT over (T, H, W), a Gaussian low-pass with
normalised cut-offs ``d_s`` (space) and ``d_t`` (time), 0.25 each.

Three things differ for Wan, a rectified-flow model, and are choices of this module:

* **The noise level.** Flow matching noises as ``x = sigma * eps + (1 - sigma) * z``; at
  sigma = 1 no signal is left, so the DDPM timestep cannot be copied as sigma = t / 1000.
  :func:`snr_matched_sigma` picks the sigma whose signal-to-noise ratio equals that of
  ConsistI2V's timestep tau = 850 on its linear beta schedule (0.00085 to 0.012 over
  1,000 steps): ``(1 - sigma) / sigma = sqrt(abar / (1 - abar))``, sigma of about 0.916.
  ``frameinit.sigma`` overrides it.
* **Which channels.** Only the noise the transformer denoises is mixed (the pipeline's
  ``Conditions.latents``); Wan2.1's mask and condition channels, and Wan2.2's given first
  latent frame, are left as the pipeline builds them. The static video is encoded by the
  model's own causal VAE, so its first latent frame stands for one frame and the later
  ones for four (two for the toy), exactly like the latents it is mixed with.
* **A centred frequency grid.** ConsistI2V's and FreeInit's grid measures frequency as
  ``2 k / T - 1`` after ``fftshift``, which misses the zero frequency by ``1 / T`` when a
  size is odd (weight 0.85 instead of 1 on the mean at T = 7; Wan's latent frame counts are
  often odd). Here the filter is built on ``torch.fft.fftfreq`` in unshifted order: the
  zero frequency has weight 1 for every size, and for even sizes the weights equal theirs.

The scheduler and the rest of the sampler are unchanged (:func:`vcd.sampling.sample_latents`).
A cut-off of zero keeps no low band: the initial noise, and so the video, is exactly
plain sampling's (tested).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch

from .settings import FrameInitConfig, SamplingConfig

__all__ = [
    "CONSISTI2V_SCHEDULE",
    "snr_matched_sigma",
    "noise_sigma",
    "gaussian_low_pass",
    "mix_frequencies",
    "static_latents",
    "frame_init_latents",
    "generate_video_frameinit",
]

#: ConsistI2V's DDPM schedule (its inference config): linear betas, 1,000 steps.
CONSISTI2V_SCHEDULE = {"beta_start": 0.00085, "beta_end": 0.012, "num_train_timesteps": 1000}


def snr_matched_sigma(
    timestep: int,
    beta_start: float = CONSISTI2V_SCHEDULE["beta_start"],
    beta_end: float = CONSISTI2V_SCHEDULE["beta_end"],
    num_train_timesteps: int = CONSISTI2V_SCHEDULE["num_train_timesteps"],
) -> float:
    """The flow-matching sigma with the signal-to-noise ratio of DDPM ``timestep``.

    DDPM: ``x_t = sqrt(abar) z + sqrt(1 - abar) eps`` with abar the cumulative product of
    ``1 - beta`` (linear betas); flow matching: ``x = (1 - sigma) z + sigma eps``. Equal
    SNR means ``(1 - sigma) / sigma = sqrt(abar / (1 - abar))``.
    """
    if not 0 <= timestep < num_train_timesteps:
        raise ValueError(f"timestep must be in 0..{num_train_timesteps - 1}, got {timestep}")
    betas = torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float64)
    abar = float(torch.cumprod(1 - betas, dim=0)[timestep])
    return math.sqrt(1 - abar) / (math.sqrt(abar) + math.sqrt(1 - abar))


def noise_sigma(config: FrameInitConfig) -> float:
    """The sigma the static video is noised to: ``frameinit.sigma``, or the SNR match of
    ``frameinit.ddpm_timestep`` (:func:`snr_matched_sigma`)."""
    return float(config.sigma) if config.sigma is not None else snr_matched_sigma(config.ddpm_timestep)


def gaussian_low_pass(
    shape: Sequence[int], spatial_cutoff: float, temporal_cutoff: float, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """FreeInit's Gaussian low-pass over (T, H, W), in unshifted FFT order -> [T, H, W].

    ``exp(-((d_s / d_t * 2 f_t)^2 + (2 f_h)^2 + (2 f_w)^2) / (2 d_s^2))`` with ``f`` the
    frequency in cycles per sample (``fftfreq``, in [-0.5, 0.5)), so the normalised
    frequency ``2 f`` spans [-1, 1) as in FreeInit and the zero frequency is exactly 0
    whatever the size's parity (module docstring). A cut-off of zero gives all zeros.
    """
    frames, height, width = (int(s) for s in shape)
    if spatial_cutoff < 0 or temporal_cutoff < 0:
        raise ValueError(f"cut-offs must be >= 0, got d_s={spatial_cutoff}, d_t={temporal_cutoff}")
    if spatial_cutoff == 0 or temporal_cutoff == 0:
        return torch.zeros(frames, height, width, device=device)
    f_t, f_h, f_w = (2 * torch.fft.fftfreq(n, device=device, dtype=torch.float64) for n in (frames, height, width))
    distance = (
        ((spatial_cutoff / temporal_cutoff) * f_t).view(-1, 1, 1) ** 2
        + f_h.view(1, -1, 1) ** 2
        + f_w.view(1, 1, -1) ** 2
    )
    return torch.exp(-distance / (2 * spatial_cutoff**2)).float()


def mix_frequencies(low_source: torch.Tensor, high_source: torch.Tensor, low_pass: torch.Tensor) -> torch.Tensor:
    """The low band of ``low_source`` with the high band of ``high_source`` ([..., T, H, W]):
    ``ifft(L * fft(low) + (1 - L) * fft(high))``, real part, in the inputs' dtype."""
    if low_source.shape != high_source.shape:
        raise ValueError(f"shapes differ: {tuple(low_source.shape)} and {tuple(high_source.shape)}")
    dims = (-3, -2, -1)
    low = torch.fft.fftn(low_source.double(), dim=dims)
    high = torch.fft.fftn(high_source.double(), dim=dims)
    mask = low_pass.to(low_source.device, torch.float64)
    return torch.fft.ifftn(mask * low + (1 - mask) * high, dim=dims).real.to(low_source.dtype)


@torch.no_grad()
def static_latents(pipe, images: Sequence[Any], num_frames: int, height: int, width: int) -> torch.Tensor:
    """Each conditioning image repeated over ``num_frames`` frames, encoded by the
    pipeline's VAE and normalised as the pipeline normalises latents -> [B, z, T', H', W'].
    Repeated images (the seeds of one item) are encoded once."""
    from .sampling import _to_pil, _to_pixel_batch

    vae = pipe.vae
    pixels = _to_pixel_batch([_to_pil(im) for im in images], height, width, pipe)  # [B, 3, H, W] in [-1, 1]
    first = [next(a for a in range(b + 1) if torch.equal(pixels[a], pixels[b])) for b in range(len(pixels))]
    distinct = sorted(set(first))
    video = pixels[distinct].unsqueeze(2).expand(-1, -1, num_frames, -1, -1).to(pipe._execution_device, vae.dtype)
    z = vae.encode(video).latent_dist.mode().float()[[distinct.index(a) for a in first]]
    shape = (1, vae.config.z_dim, 1, 1, 1)
    mean = torch.tensor(vae.config.latents_mean, device=z.device).view(shape)
    std = torch.tensor(vae.config.latents_std, device=z.device).view(shape)
    return (z - mean) / std


def frame_init_latents(noise: torch.Tensor, static: torch.Tensor, config: FrameInitConfig) -> torch.Tensor:
    """FrameInit's initial latents: the low band of the static video noised to sigma,
    ``sigma * noise + (1 - sigma) * static``, with the high band of ``noise`` (the same
    noise, as ConsistI2V noises with the sampler's own initial noise)."""
    if noise.shape != static.shape:
        raise ValueError(f"the static latent video {tuple(static.shape)} does not match the noise {tuple(noise.shape)}")
    if config.spatial_cutoff == 0 or config.temporal_cutoff == 0:
        return noise  # no low band to take: plain sampling's noise, bit for bit
    sigma = noise_sigma(config)
    noised = sigma * noise + (1 - sigma) * static
    low_pass = gaussian_low_pass(noise.shape[-3:], config.spatial_cutoff, config.temporal_cutoff, noise.device)
    return mix_frequencies(noised, noise, low_pass)


@torch.no_grad()
def generate_video_frameinit(
    pipe,
    images: Sequence[Any],
    prompts: Sequence[str],
    seeds: Sequence[int],
    sampling: SamplingConfig,
    config: FrameInitConfig,
) -> torch.Tensor:
    """:func:`vcd.sampling.generate_video` with FrameInit's initial latents -> [B, N, 3, H, W].

    The same steps, in the same order, with one more in between: the conditions (and
    each seed's noise) exactly as plain sampling builds them, then the noise replaced by
    :func:`frame_init_latents`, then the unchanged denoising loop and decoder.
    """
    from .sampling import decode_frames, encode_conditions, sample_latents

    generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
    cond = encode_conditions(
        pipe,
        images,
        prompts,
        sampling.num_frames,
        sampling.height,
        sampling.width,
        generators,
        sampling.guidance_scale,
        max_sequence_length=sampling.max_sequence_length,
    )
    static = static_latents(pipe, images, sampling.num_frames, sampling.height, sampling.width)
    cond = replace(cond, latents=frame_init_latents(cond.latents, static.to(cond.latents.device), config))
    latents = sample_latents(pipe, cond, sampling.num_inference_steps, sampling.guidance_scale, grad_steps=0)
    return decode_frames(pipe, latents.to(pipe._execution_device))
