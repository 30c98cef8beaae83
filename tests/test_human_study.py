"""The human study's design: selection, pairs on the same videos, pinned files, rater plans."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pytest
from conftest import REPO, make_study_project

from tiny import settings_of
from vcd.config import load_params
from vcd.human_study import StudyError, build_study, file_sha256, rater_plan, read_study, write_study
from vcd.settings import SettingsError


def test_every_pair_compares_the_same_selected_videos(tmp_path):
    layout, settings = make_study_project(tmp_path / "p", videos_per_dataset=3)
    study = build_study(settings, layout)
    pairs = [tuple(p) for p in settings.human_study.pairs]
    assert study["selection"] == {"embedded": {"requested": 3, "available": 4, "selected": 3}}
    assert len(study["trials"]) == 3 * len(pairs)
    keys = {}
    for trial in study["trials"]:
        keys.setdefault(tuple(trial["pair"]), set()).add((trial["image_id"], trial["prompt"], trial["seed"]))
        assert set(trial["videos"]) == set(trial["pair"])
        for method, pinned in trial["videos"].items():
            assert pinned["path"] == layout.relative(
                layout.video_file(method, "embedded", trial["prompt"], trial["seed"])
            )
            assert pinned["sha256"] == file_sha256(layout.resolve(pinned["path"]))
    assert set(keys) == set(pairs)
    assert len({frozenset(k) for k in keys.values()}) == 1  # one selection for every pair
    assert len({t["id"] for t in study["trials"]}) == len(study["trials"])


def test_the_design_is_reproducible_and_follows_the_seed(tmp_path):
    layout, settings = make_study_project(tmp_path / "p", videos_per_dataset=2)
    first, again = build_study(settings, layout), build_study(settings, layout)
    assert first == again
    other = build_study(settings.with_changes(human_study=replace(settings.human_study, seed=5)), layout)
    assert other["study"] != first["study"] and other["raters"] != first["raters"]


def test_fewer_videos_than_asked_are_all_used_and_reported(tmp_path):
    layout, settings = make_study_project(tmp_path / "p", videos_per_dataset=30)
    study = build_study(settings, layout)
    assert study["selection"]["embedded"] == {"requested": 30, "available": 4, "selected": 4}


def test_a_failed_video_is_not_selected(tmp_path):
    import pandas as pd

    layout, settings = make_study_project(tmp_path / "p", videos_per_dataset=30)
    table = layout.method_results("vcd").per_video
    rows = pd.read_csv(table)
    rows.loc[0, "status"] = "failed"
    rows.to_csv(table, index=False)
    study = build_study(settings, layout)
    assert study["selection"]["embedded"]["available"] == 3
    dropped = (rows.image_id[0], rows.prompt[0], int(rows.seed[0]))
    assert all((t["image_id"], t["prompt"], t["seed"]) != dropped for t in study["trials"])


def test_a_method_without_results_stops_the_design(tmp_path):
    layout, settings = make_study_project(tmp_path / "p")
    layout.method_results("vcd").per_video.unlink()
    with pytest.raises(StudyError, match="dvc repro evaluate"):
        build_study(settings, layout)


def test_rater_plans_are_permutations_with_balanced_sides(tmp_path):
    layout, settings = make_study_project(tmp_path / "p")
    study = build_study(settings, layout)
    study = {**study, "trials": study["trials"] * 40}  # many trials: the coin and the order are visible
    for i, trial in enumerate(study["trials"]):
        study["trials"][i] = {**trial, "id": f"x{i}"}
    plans = {r: rater_plan(study, r) for r in (1, 2, 3)}
    ids = [t["id"] for t in study["trials"]]
    for plan in plans.values():
        assert sorted(p.trial for p in plan) == sorted(ids) and [p.position for p in plan] == list(range(len(ids)))
        pairs = {t["id"]: t["pair"] for t in study["trials"]}
        assert all({p.left, p.right} == set(pairs[p.trial]) for p in plan)
        firsts_left = sum(p.left == pairs[p.trial][0] for p in plan) / len(plan)
        assert 0.4 < firsts_left < 0.6
    assert [p.trial for p in plans[1]] != [p.trial for p in plans[2]]
    assert rater_plan(study, 2) == plans[2]  # recomputable from (seed, rater) alone
    with pytest.raises(StudyError):
        rater_plan(study, 0)


def test_the_manifest_lists_each_raters_plan_and_round_trips(tmp_path):
    layout, settings = make_study_project(tmp_path / "p", raters=3)
    study = build_study(settings, layout)
    assert set(study["raters"]) == {"1", "2", "3"}
    assert study["raters"]["2"] == [[p.trial, p.left] for p in rater_plan(study, 2)]
    write_study(layout, study)
    assert read_study(layout.study_manifest) == json.loads(json.dumps(study))
    bad = json.loads(layout.study_manifest.read_text())
    bad["version"] = 99
    layout.study_manifest.write_text(json.dumps(bad))
    with pytest.raises(StudyError, match="format"):
        read_study(layout.study_manifest)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"human_study.pairs": [["base", "nonsense"]]}, "not among the evaluated methods"),
        ({"human_study.pairs": [["vcd", "vcd"]]}, "compared with itself"),
        ({"human_study.pairs": [["base", "vcd"], ["vcd", "base"]]}, "twice"),
        ({"human_study.criteria": ["beauty"]}, "unknown"),
        ({"human_study.raters": 0}, "raters"),
        ({"human_study.videos_per_dataset": 0}, "videos_per_dataset"),
    ],
)
def test_bad_study_settings_are_refused(change, message):
    with pytest.raises(SettingsError, match=message):
        settings_of(load_params(REPO / "params.yaml"), **change)


def test_the_paper_profile_compares_the_papers_pairs():
    overlay = load_params(REPO / "profiles" / "paper.yaml")
    assert overlay["human_study"]["pairs"] == [["base", "vjepa"], ["base", "vcd"], ["vjepa", "vcd"]]
    assert Counter(m for p in overlay["human_study"]["pairs"] for m in p) == {"base": 2, "vjepa": 2, "vcd": 2}
