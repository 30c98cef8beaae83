"""Best-of-N selection (vcd/best_of_n.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vcd.best_of_n import (
    CANDIDATE_STRIDE,
    best_of_curve,
    candidate_seed,
    candidate_seeds,
    chosen_rows,
    link_video,
    select_best,
    split_candidate_seed,
)
from vcd.methods import BASE, CANDIDATES, best_of_name, method_label, sampling_model, split_best_of


def test_candidate_seeds_round_trip_and_candidate_zero_is_the_seed_itself():
    seeds = candidate_seeds([0, 3], 3)
    assert seeds == (0, CANDIDATE_STRIDE, 2 * CANDIDATE_STRIDE, 3, 3 + CANDIDATE_STRIDE, 3 + 2 * CANDIDATE_STRIDE)
    assert [split_candidate_seed(s) for s in seeds] == [(0, 0), (0, 1), (0, 2), (3, 0), (3, 1), (3, 2)]
    assert candidate_seed(4, 0) == 4
    with pytest.raises(ValueError, match="evaluation seeds"):
        candidate_seed(CANDIDATE_STRIDE, 1)


def _candidates() -> pd.DataFrame:
    rows = []
    # one item, two evaluation seeds, three candidates each
    vcd = {0: [0.5, 0.2, 0.9], 1: [0.4, 0.4, 0.1]}
    reward = {0: [1.0, 3.0, 3.0], 1: [np.nan, 0.0, -1.0]}
    for seed in (0, 1):
        for k in range(3):
            rows.append(
                {
                    "method": CANDIDATES,
                    "dataset": "embedded",
                    "image_id": "rocket",
                    "prompt": "a rocket",
                    "seed": candidate_seed(seed, k),
                    "file": f"results/videos/{CANDIDATES}/embedded/a rocket-{candidate_seed(seed, k)}.mp4",
                    "status": "excluded" if (seed, k) == (1, 2) else "ok",
                    "vcd": vcd[seed][k],
                    "icreward": reward[seed][k],
                    "i2v_subject_hog": 0.1 * k + seed,
                }
            )
    return pd.DataFrame(rows)


def test_select_best_lowest_vcd_highest_reward_ties_to_the_lower_index():
    table = _candidates()
    by_vcd = select_best(table, "vcd", 3).set_index("eval_seed")
    # seed 1: candidate 2 has the lowest VCD but was excluded; 0 and 1 tie -> 0
    assert by_vcd.loc[0, "candidate"] == 1 and by_vcd.loc[1, "candidate"] == 0
    by_reward = select_best(table, "icreward", 3).set_index("eval_seed")
    assert by_reward.loc[0, "candidate"] == 1  # 1 and 2 tie at 3.0 -> the lower index
    assert by_reward.loc[1, "candidate"] == 1  # candidate 0 has no score
    assert select_best(table, "vcd", 1).candidate.tolist() == [0, 0]  # N = 1: plain sampling


def test_select_best_keeps_an_all_excluded_key_as_excluded():
    table = _candidates()
    table.loc[table.seed % CANDIDATE_STRIDE == 1, "status"] = "excluded"
    best = select_best(table, "vcd", 3).set_index("eval_seed")
    assert best.loc[1, "status"] == "excluded" and best.loc[1, "candidate"] == 0
    assert len(best) == 2  # nothing dropped


def test_best_of_curve_starts_at_plain_sampling_for_every_scorer():
    table = _candidates()
    curve = best_of_curve(table, ["vcd", "icreward"], ["i2v_subject_hog"], 3)
    first = curve[curve.n == 1]
    plain = table[table.seed < CANDIDATE_STRIDE].i2v_subject_hog.mean()
    assert np.allclose(first["mean"], plain)
    assert set(curve.n) == {1, 2, 3} and set(curve.scorer) == {"vcd", "icreward"}
    # an oracle scorer (the metric itself) can only gain with N
    oracle = best_of_curve(table.assign(oracle=-table.i2v_subject_hog), ["vcd"], ["i2v_subject_hog"], 3)
    assert oracle["mean"].is_monotonic_increasing or oracle["mean"].nunique() >= 1


def test_chosen_rows_take_the_evaluation_seed_and_own_file():
    best = select_best(_candidates(), "vcd", 3)
    method = best_of_name("vcd")
    files = {("embedded", "rocket", s): f"results/videos/{method}/embedded/a rocket-{s}.mp4" for s in (0, 1)}
    rows = chosen_rows(best, method, files)
    assert rows.seed.tolist() == [0, 1] and (rows.method == method).all()
    assert rows.file.tolist() == [files[("embedded", "rocket", 0)], files[("embedded", "rocket", 1)]]
    assert rows.candidate.tolist() == [1, 0]


def test_link_video_replaces_atomically(tmp_path):
    source, target = tmp_path / "a.mp4", tmp_path / "out" / "b.mp4"
    source.write_bytes(b"first")
    link_video(source, target)
    assert target.read_bytes() == b"first"
    other = tmp_path / "c.mp4"
    other.write_bytes(b"second")
    link_video(other, target)
    assert target.read_bytes() == b"second" and not list(target.parent.glob(".*.tmp"))


def test_best_of_names_and_their_model():
    name = best_of_name("icreward")
    assert name == "base+bestof-icreward" and split_best_of(name) == "icreward" and split_best_of("vcd") is None
    assert sampling_model(name) == BASE and sampling_model(CANDIDATES) == BASE
    assert sampling_model("vcd+frameinit@1") == "vcd@1" and sampling_model("vcd@2") == "vcd@2"
    assert "best-of-N" in method_label(name)
    with pytest.raises(ValueError, match="unknown best-of-N scorer"):
        best_of_name("aesthetic")


def test_learned_scores_read_each_video_once_for_every_scorer(tmp_path, monkeypatch):
    """Every usable candidate is decoded once and scored by each scorer at its own
    frames against its item's image; excluded rows stay NaN."""
    from types import SimpleNamespace

    import torch
    from PIL import Image

    import vcd.video_io as video_io
    from vcd.best_of_n import learned_scores
    from vcd.video_io import write_video

    frames = np.stack([np.full((16, 16, 3), 40 * t, np.uint8) for t in range(5)])
    write_video(tmp_path / "v.mp4", frames)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "img.png")
    reads = []
    real_read = video_io.read_video
    monkeypatch.setattr(video_io, "read_video", lambda path: reads.append(path) or real_read(path))

    class MeanBrightness:  # a stand-in scorer: the mean of its frames, minus the image's
        def __init__(self, at: list[int]):
            self.record = {"frames": at}

        def __call__(self, cond: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
            assert video.shape[1] == len(self.record["frames"])
            return video.mean(dim=(1, 2, 3, 4)) - cond.mean(dim=(1, 2, 3))

    per_video = pd.DataFrame(
        {"dataset": "d", "image_id": "i", "file": ["v.mp4", "v.mp4"], "status": ["ok", "excluded"]}
    )
    layout = SimpleNamespace(resolve=lambda f: tmp_path / f)
    items = [SimpleNamespace(dataset="d", id="i", image=tmp_path / "img.png")]
    scored = learned_scores(
        per_video, layout, items, {"first": MeanBrightness([0]), "last": MeanBrightness([4])}, progress=False
    )
    assert len(reads) == 1  # one decode, two scorers
    assert scored["first"][0] < 0.05 < 0.5 < scored["last"][0]  # frame 0 is dark, frame 4 bright
    assert np.isnan(scored["first"][1]) and np.isnan(scored["last"][1])
