"""Evaluation of generated videos with weight-free, VBench-I2V-style metrics.

The official VBench-I2V dimensions need pretrained networks (DINO, DreamSim, RAFT,
AMT, CLIP, MUSIQ, CoTracker) that cannot be downloaded here; the paper profile runs
the official code in its own environment (``scripts/``, parsed by :mod:`vcd.official`).
The default profile reports these *named* stand-ins instead, each following VBench's
formula with a weight-free component (VBench, Huang et al.; ``Vchitect/VBench``):

=============================  ===============================================================
``temporal_flickering``        VBench's formula exactly: (255 - mean |x_t - x_{t+1}|) / 255
``motion_smoothness_linear``   VBench's drop-odd-frames-and-interpolate score with a linear
                               blend of the neighbours as interpolator (VBench: AMT-S)
``dynamic_degree_farneback``   VBench's rule (top-5 % flow magnitude per frame pair, threshold
                               6 min(H, W) / 256, count round(4 N / 16)) with OpenCV's Farneback
                               flow (VBench: RAFT); per video 0/1, the mean is the dynamic share
``flow_magnitude_farneback``   the continuous quantity behind dynamic degree: the mean over frame
                               pairs of the top-5 % Farneback flow magnitude, rescaled to a
                               256-px short side (VBench's threshold is 6 on that scale); it
                               keeps measuring motion where the binary rule saturates
``i2v_subject_hog``            VBench-I2V's i2v_subject formula, 0.4 max_i cos+(image, x_i) +
                               0.3 mean cos+(x_{i-1}, x_i) + 0.3 min cos+(x_{i-1}, x_i), over
                               HOG + colour-layout descriptors (VBench: DINO ViT-B/16)
``i2v_conformity_hog``         mean_i cos+(image, x_i) over the same descriptors: the
                               conformity term of i2v_subject averaged instead of maxed
``subject_consistency_hog``    VBench's subject_consistency formula, mean over i >= 2 of
                               (cos+(x_{i-1}, x_i) + cos+(x_1, x_i)) / 2, same descriptors
``sharpness_laplacian``        mean variance of the Laplacian of each grayscale frame (x 1e-3), a
                               weight-free image-quality proxy standing in for imaging_quality
                               (MUSIQ); meaningful only relative to other methods
``ssim_to_cond_aligned``       mean SSIM of frame i and the conditioning image warped onto it
                               by a global affine alignment (OpenCV ECC), so a camera pan is
                               not counted as drift
``vcd``                        VCD (Eq. 2) averaged over i = 2..N -- reported, but the
                               fine-tuning optimises it, so no claim rests on it alone
=============================  ===============================================================

HOG/colour descriptors are classical features with no learned weights, independent of
the VGG19 that VCD uses (a claim about consistency should not be measured by the
network the reward was built on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .metric import VideoConsistencyDistance

__all__ = [
    "ssim",
    "per_frame_drift",
    "METRICS",
    "MetricInfo",
    "metric_info",
    "temporal_flickering",
    "motion_smoothness_linear",
    "dynamic_degree_farneback",
    "frame_descriptors",
    "i2v_subject",
    "subject_consistency",
    "aligned_ssim",
    "evaluate_video",
    "video_name",
    "generate_method_videos",
    "score_videos",
    "evaluate_method",
]


def _gaussian_taps(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) of RGB images in [0, 1], [B, 3, H, W] -> [B].

    Gaussian window (11, sigma 1.5), K1 = 0.01, K2 = 0.03, computed per channel on
    'valid' windows and averaged -- the standard definition (as in scikit-image with
    ``gaussian_weights=True``), written in torch so it batches and runs on GPU. The
    Gaussian is applied as two 1-D passes (100x faster on CPU than a 2-D depthwise conv).
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


@torch.no_grad()
def per_frame_drift(
    videos: torch.Tensor,
    cond_images: torch.Tensor,
    metric: VideoConsistencyDistance,
    labels: Sequence[Mapping[str, object]] | None = None,
) -> pd.DataFrame:
    """Drift of every frame of videos [B, N, 3, H, W] in [0, 1]: unweighted VCD to the
    first frame, and SSIM (a measure with no learned weights) to the first frame and to
    the conditioning image ``cond_images`` [B, 3, H, W].

    One row per (video, frame i = 2..N); ``labels[b]`` adds columns for video b.
    """
    batch, num_frames = videos.shape[:2]
    vcd_first = metric.per_frame(videos)  # [B, N-1]
    rows = []
    for b in range(batch):
        frames = videos[b, 1:].contiguous()
        first = videos[b, :1].expand_as(frames).contiguous()
        cond = cond_images[b : b + 1].to(frames.dtype).expand_as(frames).contiguous()
        ssim_first, ssim_cond = ssim(first, frames), ssim(cond, frames)
        for j in range(num_frames - 1):
            row = dict(labels[b]) if labels is not None else {"video": b}
            row.update({"frame": j + 2, "vcd_to_first": float(vcd_first[b, j]),
                        "ssim_to_first": float(ssim_first[j]), "ssim_to_cond": float(ssim_cond[j])})
            rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- VBench-style metrics
@dataclass(frozen=True)
class MetricInfo:
    label: str
    family: str  # "i2v consistency", "temporal consistency", "motion", "quality", "drift"
    higher_is_better: bool
    stand_in_for: str  # the official VBench dimension it follows, with its original model
    percent: bool = True  # a score in [0, 1], shown x100 like the paper's tables


METRICS: dict[str, MetricInfo] = {
    "i2v_subject_hog": MetricInfo("I2V Subject (HOG+colour)", "i2v consistency", True, "VBench-I2V i2v_subject (DINO)"),
    "i2v_conformity_hog": MetricInfo("I2V conformity (HOG+colour)", "i2v consistency", True, "i2v_subject's conformity term, averaged"),
    "ssim_to_cond_aligned": MetricInfo("SSIM to cond. (aligned)", "i2v consistency", True, "structural measure (not in VBench)"),
    "subject_consistency_hog": MetricInfo("Subject Consistency (HOG+colour)", "temporal consistency", True, "VBench subject_consistency (DINO)"),
    "temporal_flickering": MetricInfo("Temporal Flickering", "temporal consistency", True, "VBench temporal_flickering (exact)"),
    "motion_smoothness_linear": MetricInfo("Motion Smoothness (linear interp.)", "motion", True, "VBench motion_smoothness (AMT-S)"),
    "dynamic_degree_farneback": MetricInfo("Dynamic Degree (Farneback)", "motion", True, "VBench dynamic_degree (RAFT)"),
    "flow_magnitude_farneback": MetricInfo("Motion magnitude (Farneback)", "motion", True, "dynamic_degree's per-pair flow score, averaged", percent=False),
    "sharpness_laplacian": MetricInfo("Sharpness (Laplacian var.)", "quality", True, "imaging_quality (MUSIQ); relative only", percent=False),
    "vcd": MetricInfo("VCD (Eq. 2)", "drift", False, "the fine-tuning objective itself", percent=False),
}


def metric_info(name: str) -> MetricInfo:
    """Display information of a per-video column: a default-profile metric or an
    official VBench / VideoScore column (``vcd.official``)."""
    if name in METRICS:
        return METRICS[name]
    from .official import official_metrics

    extra = official_metrics()
    if name in extra:
        return extra[name]
    raise KeyError(f"unknown metric column {name!r}")


def temporal_flickering(frames: np.ndarray) -> float:
    """VBench's temporal flickering: (255 - mean absolute difference of consecutive
    frames) / 255, frames uint8 [T, H, W, 3]."""
    f = frames.astype(np.float32)
    return float((255.0 - np.abs(f[1:] - f[:-1]).mean()) / 255.0)


def motion_smoothness_linear(frames: np.ndarray) -> float:
    """VBench's motion smoothness with a linear interpolator: drop the odd frames,
    re-create each from its two even neighbours by averaging, score (255 - MAE) / 255
    over the re-created frames."""
    f = frames.astype(np.float32)
    if f.shape[0] < 3:
        return float("nan")
    odd = np.arange(1, f.shape[0] - 1, 2)
    predicted = (f[odd - 1] + f[odd + 1]) / 2
    return float((255.0 - np.abs(predicted - f[odd]).mean()) / 255.0)


def _flow_top5(prev: np.ndarray, cur: np.ndarray) -> float:
    import cv2

    a = cv2.cvtColor(prev, cv2.COLOR_RGB2GRAY)
    b = cv2.cvtColor(cur, cv2.COLOR_RGB2GRAY)
    flow = cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=3, winsize=9, iterations=3, poly_n=5,
                                        poly_sigma=1.1, flags=0)
    rad = np.sqrt((flow**2).sum(-1)).ravel()
    cut = max(1, int(rad.size * 0.05))
    return float(np.sort(rad)[::-1][:cut].mean())


def dynamic_degree_farneback(frames: np.ndarray) -> tuple[bool, list[float]]:
    """VBench's dynamic-degree decision for one video with Farneback flow.

    Per consecutive frame pair, the mean of the top 5 % flow magnitudes; the video is
    dynamic when at least round(4 N / 16) pairs exceed 6 min(H, W) / 256 px.
    """
    h, w = frames.shape[1:3]
    threshold = 6.0 * min(h, w) / 256.0
    needed = round(4 * frames.shape[0] / 16.0)
    scores = [_flow_top5(frames[t], frames[t + 1]) for t in range(frames.shape[0] - 1)]
    return sum(s > threshold for s in scores) >= needed, scores


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
        grid = frame[: h - h % 4, : w - w % 4].astype(np.float32).reshape(4, (h - h % 4) // 4, 4, (w - w % 4) // 4, 3).mean(axis=(1, 3))
        c = grid.ravel() / 255.0
        parts = [v / (np.linalg.norm(v) + 1e-8) for v in (g, c)]
        d = np.concatenate(parts)
        out.append(d / (np.linalg.norm(d) + 1e-8))
    return np.stack(out)


def _cos_plus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, (a * b).sum(-1))


def i2v_subject(cond_desc: np.ndarray, frame_desc: np.ndarray, weights: tuple[float, float, float] = (0.4, 0.3, 0.3)) -> tuple[float, float]:
    """VBench-I2V's i2v_subject for one video (current weights 0.4 / 0.3 / 0.3; the
    2024 version used 0.5 / 0.5 / 0), and the mean conformity to the image."""
    conformity = _cos_plus(cond_desc[None], frame_desc)
    consecutive = _cos_plus(frame_desc[1:], frame_desc[:-1])
    w_max, w_mean, w_min = weights
    score = w_max * conformity.max() + w_mean * consecutive.mean() + w_min * consecutive.min()
    return float(score), float(conformity.mean())


def subject_consistency(frame_desc: np.ndarray) -> float:
    """VBench's subject consistency for one video: mean over frames i >= 2 of
    (cos+(x_{i-1}, x_i) + cos+(x_1, x_i)) / 2."""
    prev = _cos_plus(frame_desc[1:], frame_desc[:-1])
    first = _cos_plus(frame_desc[1:], frame_desc[:1])
    return float(((prev + first) / 2).mean())


def aligned_ssim(cond: np.ndarray, frames: np.ndarray) -> float:
    """Mean over frames of SSIM(frame, cond warped onto the frame by a global affine
    transform) on the region the warp covers. The transform is estimated by OpenCV's
    ECC maximisation on grayscale (identity when it does not converge), so camera
    motion is factored out and what remains is appearance change. Translation is
    initialised by phase correlation, then ECC refines an affine warp."""
    import cv2

    template = cv2.cvtColor(cond, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    h, w = template.shape
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-3)
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    scores = []
    for frame in frames:
        target = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        # Phase correlation gives the translation (robust to large pans); ECC refines
        # it to an affine warp (zoom, small rotation).
        (dx, dy), _ = cv2.phaseCorrelate(template, target, window)  # frame(x) ~ cond(x - d)
        initial = np.array([[1, 0, -dx], [0, 1, -dy]], dtype=np.float32)
        try:
            _, warp = cv2.findTransformECC(target, template, initial.copy(), cv2.MOTION_AFFINE, criteria, None, 3)
        except cv2.error:
            warp = initial
        flags = cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP
        warped = cv2.warpAffine(cond, warp, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT)
        valid = cv2.warpAffine(np.ones((h, w), np.float32), warp, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT) > 0.999
        ys, xs = np.where(valid)
        if ys.size == 0 or np.ptp(ys) < 10 or np.ptp(xs) < 10:
            scores.append(float("nan"))
            continue
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        a = torch.from_numpy(np.ascontiguousarray(warped[y0:y1, x0:x1])).permute(2, 0, 1).float().unsqueeze(0) / 255
        b = torch.from_numpy(np.ascontiguousarray(frame[y0:y1, x0:x1])).permute(2, 0, 1).float().unsqueeze(0) / 255
        scores.append(float(ssim(a, b)))
    return float(np.nanmean(scores)) if not all(math.isnan(s) for s in scores) else float("nan")


def sharpness_laplacian(frames: np.ndarray) -> float:
    """Mean over frames of the variance of the 4-neighbour Laplacian (8-bit gray) / 1000."""
    import cv2

    return float(np.mean([cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for f in frames]) / 1000.0)


def evaluate_video(frames: np.ndarray, cond: np.ndarray, metric: VideoConsistencyDistance | None = None,
                   i2v_weights: tuple[float, float, float] = (0.4, 0.3, 0.3)) -> tuple[dict[str, float], list[float]]:
    """All default-profile metrics of one video (frames uint8 [T, H, W, 3], conditioning
    image uint8 [H, W, 3]) and its per-frame VCD (frames 2..N, unweighted) if ``metric``."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames [T, H, W, 3], got {frames.shape}")
    if frames.shape[0] < 2:
        raise ValueError(f"video has {frames.shape[0]} frame(s); at least 2 are needed")
    if frames.shape[1:3] != cond.shape[:2]:
        raise ValueError(f"video frames are {frames.shape[2]}x{frames.shape[1]} but the conditioning image is {cond.shape[1]}x{cond.shape[0]}")
    desc = frame_descriptors(frames)
    cond_desc = frame_descriptors(cond[None])[0]
    subject, conformity = i2v_subject(cond_desc, desc, i2v_weights)
    dynamic, flow_scores = dynamic_degree_farneback(frames)
    out = {
        "i2v_subject_hog": subject,
        "i2v_conformity_hog": conformity,
        "ssim_to_cond_aligned": aligned_ssim(cond, frames),
        "subject_consistency_hog": subject_consistency(desc),
        "temporal_flickering": temporal_flickering(frames),
        "motion_smoothness_linear": motion_smoothness_linear(frames),
        "dynamic_degree_farneback": float(dynamic),
        "flow_magnitude_farneback": float(np.mean(flow_scores) * 256.0 / min(frames.shape[1:3])),
        "sharpness_laplacian": sharpness_laplacian(frames),
    }
    per_frame: list[float] = []
    if metric is not None:
        video = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
        device = next(metric.parameters()).device
        with torch.no_grad():
            d = metric.per_frame(video.to(device))[0].cpu()
        per_frame = d.tolist()
        if metric.config.temporal_weight:
            n = frames.shape[0]
            weights = torch.tensor([(n - i + 1) / n for i in range(2, n + 1)])
            out["vcd"] = float((d * weights).mean())
        else:
            out["vcd"] = float(d.mean())
    return out, per_frame


