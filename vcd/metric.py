"""Video Consistency Distance (VCD), Eq. 2 of Aoshima et al., and its ablations.

For a video X = {x_1, ..., x_N} and a conditioning image x_cnd (x_cnd = x_1 in the
paper's experiments, Sec. 3.1)::

    VCD(x_cnd, x_i) = (N - i + 1) / N * ( WD(A_E(x_cnd), A_E(x_i)) + WD(P_E(x_cnd), P_E(x_i)) )   (Eq. 2)

with E the VGG19 layers relu1_1..relu5_1, A = |DFT(E(.))| and P = angle(DFT(E(.))) the
amplitude and phase of the 2-D DFT of every feature map over (H, W), and WD the sliced
Wasserstein distance. The distance follows FDL (Ni et al., Eq. 1; github.com/eezkni/FDL):

* DFT of each feature map over (H, W) (``torch.fft.fftn``, unnormalised, like FDL);
* the empirical distribution of a spectrum is the set of its ``patch_size`` x
  ``patch_size`` x C patches; it is projected on ``num_projections`` random unit-norm
  directions (a stride-1 convolution with unit-norm filters), each projection's values
  are sorted over spatial positions and the 1-D Wasserstein-1 distance is the mean
  absolute difference of the sorted values, averaged over projections;
* amplitude term + ``phase_weight`` x phase term, summed over layers.

Ablations (Appendix C.3): ``distance="l2"`` replaces WD by the L2 loss (mean squared
difference) between spectra (Eq. 4); ``space="feature"`` computes WD on the features
themselves, without the DFT (Eq. 5); ``temporal_weight=False`` drops (N-i+1)/N.
``phase_weight=0`` / ``amplitude_weight=0`` give the "+Amp." / "+Phase" rows of Table 1.

Small feature maps. A 5x5 patch needs a map of at least 5x5, i.e. inputs of at least
80 px on each side for relu5_x (stride 16). When a map is smaller than the patch in
either dimension, that layer's projection filters are centre-cropped to
``min(patch, H_l)`` x ``min(patch, W_l)`` and renormalised to unit norm, so the layer
still contributes a (coarser) sliced distance instead of failing. Inputs smaller than
the encoder's total stride (16 px for relu5_x) are rejected.

Projections are drawn once from ``seed`` (FDL keeps them fixed too), which makes the
metric a deterministic, symmetric function of its two images; ``resample_projections``
draws a fresh set when a caller wants a new Monte-Carlo estimate (e.g. per training step).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .encoders import VGG19Features
from .settings import FDL_LAYERS, PAPER_LAYERS, VCD_PRESETS, VCDConfig

__all__ = [
    "PAPER_LAYERS",
    "FDL_LAYERS",
    "PRESETS",
    "VCDConfig",
    "VideoConsistencyDistance",
    "temporal_weight",
    "frame_weights",
    "sample_frame_index",
    "sliced_wasserstein",
    "spectrum",
    "metric_from_config",
]

#: name -> overrides of :class:`VCDConfig` (see :meth:`VideoConsistencyDistance.preset`).
PRESETS = VCD_PRESETS

FrameIndex = int | str | torch.Tensor | Sequence[int] | None
#: which encoded images a batch of pairs compares: an index tensor, or a slice (a
#: contiguous block, or one image broadcast against many), which costs no gather
#: and whose backward is no scatter.
Rows = torch.Tensor | slice


def _derive_seed(seed: int, purpose: str) -> int:
    """Independent, reproducible seed for one purpose (encoder, projections, frames)."""
    digest = hashlib.sha256(f"{int(seed)}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def temporal_weight(frame_index: torch.Tensor | int | Sequence[int], num_frames: int) -> torch.Tensor:
    """The temporal weight (N - i + 1) / N of Eq. 2, with ``frame_index`` i 1-based."""
    i = torch.as_tensor(frame_index, dtype=torch.float32)
    return (num_frames - i + 1) / num_frames


def frame_weights(
    frame_index: torch.Tensor | int | Sequence[int], num_frames: int, enabled: bool = True
) -> torch.Tensor:
    """The per-frame factor of Eq. 2: (N - i + 1) / N, or 1 when the temporal weight is
    off (the ``no_temporal_weight`` ablation, App. C.3). The one place that switches."""
    weight = temporal_weight(frame_index, num_frames)
    return weight if enabled else torch.ones_like(weight)


def sample_frame_index(batch: int, num_frames: int, generator: torch.Generator) -> torch.Tensor:
    """The training reward's frame choice: i ~ U{2, ..., N}, 1-based, one per video (Fig. 2)."""
    return torch.randint(2, num_frames + 1, (batch,), generator=generator)


