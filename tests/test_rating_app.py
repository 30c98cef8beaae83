"""The rating app's API: tokens, votes and their history, bad requests, files served,
restarts, a killed server and concurrent raters."""

from __future__ import annotations

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading

import pytest

from vcd.human_study import StudyError, rater_plan
from vcd.rating_app import VoteStore, create_app


@pytest.fixture()
def app_and_tokens(study_project):
    layout, settings, study = study_project
    app = create_app(layout)
    store: VoteStore = app.config["store"]
    tokens = store.ensure_raters(2)
    return layout, study, app, store, tokens


def _vote(client, token, trial, criterion="temporal_consistency", choice="A"):
    return client.post(f"/api/{token}/votes", json={"trial": trial, "criterion": criterion, "choice": choice})


def test_a_rater_sees_their_own_order_and_sides(app_and_tokens):
    layout, study, app, store, tokens = app_and_tokens
    client = app.test_client()
    state = client.get(f"/api/{tokens[1]}/state").get_json()
    assert state["trials"] == len(study["trials"]) and state["complete"] == 0 and state["resume"] == 0
    plan = rater_plan(study, 1)
    first = client.get(f"/api/{tokens[1]}/trials/0").get_json()
    assert first["trial"] == plan[0].trial
    assert first["prompt"] == next(t["prompt"] for t in study["trials"] if t["id"] == plan[0].trial)
    video_a = client.get(first["media"]["A"])
    assert video_a.status_code == 200 and video_a.mimetype == "video/mp4"
    trial = next(t for t in study["trials"] if t["id"] == plan[0].trial)
    assert video_a.data == layout.resolve(trial["videos"][plan[0].left]["path"]).read_bytes()
    assert client.get(first["media"]["condition"]).mimetype == "image/png"
    assert client.get(f"/rate/{tokens[1]}").status_code == 200


def test_votes_are_stored_with_the_method_behind_each_side(app_and_tokens):
    layout, study, app, store, tokens = app_and_tokens
    client = app.test_client()
    plan = rater_plan(study, 2)
    assert _vote(client, tokens[2], plan[0].trial, choice="A").get_json()["changed"] is True
    assert _vote(client, tokens[2], plan[1].trial, choice="B").status_code == 200
    assert _vote(client, tokens[2], plan[2].trial, choice="Tie").status_code == 200
    winners = {v["trial"]: v["winner"] for v in store.votes()}
    assert winners == {plan[0].trial: plan[0].left, plan[1].trial: plan[1].right, plan[2].trial: "tie"}
    assert all(v["rater"] == 2 for v in store.votes())


def test_a_replayed_vote_changes_nothing_and_a_change_keeps_the_history(app_and_tokens):
    layout, study, app, store, tokens = app_and_tokens
    client = app.test_client()
    trial = rater_plan(study, 1)[0].trial
    _vote(client, tokens[1], trial, choice="A")
    again = _vote(client, tokens[1], trial, choice="A").get_json()
    assert again["changed"] is False and len(store.votes(history=True)) == 1
    changed = _vote(client, tokens[1], trial, choice="B").get_json()
    assert changed == {"changed": True, "revision": 1, "complete": 0}
    assert [v["choice"] for v in store.votes()] == ["B"]
    assert [(v["choice"], v["revision"]) for v in store.votes(history=True)] == [("A", 0), ("B", 1)]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"trial": "t9999", "criterion": "temporal_consistency", "choice": "A"}, 404, "not one of this rater"),
        ({"trial": "../../etc/passwd", "criterion": "temporal_consistency", "choice": "A"}, 404, "not one"),
        ({"trial": "t0001", "criterion": "beauty", "choice": "A"}, 400, "unknown question"),
        ({"trial": "t0001", "criterion": "temporal_consistency", "choice": "left"}, 400, "choice must be"),
        ({"trial": "t0001", "criterion": "temporal_consistency", "choice": 1}, 400, "send JSON"),
        ({"trial": "t0001"}, 400, "send JSON"),
        ([1, 2], 400, "send JSON"),
    ],
)
def test_bad_votes_get_a_clear_error_and_change_nothing(app_and_tokens, body, status, message):
    layout, study, app, store, tokens = app_and_tokens
    response = app.test_client().post(f"/api/{tokens[1]}/votes", json=body)
    assert response.status_code == status and message in response.get_json()["error"]
    assert store.votes(history=True) == []


def test_unknown_tokens_and_paths_are_refused(app_and_tokens):
    layout, study, app, store, tokens = app_and_tokens
    client = app.test_client()
    forged = "x" * len(tokens[1])
    trial = rater_plan(study, 1)[0].trial
    for url in (f"/rate/{forged}", f"/api/{forged}/state", f"/media/{forged}/{trial}/A", f"/organiser/{tokens[1]}"):
        assert client.get(url).status_code == 404, url
    assert _vote(client, forged, trial).status_code == 404
    for url in (
        f"/media/{tokens[1]}/{trial}/passwd",
        f"/media/{tokens[1]}/t9999/A",
        f"/media/{tokens[1]}/{trial}/..%2F..%2Fparams.yaml",
        "/static/../params.yaml",
        f"/api/{tokens[1]}/trials/{len(study['trials'])}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/api/{tokens[1]}/votes").status_code == 405
    assert store.votes(history=True) == []