# ---------------------------------------------------------------------------- generation and scoring
def video_name(prompt: str, seed: int) -> str:
    """VBench's file naming, ``{prompt}-{seed}.mp4`` (path separators replaced)."""
    return f"{prompt.replace('/', '_').replace(chr(92), '_')}-{int(seed)}.mp4"


def generate_method_videos(pipe, items: Sequence, seeds: Sequence[int], out_dir, video: Mapping, model: Mapping,
                           fingerprint: str = "", progress: bool = True) -> dict[str, int]:
    """Generate one video per (item, seed) as H.264 MP4 into ``out_dir`` with VBench's
    naming, plus ``conditioning/{prompt}.png``. Videos already written and complete
    (right frame count and size) are skipped, so an interrupted run picks up where it
    stopped -- but only if ``fingerprint`` (a digest of everything that shapes the
    videos: model, LoRA, settings) matches the one recorded with them; otherwise the
    folder's videos are stale and are deleted first. Returns counts of generated and
    skipped videos."""
    import json
    import shutil
    from pathlib import Path

    from PIL import Image
    from tqdm.auto import tqdm

    from .sampling import generate_video
    from .video_io import video_is_complete, write_video

    out_dir = Path(out_dir)
    stamp = out_dir / "generation.json"
    if out_dir.exists() and (not stamp.is_file() or json.loads(stamp.read_text()).get("fingerprint") != fingerprint):
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"fingerprint": fingerprint}) + "\n")
    prompts = [it.caption for it in items]
    duplicates = sorted({p for p in prompts if prompts.count(p) > 1})
    if duplicates:
        raise ValueError(f"VBench's naming needs unique prompts per dataset; duplicated: {duplicates[:3]}")
    (out_dir / "conditioning").mkdir(parents=True, exist_ok=True)
    width, height, num_frames = int(video["width"]), int(video["height"]), int(video["num_frames"])
    counts = {"generated": 0, "skipped": 0}
    for item in tqdm(items, desc=f"generating -> {out_dir}", disable=not progress):
        image = np.asarray(Image.open(item.image).convert("RGB"))
        Image.fromarray(image).save(out_dir / "conditioning" / f"{video_name(item.caption, 0)[:-6]}.png")
        todo = [s for s in seeds if not video_is_complete(out_dir / video_name(item.caption, s), num_frames, (width, height))]
        counts["skipped"] += len(seeds) - len(todo)
        if not todo:
            continue
        videos = generate_video(pipe, [image] * len(todo), [item.caption] * len(todo), todo, num_frames, height, width,
                                int(model["num_inference_steps"]), float(model["guidance_scale"]), int(model["max_sequence_length"]))
        for seed, frames in zip(todo, videos):
            array = (frames.permute(0, 2, 3, 1).clamp(0, 1).cpu().numpy() * 255).round().astype(np.uint8)
            write_video(out_dir / video_name(item.caption, seed), array, fps=int(video.get("fps", 8)))
            counts["generated"] += 1
    return counts


