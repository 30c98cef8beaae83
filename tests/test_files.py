"""Atomic writes: a target is replaced whole or not at all."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vcd.files import atomic_path, write_csv, write_json, write_text


def test_writes_replace_the_target_and_leave_no_temporary(tmp_path):
    path = tmp_path / "sub" / "a.json"
    write_json(path, {"x": 1.5, "items": (1, 2)})
    assert json.loads(path.read_text()) == {"x": 1.5, "items": [1, 2]}
    write_text(path, "new\n")
    assert path.read_text() == "new\n"
    write_csv(tmp_path / "t.csv", pd.DataFrame({"a": [1, 2]}))
    assert (tmp_path / "t.csv").read_text() == "a\n1\n2\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.json", "sub", "t.csv"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "result.txt"
    path.write_text("complete result")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half a res")
        raise RuntimeError("killed mid-write")
    assert path.read_text() == "complete result"
    assert [p.name for p in tmp_path.iterdir()] == ["result.txt"]
    with pytest.raises(OSError, match="nothing was written"), atomic_path(tmp_path / "never.txt"):
        pass
    assert not (tmp_path / "never.txt").exists()


def test_the_temporary_keeps_the_suffix_writers_choose_formats_by(tmp_path):
    with atomic_path(tmp_path / "figure.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        tmp.write_bytes(b"png")
