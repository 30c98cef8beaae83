"""Parsing official VBench and VideoScore result files (their native formats)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vcd.layout import split_video_name
from vcd.official import merge_official, parse_vbench, parse_videoscore

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "official"
PROMPT = "a red cup of espresso on a saucer on a wooden table, camera slowly pans right"


def test_video_names_split_into_prompt_and_seed():
    assert split_video_name("x/a cat, camera pans left-3.mp4") == ("a cat, camera pans left", 3)
    assert split_video_name("a-b-c-12") == ("a-b-c", 12)
    with pytest.raises(ValueError, match="not a VBench video name"):
        split_video_name("no_seed.mp4")


def test_parse_vbench_results():
    df = parse_vbench(FIXTURES / "base_embedded_eval_results.json", "base", "embedded").sort_values("seed")
    assert df.prompt.tolist() == [PROMPT, PROMPT] and df.seed.tolist() == [0, 1]
    assert df.vbench_i2v_subject.tolist() == [0.951, 0.9336]
    assert df.vbench_dynamic_degree.tolist() == [1.0, 0.0]  # VBench writes booleans
    assert df.vbench_temporal_flickering.tolist() == [0.9799, 0.9803]


def test_parse_videoscore_results():
    df = parse_videoscore(FIXTURES / "base_embedded_videoscore.json", "base", "embedded")
    assert df.seed.tolist() == [0, 1]
    assert df.videoscore_visual_quality.tolist() == [2.281, 2.203]
    assert df.videoscore_factual_consistency.tolist() == [2.164, 2.25]


def test_merge_keeps_every_video_and_fills_missing_with_nan():
    per_video = pd.DataFrame(
        {
            "method": ["base"] * 3,
            "dataset": ["embedded"] * 3,
            "prompt": [PROMPT, PROMPT, "other"],
            "seed": [0, 1, 0],
            "status": ["ok"] * 3,
        }
    )
    merged = merge_official(
        per_video,
        [
            parse_vbench(FIXTURES / "base_embedded_eval_results.json", "base", "embedded"),
            parse_videoscore(FIXTURES / "base_embedded_videoscore.json", "base", "embedded"),
        ],
    )
    assert len(merged) == 3
    assert np.isnan(merged.loc[merged.prompt == "other", "vbench_i2v_subject"]).all()
    assert merged.loc[(merged.prompt == PROMPT) & (merged.seed == 1), "videoscore_temporal_consistency"].item() == 2.75
