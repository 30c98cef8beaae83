"""Weight-free, VBench-style metrics of one generated video: pure functions.

The official VBench-I2V dimensions need pretrained networks (DINO, DreamSim, RAFT,
AMT, CLIP, MUSIQ, CoTracker) that cannot be downloaded here; the paper profile runs
the official code in its own environment (``scripts/official/``, parsed by
:mod:`vcd.official`). The default profile reports these *named* stand-ins instead,
each following VBench's formula (Huang et al., ``Vchitect/VBench`` at its current
``master``) with a weight-free component in place of the network:

=============================  ===============================================================
``temporal_flickering``        VBench's formula exactly (``vbench/temporal_flickering.py``):
                               (255 - mean_t MAE(x_t, x_{t+1})) / 255
``motion_smoothness_linear``   VBench's drop-odd-frames-and-interpolate score
                               (``vbench/motion_smoothness.py``) with a linear blend of the
                               neighbours as interpolator (VBench: AMT-S)
``dynamic_degree_farneback``   VBench's rule (``vbench/dynamic_degree.py``: per frame pair the
                               mean of the top 5 % flow magnitudes; dynamic when at least
                               round(4 T / 16) pairs exceed 6 min(H, W) / 256) with OpenCV's
                               Farneback flow (VBench: RAFT); per video 0/1
``flow_magnitude_farneback``   the continuous quantity behind dynamic degree: the mean over frame
                               pairs of that top-5 % magnitude, rescaled to a 256-px short side
                               (where VBench's threshold is 6 px); it keeps measuring motion
                               where the binary rule saturates
``i2v_subject_hog``            VBench-I2V's i2v_subject (``vbench2_beta_i2v/i2v_subject.py``,
                               weights of July 2024): 0.4 max_i cos+(image, x_i) + 0.3 mean
                               cos+(x_{i-1}, x_i) + 0.3 min cos+(x_{i-1}, x_i), over HOG +
                               colour-layout descriptors (VBench: DINO ViT-B/16)
``i2v_conformity_hog``         mean_i cos+(image, x_i) over the same descriptors: the
                               conformity term of i2v_subject averaged instead of maxed
``subject_consistency_hog``    VBench's subject_consistency (``vbench/subject_consistency.py``):
                               mean over i >= 2 of (cos+(x_{i-1}, x_i) + cos+(x_1, x_i)) / 2
``sharpness_laplacian``        mean variance of the Laplacian of each grayscale frame (x 1e-3), a
                               weight-free image-quality proxy standing in for imaging_quality
                               (MUSIQ); meaningful only relative to other methods
``ssim_to_cond_aligned``       mean SSIM of frame i and the conditioning image warped onto it
                               by a global affine alignment (OpenCV ECC), so a camera pan is
                               not counted as drift
=============================  ===============================================================

cos+ is max(0, cosine), as in VBench. HOG/colour descriptors are classical features
with no learned weights, independent of the VGG19 that VCD uses: a claim about
consistency should not be measured by the network the reward was built on.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .frames import to_tensor

__all__ = [
    "I2V_SUBJECT_WEIGHTS",
    "ssim",
    "temporal_flickering",
    "motion_smoothness_linear",
    "top5_flow_magnitude",
    "dynamic_threshold",
    "dynamic_pairs_needed",
    "is_dynamic",
    "dynamic_degree_farneback",
    "flow_magnitude_256",
    "frame_descriptors",
    "cos_plus",
    "i2v_subject",
    "subject_consistency",
    "aligned_ssim",
    "sharpness_laplacian",
    "score_video",
]

#: i2v_subject's weights of (max conformity, mean consecutive, min consecutive); VBench's
#: current values (the March 2024 beta used 0.5 / 0.5 / 0).
I2V_SUBJECT_WEIGHTS: tuple[float, float, float] = (0.4, 0.3, 0.3)


def _gaussian_taps(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) of RGB images in [0, 1], [B, 3, H, W] -> [B].

    Gaussian window (11, sigma 1.5), K1 = 0.01, K2 = 0.03, computed per channel on
    'valid' windows and averaged -- the standard definition (as in scikit-image with
    ``gaussian_weights=True``), written in torch so it batches and runs on GPU. The
    Gaussian is applied as two 1-D passes (separable; much faster on the CPU).
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim needs two [B, C, H, W] tensors of one shape; got {tuple(x.shape)} and {tuple(y.shape)}")
    size = min(window, x.shape[-2], x.shape[-1])
    taps = _gaussian_taps(size, sigma).to(x.device)
    x, y = x.float(), y.float()
    batch, channels = x.shape[:2]

    def blur(t: torch.Tensor) -> torch.Tensor:
        t = t.reshape(-1, 1, *t.shape[-2:])
        t = F.conv2d(t, taps.view(1, 1, 1, -1))
        t = F.conv2d(t, taps.view(1, 1, -1, 1))
        return t.view(batch, channels, *t.shape[-2:])

    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x**2
    syy = blur(y * y) - mu_y**2
    sxy = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return ssim_map.flatten(1).mean(dim=1)


# ---------------------------------------------------------------------------- temporal
def temporal_flickering(frames: np.ndarray) -> float:
    """VBench's temporal flickering: (255 - mean absolute difference of consecutive
    frames) / 255, frames uint8 [T, H, W, 3]."""
    f = frames.astype(np.float32)
    return float((255.0 - np.abs(f[1:] - f[:-1]).mean()) / 255.0)


def motion_smoothness_linear(frames: np.ndarray) -> float:
    """VBench's motion smoothness with a linear interpolator: drop the odd frames,
    re-create each from its two even neighbours by averaging, score (255 - MAE) / 255
    over the re-created frames. NaN for fewer than 3 frames."""
    f = frames.astype(np.float32)
    if f.shape[0] < 3:
        return float("nan")
    odd = np.arange(1, f.shape[0] - 1, 2)
    predicted = (f[odd - 1] + f[odd + 1]) / 2
    return float((255.0 - np.abs(predicted - f[odd]).mean()) / 255.0)


# ---------------------------------------------------------------------------- motion
def top5_flow_magnitude(flow: np.ndarray) -> float:
    """VBench's per-pair motion score: the mean of the largest 5 % of the optical-flow
    magnitudes of a [H, W, 2] flow field (``DynamicDegree.get_score``)."""
    rad = np.sqrt((flow**2).sum(-1)).ravel()
    cut = max(1, int(rad.size * 0.05))
    return float(np.sort(rad)[::-1][:cut].mean())


def dynamic_threshold(height: int, width: int) -> float:
    """VBench's motion threshold in px: 6 at a 256-px short side, proportional to it."""
    return 6.0 * min(height, width) / 256.0


