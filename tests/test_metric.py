"""VideoConsistencyDistance: Eq. 2, presets, invariants and input validation."""

from __future__ import annotations

import pytest
import torch

from vcd import VideoConsistencyDistance
from vcd.metric import (
    FDL_LAYERS,
    PAPER_LAYERS,
    PRESETS,
    frame_weights,
    metric_from_config,
    sample_frame_index,
    sliced_wasserstein,
    spectrum,
    temporal_weight,
)
from vcd.settings import SettingsError, VCDConfig, parse

H, W = 80, 96  # smallest size that keeps a 5x5 patch at relu5_1 is 80


def _metric(**kw) -> VideoConsistencyDistance:
    kw.setdefault("num_projections", 16)
    return VideoConsistencyDistance(**kw)


@pytest.fixture(scope="module")
def metric() -> VideoConsistencyDistance:
    return _metric()


@pytest.fixture(scope="module")
def video() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    base = torch.rand(2, 1, 3, H, W, generator=g)
    noise = 0.15 * torch.rand(2, 5, 3, H, W, generator=g)
    return (base * 0.8 + noise).clamp(0, 1)


def test_eq2_fixed_frame_index_equals_weighted_frame_distance(metric, video):
    n = video.shape[1]
    for i in range(2, n + 1):
        got = metric(video, frame_index=i)
        expected = (n - i + 1) / n * metric.frame_distance(video[:, 0], video[:, i - 1])
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_eq2_with_explicit_conditioning_image(metric, video):
    cond = torch.rand(2, 3, H, W, generator=torch.Generator().manual_seed(5))
    n = video.shape[1]
    got = metric(video, cond=cond, frame_index=1)  # i = 1 is allowed when cond is given
    torch.testing.assert_close(got, metric.frame_distance(cond, video[:, 0]), rtol=0, atol=0)
    got = metric(video, cond=cond[:1], frame_index=3)  # [1, 3, H, W] broadcasts
    expected = (n - 3 + 1) / n * metric.frame_distance(cond[:1].expand(2, -1, -1, -1), video[:, 2])
    torch.testing.assert_close(got, expected)


def test_all_mode_is_mean_of_weighted_terms(metric, video):
    n = video.shape[1]
    terms = torch.stack([metric(video, frame_index=i) for i in range(2, n + 1)], dim=1)
    torch.testing.assert_close(metric(video, frame_index="all"), terms.mean(dim=1), rtol=1e-5, atol=1e-6)


def test_random_frame_index_is_uniform_over_2_to_n():
    m = _metric(seed=3)
    video = torch.rand(4, 6, 3, H, W)
    seen = torch.cat([m._resolve_frame_index(None, 4, 6, 2) for _ in range(300)])
    assert int(seen.min()) == 2 and int(seen.max()) == 6
    counts = torch.bincount(seen, minlength=7)[2:].float()
    assert counts.min() / counts.max() > 0.6  # roughly uniform
    d = m(video)
    i = m.last_frame_index
    expected = temporal_weight(i, 6) * torch.stack(
        [m.frame_distance(video[b : b + 1, 0], video[b : b + 1, i[b] - 1])[0] for b in range(4)]
    )
    torch.testing.assert_close(d, expected, rtol=1e-5, atol=1e-6)


def test_temporal_weight_values():
    assert temporal_weight(1, 25).item() == pytest.approx(1.0)
    assert temporal_weight(25, 25).item() == pytest.approx(1 / 25)
    assert temporal_weight(13, 25).item() == pytest.approx(13 / 25)


def test_no_temporal_weight_preset(video):
    plain = VideoConsistencyDistance.preset("no_temporal_weight", num_projections=16)
    weighted = VideoConsistencyDistance.preset("paper", num_projections=16)
    torch.testing.assert_close(plain(video, frame_index=4), weighted.frame_distance(video[:, 0], video[:, 3]))


def test_identity_is_zero_and_distance_positive(metric, video):
    x = video[:, 0]
    assert torch.all(metric.frame_distance(x, x) == 0)
    assert torch.all(metric.frame_distance(x, video[:, 3]) > 0)


