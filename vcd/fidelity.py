"""Is a generated video an image-to-video video? Weight-free fidelity measures.

A real image-to-video model copies its conditioning image into frame 1, keeps its
colours, moves the way the prompt says and then drifts, gradually (the premise of
Sec. 1 and Fig. 1 of the paper: drift *from* a faithful start). These measures check
each of those on one video, at the video's resolution, against the conditioning image
as the pipeline received it:

==========================  ==================================================================
``ssim_frame1_to_cond``     SSIM (:func:`vcd.video_metrics.ssim`) of frame 1 and the image
``ssim_last_to_cond``       the same for the last frame: how much of the image is left
``chroma_error_frame1``     mean absolute difference of the chroma (each channel minus the
                            pixel's grey level, 0-255) of frame 1 and of the image: a
                            greyscale image must stay greyscale
``flow_follows_prompt``     1 when the dominant direction of the mean optical flow (OpenCV
                            Farneback) is the one the prompt names ("camera pans left",
                            "tilts down", "... moves right"), 0 when not; NaN for a prompt
                            that names no direction
``periodic_artifacts``      the share of each frame's spectral power (grey level, Hann
                            window, DC excluded) in isolated peaks -- bins ten times
                            stronger than the median of their 7x7 neighbourhood -- averaged
                            over frames: regular stripes and grids, the pattern a reward
                            can add to please its encoder (reward hacking), score high;
                            a photograph scores near 0
==========================  ==================================================================

Directions are those of the image content in the frame: a camera that pans left moves
the content right (the convention of the toy's training videos, :mod:`vcd.toy`).
"""

from __future__ import annotations

import re

import numpy as np

__all__ = [
    "prompted_direction",
    "mean_flow",
    "follows_direction",
    "chroma_error",
    "periodic_artifacts",
    "score_fidelity",
    "vae_reconstruction_ssim",
]

#: phrase -> (dx, dy) of the content in the frame (image y grows downwards)
_CAMERA = {"left": (1, 0), "right": (-1, 0), "up": (0, 1), "down": (0, -1)}
_OBJECT = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
_CAMERA_PHRASE = re.compile(r"\b(?:pans|pan|panning|tilts|tilt|tilting)\s+(left|right|up|down)\b")
_OBJECT_PHRASE = re.compile(r"\b(?:moves|move|moving|slides|drifts)\s+(left|right|up|down)\b")


def prompted_direction(prompt: str) -> tuple[int, int] | None:
    """The content motion a prompt asks for, as a unit (dx, dy), or None.

    >>> prompted_direction("a cup on a table, camera slowly pans right")
    (-1, 0)
    >>> prompted_direction("stained tissue, slide moves left")
    (-1, 0)
    """
    text = prompt.lower()
    camera = _CAMERA_PHRASE.search(text)
    if camera:
        return _CAMERA[camera.group(1)]
    moved = _OBJECT_PHRASE.search(text)
    if moved:
        return _OBJECT[moved.group(1)]
    return None


def mean_flow(frames: np.ndarray) -> tuple[float, float]:
    """Mean optical flow (dx, dy) in px per frame pair over a video (uint8 [T, H, W, 3])."""
    from .video_metrics import _farneback

    flows = [_farneback(frames[t], frames[t + 1]).reshape(-1, 2).mean(axis=0) for t in range(frames.shape[0] - 1)]
    dx, dy = np.mean(flows, axis=0)
    return float(dx), float(dy)


def follows_direction(flow: tuple[float, float], expected: tuple[int, int]) -> bool:
    """Whether the flow's dominant axis is the expected one, with the expected sign."""
    along = flow[0] * expected[0] + flow[1] * expected[1]
    across = abs(flow[0] * expected[1] - flow[1] * expected[0])
    return bool(along > 0 and along > across)


def _chroma(image: np.ndarray) -> np.ndarray:
    rgb = image.astype(np.float32)
    return rgb - rgb.mean(axis=-1, keepdims=True)


