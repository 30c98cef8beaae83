"""The still images the toy base model is pre-trained on: many, varied, none held out.

Six training photographs are far too few for an image-to-video model that must copy an
image it has never seen into frame 1: a model trained on them reproduces its training
videos instead of its conditioning image, and a VAE trained on them cannot reconstruct
unseen textures. The pre-training therefore renders its videos from a large pool of
*source images* built only from the training split and from procedures:

* **views of the training photographs** -- crops at several scales (from the whole
  photograph to a third of it, so the same photograph appears at many levels of
  detail), mirrored, with colour variation (saturation, per-channel gain, brightness,
  contrast) and a share turned greyscale, since evaluation sets hold greyscale
  photographs;
* **procedural images** -- the "dead leaves" model (occluding discs with power-law
  radii over a 1/f-noise background; Lee, Mumford & Huang 2001, a standard stand-in for
  natural-image statistics) and coloured or grey 1/f noise (power-spectrum exponents
  from 1, fine grain like gravel or grass, to 2.5, smooth like sky; photographs average
  about 2), textures the six photographs lack.

Evaluation images never enter: the pool is built from the items of the train split,
and :func:`training_sources` refuses an id it is told is held out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["SourceImage", "PROCEDURAL_KINDS", "photo_view", "procedural_image", "training_sources"]

#: the margin a source has around the video's view, so that a pan reveals new content
#: (``vcd.synthetic.render_view`` shows the central 0.8 of a source by default)
SOURCE_SCALE = 1.5


@dataclass(frozen=True)
class SourceImage:
    """One source of a training video: the image ([3, H, W] in [0, 1]) and its caption."""

    image: torch.Tensor
    caption: str
    origin: str  # the training photograph's id, or "procedural"


def _source_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    return round(width * SOURCE_SCALE), round(height * SOURCE_SCALE)


def _colour_variation(image: torch.Tensor, rng: np.random.Generator, grey_share: float) -> torch.Tensor:
    grey = image.mean(dim=0, keepdim=True)
    if rng.random() < grey_share:
        return grey.expand(3, -1, -1).clone()
    saturation = rng.uniform(0.6, 1.3)
    out = grey + saturation * (image - grey)
    out = out * torch.tensor(rng.uniform(0.88, 1.12, 3), dtype=torch.float32).view(3, 1, 1)
    contrast, brightness = rng.uniform(0.8, 1.2), rng.uniform(-0.08, 0.08)
    out = (out - out.mean()) * contrast + out.mean() + brightness
    return out.clamp(0, 1)


def photo_view(
    photo: torch.Tensor, size: tuple[int, int], rng: np.random.Generator, grey_share: float = 0.25
) -> torch.Tensor:
    """A random crop of ``photo`` ([3, H0, W0]) with the video's aspect ratio, between a
    third and all of the largest such window, resized to the source size, maybe
    mirrored, colour-varied or made grey (``grey_share``)."""
    width, height = _source_size(size)
    _, h0, w0 = photo.shape
    full_h = min(h0, w0 * height / width)
    crop_h = max(8, int(full_h * rng.uniform(1 / 3, 1.0)))
    crop_w = min(w0, max(8, round(crop_h * width / height)))
    top = int(rng.integers(0, h0 - crop_h + 1))
    left = int(rng.integers(0, w0 - crop_w + 1))
    crop = photo[:, top : top + crop_h, left : left + crop_w]
    view = F.interpolate(crop.unsqueeze(0), size=(height, width), mode="area")[0]
    if rng.random() < 0.5:
        view = view.flip(-1)
    return _colour_variation(view, rng, grey_share)


def _pink_noise(rng: np.random.Generator, height: int, width: int, exponent: float) -> np.ndarray:
    """1/f^exponent noise (power spectrum), normalised to [0, 1]."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.hypot(fx, fy)
    radius[0, 0] = 1.0
    spectrum = (rng.normal(size=radius.shape) + 1j * rng.normal(size=radius.shape)) / radius ** (exponent / 2)
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(height, width))
    low, high = np.percentile(field, [1, 99])
    return np.clip((field - low) / max(high - low, 1e-8), 0, 1)