def test_single_reference_image_is_compared_with_every_frame(metric, video):
    """A [1, 3, H, W] ``x`` (encoded once) gives what the expanded batch gives."""
    ref, frames = video[0, :1], video[0, 1:]
    expanded = ref.expand(len(frames), -1, -1, -1).contiguous()
    torch.testing.assert_close(
        metric.frame_distance(ref, frames), metric.frame_distance(expanded, frames), rtol=1e-4, atol=1e-5
    )
    single, batched = metric.components(ref, frames), metric.components(expanded, frames)
    for name in batched:
        torch.testing.assert_close(single[name], batched[name], rtol=1e-4, atol=1e-5)


def test_unweighted_distance_is_symmetric(metric, video):
    x, y = video[:, 0], video[:, 4]
    torch.testing.assert_close(metric.frame_distance(x, y), metric.frame_distance(y, x), rtol=1e-5, atol=1e-6)


def test_same_seed_same_numbers_other_seed_other_numbers(video):
    a, b, c = _metric(seed=7), _metric(seed=7), _metric(seed=8)
    torch.testing.assert_close(a(video), b(video), rtol=0, atol=0)
    torch.testing.assert_close(a.last_frame_index, b.last_frame_index)
    assert not torch.allclose(a.frame_distance(video[:, 0], video[:, 2]), c.frame_distance(video[:, 0], video[:, 2]))


def test_resample_projections_is_seeded(video):
    a, b = _metric(seed=2), _metric(seed=2)
    before = a.frame_distance(video[:, 0], video[:, 1])
    a.resample_projections()
    b.resample_projections()
    after = a.frame_distance(video[:, 0], video[:, 1])
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, b.frame_distance(video[:, 0], video[:, 1]), rtol=0, atol=0)


def test_gradient_reaches_only_the_sampled_frame(metric, video):
    v = video.clone().requires_grad_(True)
    metric(v, frame_index=3).sum().backward()
    grad_per_frame = v.grad.abs().sum(dim=(0, 2, 3, 4))
    assert grad_per_frame[2] > 0 and grad_per_frame[0] > 0  # x_i and x_cnd = x_1
    assert torch.all(grad_per_frame[[1, 3, 4]] == 0)
    assert torch.isfinite(v.grad).all()


def test_gradient_is_finite_for_constant_images(metric):
    # Constant images make many feature spectra zero outside DC: angle() has no
    # derivative at 0 and must not produce NaN.
    x = torch.full((1, 3, H, W), 0.5, requires_grad=True)
    y = torch.zeros(1, 3, H, W)
    metric.frame_distance(x, y).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets(name, video):
    m = VideoConsistencyDistance.preset(name, num_projections=8)
    cfg = m.config
    assert cfg.layers == (FDL_LAYERS if name == "fdl" else PAPER_LAYERS)
    assert cfg.distance == ("l2" if name == "l2" else "swd")
    assert cfg.space == ("feature" if name == "feat" else "frequency")
    assert cfg.temporal_weight == (name != "no_temporal_weight")
    d = m(video, frame_index=3)
    assert d.shape == (2,) and torch.isfinite(d).all() and torch.all(d > 0)


def test_preset_terms_match_components(video):
    paper = VideoConsistencyDistance.preset("paper", num_projections=8)
    amp = VideoConsistencyDistance.preset("amplitude", num_projections=8)
    phase = VideoConsistencyDistance.preset("phase", num_projections=8)
    x, y = video[:, 0], video[:, 3]
    terms = paper.components(x, y)
    torch.testing.assert_close(amp.frame_distance(x, y), terms["amplitude"])
    torch.testing.assert_close(phase.frame_distance(x, y), terms["phase"])
    torch.testing.assert_close(paper.frame_distance(x, y), terms["amplitude"] + terms["phase"])


def test_l2_preset_is_eq4():
    m = VideoConsistencyDistance.preset("l2", layers=("relu1_1",))
    x, y = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    fx, fy = m.encoder(torch.cat([x, y]))[0].split(1)
    (ax, px), (ay, py) = spectrum(fx), spectrum(fy)
    expected = (ax - ay).pow(2).mean() + (px - py).pow(2).mean()
    torch.testing.assert_close(m.frame_distance(x, y)[0], expected)


def test_feature_preset_is_eq5_swd_on_features():
    m = VideoConsistencyDistance.preset("feat", layers=("relu1_1",), num_projections=8)
    x, y = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    fx, fy = m.encoder(torch.cat([x, y]))[0].split(1)
    expected = sliced_wasserstein(fx, fy, m.projections_0)
    torch.testing.assert_close(m.frame_distance(x, y), expected)


