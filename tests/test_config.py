"""params.yaml, profiles and overlays."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vcd.config import _unknown_keys, apply_overlay, apply_profile, deep_merge, get, load_params

REPO = Path(__file__).resolve().parents[1]


def test_deep_merge_and_get():
    merged = deep_merge({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": 5}, "d": [2, 3]})
    assert merged == {"a": {"b": 5, "c": 2}, "d": [2, 3]}
    assert get(merged, "a.c") == 2
    with pytest.raises(KeyError, match="'a.x' is missing"):
        get(merged, "a.x")


def test_apply_overlay_keeps_comments_and_rejects_unknown_keys(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("# top comment\nvideo:\n  width: 112   # px\n  height: 80\nlist: [a, b]\n")
    changed = apply_overlay(path, {"video": {"width": 368}, "list": ["c"]})
    assert changed == ["video.width", "list"]
    text = path.read_text()
    assert "# top comment" in text and "# px" in text
    assert yaml.safe_load(text) == {"video": {"width": 368, "height": 80}, "list": ["c"]}
    with pytest.raises(KeyError, match="video.widht"):
        apply_overlay(path, {"video": {"widht": 1}})


@pytest.mark.parametrize("profile", sorted(p.stem for p in (REPO / "profiles").glob("*.yaml")))
def test_every_profile_only_sets_existing_parameters(profile, tmp_path):
    params = load_params(REPO / "params.yaml")
    overlay = yaml.safe_load((REPO / "profiles" / f"{profile}.yaml").read_text())
    assert _unknown_keys(params, overlay) == []
    (tmp_path / "profiles").mkdir()
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (tmp_path / "profiles" / f"{profile}.yaml").write_text((REPO / "profiles" / f"{profile}.yaml").read_text())
    apply_profile(profile, tmp_path)
    assert load_params(tmp_path / "params.yaml")["profile"] == profile


def test_default_params_are_the_offline_embedded_profile():
    params = load_params(REPO / "params.yaml")
    assert params["profile"] == "default" and params["runtime"]["offline"] == 1
    assert params["data"]["datasets"] == ["embedded"]
    assert params["vcd"]["encoder_weights"] is None


def test_paper_profile_follows_section_4_1(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (tmp_path / "profiles" / "paper.yaml").write_text((REPO / "profiles" / "paper.yaml").read_text())
    apply_profile("paper", tmp_path)
    params = load_params(tmp_path / "params.yaml")
    assert (params["video"]["width"], params["video"]["height"], params["video"]["num_frames"]) == (368, 272, 25)
    assert params["model"]["num_inference_steps"] == 30
    ft = params["finetune"]
    assert (ft["lr"], ft["backprop_steps"], ft["lora"]["rank"]) == (2e-4, 1, 16)
    assert ft["gradient_checkpointing"] is True