def _safe_angle(z: torch.Tensor) -> torch.Tensor:
    """``torch.angle`` with a finite gradient everywhere.

    ``angle`` has no derivative at 0 (atan2(0, 0)); dead ReLU channels make whole
    spectra zero, so those bins get phase 0 and zero gradient instead of NaN. Signed
    zeros in the imaginary part are canonicalised so that real-valued bins (DC,
    Nyquist) map to 0 or +pi, never to -pi by accident of rounding.
    """
    re, im = z.real, z.imag
    is_zero = (re == 0) & (im == 0)
    re_safe = torch.where(is_zero, torch.ones_like(re), re)
    im_safe = torch.where(im == 0, torch.zeros_like(im), im)
    return torch.where(is_zero, torch.zeros_like(re), torch.atan2(im_safe, re_safe))


def spectrum(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Amplitude |F(s)| and phase angle(F(s)) of the 2-D DFT over (H, W), in float32.

    The FFT runs in float32 whatever the feature dtype (bf16 FFTs are not supported on
    CPU and are inaccurate on GPU).
    """
    spec = torch.fft.fftn(features.float(), dim=(-2, -1))
    return spec.abs(), _safe_angle(spec)


def _fit_projections(projections: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Centre-crop unit-norm patch filters to fit an ``height`` x ``width`` map."""
    ph, pw = projections.shape[-2:]
    if height >= ph and width >= pw:
        return projections
    kh, kw = min(ph, height), min(pw, width)
    top, left = (ph - kh) // 2, (pw - kw) // 2
    cropped = projections[..., top : top + kh, left : left + kw]
    norm = cropped.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return cropped / norm


_SORT_POOL: ThreadPoolExecutor | None = None


def _in_row_blocks(rows: np.ndarray, out: np.ndarray, work) -> None:
    """``out[block] = work(rows[block])`` over row blocks, one per torch thread (NumPy's
    sorts release the GIL, so the blocks run in parallel)."""
    global _SORT_POOL
    workers = max(1, min(torch.get_num_threads(), rows.shape[0]))
    bounds = np.linspace(0, rows.shape[0], workers + 1).astype(int)

    def block(k: int) -> None:
        out[bounds[k] : bounds[k + 1]] = work(rows[bounds[k] : bounds[k + 1]])

    if workers == 1:
        block(0)
        return
    if _SORT_POOL is None or _SORT_POOL._max_workers < workers:
        _SORT_POOL = ThreadPoolExecutor(max_workers=workers)
    list(_SORT_POOL.map(block, range(workers)))


def _sorting_permutation(rows: np.ndarray) -> np.ndarray:
    """Per row of float32 ``rows`` ([R, L]), the positions in ascending order of value.

    Each value's bits become an order-preserving signed 32-bit key (negative floats
    have their magnitude bits flipped), packed above its position into one int64 and
    sorted with NumPy's SIMD integer sort: the permutation comes out of one value sort,
    which is faster on the CPU than ``torch.sort`` or ``np.argsort``.
    """
    bits = rows.view(np.int32).astype(np.int64)
    keys = np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)
    keys <<= 32
    keys |= np.arange(rows.shape[-1], dtype=np.int64)
    keys.sort(axis=-1)
    return keys & 0xFFFFFFFF


def _sort_last_dim(values: torch.Tensor) -> torch.Tensor:
    """Sort along the last dimension (differentiably when ``values`` requires grad).

    On the CPU (float32, large inputs) the sort runs in NumPy on row blocks in a small
    thread pool, faster than ``torch.sort`` (README, Performance): without autograd the
    values are sorted directly; with autograd the sorting permutation is computed
    without it and the values are gathered through it, so the backward pass is the same
    scatter of gradients to the original positions that ``torch.sort``'s records. Both
    give exactly ``torch.sort``'s values. On GPU, ``torch.sort`` is used.
    """
    if values.device.type != "cpu" or values.dtype != torch.float32 or values.numel() < 1 << 16:
        return torch.sort(values, dim=-1).values
    rows = values.detach().contiguous().reshape(-1, values.shape[-1]).numpy()
    if not values.requires_grad:
        out = np.empty_like(rows)
        _in_row_blocks(rows, out, lambda block: np.sort(block, axis=-1))
        return torch.from_numpy(out).reshape(values.shape)
    order = np.empty(rows.shape, dtype=np.int64)
    _in_row_blocks(rows, order, _sorting_permutation)
    return values.gather(-1, torch.from_numpy(order).reshape(values.shape))