def test_sliced_wasserstein_of_shifted_distribution():
    # A 1x1 "patch" with one channel projects onto +-1: W1 of a constant shift c is |c|.
    x = torch.rand(1, 1, 10, 10)
    proj = torch.ones(1, 1, 1, 1)
    assert sliced_wasserstein(x, x + 0.25, proj).item() == pytest.approx(0.25, abs=1e-6)
    # and it ignores where values are (a permutation of positions costs nothing)
    perm = x.flatten()[torch.randperm(100)].view(1, 1, 10, 10)
    assert sliced_wasserstein(x, perm, proj).item() == pytest.approx(0.0, abs=1e-7)


def test_small_feature_maps_use_cropped_projections():
    # 48 px: relu5_1 is 3x3 < 5x5 patch; the metric crops its filters instead of failing
    m = _metric()
    x, y = torch.rand(1, 3, 48, 48), torch.rand(1, 3, 48, 48)
    d = m.frame_distance(x, y)
    assert torch.isfinite(d).all() and d.item() > 0
    # the cropped filters are still unit-norm
    from vcd.metric import _fit_projections

    cropped = _fit_projections(m.projections_4, 3, 3)
    assert cropped.shape[-2:] == (3, 3)
    torch.testing.assert_close(cropped.flatten(1).norm(dim=1), torch.ones(cropped.shape[0]))


def test_numpy_sort_path_matches_torch_sort():
    from vcd.metric import _sort_last_dim

    values = torch.randn(64, 3000)
    values[:, :50] = 0.0
    values[:, 50:100] = -0.0
    values[:, 100:150] = -1.5  # ties and both zeros
    torch.testing.assert_close(_sort_last_dim(values), torch.sort(values, dim=-1).values, rtol=0, atol=0)


def test_autograd_sort_path_matches_torch_sort_values_and_gradients():
    from vcd.metric import _sort_last_dim

    generator = torch.Generator().manual_seed(0)
    # distinct values (ties may legitimately share gradients differently) over many
    # magnitudes and both signs, in a different random order in every row
    magnitudes = torch.logspace(-3, 3, 3000) * torch.where(torch.arange(3000) % 2 == 0, 1.0, -1.0)
    order = torch.argsort(torch.rand(64, 3000, generator=generator), dim=-1)
    base = magnitudes[order].view(2, 32, 3000)
    weight = torch.randn(2, 32, 3000, generator=generator)
    ours, reference = base.clone().requires_grad_(True), base.clone().requires_grad_(True)
    sorted_ours, sorted_reference = _sort_last_dim(ours), torch.sort(reference, dim=-1).values
    torch.testing.assert_close(sorted_ours, sorted_reference, rtol=0, atol=0)
    (sorted_ours * weight).sum().backward()
    (sorted_reference * weight).sum().backward()
    torch.testing.assert_close(ours.grad, reference.grad, rtol=0, atol=0)


def test_bfloat16_module_and_inputs(video):
    m32 = _metric(seed=4)
    m16 = _metric(seed=4).to(torch.bfloat16)
    x, y = video[:, 0], video[:, 2]
    d32 = m32.frame_distance(x, y)
    d16 = m16.frame_distance(x.bfloat16(), y.bfloat16())
    assert d16.dtype == torch.float32  # spectra and distances are computed in float32
    torch.testing.assert_close(d16, d32, rtol=0.1, atol=0.05)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(video):
    m = _metric(seed=4)
    cpu = m.frame_distance(video[:, 0], video[:, 2])
    gpu = m.cuda().frame_distance(video[:, 0].cuda(), video[:, 2].cuda()).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-3, atol=1e-3)


def test_metric_from_config_uses_the_settings_and_the_preset():
    params = {
        "layers": ["relu1_1", "relu2_1"],
        "num_projections": 4,
        "patch_size": 3,
        "phase_weight": 0.5,
        "encoder_weights": None,
        "seed": 1,
    }
    config = parse(VCDConfig, params, "vcd")
    m = metric_from_config(config, "l2")
    assert m.config.layers == ("relu1_1", "relu2_1") and m.config.distance == "l2" and m.config.phase_weight == 0.5
    assert metric_from_config(config, "paper", num_projections=2).config.num_projections == 2
    with pytest.raises(SettingsError, match=r"unknown key 'vcd.num_projection' \(did you mean 'num_projections'\?\)"):
        parse(VCDConfig, {**params, "num_projection": 3}, "vcd")
    with pytest.raises(SettingsError, match="vcd.seed is missing"):
        parse(VCDConfig, {k: v for k, v in params.items() if k != "seed"}, "vcd")
    with pytest.raises(ValueError, match="Unknown VCD preset"):
        metric_from_config(config, "fancy")


