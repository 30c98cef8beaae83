"""The run-folder protocol: only a complete run counts as finished."""

from __future__ import annotations

import pytest

from vcd.layout import Layout
from vcd.runs import COMPLETE, mark_complete, mark_running, read_run_info, require_complete_run


def test_a_run_is_finished_only_when_marked_complete(tmp_path):
    run = Layout(tmp_path).run("vcd", "embedded")
    assert read_run_info(run) == {}
    with pytest.raises(FileNotFoundError, match="status: missing"):
        require_complete_run(run)
    mark_running(run, "vcd", 0)
    with pytest.raises(FileNotFoundError, match="status: running"):
        require_complete_run(run)
    info = mark_complete(run, {"reward": "vcd", "steps": 3, "status": "ignored"})
    assert info["status"] == COMPLETE and require_complete_run(run)["steps"] == 3
    assert not list(run.dir.glob(".*partial*"))  # written atomically, no temporary left


def test_a_corrupt_info_file_says_what_to_do(tmp_path):
    run = Layout(tmp_path).run("vcd", "embedded")
    run.dir.mkdir(parents=True)
    run.info.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON.*re-run the finetune stage"):
        read_run_info(run)