def score_videos(method: str, dataset: str, items: Sequence, seeds: Sequence[int], video_dir, metric: VideoConsistencyDistance | None,
                 num_frames: int, size: tuple[int, int], vcd_seeds: Sequence[int] | None = None,
                 progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every expected video of a method; one row per (item, seed).

    A missing, empty, corrupt or undecodable video, one with the wrong number of frames
    (e.g. one frame) or another resolution is kept as a row with ``status =
    "excluded"``, the ``reason``, and NaN metrics; the others get ``status = "ok"``.

    VCD per frame (the drift curve) is computed for the videos of ``vcd_seeds`` (all
    seeds when None): it is the most expensive measure on a CPU and no claim rests on
    it. It goes to the per-frame table, and to the ``vcd`` column only when every seed
    is covered (so that column is never partially filled).
    Returns (per-video metrics, per-frame VCD rows)."""
    from pathlib import Path

    from PIL import Image
    from tqdm.auto import tqdm

    from .video_io import VideoReadError, read_video

    video_dir = Path(video_dir)
    rows, frame_rows = [], []
    for item in tqdm(items, desc=f"scoring {method}/{dataset}", disable=not progress):
        cond = np.asarray(Image.open(item.image).convert("RGB"))
        usable: list[tuple[dict, np.ndarray]] = []
        for seed in seeds:
            path = video_dir / video_name(item.caption, seed)
            row = {"method": method, "dataset": dataset, "image_id": item.id, "prompt": item.caption, "seed": int(seed),
                   "file": str(path), "status": "ok", "reason": ""}
            try:
                if not video_dir.is_dir():
                    raise VideoReadError(f"{video_dir}: method folder missing")
                frames = read_video(path)
                if frames.shape[0] != num_frames:
                    raise VideoReadError(f"{path}: has {frames.shape[0]} frame(s), expected {num_frames}")
                if (frames.shape[2], frames.shape[1]) != tuple(size):
                    raise VideoReadError(f"{path}: frames are {frames.shape[2]}x{frames.shape[1]}, expected {size[0]}x{size[1]}")
                values, _ = evaluate_video(frames, cond, None)
                row.update(values)
                usable.append((row, frames))
            except (VideoReadError, ValueError) as exc:
                row.update(status="excluded", reason=str(exc))
            rows.append(row)
        chosen = [(row, f) for row, f in usable if vcd_seeds is None or row["seed"] in vcd_seeds]
        if metric is not None and chosen:
            # One batched VCD call for all of this item's videos: the encoder and the
            # projections run once per frame batch (1.6-1.9x faster than one by one).
            videos = torch.from_numpy(np.stack([f for _, f in chosen])).permute(0, 1, 4, 2, 3).float().div(255)
            device = next(metric.parameters()).device
            with torch.no_grad():
                distances = metric.per_frame(videos.to(device)).cpu()
            n = num_frames
            weights = torch.tensor([(n - i + 1) / n for i in range(2, n + 1)]) if metric.config.temporal_weight else torch.ones(n - 1)
            for (row, _), d in zip(chosen, distances):
                if vcd_seeds is None or set(seeds) <= set(vcd_seeds):
                    row["vcd"] = float((d * weights).mean())
                frame_rows += [{"method": method, "dataset": dataset, "image_id": item.id, "seed": row["seed"], "frame": j + 2,
                                "vcd_unweighted": float(v)} for j, v in enumerate(d.tolist())]
    per_video = pd.DataFrame(rows)
    for name in METRICS:  # every metric column exists, NaN where not computed
        if name not in per_video:
            per_video[name] = np.nan
    return per_video, pd.DataFrame(frame_rows)


def evaluate_method(params: Mapping, method: str, metric: VideoConsistencyDistance | None, device: str = "cpu",
                    runs_dir: str = "runs", progress: bool = True) -> dict:
    """Generate (or reuse) and score the evaluation videos of one method (Sec. 4.1).

    ``method`` is ``"base"`` (the base model) or a finished fine-tuning run in
    ``<runs_dir>/<method>/``, whose LoRA is folded into the transformer for sampling.
    For every dataset of ``evaluation.datasets``: one video per (eval item, seed) into
    ``<video_dir>/<method>/<dataset>/`` (reused when complete and made by the same
    model, LoRA and settings), then every video read back from its MP4 and scored.
    Writes ``<results_dir>/<method>/per_video.csv`` and ``per_frame.csv``; returns the
    counts of videos generated, reused, scored and excluded.
    """
    from pathlib import Path

    from .data import read_split
    from .models import load_lora, load_pipeline, model_provenance, sha256_of_files
    from .provenance import params_digest
    from .training import require_complete_run

    model_cfg, video_cfg, eval_cfg = params["model"], params["video"], params["evaluation"]
    lora_dir = None if method == "base" else Path(runs_dir) / method
    if lora_dir is not None:
        require_complete_run(lora_dir)  # never a half-trained LoRA
    torch.manual_seed(0)  # the same numbers whatever the order methods are evaluated in
    pipe = load_pipeline(model_cfg, device, getattr(torch, model_cfg["dtype"]), offline=bool(params["runtime"]["offline"]))
    if lora_dir is not None:
        load_lora(pipe.transformer, lora_dir, merge=True)  # sampling only: W + (alpha / r) B A
    pipe.transformer.eval()
    # Everything that shapes the videos; a re-run reuses finished videos only if it matches.
    lora_sha = None if lora_dir is None else sha256_of_files([lora_dir / "lora.safetensors"])
    fingerprint = params_digest({"model": model_cfg, "video": video_cfg, "base": model_provenance(model_cfg), "lora": lora_sha})
    video_root, out_dir = Path(eval_cfg["video_dir"]) / method, Path(eval_cfg["results_dir"]) / method
    out_dir.mkdir(parents=True, exist_ok=True)
    size = (int(video_cfg["width"]), int(video_cfg["height"]))
    counts = {"method": method, "generated": 0, "skipped": 0}
    per_video, per_frame = [], []
    for dataset in eval_cfg["datasets"]:
        items = read_split(f"data/splits/{dataset}", "eval")
        made = generate_method_videos(pipe, items, eval_cfg["seeds"], video_root / dataset, video_cfg, model_cfg, fingerprint,
                                      progress=progress)
        counts["generated"] += made["generated"]
        counts["skipped"] += made["skipped"]
        pv, pf = score_videos(method, dataset, items, eval_cfg["seeds"], video_root / dataset, metric, int(video_cfg["num_frames"]),
                              size, vcd_seeds=eval_cfg["vcd_seeds"], progress=progress)
        per_video.append(pv)
        per_frame.append(pf)
    per_video_all = pd.concat(per_video, ignore_index=True)
    per_video_all.to_csv(out_dir / "per_video.csv", index=False)
    pd.concat(per_frame, ignore_index=True).to_csv(out_dir / "per_frame.csv", index=False)
    counts.update(scored=int((per_video_all.status == "ok").sum()), excluded=int((per_video_all.status != "ok").sum()))
    return counts