def test_one_helper_for_the_per_frame_weight_and_the_frame_choice():
    assert frame_weights([2, 5], 5).tolist() == pytest.approx([0.8, 0.2])
    assert frame_weights([2, 5], 5, enabled=False).tolist() == [1.0, 1.0]
    assert _metric(temporal_weight=False).weights([2, 3], 4).tolist() == [1.0, 1.0]
    index = sample_frame_index(2000, 5, torch.Generator().manual_seed(0))
    assert set(index.tolist()) == {2, 3, 4, 5}  # i ~ U{2..N}: never the conditioning frame itself


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: torch.rand(2, 3, H, W), r"\[B, N, 3, H, W\]"),
        (lambda: torch.rand(2, 4, 4, H, W), "3 \\(RGB\\) channels"),
        (lambda: torch.rand(2, 1, 3, H, W), "N >= 2"),
        (lambda: torch.rand(2, 3, 3, H, W) * 2, r"expected RGB in \[0, 1\]"),
        (lambda: torch.rand(2, 3, 3, H, W) - 0.5, r"expected RGB in \[0, 1\]"),
        (lambda: torch.full((2, 3, 3, H, W), float("nan")), "NaN or Inf"),
        (lambda: torch.full((2, 3, 3, H, W), float("inf")), "NaN or Inf"),
        (lambda: torch.randint(0, 255, (2, 3, 3, H, W), dtype=torch.uint8), "floating-point"),
        (lambda: torch.rand(2, 3, 3, 8, 8), "too small"),
    ],
)
def test_bad_video_raises_value_error(metric, make, match):
    with pytest.raises(ValueError, match=match):
        metric(make())


def test_bad_frame_index_and_cond(metric, video):
    with pytest.raises(ValueError, match="out of range"):
        metric(video, frame_index=1)  # i = 1 is x_cnd itself when cond is None
    with pytest.raises(ValueError, match="out of range"):
        metric(video, frame_index=video.shape[1] + 1)
    with pytest.raises(ValueError, match="'all'"):
        metric(video, frame_index="last")
    with pytest.raises(ValueError, match="cond must be"):
        metric(video, cond=torch.rand(2, 3, H // 2, W // 2))
    with pytest.raises(ValueError, match="cond must be"):
        metric(video, cond=torch.rand(3, 3, H, W))
    with pytest.raises(ValueError, match="same shape"):
        metric.frame_distance(video[:, 0], video[:1, 1])


def test_bad_configuration():
    with pytest.raises(ValueError, match="distance must be"):
        VideoConsistencyDistance(distance="wasserstein")
    with pytest.raises(ValueError, match="space must be"):
        VideoConsistencyDistance(space="wavelet")
    with pytest.raises(ValueError, match="Unknown VGG19 layer"):
        VideoConsistencyDistance(layers=("relu6_1",))
    with pytest.raises(ValueError, match="Unknown VCD preset"):
        VideoConsistencyDistance.preset("best")
    with pytest.raises(ValueError, match="both 0"):
        VideoConsistencyDistance(phase_weight=0, amplitude_weight=0)


# --------------------------------------------------------------------------- properties (hypothesis)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-2.0, 2.0), channels=st.integers(1, 4))
def test_sliced_wasserstein_properties(seed, shift, channels):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, channels, 7, 6, generator=g)
    y = torch.randn(2, channels, 7, 6, generator=g)
    proj = torch.randn(5, channels, 3, 3, generator=g)
    proj = proj / proj.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    d = sliced_wasserstein(x, y, proj)
    assert torch.all(d >= 0)
    torch.testing.assert_close(d, sliced_wasserstein(y, x, proj))  # symmetric
    assert torch.all(sliced_wasserstein(x, x, proj) == 0)  # identity
    # a constant offset c moves every 1-D projection by c * sum(filter): W1 = mean |c * sum|
    offset = sliced_wasserstein(x, x + shift, proj)
    expected = (shift * proj.flatten(1).sum(dim=1)).abs().mean()
    torch.testing.assert_close(offset, expected.expand(2), rtol=1e-4, atol=1e-5)