def dynamic_pairs_needed(num_frames: int) -> int:
    """How many frame pairs must exceed the threshold: round(4 T / 16) (VBench's count
    rule, with Python's rounding as VBench uses it)."""
    return round(4 * num_frames / 16.0)


def is_dynamic(pair_scores: list[float], num_frames: int, height: int, width: int) -> bool:
    """VBench's dynamic-degree decision from the per-pair scores of one video."""
    threshold = dynamic_threshold(height, width)
    return sum(score > threshold for score in pair_scores) >= dynamic_pairs_needed(num_frames)


def _farneback(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    import cv2

    a = cv2.cvtColor(prev, cv2.COLOR_RGB2GRAY)
    b = cv2.cvtColor(cur, cv2.COLOR_RGB2GRAY)
    return cv2.calcOpticalFlowFarneback(
        a, b, None, pyr_scale=0.5, levels=3, winsize=9, iterations=3, poly_n=5, poly_sigma=1.1, flags=0
    )


def dynamic_degree_farneback(frames: np.ndarray) -> tuple[bool, list[float]]:
    """VBench's dynamic-degree decision for one video (uint8 [T, H, W, 3]) with
    Farneback flow in place of RAFT, and the per-pair scores."""
    num_frames, height, width = frames.shape[:3]
    scores = [top5_flow_magnitude(_farneback(frames[t], frames[t + 1])) for t in range(num_frames - 1)]
    return is_dynamic(scores, num_frames, height, width), scores


def flow_magnitude_256(pair_scores: list[float], height: int, width: int) -> float:
    """The mean per-pair score rescaled to a 256-px short side (VBench's threshold scale)."""
    return float(np.mean(pair_scores) * 256.0 / min(height, width))


# ---------------------------------------------------------------------------- consistency
def frame_descriptors(frames: np.ndarray) -> np.ndarray:
    """Weight-free descriptors [T, D]: HOG of the grayscale frame (9 orientations, 8 px
    cells, 2x2-cell blocks) and the mean colour of a 4x4 grid, each L2-normalised,
    concatenated with equal weight and renormalised."""
    from skimage.feature import hog

    out = []
    for frame in frames:
        gray = frame.astype(np.float32).mean(axis=2) / 255.0
        g = hog(gray, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), feature_vector=True)
        h, w = frame.shape[:2]
        crop = frame[: h - h % 4, : w - w % 4].astype(np.float32)
        grid = crop.reshape(4, (h - h % 4) // 4, 4, (w - w % 4) // 4, 3).mean(axis=(1, 3))
        c = grid.ravel() / 255.0
        parts = [v / (np.linalg.norm(v) + 1e-8) for v in (g, c)]
        d = np.concatenate(parts)
        out.append(d / (np.linalg.norm(d) + 1e-8))
    return np.stack(out)


def cos_plus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """max(0, cosine) of unit-norm descriptors along the last axis (VBench's clipping)."""
    return np.maximum(0.0, (a * b).sum(-1))


def i2v_subject(
    cond_desc: np.ndarray, frame_desc: np.ndarray, weights: tuple[float, float, float] = I2V_SUBJECT_WEIGHTS
) -> tuple[float, float]:
    """VBench-I2V's i2v_subject for one video from unit-norm descriptors of the
    conditioning image ([D]) and the frames ([T, D]): w_max max_i cos+(image, x_i) +
    w_mean mean_i cos+(x_{i-1}, x_i) + w_min min_i cos+(x_{i-1}, x_i); and the mean
    conformity mean_i cos+(image, x_i)."""
    conformity = cos_plus(cond_desc[None], frame_desc)
    consecutive = cos_plus(frame_desc[1:], frame_desc[:-1])
    w_max, w_mean, w_min = weights
    score = w_max * conformity.max() + w_mean * consecutive.mean() + w_min * consecutive.min()
    return float(score), float(conformity.mean())


def subject_consistency(frame_desc: np.ndarray) -> float:
    """VBench's subject consistency for one video: mean over frames i >= 2 of
    (cos+(x_{i-1}, x_i) + cos+(x_1, x_i)) / 2."""
    prev = cos_plus(frame_desc[1:], frame_desc[:-1])
    first = cos_plus(frame_desc[1:], frame_desc[:1])
    return float(((prev + first) / 2).mean())


def aligned_ssim(cond: np.ndarray, frames: np.ndarray) -> float:
    """Mean over frames of SSIM(frame, cond warped onto the frame by a global affine
    transform) on the region the warp covers. The translation comes from phase
    correlation (robust to large pans), then OpenCV's ECC refines an affine warp (zoom,
    small rotation); identity-plus-translation when ECC does not converge. Camera
    motion is factored out, and what remains is appearance change."""
    import cv2

    template = cv2.cvtColor(cond, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    h, w = template.shape
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-3)
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    scores = []
    for frame in frames:
        target = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        (dx, dy), _ = cv2.phaseCorrelate(template, target, window)  # frame(x) ~ cond(x - d)
        initial = np.array([[1, 0, -dx], [0, 1, -dy]], dtype=np.float32)
        try:
            _, warp = cv2.findTransformECC(target, template, initial.copy(), cv2.MOTION_AFFINE, criteria, None, 3)
        except cv2.error:
            warp = initial
        flags = cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP
        warped = cv2.warpAffine(cond, warp, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT)
        coverage = cv2.warpAffine(
            np.ones((h, w), np.float32), warp, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT
        )
        ys, xs = np.where(coverage > 0.999)
        if ys.size == 0 or np.ptp(ys) < 10 or np.ptp(xs) < 10:
            scores.append(float("nan"))
            continue
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        a = to_tensor(warped[y0:y1, x0:x1]).unsqueeze(0)
        b = to_tensor(frame[y0:y1, x0:x1]).unsqueeze(0)
        scores.append(float(ssim(a, b)))
    return float(np.nanmean(scores)) if not all(math.isnan(s) for s in scores) else float("nan")


def sharpness_laplacian(frames: np.ndarray) -> float:
    """Mean over frames of the variance of the 4-neighbour Laplacian (8-bit gray) / 1000."""
    import cv2

    return float(
        np.mean([cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for f in frames]) / 1000.0
    )


# ---------------------------------------------------------------------------- one video
def score_video(frames: np.ndarray, cond: np.ndarray) -> dict[str, float]:
    """Every weight-free metric of one video: frames uint8 [T, H, W, 3], conditioning
    image uint8 [H, W, 3] at the video's size. Keys are ``vcd.columns.METRICS`` names
    (all but ``vcd``, which needs the metric and is computed per batch, and the fidelity
    measures of :mod:`vcd.fidelity`, which also need the prompt)."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames [T, H, W, 3], got {frames.shape}")
    if frames.shape[0] < 2:
        raise ValueError(f"video has {frames.shape[0]} frame(s); at least 2 are needed")
    if frames.shape[1:3] != cond.shape[:2]:
        raise ValueError(
            f"video frames are {frames.shape[2]}x{frames.shape[1]} but the conditioning image is "
            f"{cond.shape[1]}x{cond.shape[0]}"
        )
    height, width = frames.shape[1:3]
    desc = frame_descriptors(frames)
    cond_desc = frame_descriptors(cond[None])[0]
    subject, conformity = i2v_subject(cond_desc, desc)
    dynamic, flow_scores = dynamic_degree_farneback(frames)
    return {
        "i2v_subject_hog": subject,
        "i2v_conformity_hog": conformity,
        "ssim_to_cond_aligned": aligned_ssim(cond, frames),
        "subject_consistency_hog": subject_consistency(desc),
        "temporal_flickering": temporal_flickering(frames),
        "motion_smoothness_linear": motion_smoothness_linear(frames),
        "dynamic_degree_farneback": float(dynamic),
        "flow_magnitude_farneback": flow_magnitude_256(flow_scores, height, width),
        "sharpness_laplacian": sharpness_laplacian(frames),
    }
