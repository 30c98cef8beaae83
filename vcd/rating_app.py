"""The rating app of the human study: the paper's interface (Fig. 10) as a local web app.

Each rater opens their own link (an unguessable token) and sees, trial after trial, the
conditioning image on the left, the two videos of the trial playing in sync and looping,
the prompt, and the study's questions, each answered with A, Tie or B (App. C.1). Votes
are written to SQLite the moment they are cast (``synchronous = FULL``: a vote the
server acknowledged survives a killed process); a rater changing an answer adds a new
row and marks the old one superseded, so the history is kept and nothing is
overwritten. A rater reads and writes only their own votes. The organiser's link shows
the progress of every rater and exports the votes, with the left/right randomisation
resolved into method names, as the CSV the analysis reads
(``layout.human_votes_export``).

Only the files the study manifest pins are served, by trial id and slot, after checking
their SHA-256 at start-up; no request names a path.

    python -m vcd.rating_app serve [--host 0.0.0.0] [--port 8765]   # or `make rate`
    python -m vcd.rating_app links                                  # the links again
    python -m vcd.rating_app export                                 # votes -> data/human_votes/
"""

from __future__ import annotations

import argparse
import csv
import io
import secrets
import sqlite3
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from .files import write_text
from .human_study import PlannedTrial, StudyError, file_sha256, rater_plan, read_study, trial_index
from .layout import Layout

__all__ = ["CHOICES", "VoteError", "VoteStore", "create_app", "export_csv", "main"]

