"""Provenance: which code produced a result, and whether it was committed."""

from __future__ import annotations

import subprocess

from vcd.provenance import code_version, params_digest


def _git(repo, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True
    )


def test_pipeline_outputs_do_not_mark_the_code_dirty_but_source_changes_do(tmp_path):
    (tmp_path / "vcd").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "vcd" / "metric.py").write_text("x = 1\n")
    (tmp_path / "results" / "claims.json").write_text("[]\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "init")
    clean = code_version(tmp_path)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False
    (tmp_path / "results" / "claims.json").unlink()  # what DVC does before re-running a stage
    assert code_version(tmp_path)["dirty"] is False
    (tmp_path / "vcd" / "metric.py").write_text("x = 2\n")
    changed = code_version(tmp_path)
    assert changed["dirty"] is True and changed["dirty_files"] == ["vcd/metric.py"]


def test_outside_a_git_checkout_the_version_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # even if the temp folder sits inside a repo
    assert code_version(tmp_path)["dirty"] is None


def test_params_digest_ignores_key_order_but_not_values():
    assert params_digest({"a": 1, "b": {"c": 2}}) == params_digest({"b": {"c": 2}, "a": 1})
    assert params_digest({"a": 1}) != params_digest({"a": 2})


def test_profile_label_names_the_default_profile_and_its_stand_in_encoder():
    from vcd.provenance import profile_label

    label = profile_label("default", {"encoder_weights": "random"})
    assert "not the paper's numbers" in label and "stand-in" in label
    assert profile_label("paper", {"encoder_weights": "imagenet"}) == "Profile: paper; VGG19 weights: imagenet"
