"""Real preference pairs for the learned consistency rewards, in VideoAlign's CSV format.

VideoAlign (Liu et al., "Improving Video Generation with Human Feedback", 2025; the
``KwaiVGI/VideoAlign`` repository) trains its VideoReward model on a CSV with one
row per pair of videos: ``path_A, path_B, prompt`` and one column per criterion (its
own are ``VQ``, ``MQ`` and ``TA``) holding ``A`` (the first video is better), ``B``
or ``same``, learned with a Bradley-Terry loss with ties. An image-to-video
consistency label needs the conditioning image too, which VideoAlign's text-to-video
rows do not have, so this reader asks for one more column (``image`` by default).

No such labels exist offline, so the embedded profile trains on the known severity of
synthetic drift (:mod:`vcd.reward_models`); a paper-profile user who has pairs
(ICReward's, a human study's, VideoAlign's own with a chosen criterion) points
``reward_models.labelled_pairs`` at them. Everything is checked before a frame is
decoded: the header, every label, every file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "VIDEOALIGN_COLUMNS",
    "PREFERENCE",
    "LabelledPair",
    "LabelledPairsError",
    "read_labelled_pairs",
    "pair_groups",
    "split_by_image",
    "resample_frames",
    "iter_pair_clips",
]

#: the columns every VideoAlign pair CSV has
VIDEOALIGN_COLUMNS: tuple[str, ...] = ("path_A", "path_B", "prompt")
#: label -> the probability that video A is the more consistent one (the soft label of
#: the Bradley-Terry loss with ties)
PREFERENCE: dict[str, float] = {"A": 1.0, "B": 0.0, "same": 0.5}


class LabelledPairsError(ValueError):
    """A labelled-pairs CSV that cannot be used, with every problem found."""


@dataclass(frozen=True)
class LabelledPair:
    """One row: two videos of the same conditioning image and which is preferred."""

    video_a: Path
    video_b: Path
    image: Path
    prompt: str
    preference: float  # PREFERENCE[label]: 1 if A wins, 0 if B wins, 0.5 for "same"
    row: int  # the CSV line, for messages


def read_labelled_pairs(csv_path: str | Path, criterion: str, image_column: str = "image") -> list[LabelledPair]:
    """The pairs of ``csv_path`` labelled for ``criterion``.

    Paths are read relative to the CSV's folder unless absolute. Raises
    :class:`LabelledPairsError` listing every problem (a missing column, a label other
    than ``A``/``B``/``same``, a missing file, a pair of one video with itself) before
    any video is decoded, so a bad file fails in seconds, not after feature extraction."""
    path = Path(csv_path)
    if not path.is_file():
        raise LabelledPairsError(f"labelled pairs: {path} does not exist")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        needed = [*VIDEOALIGN_COLUMNS, image_column, criterion]
        missing = [c for c in needed if c not in header]
        if missing:
            raise LabelledPairsError(
                f"labelled pairs {path}: missing column(s) {missing}; the file has {header} (VideoAlign's format: "
                f"{', '.join(VIDEOALIGN_COLUMNS)}, a label column per criterion, and {image_column!r} for the image)"
            )
        rows = list(reader)
    base = path.parent
    problems: list[str] = []
    pairs: list[LabelledPair] = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        label = (row[criterion] or "").strip()
        if label not in PREFERENCE:
            problems.append(f"line {line}: {criterion} is {label!r}, not one of {sorted(PREFERENCE)}")
            continue
        files = {}
        for column in ("path_A", "path_B", image_column):
            value = (row[column] or "").strip()
            file = Path(value) if Path(value).is_absolute() else base / value
            if not value or not file.is_file():
                problems.append(f"line {line}: {column} {value!r} is not a file")
            files[column] = file
        if files["path_A"] == files["path_B"]:
            problems.append(f"line {line}: path_A and path_B are the same video")
        pairs.append(
            LabelledPair(
                files["path_A"], files["path_B"], files[image_column], row["prompt"] or "", PREFERENCE[label], line
            )
        )
    if problems:
        shown = "; ".join(problems[:10]) + (f"; ... {len(problems) - 10} more" if len(problems) > 10 else "")
        raise LabelledPairsError(f"labelled pairs {path}: {len(problems)} problem(s): {shown}")
    if not any(p.preference != 0.5 for p in pairs):
        raise LabelledPairsError(f"labelled pairs {path}: no row prefers one video ({criterion} is 'same' throughout)")
    return pairs


def pair_groups(pairs: Sequence[LabelledPair]) -> tuple[np.ndarray, np.ndarray]:
    """Groups and severities of the 2P videos (A of pair p at 2p, B at 2p+1) that give
    back each pair's label under :func:`vcd.reward_models.preference_pairs`: one group
    per pair, the preferred video at severity 0 and the other at 1 (both 0 for "same"),
    so the synthetic-label training and accuracy code serve real pairs unchanged."""
    groups = np.repeat(np.arange(len(pairs)), 2)
    severities = np.zeros(2 * len(pairs))
    for k, pair in enumerate(pairs):
        if pair.preference == 1.0:
            severities[2 * k + 1] = 1.0
        elif pair.preference == 0.0:
            severities[2 * k] = 1.0
    return groups, severities


def split_by_image(
    pairs: Sequence[LabelledPair], validation_share: float, test_share: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the training, validation and test pairs, split by conditioning image
    (every pair of an image lies in one split, so the held-out accuracy is on images the
    heads never saw). Each split gets at least one image; at least three are needed."""
    images = sorted({str(p.image) for p in pairs})
    if len(images) < 3:
        raise LabelledPairsError(f"labelled pairs: {len(images)} conditioning image(s); train/validation/test need 3")
    order = np.random.default_rng(int(seed)).permutation(len(images))
    n_val = max(1, round(validation_share * len(images)))
    n_test = max(1, round(test_share * len(images)))
    n_val = min(n_val, len(images) - 2)
    n_test = min(n_test, len(images) - 1 - n_val)
    split = {images[i]: 1 for i in order[:n_val]} | {images[i]: 2 for i in order[n_val : n_val + n_test]}
    which = np.array([split.get(str(p.image), 0) for p in pairs])
    return tuple(np.flatnonzero(which == k) for k in range(3))  # type: ignore[return-value]