def _noise_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Colour 1/f noise: three noise fields mixed by a random colour matrix."""
    fields = np.stack([_pink_noise(rng, height, width, rng.uniform(1.0, 2.5)) for _ in range(3)])
    mix = rng.dirichlet(np.ones(3), size=3) * rng.uniform(0.5, 1.0) + rng.uniform(0, 0.3, size=(3, 1)) / 3
    out = np.einsum("cd,dhw->chw", mix, fields)
    return np.clip(out / max(out.max(), 1e-8), 0, 1)


def _dead_leaves(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Occluding discs (radius density ~ r^-3, Lee et al. 2001), each a flat colour with a
    little texture, over a 1/f-noise background; drawn back to front."""
    out = _noise_image(rng, height, width) * rng.uniform(0.3, 1.0)
    yy, xx = np.mgrid[0:height, 0:width]
    r_min, r_max = 0.02 * height, 0.5 * height
    count = int(rng.integers(20, 120))
    # inverse-CDF sampling of p(r) ~ r^-3 on [r_min, r_max]
    u = rng.random(count)
    radii = (r_min**-2 - u * (r_min**-2 - r_max**-2)) ** -0.5
    for radius in np.sort(radii)[::-1]:
        cy, cx = rng.uniform(-0.1, 1.1) * height, rng.uniform(-0.1, 1.1) * width
        stretch = rng.uniform(0.6, 1.6)
        mask = ((yy - cy) / radius) ** 2 + ((xx - cx) / (radius * stretch)) ** 2 <= 1
        if not mask.any():
            continue
        colour = rng.random(3)
        shade = 1 + rng.uniform(0, 0.25) * (rng.random() - 0.5) * 2 * (yy[mask] - cy) / radius
        out[:, mask] = np.clip(colour[:, None] * shade[None], 0, 1)
    return out


#: procedural kind -> its caption
PROCEDURAL_KINDS = {
    "dead_leaves": "an abstract picture of overlapping coloured shapes",
    "noise": "a soft cloudy texture of mixed colours",
}


def procedural_image(
    kind: str, size: tuple[int, int], rng: np.random.Generator, grey_share: float = 0.25
) -> torch.Tensor:
    """A dead-leaves image or a 1/f-noise texture (``kind``) at the source size;
    greyscale with probability ``grey_share``."""
    if kind not in PROCEDURAL_KINDS:
        raise ValueError(f"unknown procedural kind {kind!r}; choose from {sorted(PROCEDURAL_KINDS)}")
    width, height = _source_size(size)
    image = _dead_leaves(rng, height, width) if kind == "dead_leaves" else _noise_image(rng, height, width)
    tensor = torch.from_numpy(image.astype(np.float32))
    if rng.random() < grey_share:
        tensor = tensor.mean(dim=0, keepdim=True).expand(3, -1, -1).clone()
    return tensor


def training_sources(
    photos: Mapping[str, torch.Tensor],
    captions: Mapping[str, str],
    photo_views: int,
    procedural: int,
    size: tuple[int, int],
    seed: int,
    held_out: Set[str] = frozenset(),
    grey_share: float = 0.25,
) -> list[SourceImage]:
    """The pool: ``photo_views`` views spread evenly over the training photographs, then
    ``procedural`` procedural images, all from one seeded generator.

    ``held_out`` are the evaluation ids; a photograph among them is an error (the pool
    must never see an evaluation image).
    """
    leaked = sorted(set(photos) & set(held_out))
    if leaked:
        raise ValueError(f"evaluation images among the pre-training photographs: {leaked}")
    if photo_views and not photos:
        raise ValueError("photo_views > 0 needs at least one training photograph")
    rng = np.random.default_rng(int(seed))
    ids: Sequence[str] = sorted(photos)
    sources = []
    for k in range(int(photo_views)):
        origin = ids[k % len(ids)]
        sources.append(SourceImage(photo_view(photos[origin], size, rng, grey_share), captions[origin], origin))
    for _ in range(int(procedural)):
        # two thirds dead leaves, one third noise textures
        kind = "dead_leaves" if rng.random() < 2 / 3 else "noise"
        sources.append(SourceImage(procedural_image(kind, size, rng, grey_share), PROCEDURAL_KINDS[kind], "procedural"))
    return sources
