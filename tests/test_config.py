"""params.yaml, profiles and overlays."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tiny import project_with_profile
from vcd.config import _unknown_keys, apply_overlay, apply_profile, deep_merge, get, load_params
from vcd.settings import Settings, SettingsError

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
def test_every_profile_only_sets_existing_parameters_and_gives_valid_settings(profile, tmp_path):
    params = load_params(REPO / "params.yaml")
    overlay = yaml.safe_load((REPO / "profiles" / f"{profile}.yaml").read_text())
    assert _unknown_keys(params, overlay) == []
    layout = project_with_profile(tmp_path, profile)
    apply_profile(profile, layout)
    assert Settings.load(layout.params_file).profile == profile


def test_a_profile_that_makes_the_settings_invalid_changes_nothing(tmp_path):
    layout = project_with_profile(tmp_path, "paper")
    layout.profile("paper").write_text("video:\n  num_frames: 24\n")  # 24 - 1 is not a multiple of Wan's 4
    before = layout.params_file.read_text()
    with pytest.raises(SettingsError, match="num_frames"):
        apply_profile("paper", layout)
    assert layout.params_file.read_text() == before


def test_default_params_are_the_offline_embedded_profile():
    settings = Settings.load(REPO / "params.yaml")
    assert settings.profile == "default" and settings.runtime.offline is True
    assert settings.data.datasets == ("embedded",)
    assert settings.vcd.encoder_weights is None


def test_paper_profile_follows_section_4_1(tmp_path):
    layout = project_with_profile(tmp_path, "paper")
    apply_profile("paper", layout)
    settings = Settings.load(layout.params_file)
    assert (settings.video.width, settings.video.height, settings.video.num_frames) == (368, 272, 25)
    assert settings.model.num_inference_steps == 30
    ft = settings.finetune
    assert (ft.lr, ft.backprop_steps, ft.lora.rank) == (2e-4, 1, 16)
    assert ft.gradient_checkpointing is True
    assert settings.methods.baseline == "vjepa"


def test_paper_profile_crops_vbench_i2v_images_at_the_generation_ratio(tmp_path):
    """App. C.1: VBench-I2V's crops at the generation's aspect, not a centre crop of 1:1."""
    layout = project_with_profile(tmp_path, "paper")
    apply_profile("paper", layout)
    settings = Settings.load(layout.params_file)
    assert settings.data.vbench_i2v.ratio == "23-17" and 23 / 17 == 368 / 272
    params = load_params(layout.params_file)
    params["data"]["vbench_i2v"]["ratio"] = "1-1"
    with pytest.raises(SettingsError, match=r"ratio '1-1' \(aspect 1.000\) does not match the video's 368x272"):
        Settings.from_mapping(params)
    params["data"]["vbench_i2v"]["ratio"] = "4:3"
    with pytest.raises(SettingsError, match="must name a crop folder 'W-H'"):
        Settings.from_mapping(params)