def test_the_organiser_sees_progress_and_exports_resolved_votes(app_and_tokens):
    layout, study, app, store, tokens = app_and_tokens
    client = app.test_client()
    plan = rater_plan(study, 1)
    for criterion in study["criteria"]:
        _vote(client, tokens[1], plan[0].trial, criterion, "A")
    page = client.get(f"/organiser/{store.organiser_token}")
    assert page.status_code == 200 and "1 / " in page.get_data(as_text=True)
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/organiser/{store.organiser_token}/votes").get_data(as_text=True)))
    )
    assert len(rows) == len(study["criteria"])
    trial = next(t for t in study["trials"] if t["id"] == plan[0].trial)
    for row in rows:
        assert (row["first"], row["second"]) == tuple(trial["pair"])
        assert row["left"] == plan[0].left and row["winner"] == plan[0].left and row["study"] == study["study"]
    assert client.get(f"/api/{tokens[1]}/state").get_json()["complete"] == 1
    assert client.get(f"/api/{tokens[1]}/state").get_json()["resume"] == 1


def test_votes_survive_a_restart_and_a_rater_resumes(app_and_tokens):
    layout, study, app, store, tokens = app_and_tokens
    plan = rater_plan(study, 1)
    client = app.test_client()
    for position in (0, 1):
        for criterion in study["criteria"]:
            _vote(client, tokens[1], plan[position].trial, criterion, "Tie")
    restarted = create_app(layout).test_client()
    state = restarted.get(f"/api/{tokens[1]}/state").get_json()
    assert state["complete"] == 2 and state["resume"] == 2
    answers = restarted.get(f"/api/{tokens[1]}/trials/1").get_json()["answers"]
    assert answers == dict.fromkeys(study["criteria"], "Tie")


def test_a_vote_acknowledged_before_a_kill_is_kept(study_project):
    """The server process is killed (SIGKILL) right after acknowledging a vote."""
    layout, settings, study = study_project
    trial = rater_plan(study, 1)[0].trial
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from vcd.layout import Layout
        from vcd.rating_app import create_app
        app = create_app(Layout(Path({str(layout.root)!r})))
        token = app.config["store"].ensure_raters(1)[1]
        reply = app.test_client().post(f"/api/{{token}}/votes", json={{"trial": {trial!r},
            "criterion": "temporal_consistency", "choice": "B"}})
        assert reply.status_code == 200
        print("acknowledged", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ})
    assert done.returncode == -signal.SIGKILL and "acknowledged" in done.stdout, done.stderr
    with sqlite3.connect(layout.ratings_db) as db:
        assert db.execute("SELECT trial, choice FROM votes").fetchall() == [(trial, "B")]


def test_concurrent_raters_lose_no_vote(app_and_tokens):
    layout, study, app, store, tokens = app_and_tokens
    tokens = store.ensure_raters(6)
    errors = []

    def rate(rater: int) -> None:
        client = app.test_client()
        for view in rater_plan(study, rater):
            for criterion in study["criteria"]:
                reply = _vote(client, tokens[rater], view.trial, criterion, "AB"[rater % 2])
                if reply.status_code != 200:
                    errors.append(reply.get_json())

    threads = [threading.Thread(target=rate, args=(r,)) for r in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    votes = store.votes(history=True)
    assert len(votes) == len(tokens) * len(study["trials"]) * len(study["criteria"])
    assert all(v["choice"] == "AB"[v["rater"] % 2] for v in votes)
    assert [p["complete"] for p in store.progress()] == [len(study["trials"])] * len(tokens)


def test_a_changed_video_or_another_studys_database_is_refused(study_project):
    layout, settings, study = study_project
    create_app(layout).config["store"].ensure_raters(1)
    other = {**study, "study": "another-study"}
    with pytest.raises(StudyError, match="holds the votes of study"):
        VoteStore(layout.ratings_db, other)
    video = layout.resolve(study["trials"][0]["videos"]["base"]["path"])
    video.write_bytes(video.read_bytes() + b"\0")
    with pytest.raises(StudyError, match="changed since it was designed"):
        create_app(layout)


def test_the_command_line_prints_links_exports_and_refuses_without_a_study(study_project, monkeypatch, capsys):
    import shutil

    from conftest import REPO

    from vcd.rating_app import main

    layout, settings, study = study_project
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(REPO / name, layout.root / name)
    monkeypatch.chdir(layout.root)
    assert main(["links", "--raters", "2"]) == 0
    links = capsys.readouterr().out.splitlines()
    assert links[0].startswith("organiser: http://127.0.0.1:8765/organiser/") and len(links) == 3
    store = VoteStore(layout.ratings_db, study)
    store.cast(1, rater_plan(study, 1)[0].trial, "temporal_consistency", "Tie")
    assert main(["export"]) == 0
    exported = layout.human_votes_export(study["study"])
    rows = list(csv.DictReader(exported.open()))
    assert [(r["rater"], r["winner"]) for r in rows] == [("1", "tie")]
    layout.study_manifest.unlink()
    assert main(["links"]) == 2
    assert "dvc repro human_study" in capsys.readouterr().err
