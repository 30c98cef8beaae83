"""vcd.training_images: the pool of still images the toy is pre-trained on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vcd.training_images import PROCEDURAL_KINDS, SOURCE_SCALE, photo_view, procedural_image, training_sources

SIZE = (40, 32)
SOURCE = (round(SIZE[1] * SOURCE_SCALE), round(SIZE[0] * SOURCE_SCALE))  # (H, W)


@pytest.fixture(scope="module")
def photos() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {f"p{k}": torch.rand(3, 90, 120, generator=g) for k in range(3)}


def test_the_pool_spreads_views_over_the_photographs_then_adds_procedural_images(photos):
    pool = training_sources(photos, {k: f"caption {k}" for k in photos}, 7, 5, SIZE, seed=0)
    assert [s.origin for s in pool[:7]] == ["p0", "p1", "p2", "p0", "p1", "p2", "p0"]
    assert [s.origin for s in pool[7:]] == ["procedural"] * 5
    assert all(s.caption == f"caption {s.origin}" for s in pool[:7])
    assert {s.caption for s in pool[7:]} <= set(PROCEDURAL_KINDS.values())
    for s in pool:
        assert s.image.shape == (3, *SOURCE) and s.image.dtype == torch.float32
        assert float(s.image.min()) >= 0 and float(s.image.max()) <= 1


def test_the_pool_is_seeded(photos):
    captions = {k: "c" for k in photos}
    a, b = (training_sources(photos, captions, 4, 3, SIZE, seed=1) for _ in range(2))
    assert all(torch.equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    c = training_sources(photos, captions, 4, 3, SIZE, seed=2)
    assert not all(torch.equal(x.image, y.image) for x, y in zip(a, c, strict=True))


def test_an_evaluation_image_never_enters_the_pool(photos):
    with pytest.raises(ValueError, match=r"evaluation images among the pre-training photographs: \['p1'\]"):
        training_sources(photos, {k: "c" for k in photos}, 3, 0, SIZE, seed=0, held_out={"p1", "elsewhere"})
    with pytest.raises(ValueError, match="needs at least one training photograph"):
        training_sources({}, {}, 3, 0, SIZE, seed=0)


def test_grey_share_makes_that_share_of_images_grey(photos):
    rng = np.random.default_rng(0)
    views = [photo_view(photos["p0"], SIZE, rng, grey_share=0.5) for _ in range(200)]
    grey = [bool(torch.equal(v[0], v[1]) and torch.equal(v[1], v[2])) for v in views]
    assert 0.4 < np.mean(grey) < 0.6
    assert not any(torch.equal(v[0], v[1]) for v, g in zip(views, grey) if not g)
    assert all(bool(torch.equal(v[0], v[2])) for v in (photo_view(photos["p1"], SIZE, rng, 1.0) for _ in range(5)))


def test_views_take_crops_at_several_scales(photos):
    """A crop of a third of the photograph, upsampled, is smoother than the whole one."""
    rng = np.random.default_rng(0)
    photo = photos["p0"]
    roughness = [float(photo_view(photo, SIZE, rng, 0.0).diff(dim=-1).abs().mean()) for _ in range(60)]
    assert max(roughness) > 1.5 * min(roughness)


@pytest.mark.parametrize("kind", sorted(PROCEDURAL_KINDS))
def test_procedural_images_are_natural_textures_not_flat(kind):
    rng = np.random.default_rng(0)
    image = procedural_image(kind, SIZE, rng, grey_share=0.0)
    assert image.shape == (3, *SOURCE)
    assert float(image.std()) > 0.05
    # 1/f-like: neighbouring pixels are correlated (white noise would give ~0)
    x = image.mean(dim=0)
    a, b = x[:, :-1].flatten(), x[:, 1:].flatten()
    assert float(torch.corrcoef(torch.stack([a, b]))[0, 1]) > 0.5
    with pytest.raises(ValueError, match="unknown procedural kind"):
        procedural_image("plaid", SIZE, rng)