def resample_frames(frames: np.ndarray, num_frames: int, size: tuple[int, int]) -> torch.Tensor:
    """A decoded video (uint8 [T, H, W, 3]) as ``num_frames`` frames evenly spaced from the
    first to the last, resized to ``size`` (width, height, as ``VideoSpec.size``):
    float [num_frames, 3, height, width] in [0, 1]."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames [T, H, W, 3]; got {frames.shape}")
    picks = np.round(np.linspace(0, len(frames) - 1, num_frames)).astype(int)
    clip = torch.from_numpy(np.ascontiguousarray(frames[picks])).permute(0, 3, 1, 2).float() / 255.0
    width, height = size
    return F.interpolate(clip, size=(height, width), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def iter_pair_clips(
    pairs: Sequence[LabelledPair], num_frames: int, size: tuple[int, int], progress: bool = True
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Decode the pairs one at a time at ``size`` (width, height): per pair, its
    conditioning image [3, height, width] and its two clips [2, num_frames, 3, height,
    width] (A, then B). A generator, so a caller keeps only what it needs of each pair
    (at paper size the decoded clips of a labelled set do not fit in memory). Unlike the
    synthetic videos, whose frame 1 is the conditioning image, a real clip is scored
    against the image file of its row."""
    from PIL import Image
    from tqdm.auto import tqdm

    from .video_io import read_video

    for pair in tqdm(pairs, desc="decoding labelled pairs", disable=not progress):
        with Image.open(pair.image) as img:
            image = np.asarray(img.convert("RGB"))[None]
        still = resample_frames(image, 1, size)[0]
        clips = torch.stack([resample_frames(read_video(v), num_frames, size) for v in (pair.video_a, pair.video_b)])
        yield still, clips