#: the answers of every question: the left video, a tie, the right video
CHOICES = ("A", "Tie", "B")
#: the columns of the exported votes (one row per current vote)
EXPORT_COLUMNS = (
    "study",
    "rater",
    "trial",
    "dataset",
    "image_id",
    "prompt",
    "seed",
    "first",
    "second",
    "criterion",
    "choice",
    "left",
    "right",
    "winner",
    "revision",
    "cast_at",
)
_SLOTS = ("condition", "A", "B")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS raters (
    rater INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rater INTEGER NOT NULL REFERENCES raters(rater),
    trial TEXT NOT NULL, criterion TEXT NOT NULL, choice TEXT NOT NULL,
    left_method TEXT NOT NULL, right_method TEXT NOT NULL, winner TEXT NOT NULL,
    revision INTEGER NOT NULL, cast_at TEXT NOT NULL, superseded INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS current_vote ON votes (rater, trial, criterion) WHERE superseded = 0;
"""


class VoteError(ValueError):
    """A request the store refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class VoteStore:
    """The study's raters, tokens and votes in one SQLite file.

    Every call opens its own connection (the server answers from several threads);
    writes run in ``BEGIN IMMEDIATE`` transactions, so two requests never interleave.
    A database made for another study is refused rather than mixed with this one."""

    def __init__(self, path: str | Path, study: Mapping[str, Any]):
        self.path = Path(path)
        self.study = study
        self.trials = trial_index(study)
        self.criteria = tuple(study["criteria"])
        self._plans: dict[int, dict[str, PlannedTrial]] = {}
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)
            db.execute("PRAGMA journal_mode = WAL")
            row = db.execute("SELECT value FROM meta WHERE key = 'study'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('study', ?)", (study["study"],))
                db.execute("INSERT INTO meta VALUES ('organiser', ?)", (secrets.token_urlsafe(18),))
            elif row[0] != study["study"]:
                raise StudyError(
                    f"{self.path} holds the votes of study {row[0]!r}, not of {study['study']!r} (the design changed); "
                    "export them (`python -m vcd.rating_app export`) and move the database away before a new study"
                )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            yield db
        finally:
            db.close()

    # ------------------------------------------------------------------ raters
    def ensure_raters(self, count: int) -> dict[int, str]:
        """Create tokens for raters 1..``count`` that have none; returns every rater's token."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            have = {r for (r,) in db.execute("SELECT rater FROM raters")}
            for rater in range(1, int(count) + 1):
                if rater not in have:
                    db.execute("INSERT INTO raters VALUES (?, ?, ?)", (rater, secrets.token_urlsafe(18), _now()))
            db.execute("COMMIT")
            return dict(db.execute("SELECT rater, token FROM raters ORDER BY rater").fetchall())

    @property
    def organiser_token(self) -> str:
        with self._connect() as db:
            return db.execute("SELECT value FROM meta WHERE key = 'organiser'").fetchone()[0]

    def rater_of(self, token: str) -> int:
        """The rater a token belongs to; :class:`VoteError` (404) for an unknown token."""
        with self._connect() as db:
            row = db.execute("SELECT rater FROM raters WHERE token = ?", (str(token),)).fetchone()
        if row is None:
            raise VoteError("unknown rater link: ask the study's organiser for yours", 404)
        return int(row[0])

    def is_organiser(self, token: str) -> bool:
        return secrets.compare_digest(str(token), self.organiser_token)

    def plan(self, rater: int) -> dict[str, PlannedTrial]:
        """Trial id -> this rater's view of it (order and sides: :func:`vcd.human_study.rater_plan`)."""
        with self._lock:
            if rater not in self._plans:
                self._plans[rater] = {p.trial: p for p in rater_plan(self.study, rater)}
            return self._plans[rater]

    def ordered(self, rater: int) -> list[PlannedTrial]:
        return sorted(self.plan(rater).values(), key=lambda p: p.position)

    # ------------------------------------------------------------------ votes
    def cast(self, rater: int, trial: str, criterion: str, choice: str) -> dict[str, Any]:
        """Record a vote; returns ``{"changed": bool, "revision": int}``.

        The same answer again (a replayed request) changes nothing; a different one by
        the same rater supersedes the old row, which stays in the history."""
        plan = self.plan(rater)
        if trial not in plan:
            raise VoteError(f"trial {trial!r} is not one of this rater's trials", 404)
        if criterion not in self.criteria:
            raise VoteError(f"unknown question {criterion!r}; expected one of {list(self.criteria)}")
        if choice not in CHOICES:
            raise VoteError(f"choice must be one of {list(CHOICES)}; got {choice!r}")
        view = plan[trial]
        winner = {"A": view.left, "B": view.right, "Tie": "tie"}[choice]
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            current = db.execute(
                "SELECT id, choice, revision FROM votes WHERE rater = ? AND trial = ? AND criterion = ? "
                "AND superseded = 0",
                (rater, trial, criterion),
            ).fetchone()
            if current is not None and current[1] == choice:
                db.execute("COMMIT")
                return {"changed": False, "revision": int(current[2])}
            revision = 0 if current is None else int(current[2]) + 1
            if current is not None:
                db.execute("UPDATE votes SET superseded = 1 WHERE id = ?", (current[0],))
            db.execute(
                "INSERT INTO votes (rater, trial, criterion, choice, left_method, right_method, winner, revision, "
                "cast_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rater, trial, criterion, choice, view.left, view.right, winner, revision, _now()),
            )
            db.execute("COMMIT")
        return {"changed": True, "revision": revision}

    def answers(self, rater: int) -> dict[str, dict[str, str]]:
        """This rater's current answers: trial -> criterion -> choice."""
        out: dict[str, dict[str, str]] = {}
        with self._connect() as db:
            for trial, criterion, choice in db.execute(
                "SELECT trial, criterion, choice FROM votes WHERE rater = ? AND superseded = 0", (rater,)
            ):
                out.setdefault(trial, {})[criterion] = choice
        return out

    def complete_trials(self, rater: int) -> int:
        return sum(len(a) == len(self.criteria) for a in self.answers(rater).values())

    def resume_position(self, rater: int) -> int:
        """The first trial of the rater's order with an unanswered question (the last if all are done)."""
        answers = self.answers(rater)
        ordered = self.ordered(rater)
        for view in ordered:
            if len(answers.get(view.trial, {})) < len(self.criteria):
                return view.position
        return len(ordered) - 1

    def progress(self) -> list[dict[str, Any]]:
        """Per rater: trials complete, votes cast (history included), last vote."""
        rows = []
        with self._connect() as db:
            raters = db.execute("SELECT rater FROM raters ORDER BY rater").fetchall()
            for (rater,) in raters:
                query = "SELECT COUNT(*), MAX(cast_at) FROM votes WHERE rater = ?"
                total, last = db.execute(query, (rater,)).fetchone()
                rows.append(
                    {
                        "rater": rater,
                        "complete": self.complete_trials(rater),
                        "trials": len(self.trials),
                        "votes_cast": total,
                        "last_vote": last or "",
                    }
                )
        return rows

    def votes(self, history: bool = False) -> list[dict[str, Any]]:
        """The current votes (``history``: every row ever cast) with the design resolved:
        the pair as designed (``first``, ``second``), the sides shown and the winner."""
        query = "SELECT rater, trial, criterion, choice, left_method, right_method, winner, revision, cast_at "
        query += "FROM votes"
        query += "" if history else " WHERE superseded = 0"
        rows = []
        with self._connect() as db:
            for rater, trial, criterion, choice, left, right, winner, revision, cast_at in db.execute(
                query + " ORDER BY rater, trial, criterion, revision"
            ):
                t = self.trials[trial]
                rows.append(
                    {
                        "study": self.study["study"],
                        "rater": rater,
                        "trial": trial,
                        "dataset": t["dataset"],
                        "image_id": t["image_id"],
                        "prompt": t["prompt"],
                        "seed": t["seed"],
                        "first": t["pair"][0],
                        "second": t["pair"][1],
                        "criterion": criterion,
                        "choice": choice,
                        "left": left,
                        "right": right,
                        "winner": winner,
                        "revision": revision,
                        "cast_at": cast_at,
                    }
                )
        return rows


