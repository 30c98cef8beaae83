"""Study reruns: the seed shift, the rerun in a fresh clone, and verdicts compared only when current."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vcd import study
from vcd.config import load_params
from vcd.layout import Layout
from vcd.provenance import params_digest
from vcd.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def _git(repo, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True
    ).stdout.decode()


def _checkout(tmp_path: Path) -> Layout:
    """A committed project with the repository's params.yaml and a source file."""
    root = tmp_path / "project"
    (root / "vcd").mkdir(parents=True)
    (root / "vcd" / "metric.py").write_text("x = 1\n")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "init")
    return Layout(root)


def test_a_study_seed_shifts_every_seed_of_the_study_and_nothing_else():
    settings = Settings.load(REPO / "params.yaml")
    overlay = study.study_seed_overlay(settings, 2)
    shift = 2 * study.SEED_STRIDE
    assert overlay["finetune"]["run_seeds"] == [s + shift for s in settings.finetune.run_seeds]
    assert overlay["evaluation"]["seeds"] == [s + shift for s in settings.evaluation.seeds]
    assert overlay["evaluation"]["replicate_seeds"] == [s + shift for s in settings.evaluation.replicate_seeds]
    assert set(overlay) == {"finetune", "evaluation"}  # base model, split, metric (vcd.seed) stay
    from vcd.config import deep_merge

    Settings.from_mapping(deep_merge(load_params(REPO / "params.yaml"), overlay))  # valid settings
    with pytest.raises(ValueError, match="must be >= 1"):
        study.study_seed_overlay(settings, 0)


def test_a_rerun_clones_the_commit_shifts_the_seeds_and_keeps_its_results(tmp_path, monkeypatch):
    layout = _checkout(tmp_path)
    settings = Settings.load(layout.params_file)
    seen = {}
    real_run = study._run

    def fake_make(command, cwd, log):  # `make repro` stands in: it writes the results a repro would
        if command[0] != "make":
            return real_run(command, cwd, log)
        clone = Layout(Path(cwd))
        seen["params"] = Settings.load(clone.params_file)
        for made, _ in study.kept_files(clone, layout.study_rerun(1)):
            made.parent.mkdir(parents=True, exist_ok=True)
            made.write_text("[]\n" if made.suffix == ".json" else "a\n")

    monkeypatch.setattr(study, "_run", fake_make)
    target = study.rerun_study(layout, settings, 1, tmp_path / "clone")
    assert target == layout.study_rerun(1).dir
    assert seen["params"].finetune.run_seeds == tuple(s + 1000 for s in settings.finetune.run_seeds)
    record = json.loads((target / "record.json").read_text())
    assert record["commit"] == _git(layout.root, "rev-parse", "HEAD").strip()
    assert record["params_sha256"] == params_digest(settings.as_dict())
    kept = [layout.study_rerun(1).record, *(k for _, k in study.kept_files(layout, layout.study_rerun(1)))]
    assert sorted(target.iterdir()) == sorted(kept)
    assert not (tmp_path / "clone").exists()  # the clone is removed; its results are kept
    with pytest.raises(FileExistsError, match="move it away"):
        study.rerun_study(layout, settings, 1)  # nothing is overwritten
    (layout.root / "vcd" / "metric.py").write_text("x = 2\n")
    with pytest.raises(RuntimeError, match="commit them first"):
        study.rerun_study(layout, settings, 2)


def _claim(cid: str, reproduced: bool, tested: bool = True) -> dict:
    return {"id": cid, "reproduced": reproduced, "tested": tested, "effect": 0.1, "p_holm": 0.01}


def test_verdicts_are_compared_only_with_a_rerun_of_the_same_code_and_settings(tmp_path):
    layout = _checkout(tmp_path)
    settings = Settings.load(layout.params_file)
    head = _git(layout.root, "rev-parse", "HEAD").strip()
    here = [_claim("C1", True), _claim("C2", False), _claim("C3", True)]
    record = {"study_seed": 1, "commit": head, "params_sha256": params_digest(settings.as_dict())}
    reruns = {
        "study-seed-1": {"record": record, "claims": [_claim("C1", True), _claim("C2", False), _claim("C3", False)]}
    }
    claims, status = study.attach_rerun_verdicts(here, reruns, settings, layout.root)
    assert status["study-seed-1"]["stale"] is None
    assert [c["same_verdict_in_reruns"] for c in claims] == [True, True, False]
    assert [c["reproduced_in_every_study"] for c in claims] == [True, False, False]
    # other settings: reported stale, never compared
    stale = {"study-seed-1": {"record": record | {"params_sha256": "x"}, "claims": reruns["study-seed-1"]["claims"]}}
    claims, status = study.attach_rerun_verdicts(here, stale, settings, layout.root)
    assert status["study-seed-1"]["stale"] == "other settings"
    assert all(c["reruns"] == {} and c["reproduced_in_every_study"] is None for c in claims)
    # committing the rerun itself (data/study_reruns/) keeps it current
    layout.study_rerun(1).dir.mkdir(parents=True)
    layout.study_rerun(1).record.write_text("{}")
    _git(layout.root, "add", ".")
    _git(layout.root, "commit", "-qm", "rerun results")
    _, status = study.attach_rerun_verdicts(here, reruns, settings, layout.root)
    assert status["study-seed-1"]["stale"] is None
    # other code: stale
    (layout.root / "vcd" / "metric.py").write_text("x = 3\n")
    _git(layout.root, "commit", "-qam", "change")
    _, status = study.attach_rerun_verdicts(here, reruns, settings, layout.root)
    assert status["study-seed-1"]["stale"].startswith("other code")


def test_the_claims_table_shows_each_reruns_verdict_and_whether_they_agree():
    from vcd.claims import claims_frame, claims_metrics

    base = {
        "claim": "c", "metric": "m", "comparison": "a > b", "ci95_low": 0.0, "ci95_high": 0.2, "mde80": 0.1,
        "paper_effect": 0.1, "paper_p_value": 0.01, "paper_reproduced": True, "paper_tested": True, "note": "",
        "paper_note": "", "p_value": 0.01,
    }  # fmt: skip
    claims = [
        base | _claim("C1", True) | {"reruns": {"study-seed-1": _claim("C1", True)}, "same_verdict_in_reruns": True,
                                     "reproduced_in_every_study": True},
        base | _claim("C2", True) | {"reruns": {"study-seed-1": _claim("C2", False)}, "same_verdict_in_reruns": False,
                                     "reproduced_in_every_study": False},
    ]  # fmt: skip
    table = claims_frame(claims).set_index("id")
    assert list(table["study-seed-1: reproduced"]) == [True, False]
    assert list(table["same verdict in every study"]) == [True, False]
    metrics = claims_metrics(claims)
    assert metrics["claims_same_verdict_in_reruns"] == 1 and metrics["claims_reproduced_in_every_study"] == 1
