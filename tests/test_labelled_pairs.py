"""Real labelled pairs in VideoAlign's CSV format (vcd/labelled_pairs.py) and the learned
rewards trained on them (vcd.reward_models.fit_reward_models)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vcd.labelled_pairs import (
    PREFERENCE,
    LabelledPairsError,
    pair_groups,
    read_labelled_pairs,
    resample_frames,
    split_by_image,
)
from vcd.reward_models import pairwise_accuracy, preference_pairs
from vcd.settings import LabelledPairsConfig, SettingsError
from vcd.video_io import write_video

SIZE = (32, 24)  # (width, height) of the fixture's videos and images


def _write_pairs(folder: Path, labels: list[str], images: int = 3, criterion: str = "consistency") -> Path:
    """A CSV with one pair per label: pair k shows image k % ``images``; video A keeps the
    image, video B turns to noise (so "A" is the right answer for a consistency label)."""
    rng = np.random.default_rng(0)
    rows = []
    for k, label in enumerate(labels):
        image = (rng.random((SIZE[1], SIZE[0], 3)) * 255).astype(np.uint8)
        image_file = folder / f"image{k % images}.png"
        if not image_file.exists():
            Image.fromarray(image).save(image_file)
        still = np.asarray(Image.open(image_file).convert("RGB"))
        keep = np.repeat(still[None], 6, axis=0)
        noise = (rng.random(keep.shape) * 255).astype(np.uint8)
        write_video(folder / f"a{k}.mp4", keep)
        write_video(folder / f"b{k}.mp4", noise)
        rows.append({"path_A": f"a{k}.mp4", "path_B": f"b{k}.mp4", "prompt": f"pair {k}", criterion: label})
        rows[-1]["image"] = image_file.name
    path = folder / "pairs.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["path_A", "path_B", "prompt", criterion, "image"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_reads_videoalign_rows_relative_to_the_csv(tmp_path):
    path = _write_pairs(tmp_path, ["A", "B", "same"])
    pairs = read_labelled_pairs(path, "consistency")
    assert [p.preference for p in pairs] == [PREFERENCE["A"], PREFERENCE["B"], PREFERENCE["same"]] == [1.0, 0.0, 0.5]
    assert pairs[0].video_a == tmp_path / "a0.mp4" and pairs[1].image == tmp_path / "image1.png"
    assert [p.row for p in pairs] == [2, 3, 4] and pairs[2].prompt == "pair 2"


def test_every_problem_is_reported_before_anything_is_decoded(tmp_path):
    path = _write_pairs(tmp_path, ["A", "B", "A"])
    with pytest.raises(LabelledPairsError, match=r"missing column\(s\) \['MQ'\]"):
        read_labelled_pairs(path, "MQ")
    text = path.read_text().replace(",B,", ",b?,").replace("a2.mp4", "gone.mp4")
    path.write_text(text)
    with pytest.raises(LabelledPairsError) as error:
        read_labelled_pairs(path, "consistency")
    message = str(error.value)
    assert "2 problem(s)" in message
    assert "line 3: consistency is 'b?'" in message and "line 4: path_A 'gone.mp4' is not a file" in message
    with pytest.raises(LabelledPairsError, match="does not exist"):
        read_labelled_pairs(tmp_path / "nope.csv", "consistency")


def test_a_file_of_ties_only_is_refused(tmp_path):
    with pytest.raises(LabelledPairsError, match="no row prefers one video"):
        read_labelled_pairs(_write_pairs(tmp_path, ["same", "same"]), "consistency")


def test_pair_groups_give_back_each_label(tmp_path):
    pairs = read_labelled_pairs(_write_pairs(tmp_path, ["A", "B", "same", "B"]), "consistency")
    groups, severities = pair_groups(pairs)
    index, labels = preference_pairs(groups, severities)
    assert index.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert labels.tolist() == [p.preference for p in pairs]
    # a scorer that always prefers A is right on the A pair and wrong on the two B pairs
    scores = np.tile([1.0, 0.0], len(pairs))
    assert pairwise_accuracy(scores, groups, severities) == pytest.approx(1 / 3)


def test_split_by_image_keeps_each_image_in_one_split(tmp_path):
    pairs = read_labelled_pairs(_write_pairs(tmp_path, ["A", "B"] * 5, images=5), "consistency")
    train, val, test = split_by_image(pairs, 0.2, 0.2, seed=0)
    assert sorted([*train, *val, *test]) == list(range(10))
    images = [{str(pairs[i].image) for i in part} for part in (train, val, test)]
    assert images[0].isdisjoint(images[1]) and images[0].isdisjoint(images[2]) and images[1].isdisjoint(images[2])
    assert [len(s) for s in images] == [3, 1, 1]
    assert [a.tolist() for a in split_by_image(pairs, 0.2, 0.2, seed=0)] == [
        train.tolist(),
        val.tolist(),
        test.tolist(),
    ]
    with pytest.raises(LabelledPairsError, match="train/validation/test need 3"):
        split_by_image(pairs[:2], 0.2, 0.2, seed=0)


def test_resample_frames_spans_the_video_at_the_video_size():
    frames = np.zeros((10, 48, 64, 3), dtype=np.uint8)
    frames[:, :, :, 0] = np.arange(10).reshape(10, 1, 1) * 20
    clip = resample_frames(frames, 4, SIZE)
    assert clip.shape == (4, 3, SIZE[1], SIZE[0]) and clip.dtype == torch.float32
    assert torch.allclose(clip[:, 0].mean(dim=(1, 2)), torch.tensor([0, 60, 120, 180]) / 255.0, atol=1e-5)
    with pytest.raises(ValueError, match=r"\[T, H, W, 3\]"):
        resample_frames(frames[..., 0], 4, SIZE)


def test_settings_check_the_shares():
    assert LabelledPairsConfig("pairs.csv", "MQ").image_column == "image"
    with pytest.raises(SettingsError, match="below 1"):
        LabelledPairsConfig("pairs.csv", "MQ", validation_share=0.5, test_share=0.5)
    with pytest.raises(SettingsError, match="criterion"):
        LabelledPairsConfig("pairs.csv", " ")


def test_reward_models_learn_real_pairs_and_report_their_test_accuracy(tmp_path):
    """The whole stage function on a tiny labelled set: trained on real pairs, measured on
    the test split's images, with VCD scored against each row's image."""
    from dataclasses import replace

    from vcd.reward_models import fit_reward_models, heldout_caption
    from vcd.settings import RewardModelHead, RewardModelTraining, Settings

    _write_pairs(tmp_path, ["A", "B", "A", "same", "A", "B", "A", "B", "A", "A"], images=5)
    settings = Settings.load(Path(__file__).resolve().parents[1] / "params.yaml")
    video = replace(settings.video, width=SIZE[0], height=SIZE[1], num_frames=5)
    config = replace(
        settings.reward_models,
        photo_views=2,
        procedural=0,
        heldout_views=2,
        heldout_videos_per_view=2,
        grid=(2, 2),
        head=RewardModelHead(mlp_hidden=8, width=8, heads=2, layers=1),
        train=RewardModelTraining(steps=4, batch_pairs=2, lr=1e-3),
        labelled_pairs=LabelledPairsConfig("pairs.csv", "consistency", validation_share=0.2, test_share=0.2),
    )
    photo = torch.rand(3, 40, 40, generator=torch.Generator().manual_seed(1))
    fitted = fit_reward_models(
        config, settings.vcd, video, {"train": photo}, {"train": "a photo"}, {"held": photo.flip(-1)}, False, tmp_path
    )
    assert fitted.counts["labelled_pairs"] == 10 and fitted.counts["test_pairs"] == 2
    assert fitted.counts["training_pairs"] == 6 and fitted.counts["validation_videos"] == 4
    accuracy = fitted.measures.set_index("scorer")["labelled_pairs_accuracy"]
    assert set(accuracy.index) == {"vcd", "icreward", "mlp_reward"}
    assert accuracy["vcd"] in (0.0, 0.5, 1.0)  # two test pairs, both decided
    assert fitted.scorers["icreward"].record["labels"] == "labelled pairs pairs.csv (consistency)"
    assert "6 of 10 real labelled pairs" in heldout_caption(fitted.counts, "test")
    with pytest.raises(LabelledPairsError, match="does not exist"):  # before any encoding
        fit_reward_models(
            replace(config, labelled_pairs=LabelledPairsConfig("gone.csv", "consistency")),
            settings.vcd,
            video,
            {"train": photo},
            {"train": "a photo"},
            {"held": photo.flip(-1)},
            False,
            tmp_path,
        )


def test_labelled_pairs_are_encoded_in_batches_without_changing_any_token(tmp_path):
    """Decoding and encoding a few pairs at a time (the memory bound at paper size) gives
    the tokens of encoding each pair alone, each video beside its own image, and keeps
    the test split's pixels in pair order."""
    from dataclasses import replace

    from vcd.labelled_pairs import iter_pair_clips
    from vcd.reward_models import TokenFeatures, _labelled_training
    from vcd.settings import Settings

    _write_pairs(tmp_path, ["A", "B", "A", "same", "A", "B", "A"], images=4)
    pairs = read_labelled_pairs(tmp_path / "pairs.csv", "consistency", "image")
    settings = Settings.load(Path(__file__).resolve().parents[1] / "params.yaml")

    video = replace(settings.video, width=SIZE[0], height=SIZE[1], num_frames=5)
    spec = LabelledPairsConfig("pairs.csv", "consistency", validation_share=0.25, test_share=0.25)
    features = TokenFeatures(settings.reward_models.layers, (2, 2), settings.vcd.encoder_weights, settings.vcd.seed)
    frames = [0, 2, 4]
    one = _labelled_training(pairs, spec, 0, features, video, frames, False, batch_pairs=1)
    three = _labelled_training(pairs, spec, 0, features, video, frames, False, batch_pairs=3)
    # equal up to the convolution's batch-size-dependent rounding (float16 tokens)
    for got, want in [
        (three[0].frame_tokens, one[0].frame_tokens),
        (three[0].image_tokens, one[0].image_tokens),
        (three[2].frame_tokens, one[2].frame_tokens),
        (three[2].image_tokens, one[2].image_tokens),
    ]:
        torch.testing.assert_close(got.float(), want.float(), rtol=2e-3, atol=2e-3)
    decoded = list(iter_pair_clips(pairs, video.num_frames, video.size, progress=False))
    _, _, test_idx = split_by_image(pairs, spec.validation_share, spec.test_share, 0)
    expected_clips = torch.cat([decoded[k][1] for k in sorted(test_idx)])
    assert torch.equal(three[2].clips, expected_clips)
    assert torch.equal(three[2].images[0], decoded[sorted(test_idx)[0]][0])
    assert torch.equal(three[2].images[0], three[2].images[1])  # A and B share their pair's image
    with torch.no_grad():  # and the heads see that image's tokens beside both of its videos
        own = features(torch.stack([decoded[k][0] for k in sorted(test_idx)])).half().repeat_interleave(2, dim=0)
    torch.testing.assert_close(three[2].image_tokens.float(), own.float(), rtol=2e-3, atol=2e-3)
