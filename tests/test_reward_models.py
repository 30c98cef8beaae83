"""The learned consistency rewards (vcd/reward_models.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vcd.reward_models import (
    DRIFT_KINDS,
    AttentionConsistencyHead,
    ConsistencyScorer,
    MLPConsistencyHead,
    TokenFeatures,
    apply_drift,
    heldout_measures,
    labelled_videos,
    load_scorer,
    pairwise_accuracy,
    preference_pairs,
    save_scorer,
    score_tokens,
    severity_correlation,
    train_head,
)
from vcd.settings import RewardModelHead, SettingsError
from vcd.training_images import SourceImage

SIZE = (32, 24)  # (width, height)
HEAD = RewardModelHead(mlp_hidden=16, width=16, heads=2, layers=1)


def _video(num_frames: int = 5, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(num_frames, 3, SIZE[1], SIZE[0], generator=gen)


@pytest.mark.parametrize("kind", DRIFT_KINDS)
def test_drift_leaves_frame_one_and_severity_zero_untouched(kind):
    video = _video()
    other = torch.rand(3, SIZE[1], SIZE[0])
    drifted = apply_drift(video, kind, 0.8, other)
    assert torch.allclose(drifted[0], video[0], atol=1e-6)  # frame 1 is the conditioning image
    assert torch.equal(apply_drift(video, kind, 0.0, other), video)  # motion alone is never drift
    assert drifted.shape == video.shape and drifted.min() >= 0 and drifted.max() <= 1


@pytest.mark.parametrize("kind", DRIFT_KINDS)
def test_drift_grows_with_severity_and_over_the_frames(kind):
    static = _video(1).expand(5, -1, -1, -1).contiguous()
    other = torch.rand(3, SIZE[1], SIZE[0])
    change = [float((apply_drift(static, kind, s, other)[-1] - static[-1]).abs().mean()) for s in (0.2, 0.5, 1.0)]
    assert change[0] < change[1] < change[2]
    per_frame = (apply_drift(static, kind, 1.0, other) - static).abs().mean(dim=(1, 2, 3))
    assert torch.all(per_frame[1:] >= per_frame[:-1] - 1e-6)


def test_drift_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown drift"):
        apply_drift(_video(), "melt", 0.5)
    with pytest.raises(ValueError, match="severity"):
        apply_drift(_video(), "blur", 1.5)
    with pytest.raises(ValueError, match="another image"):
        apply_drift(_video(), "content_swap", 0.5)


def test_labelled_videos_pair_within_sources_and_keep_the_first_frame():
    sources = [SourceImage(torch.rand(3, 36, 48), f"photo {k}", f"p{k}") for k in range(4)]
    videos = labelled_videos(sources, 5, SIZE, videos_per_source=3, seed=0, zero_share=0.5)
    assert len(videos) == 12
    assert [v.group for v in videos] == [k // 3 for k in range(12)]
    assert all(v.frames.shape == (5, 3, SIZE[1], SIZE[0]) for v in videos)
    assert all(0.0 <= v.severity <= 1.0 and v.drift in DRIFT_KINDS for v in videos)
    # frame 1 is the source's unmoved, undrifted view (a moving object starts on it)
    for group in range(4):
        firsts = [v.frames[0] for v in videos if v.group == group and "object" not in v.motion]
        assert all(torch.allclose(f, firsts[0], atol=1e-5) for f in firsts)
    again = labelled_videos(sources, 5, SIZE, videos_per_source=3, seed=0, zero_share=0.5)
    assert all(torch.equal(a.frames, b.frames) and a.severity == b.severity for a, b in zip(videos, again))
    with pytest.raises(ValueError, match="at least 2"):
        labelled_videos(sources, 5, SIZE, videos_per_source=1, seed=0)


def test_preference_pairs_prefer_the_lower_severity_with_ties():
    groups = np.array([0, 0, 0, 1, 1])
    severity = np.array([0.0, 0.5, 0.52, 0.9, 0.1])
    pairs, labels = preference_pairs(groups, severity, tie=0.05)
    got = {tuple(p): float(y) for p, y in zip(pairs, labels)}
    assert got == {(0, 1): 1.0, (0, 2): 1.0, (1, 2): 0.5, (3, 4): 0.0}


def test_pairwise_accuracy_and_correlation():
    groups = np.array([0, 0, 0, 1, 1, 1])
    severity = np.array([0.0, 0.4, 0.8, 0.2, 0.6, 1.0])
    assert pairwise_accuracy(-severity, groups, severity) == 1.0
    assert pairwise_accuracy(severity, groups, severity) == 0.0
    assert pairwise_accuracy(np.zeros(6), groups, severity) == 0.5  # score ties count one half
    assert severity_correlation(-severity, severity) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no decided pairs"):
        pairwise_accuracy(np.zeros(2), np.array([0, 0]), np.array([0.1, 0.1]))


def _toy_tokens(count: int, seed: int):
    """Frame tokens that move away from the image's along a fixed direction with the
    severity, plus a nuisance (motion) of the same size that does not."""
    direction = torch.randn(12, generator=torch.Generator().manual_seed(99))  # the drift: one direction for all
    gen = torch.Generator().manual_seed(seed)
    image = torch.randn(count, 6, 12, generator=gen)
    severity = torch.rand(count, generator=gen) * (torch.rand(count, generator=gen) > 0.2)
    ramp = torch.linspace(0, 1, 3).view(1, 3, 1, 1)
    nuisance = torch.randn(count, 3, 6, 12, generator=gen) * 0.3 * ramp
    frames = image.unsqueeze(1) + ramp * severity.view(-1, 1, 1, 1) * direction + nuisance
    groups = np.repeat(np.arange(count // 4), 4)
    return image, frames, groups, severity.numpy()


@pytest.mark.parametrize("architecture", ["mlp", "attention"])
def test_heads_learn_to_order_by_severity_held_out(architecture):
    torch.manual_seed(0)
    head = MLPConsistencyHead(12, 32) if architecture == "mlp" else AttentionConsistencyHead(12, 6, 16, 2, 1)
    image, frames, groups, severity = _toy_tokens(120, seed=0)
    pairs, labels = preference_pairs(groups, severity)
    validation = _toy_tokens(40, seed=1)
    log = train_head(head, image, frames, pairs, labels, 150, 16, 3e-3, 0, validation=validation, progress=False)
    assert log[-1]["loss"] < log[0]["loss"]
    assert any(entry.get("kept") for entry in log)
    test_image, test_frames, test_groups, test_severity = _toy_tokens(80, seed=2)
    accuracy = pairwise_accuracy(score_tokens(head, test_image, test_frames), test_groups, test_severity)
    assert accuracy > 0.75  # chance: 0.5


def test_train_head_keeps_the_best_validation_state():
    torch.manual_seed(0)
    head = MLPConsistencyHead(12, 16)
    image, frames, groups, severity = _toy_tokens(80, seed=0)
    pairs, labels = preference_pairs(groups, severity)
    validation = _toy_tokens(40, seed=1)
    log = train_head(head, image, frames, pairs, labels, 100, 16, 3e-3, 0, validation=validation, progress=False)
    best = max(entry["val_accuracy"] for entry in log)
    kept = pairwise_accuracy(score_tokens(head, validation[0], validation[1]), validation[2], validation[3])
    assert kept == pytest.approx(best)


def _scorer(architecture: str) -> ConsistencyScorer:
    features = TokenFeatures(["relu1_1", "relu2_1"], (2, 3), seed=0)
    torch.manual_seed(0)
    head = (
        MLPConsistencyHead(features.dim, HEAD.mlp_hidden)
        if architecture == "mlp"
        else AttentionConsistencyHead(features.dim, features.num_tokens, HEAD.width, HEAD.heads, HEAD.layers)
    )
    name = "icreward" if architecture == "attention" else "mlp_reward"
    scorer = ConsistencyScorer(features, head.eval(), name, architecture)
    scorer.record = {"frame_stride": 2, "frames": [0, 2, 4]}
    return scorer


@pytest.mark.parametrize("architecture", ["mlp", "attention"])
def test_scorer_is_differentiable_in_the_frames_and_round_trips(tmp_path, architecture):
    scorer = _scorer(architecture)
    cond = torch.rand(2, 3, SIZE[1], SIZE[0])
    frames = torch.rand(2, 3, 3, SIZE[1], SIZE[0], requires_grad=True)
    score = scorer(cond, frames)
    assert score.shape == (2,)
    score.sum().backward()
    assert frames.grad is not None and frames.grad.abs().sum() > 0
    config = {"layers": ["relu1_1", "relu2_1"], "grid": [2, 3], "encoder_weights": None, "seed": 0}
    config["head"] = {"mlp_hidden": HEAD.mlp_hidden, "width": HEAD.width, "heads": HEAD.heads, "layers": HEAD.layers}
    save_scorer(scorer, tmp_path, config)
    loaded = load_scorer(tmp_path, scorer.name)
    with torch.no_grad():
        assert torch.allclose(loaded(cond, frames), scorer(cond, frames), atol=1e-6)
    assert loaded.record["frames"] == [0, 2, 4] and len(loaded.record["weights_sha256"]) == 64
    assert not any(p.requires_grad for p in loaded.parameters())


def test_load_scorer_says_which_stage_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="reward_models stage"):
        load_scorer(tmp_path, "icreward")


def test_heldout_measures_negate_vcd_and_break_down_by_kind():
    import pandas as pd

    severity = np.array([0.0, 0.5, 1.0, 0.0, 0.3, 0.9])
    table = pd.DataFrame(
        {
            "group": [0, 0, 0, 1, 1, 1],
            "severity": severity,
            "drift": ["color", "color", "blur", "style", "style", "content_swap"],
            "vcd": severity * 2.0,  # a distance: perfect when negated
            "icreward": severity,  # a score ordered the wrong way
        }
    )
    measures = heldout_measures(table, ["vcd", "icreward"]).set_index("scorer")
    assert measures.loc["vcd", "pairwise_accuracy"] == 1.0
    assert measures.loc["icreward", "pairwise_accuracy"] == 0.0
    assert measures.loc["vcd", "spearman_with_severity"] == pytest.approx(1.0)
    assert measures.loc["vcd", "accuracy_color"] == 1.0


def test_settings_check_the_reward_model_heads():
    with pytest.raises(SettingsError, match="multiple of heads"):
        RewardModelHead(mlp_hidden=8, width=10, heads=4, layers=1)