def chroma_error(frame: np.ndarray, cond: np.ndarray) -> float:
    """Mean absolute chroma difference (0-255) of two uint8 RGB images of one size."""
    return float(np.abs(_chroma(frame) - _chroma(cond)).mean())


def periodic_artifacts(frames: np.ndarray, peak_ratio: float = 10.0, dc_radius: int = 3) -> float:
    """Share of spectral power in isolated peaks, averaged over frames (uint8 [T, H, W, 3]).

    Each grey frame, mean removed and Hann-windowed (so the image border adds no
    spectral cross), is transformed; a bin is a peak when its power exceeds
    ``peak_ratio`` times the median of its 7x7 neighbourhood (circular) and it lies more
    than ``dc_radius`` bins from DC. Natural images have smooth spectra; periodic
    patterns put their power in a few such bins.
    """
    from scipy.ndimage import median_filter

    gray = frames.astype(np.float32).mean(axis=-1)
    height, width = gray.shape[1:]
    window = np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)
    fy = np.fft.fftshift(np.fft.fftfreq(height)) * height
    fx = np.fft.fftshift(np.fft.fftfreq(width)) * width
    away_from_dc = np.hypot(*np.meshgrid(fx, fy)) > dc_radius
    shares = []
    for frame in gray:
        power = np.abs(np.fft.fftshift(np.fft.fft2((frame - frame.mean()) * window))) ** 2
        peaks = (power > peak_ratio * median_filter(power, size=7, mode="wrap")) & away_from_dc
        total = power[away_from_dc].sum()
        shares.append(float(power[peaks].sum() / total) if total > 0 else 0.0)
    return float(np.mean(shares))


def score_fidelity(frames: np.ndarray, cond: np.ndarray, prompt: str) -> dict[str, float]:
    """The five measures of the module docstring for one video (frames uint8 [T, H, W, 3],
    the conditioning image uint8 [H, W, 3] at the video's size)."""
    import torch

    from .frames import to_tensor
    from .video_metrics import ssim

    if frames.shape[1:3] != cond.shape[:2]:
        raise ValueError(f"frames are {frames.shape[2]}x{frames.shape[1]}, the image {cond.shape[1]}x{cond.shape[0]}")
    ends = torch.stack([to_tensor(frames[0]), to_tensor(frames[-1])])
    image = to_tensor(cond).unsqueeze(0).expand_as(ends)
    first, last = ssim(ends, image).tolist()
    expected = prompted_direction(prompt)
    return {
        "ssim_frame1_to_cond": first,
        "ssim_last_to_cond": last,
        "chroma_error_frame1": chroma_error(frames[0], cond),
        "flow_follows_prompt": float("nan")
        if expected is None
        else float(follows_direction(mean_flow(frames), expected)),
        "periodic_artifacts": periodic_artifacts(frames),
    }


def vae_reconstruction_ssim(vae, images: np.ndarray | list) -> list[float]:
    """SSIM of each image (uint8 [H, W, 3], at the video's size) and its reconstruction by
    ``vae`` (a diffusers ``AutoencoderKLWan``: encode as a one-frame video, decode the
    posterior mean) -- the upper bound of ``ssim_frame1_to_cond`` for a model whose
    frame 1 is decoded from the latents of the image."""
    import torch

    from .frames import to_tensor
    from .video_metrics import ssim

    device = next(vae.parameters()).device
    dtype = next(vae.parameters()).dtype
    x = torch.stack([to_tensor(np.asarray(im)) for im in images]).to(device)
    with torch.no_grad():
        latents = vae.encode((x * 2 - 1).unsqueeze(2).to(dtype)).latent_dist.mean
        recon = (vae.decode(latents).sample[:, :, 0].float().clamp(-1, 1) + 1) / 2
    return ssim(recon, x.float()).tolist()