def export_csv(store: VoteStore, history: bool = False) -> str:
    """The votes as CSV text (:data:`EXPORT_COLUMNS`)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(store.votes(history))
    return buffer.getvalue()


def verify_files(layout: Layout, study: Mapping[str, Any]) -> dict[tuple[str, str], Path]:
    """(trial, "condition" | method) -> file, after checking that every pinned file exists
    with its SHA-256; :class:`vcd.human_study.StudyError` names the first that do not."""
    files: dict[tuple[str, str], Path] = {}
    digests: dict[Path, str] = {}
    changed = set()
    for trial in study["trials"]:
        for key, pinned in (("condition", trial["condition"]), *trial["videos"].items()):
            path = layout.resolve(pinned["path"])
            files[(trial["id"], key)] = path
            if path not in digests:
                digests[path] = file_sha256(path) if path.is_file() else "missing"
            if digests[path] != pinned["sha256"]:
                changed.add(pinned["path"])
    if changed:
        raise StudyError(
            f"{len(changed)} file(s) of the study are missing or changed since it was designed, e.g. "
            f"{sorted(changed)[:3]}; rerun `dvc repro human_study` (a new study) or restore the videos"
        )
    return files


def create_app(layout: Layout, study_path: str | Path | None = None, db_path: str | Path | None = None):
    """The Flask app over a study manifest and its vote database (defaults: the layout's)."""
    from flask import Flask, Response, abort, jsonify, request, send_file

    study = read_study(study_path or layout.study_manifest)
    files = verify_files(layout, study)
    store = VoteStore(db_path or layout.ratings_db, study)
    page = resources.files("vcd").joinpath("rating_page.html").read_text(encoding="utf-8")
    app = Flask(__name__)
    app.json.sort_keys = False  # the questions keep the study's order
    app.config["store"] = store

    @app.after_request
    def _headers(response):
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # the tokens are in the URLs
        response.headers["Cache-Control"] = "no-store" if response.mimetype != "video/mp4" else "private, max-age=3600"
        return response

    @app.errorhandler(VoteError)
    def _vote_error(exc: VoteError):
        return jsonify({"error": str(exc)}), exc.status

    @app.errorhandler(404)
    def _not_found(exc):
        return jsonify({"error": "not found"}), 404

    @app.errorhandler(405)
    def _not_allowed(exc):
        return jsonify({"error": "method not allowed"}), 405

    def media_url(token: str, trial: str, slot: str) -> str:
        return f"/media/{token}/{trial}/{slot}"

    @app.get("/rate/<token>")
    def rating_page(token: str):
        store.rater_of(token)
        return Response(page, mimetype="text/html")

    @app.get("/api/<token>/state")
    def state(token: str):
        rater = store.rater_of(token)
        return jsonify(
            {
                "study": study["study"],
                "rater": rater,
                "trials": len(store.trials),
                "complete": store.complete_trials(rater),
                "resume": store.resume_position(rater),
                "criteria": [[name, question] for name, question in study["criteria"].items()],
                "choices": list(CHOICES),
            }
        )

    @app.get("/api/<token>/trials/<int:position>")
    def trial(token: str, position: int):
        rater = store.rater_of(token)
        ordered = store.ordered(rater)
        if not 0 <= position < len(ordered):
            raise VoteError(f"trial position {position} is outside 0..{len(ordered) - 1}", 404)
        view = ordered[position]
        t = store.trials[view.trial]
        return jsonify(
            {
                "position": position,
                "trial": view.trial,
                "prompt": t["prompt"],
                "media": {slot: media_url(token, view.trial, slot) for slot in _SLOTS},
                "answers": store.answers(rater).get(view.trial, {}),
            }
        )

    @app.post("/api/<token>/votes")
    def vote(token: str):
        rater = store.rater_of(token)
        body = request.get_json(silent=True)
        fields = ("trial", "criterion", "choice")
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in fields):
            raise VoteError('send JSON {"trial": ..., "criterion": ..., "choice": "A" | "Tie" | "B"}')
        saved = store.cast(rater, body["trial"], body["criterion"], body["choice"])
        return jsonify({**saved, "complete": store.complete_trials(rater)})

    @app.get("/media/<token>/<trial>/<slot>")
    def media(token: str, trial: str, slot: str):
        rater = store.rater_of(token)
        view = store.plan(rater).get(trial)
        if view is None or slot not in _SLOTS:
            abort(404)
        method = {"A": view.left, "B": view.right, "condition": "condition"}[slot]
        return send_file(files[(trial, method)], conditional=True, max_age=3600)

    @app.get("/organiser/<token>")
    def organiser(token: str):
        if not store.is_organiser(token):
            abort(404)
        rows = "".join(
            f"<tr><td>{r['rater']}</td><td>{r['complete']} / {r['trials']}</td><td>{r['votes_cast']}</td>"
            f"<td>{r['last_vote']}</td></tr>"
            for r in store.progress()
        )
        html = (
            "<!doctype html><meta charset='utf-8'><title>Study progress</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em 1em;border-bottom:1px solid #ccc}</style>"
            f"<h1>Study {study['study']}</h1><p>{len(store.trials)} trials per rater.</p>"
            "<table id='progress'><tr><th>rater</th><th>trials complete</th><th>votes cast (with changes)</th>"
            f"<th>last vote</th></tr>{rows}</table>"
            f"<p><a id='export' href='/organiser/{token}/votes'>current votes (CSV)</a> · "
            f"<a href='/organiser/{token}/history'>every vote ever cast (CSV)</a></p>"
        )
        return Response(html, mimetype="text/html")

    def csv_download(text: str, history: bool) -> Response:
        name = layout.human_votes_export(study["study"])
        name = name.with_stem(f"{name.stem}-history").name if history else name.name
        return Response(text, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"})

    @app.get("/organiser/<token>/votes")
    def votes_csv(token: str):
        if not store.is_organiser(token):
            abort(404)
        return csv_download(export_csv(store), history=False)

    @app.get("/organiser/<token>/history")
    def history_csv(token: str):
        if not store.is_organiser(token):
            abort(404)
        return csv_download(export_csv(store, history=True), history=True)

    return app


def _links(store: VoteStore, base_url: str, raters: int) -> str:
    tokens = store.ensure_raters(raters)
    lines = [f"organiser: {base_url}/organiser/{store.organiser_token}"]
    lines += [f"rater {r}: {base_url}/rate/{t}" for r, t in tokens.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``serve`` (the app), ``links`` (every link again) or ``export`` (votes to CSV)."""
    from .settings import Settings

    parser = argparse.ArgumentParser(prog="python -m vcd.rating_app", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["serve", "links", "export"])
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0: reachable from the local network")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--raters", type=int, help="rater links (default: human_study.raters)")
    args = parser.parse_args(argv)
    layout = Layout.discover()
    settings = Settings.load(layout.params_file)
    raters = args.raters or settings.human_study.raters
    try:
        study = read_study(layout.study_manifest)
        store = VoteStore(layout.ratings_db, study)
        app = create_app(layout) if args.command == "serve" else None
    except StudyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    host = args.host
    if host == "0.0.0.0":
        import socket

        host = socket.gethostbyname(socket.gethostname())
    base_url = f"http://{host}:{args.port}"
    if args.command == "export":
        target = layout.human_votes_export(study["study"])
        write_text(target, export_csv(store))
        print(f"{len(store.votes())} votes -> {layout.relative(target)}")
        return 0
    if args.command == "links":
        print(_links(store, base_url, raters))
        return 0
    from waitress import serve

    links = _links(store, base_url, raters)
    print(f"study {study['study']}: {len(study['trials'])} trials per rater\n{links}", flush=True)
    serve(app, host=args.host, port=args.port, threads=8)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