def _sorted_projections(maps: torch.Tensor, projections: torch.Tensor) -> torch.Tensor:
    """Project every patch of ``maps`` ([M, C, H, W]) on each unit-norm filter and sort
    the projected values over spatial positions -> [M, P, L] (L positions)."""
    proj = _fit_projections(projections.to(maps.dtype), maps.shape[-2], maps.shape[-1])
    projected = F.conv2d(maps, proj).flatten(2)
    return _sort_last_dim(projected)


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, projections: torch.Tensor) -> torch.Tensor:
    """Sliced Wasserstein-1 distance between the patch distributions of two maps.

    ``x``, ``y``: [B, C, H, W]; ``projections``: [P, C, p, p] unit-norm filters.
    Every p x p x C patch is a sample; each filter projects all samples to 1-D, the
    sorted projections of ``x`` and ``y`` are compared (in 1-D the optimal transport
    plan is the sorted matching) and their mean absolute difference, averaged over
    the P projections, is returned: [B].
    """
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    batch = x.shape[0]
    ordered = _sorted_projections(torch.cat([x, y]), projections)  # one conv for both inputs
    return (ordered[:batch] - ordered[batch:]).abs().mean(dim=(1, 2))


def _l2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The L2 loss of Eq. 4: mean squared difference per sample, [B]."""
    return (x - y).pow(2).flatten(1).mean(dim=1)


class VideoConsistencyDistance(nn.Module):
    """VCD between a conditioning image and frames of a video (Eq. 2), differentiable.

    ``frame_distance(x, y)`` is the unweighted distance between two image batches;
    ``forward(video, cond, frame_index)`` applies Eq. 2 to a video. All inputs are RGB
    in [0, 1]. The conditioning image and the frames go through the encoder in one pass.
    """

    def __init__(
        self,
        layers: Sequence[str] = PAPER_LAYERS,
        distance: Literal["swd", "l2"] = "swd",
        space: Literal["frequency", "feature"] = "frequency",
        temporal_weight: bool = True,
        num_projections: int = 256,
        patch_size: int = 5,
        phase_weight: float = 1.0,
        amplitude_weight: float = 1.0,
        encoder_weights: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.config = VCDConfig(
            layers=tuple(layers),
            distance=distance,
            space=space,
            temporal_weight=bool(temporal_weight),
            num_projections=int(num_projections),
            patch_size=int(patch_size),
            phase_weight=float(phase_weight),
            amplitude_weight=float(amplitude_weight),
            encoder_weights=None if encoder_weights is None else str(encoder_weights),
            seed=int(seed),
        )
        self.encoder = VGG19Features(self.config.layers, weights=encoder_weights, seed=_derive_seed(seed, "encoder"))
        self._projection_generator = torch.Generator().manual_seed(_derive_seed(seed, "projections"))
        self._frame_generator = torch.Generator().manual_seed(_derive_seed(seed, "frames"))
        for index, channels in enumerate(self.encoder.channels):
            self.register_buffer(f"projections_{index}", self._draw_projections(channels))
        #: 1-based frame indices used by the last ``forward`` call ([B] or [N-1] for "all").
        self.last_frame_index: torch.Tensor | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def preset(cls, name: str, **overrides) -> VideoConsistencyDistance:
        """Build a named configuration: ``paper``, ``fdl``, ``l2``, ``feat``,
        ``no_temporal_weight``, ``amplitude``, ``phase``; keyword overrides win."""
        if name not in PRESETS:
            raise ValueError(f"Unknown VCD preset {name!r}; expected one of {sorted(PRESETS)}.")
        unknown = set(overrides) - set(VCDConfig.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"Unknown VCD option(s) {sorted(unknown)}; expected {sorted(VCDConfig.__dataclass_fields__)}."
            )
        return cls.from_config(replace(VCDConfig().with_preset(name), **overrides))

    @classmethod
    def from_config(cls, config: VCDConfig) -> VideoConsistencyDistance:
        """The metric of a :class:`VCDConfig` (e.g. ``Settings.vcd``)."""
        return cls(**asdict(config))

    def weights(self, frame_index: torch.Tensor | Sequence[int], num_frames: int) -> torch.Tensor:
        """This metric's per-frame factor of Eq. 2 (see :func:`frame_weights`)."""
        return frame_weights(frame_index, num_frames, self.config.temporal_weight)

    def weighted_mean(self, per_frame: torch.Tensor, num_frames: int) -> torch.Tensor:
        """Eq. 2 averaged over i = 2..N from the unweighted distances ``per_frame``
        ([..., N-1], as :meth:`per_frame` returns them) -> [...]."""
        weight = self.weights(torch.arange(2, num_frames + 1), num_frames).to(per_frame.device, per_frame.dtype)
        return (per_frame * weight).mean(dim=-1)

    def _draw_projections(self, channels: int) -> torch.Tensor:
        p = self.config.patch_size
        rand = torch.randn(self.config.num_projections, channels, p, p, generator=self._projection_generator)
        return rand / rand.flatten(1).norm(dim=1).view(-1, 1, 1, 1)

    def resample_projections(self) -> None:
        """Draw a fresh set of random projections from the module's seeded stream."""
        for index, channels in enumerate(self.encoder.channels):
            buffer = getattr(self, f"projections_{index}")
            buffer.copy_(self._draw_projections(channels).to(buffer.device, buffer.dtype))

    def provenance(self) -> dict[str, str]:
        """The metric's configuration and encoder weights, for result records."""
        cfg = {k: (",".join(v) if isinstance(v, tuple) else str(v)) for k, v in asdict(self.config).items()}
        return {**{f"vcd_{k}": v for k, v in cfg.items()}, **self.encoder.provenance()}

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _check_images(name: str, x: torch.Tensor, expected: str) -> None:
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor {expected}, got {type(x).__name__}")
        if not (x.is_floating_point()):
            raise ValueError(f"{name} must be a floating-point tensor {expected} in [0, 1], got dtype {x.dtype}")
        if x.shape[-3] != 3:
            raise ValueError(f"{name} must have 3 (RGB) channels {expected}, got shape {tuple(x.shape)}")
        if x.numel() == 0:
            raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
        with torch.no_grad():
            if not bool(torch.isfinite(x).all()):
                raise ValueError(f"{name} contains NaN or Inf values; expected finite RGB values in [0, 1]")
            lo, hi = float(x.min()), float(x.max())
        tol = 1e-4
        if lo < -tol or hi > 1 + tol:
            raise ValueError(
                f"{name} has values in [{lo:.4g}, {hi:.4g}]; expected RGB in [0, 1] "
                "(convert from [-1, 1] with (x + 1) / 2, or from uint8 with x / 255)"
            )

    def _check_size(self, height: int, width: int) -> None:
        stride = max(self.encoder.strides)
        if height < stride or width < stride:
            raise ValueError(
                f"images of {height}x{width} px are too small for layers {self.config.layers}: "
                f"the deepest layer has stride {stride}, so each side must be at least {stride} px "
                f"(at least {stride * self.config.patch_size} px keeps a full {self.config.patch_size}x"
                f"{self.config.patch_size} patch at every layer)"
            )

    # ------------------------------------------------------------------ core
    def _layer_statistics(self, feats: torch.Tensor, layer: int) -> tuple[torch.Tensor, ...]:
        """Per-image quantities of one layer that pairs are compared on.

        SWD: the sorted patch projections (amplitude and phase, or the features), so an
        image shared by many pairs (the conditioning image in ``"all"`` mode) is
        projected and sorted once. L2: the spectra (or features) themselves.
        """
        cfg = self.config
        projections = getattr(self, f"projections_{layer}").float()
        if cfg.space == "feature":
            maps = feats.float()
            return (_sorted_projections(maps, projections),) if cfg.distance == "swd" else (maps,)
        amplitude, phase = spectrum(feats)
        if cfg.distance == "l2":
            return amplitude, phase
        # Amplitude and phase share the layer's projections (as in FDL): one conv.
        ordered = _sorted_projections(torch.cat([amplitude, phase]), projections)
        return ordered[: feats.shape[0]], ordered[feats.shape[0] :]

    def _pair_terms(self, feats: list[torch.Tensor], left: Rows, right: Rows) -> dict[str, torch.Tensor]:
        """Per-term distances summed over layers, unweighted: ``amplitude`` and ``phase``
        (frequency space) or ``feature`` (feature space), each [K]."""
        cfg = self.config
        compare = (lambda a, b: (a - b).abs().mean(dim=(1, 2))) if cfg.distance == "swd" else _l2
        names = ("feature",) if cfg.space == "feature" else ("amplitude", "phase")
        totals: dict[str, torch.Tensor] = {}
        for layer, layer_feats in enumerate(feats):
            stats = self._layer_statistics(layer_feats, layer)
            for name, s in zip(names, stats):
                term = compare(s[left], s[right])
                totals[name] = term if name not in totals else totals[name] + term
        return totals

    def _pair_distance(self, feats: list[torch.Tensor], left: Rows, right: Rows) -> torch.Tensor:
        """Unweighted distance between encoded images ``left[k]`` and ``right[k]`` -> [K]."""
        return self.combine(self._pair_terms(feats, left, right))

    def combine(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """The bracket of Eq. 2 from its terms (:meth:`components`): amplitude +
        ``phase_weight`` x phase (each x its weight), or the feature-space term."""
        if self.config.space == "feature":
            return terms["feature"]
        return self.config.amplitude_weight * terms["amplitude"] + self.config.phase_weight * terms["phase"]

    def components(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The unweighted terms of :meth:`frame_distance` separately: ``amplitude`` and
        ``phase`` (WD or L2 summed over layers, before ``*_weight``), or ``feature``."""
        feats, left, right = self._encode_pairs(x, y)
        return self._pair_terms(feats, left, right)

    def _encode_pairs(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list[torch.Tensor], Rows, Rows]:
        """Encode ``x`` and ``y`` in one pass -> (features, left, right): pair k compares
        image ``left[k]`` with image ``right[k]``. A single ``x`` ([1, 3, H, W]) is
        compared with every image of ``y`` and encoded (and projected) once."""
        self._check_pair(x, y)
        batch = y.shape[0]
        feats = self.encoder(torch.cat([x, y]).clamp(0, 1))
        # a single x is one row broadcast against every y (its statistics computed once)
        return feats, slice(0, x.shape[0]), slice(x.shape[0], x.shape[0] + batch)

    def _check_pair(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self._check_images("x", x, "[B, 3, H, W]")
        self._check_images("y", y, "[B, 3, H, W]")
        if x.dim() != 4 or y.dim() != 4:
            raise ValueError(f"x and y must be [B, 3, H, W]; got {tuple(x.shape)} and {tuple(y.shape)}")
        if x.shape[1:] != y.shape[1:] or x.shape[0] not in (1, y.shape[0]):
            raise ValueError(
                f"x and y must have the same shape (or x a single image [1, 3, H, W]); "
                f"got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        self._check_size(x.shape[-2], x.shape[-1])

    def frame_distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Unweighted distance between image batches ``x``, ``y`` ([B, 3, H, W] in [0, 1]) -> [B].

        The bracket of Eq. 2: WD(A_x, A_y) + phase_weight * WD(P_x, P_y), summed over layers.
        ``x`` may be a single image [1, 3, H, W], compared with every image of ``y``.
        """
        feats, left, right = self._encode_pairs(x, y)
        return self._pair_distance(feats, left, right)

    def _resolve_frame_index(
        self, frame_index: FrameIndex, batch: int, num_frames: int, first_allowed: int
    ) -> torch.Tensor:
        if frame_index is None:
            return sample_frame_index(batch, num_frames, self._frame_generator)
        if isinstance(frame_index, str):
            if frame_index != "all":
                raise ValueError(f"frame_index must be None, an int, a [B] tensor or 'all'; got {frame_index!r}")
            return torch.arange(2, num_frames + 1)
        if isinstance(frame_index, bool):
            raise ValueError("frame_index must be an int in 1-based frame numbering, not a bool")
        index = torch.as_tensor(frame_index).reshape(-1).long().cpu()
        if index.numel() == 1:
            index = index.expand(batch)
        if index.numel() != batch:
            raise ValueError(f"frame_index has {index.numel()} entries, expected 1 or batch size {batch}")
        lo, hi = int(index.min()), int(index.max())
        if lo < first_allowed or hi > num_frames:
            raise ValueError(
                f"frame_index {lo if lo < first_allowed else hi} is out of range: expected 1-based "
                f"{first_allowed} <= i <= N = {num_frames}"
                + (" (i = 1 is the conditioning frame itself when cond is None)" if first_allowed == 2 else "")
            )
        return index

    def _prepare_video(self, video: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, int]:
        """Validate ``video`` (and ``cond``); return the conditioning images [B, 3, H, W]
        and the smallest allowed 1-based frame index."""
        self._check_images("video", video, "[B, N, 3, H, W]")
        if video.dim() != 5:
            raise ValueError(f"video must be [B, N, 3, H, W]; got shape {tuple(video.shape)}")
        batch, num_frames, _, height, width = video.shape
        if num_frames < 2:
            raise ValueError(
                f"video must have N >= 2 frames (Eq. 2 compares x_cnd with x_i, 2 <= i <= N); got N = {num_frames}"
            )
        self._check_size(height, width)
        if cond is None:
            return video[:, 0], 2
        self._check_images("cond", cond, "[B, 3, H, W]")
        if cond.dim() != 4 or cond.shape[-2:] != video.shape[-2:] or cond.shape[0] not in (1, batch):
            raise ValueError(
                f"cond must be [B, 3, H, W] (or [1, 3, H, W]) matching the video's batch and size "
                f"[{batch}, 3, {height}, {width}]; got {tuple(cond.shape)}"
            )
        return cond.expand(batch, -1, -1, -1), 1

    def _all_frames(self, video: torch.Tensor, cond_images: torch.Tensor) -> torch.Tensor:
        """Unweighted distance of every frame i = 2..N to its conditioning image, [B, N-1];
        each conditioning image is encoded and projected once."""
        batch, num_frames, _, height, width = video.shape
        frames = video[:, 1:].reshape(-1, 3, height, width)
        left = torch.arange(batch, device=video.device).repeat_interleave(num_frames - 1)
        feats = self.encoder(torch.cat([cond_images, frames]).clamp(0, 1))
        right = batch + torch.arange(frames.shape[0], device=video.device)
        return self._pair_distance(feats, left, right).view(batch, num_frames - 1)

    def per_frame(self, video: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Unweighted distance (the bracket of Eq. 2) of frames i = 2..N to the
        conditioning image (``cond``, or x_1) -> [B, N-1]; column j is frame i = j + 2."""
        cond_images, _ = self._prepare_video(video, cond)
        return self._all_frames(video, cond_images)

    def forward(
        self, video: torch.Tensor, cond: torch.Tensor | None = None, frame_index: FrameIndex = None
    ) -> torch.Tensor:
        """Eq. 2 for each video in the batch -> [B].

        Parameters
        ----------
        video:
            [B, N, 3, H, W] in [0, 1], N >= 2.
        cond:
            Conditioning image [B, 3, H, W] (or [1, 3, H, W], broadcast). ``None`` uses the
            first frame, the paper's x_cnd = x_1.
        frame_index:
            1-based i. ``None`` samples i uniformly from 2..N per video with the module's
            seeded generator (the paper's training reward); an int (or a [B] tensor) fixes
            it; ``"all"`` averages the weighted distance over i = 2..N.
        """
        cond_images, first_allowed = self._prepare_video(video, cond)
        batch, num_frames = video.shape[:2]
        index = self._resolve_frame_index(frame_index, batch, num_frames, first_allowed)
        self.last_frame_index = index
        if isinstance(frame_index, str):  # "all"
            return self.weighted_mean(self._all_frames(video, cond_images), num_frames)
        frames = video[torch.arange(batch, device=video.device), index.to(video.device) - 1]
        feats = self.encoder(torch.cat([cond_images, frames]).clamp(0, 1))
        d = self._pair_distance(feats, slice(0, batch), slice(batch, 2 * batch))
        return self.weights(index, num_frames).to(d.device, d.dtype) * d


def metric_from_config(config: VCDConfig, preset: str = "paper", **overrides) -> VideoConsistencyDistance:
    """The metric of ``config`` (``Settings.vcd``: layers, projections, weights, seed)
    with a named ablation applied: the preset decides what it changes (``l2`` the
    distance, ``feat`` the space, ...), keyword ``overrides`` win."""
    return VideoConsistencyDistance.from_config(replace(config.with_preset(preset), **overrides))
