"""Synthetic videos made from real photographs.

Two families, both rendered from one source photograph with sub-pixel accuracy
(``torch.nn.functional.grid_sample``):

* **natural motion** -- camera pans and zooms, a cut-out object moving over the scene,
  a global lighting change. These are what an image-to-video model *should* produce,
  and what VCD should score low (Sec. 3.1: "VCD becomes small if the differences ...
  stem primarily from natural motion").
* **appearance drift** -- colour shift, blur, a style change (posterised, flattened
  colours), a content swap (the frame turns into another photograph). These are the
  unnatural changes VCD should score high.

The sanity-check notebook measures VCD on both; the toy base model is pre-trained on
the natural-motion family.

Every generator returns a float tensor [T, 3, H, W] in [0, 1] whose first frame is the
conditioning frame (zero motion / zero drift) and whose change grows linearly to
``strength`` at the last frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "render_view",
    "pan",
    "zoom",
    "moving_object",
    "lighting",
    "color_drift",
    "blur_drift",
    "style_drift",
    "content_swap",
    "NATURAL_MOTIONS",
    "APPEARANCE_DRIFTS",
    "make_video",
]


def _ramp(num_frames: int) -> torch.Tensor:
    return torch.linspace(0.0, 1.0, num_frames)


def render_view(
    image: torch.Tensor,
    size: tuple[int, int],
    scale: torch.Tensor,
    tx: torch.Tensor,
    ty: torch.Tensor,
    coverage: float = 0.8,
) -> torch.Tensor:
    """Render T views of ``image`` ([3, H0, W0]) as [T, 3, H, W] (``size`` = (W, H)).

    The base view is a centred window with the output's aspect ratio covering
    ``coverage`` of the image's limiting side; ``scale`` > 1 zooms in, ``tx``/``ty``
    move the window by that fraction of the image width/height.
    """
    width, height = size
    _, h0, w0 = image.shape
    aspect_out, aspect_in = width / height, w0 / h0
    # half-extent of the window in normalised image coordinates ([-1, 1] spans the image)
    if aspect_out > aspect_in:
        half_w = coverage
        half_h = coverage * aspect_in / aspect_out
    else:
        half_h = coverage
        half_w = coverage * aspect_out / aspect_in
    t = scale.shape[0]
    theta = torch.zeros(t, 2, 3)
    theta[:, 0, 0] = half_w / scale
    theta[:, 1, 1] = half_h / scale
    theta[:, 0, 2] = 2 * tx
    theta[:, 1, 2] = 2 * ty
    grid = F.affine_grid(theta, (t, 3, height, width), align_corners=False)
    src = image.unsqueeze(0).expand(t, -1, -1, -1)
    # Antialias: sample from a pre-blurred source when the view is strongly minified.
    minify = min(w0 * half_w / width, h0 * half_h / height)
    if minify > 1.5:
        src = F.interpolate(image.unsqueeze(0), scale_factor=1.0 / (minify / 1.5), mode="area").expand(t, -1, -1, -1)
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="reflection", align_corners=False).clamp(0, 1)


def pan(
    image: torch.Tensor, num_frames: int, size: tuple[int, int], strength: float = 0.15, direction: float = 0.0
) -> torch.Tensor:
    """Camera pan: the window moves by ``strength`` of the image width along ``direction`` (radians)."""
    r = _ramp(num_frames)
    dx, dy = math.cos(direction), math.sin(direction)
    return render_view(image, size, torch.ones(num_frames), strength * dx * r, strength * dy * r)


def zoom(image: torch.Tensor, num_frames: int, size: tuple[int, int], strength: float = 0.3) -> torch.Tensor:
    """Camera zoom in by a factor ``1 + strength`` (negative zooms out)."""
    r = _ramp(num_frames)
    scale = (1.0 + strength) ** r
    return render_view(image, size, scale, torch.zeros(num_frames), torch.zeros(num_frames))


def moving_object(
    image: torch.Tensor,
    num_frames: int,
    size: tuple[int, int],
    strength: float = 0.3,
    obj: torch.Tensor | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """A soft-edged cut-out (from ``obj`` or from the image itself) slides across the static scene."""
    gen = torch.Generator().manual_seed(seed)
    width, height = size
    scene = render_view(image, size, torch.ones(1), torch.zeros(1), torch.zeros(1))[0]
    source = scene if obj is None else render_view(obj, size, torch.ones(1), torch.zeros(1), torch.zeros(1))[0]
    ow, oh = max(8, width // 3), max(8, height // 3)
    sx = int(torch.randint(0, width - ow + 1, (1,), generator=gen))
    sy = int(torch.randint(0, height - oh + 1, (1,), generator=gen))
    patch = source[:, sy : sy + oh, sx : sx + ow]
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, oh), torch.linspace(-1, 1, ow), indexing="ij")
    alpha = torch.clamp((1 - (xx**2 + yy**2)) * 3, 0, 1)  # soft elliptical matte
    angle = float(torch.rand(1, generator=gen)) * 2 * math.pi
    x0, y0 = (width - ow) / 2, (height - oh) / 2
    frames = []
    for r in _ramp(num_frames).tolist():
        frame = scene.clone()
        cx = int(round(x0 + math.cos(angle) * strength * width * r))
        cy = int(round(y0 + math.sin(angle) * strength * height * r))
        cx, cy = min(max(cx, 0), width - ow), min(max(cy, 0), height - oh)
        region = frame[:, cy : cy + oh, cx : cx + ow]
        frame[:, cy : cy + oh, cx : cx + ow] = alpha * patch + (1 - alpha) * region
        frames.append(frame)
    return torch.stack(frames)


def lighting(image: torch.Tensor, num_frames: int, size: tuple[int, int], strength: float = 0.25) -> torch.Tensor:
    """Global lighting change: brightness scales by ``1 + strength`` over the clip."""
    base = render_view(image, size, torch.ones(1), torch.zeros(1), torch.zeros(1))
    gain = (1 + strength * _ramp(num_frames)).view(-1, 1, 1, 1)
    return (base * gain).clamp(0, 1)


# ------------------------------------------------------------------ appearance drift
def _static(image: torch.Tensor, num_frames: int, size: tuple[int, int]) -> torch.Tensor:
    return render_view(image, size, torch.ones(1), torch.zeros(1), torch.zeros(1)).expand(num_frames, -1, -1, -1)


def color_drift(image: torch.Tensor, num_frames: int, size: tuple[int, int], strength: float = 1.0) -> torch.Tensor:
    """Hue rotation by up to ``strength`` x 90 degrees (in YIQ space) with a warm cast."""
    frames = _static(image, num_frames, size)
    rgb2yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    yiq2rgb = torch.linalg.inv(rgb2yiq)
    out = []
    for r, frame in zip(_ramp(num_frames).tolist(), frames):
        a = r * strength * math.pi / 2
        rot = torch.tensor([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
        m = yiq2rgb @ rot @ rgb2yiq
        mixed = torch.einsum("ij,jhw->ihw", m, frame)
        cast = torch.tensor([0.08, 0.0, -0.08]).view(3, 1, 1) * r * strength
        out.append((mixed + cast).clamp(0, 1))
    return torch.stack(out)


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 1e-3:
        return x
    radius = max(1, int(math.ceil(3 * sigma)))
    coords = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def blur_drift(image: torch.Tensor, num_frames: int, size: tuple[int, int], strength: float = 2.5) -> torch.Tensor:
    """Gaussian blur whose sigma grows to ``strength`` px."""
    frames = _static(image, num_frames, size)
    return torch.cat([_gaussian_blur(f.unsqueeze(0), r * strength) for r, f in zip(_ramp(num_frames).tolist(), frames)])


def style_drift(image: torch.Tensor, num_frames: int, size: tuple[int, int], strength: float = 1.0) -> torch.Tensor:
    """Cross-fade to a stylised rendering (smoothed, posterised to 4 levels, dark edges),
    the kind of global restyling an aesthetic reward causes (Fig. 1, +Aesthetic)."""
    frames = _static(image, num_frames, size)
    base = frames[:1]
    smooth = _gaussian_blur(base, 1.2)
    poster = torch.round(smooth * 3) / 3
    gray = smooth.mean(1, keepdim=True)
    gx = F.conv2d(
        F.pad(gray, (1, 1, 1, 1), mode="replicate"),
        torch.tensor([[[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]]], dtype=torch.float32),
    )
    gy = F.conv2d(
        F.pad(gray, (1, 1, 1, 1), mode="replicate"),
        torch.tensor([[[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]]], dtype=torch.float32),
    )
    edges = (gx**2 + gy**2).sqrt().clamp(0, 1)
    stylised = (poster * (1 - edges)).clamp(0, 1)
    a = (_ramp(num_frames) * strength).clamp(0, 1).view(-1, 1, 1, 1)
    return (1 - a) * frames + a * stylised


def content_swap(
    image: torch.Tensor,
    num_frames: int,
    size: tuple[int, int],
    strength: float = 1.0,
    other: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-fade into another photograph (``other``; a flipped copy of the image if none)."""
    frames = _static(image, num_frames, size)
    target = _static(other if other is not None else image.flip(-1).flip(-2), 1, size)
    a = (_ramp(num_frames) * strength).clamp(0, 1).view(-1, 1, 1, 1)
    return (1 - a) * frames + a * target


#: name -> generator(image, num_frames, size, **kw); the natural-motion family
NATURAL_MOTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "pan": pan,
    "zoom": zoom,
    "moving_object": moving_object,
    "lighting": lighting,
}
#: name -> generator; the appearance-drift family
APPEARANCE_DRIFTS: dict[str, Callable[..., torch.Tensor]] = {
    "color": color_drift,
    "blur": blur_drift,
    "style": style_drift,
    "content_swap": content_swap,
}


def make_video(kind: str, image: torch.Tensor, num_frames: int, size: tuple[int, int], **kwargs) -> torch.Tensor:
    """Build a synthetic video of ``kind`` (any key of the two families)."""
    table = {**NATURAL_MOTIONS, **APPEARANCE_DRIFTS}
    if kind not in table:
        raise ValueError(f"unknown synthetic video kind {kind!r}; expected one of {sorted(table)}")
    if num_frames < 2:
        raise ValueError(f"num_frames must be >= 2, got {num_frames}")
    return table[kind](image, num_frames, size, **kwargs)
