"""Evaluation split across processes (accelerate): the same tables as one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from vcd.data import write_manifest
from vcd.layout import Layout
from vcd.sharding import Shard

REPO = Path(__file__).resolve().parents[1]


def test_shards_take_every_nth_item_and_cover_all_once():
    items = list(range(7))
    shards = [Shard(i, 3) for i in range(3)]
    assert [s.take(items) for s in shards] == [[0, 3, 6], [1, 4], [2, 5]]
    assert sorted(x for s in shards for x in s.take(items)) == items
    assert Shard().take(items) == items and Shard().is_main and str(Shard(1, 3)) == "1-of-3"
    with pytest.raises(ValueError, match="does not exist"):
        Shard(3, 3)


def _project(root: Path, params: dict, toy_dir: Path, items) -> Layout:
    layout = Layout(root)
    (root / "models").mkdir(parents=True)
    (root / "models" / "base").symlink_to(toy_dir, target_is_directory=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    (root / "dvc.yaml").write_text("stages: {}\n")
    write_manifest(layout.split_manifest("embedded", "eval"), "embedded", items)
    return layout


def _run(root: Path, launcher: list[str]) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}  # one thread each: same arithmetic
    done = subprocess.run(
        [*launcher, "-m", "vcd.evaluation", "--methods", "base"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"shard"')]


def test_two_cpu_processes_write_the_tables_one_process_writes(tmp_path, tiny_params, tiny_toy_dir, tiny_items):
    params = {**tiny_params, "evaluation": {**tiny_params["evaluation"], "seeds": [0, 1], "vcd_seeds": None}}
    one = _project(tmp_path / "one", params, tiny_toy_dir, tiny_items)
    two = _project(tmp_path / "two", params, tiny_toy_dir, tiny_items)
    _run(one.root, [sys.executable])
    # torchrun is what `accelerate launch --multi_gpu` starts on GPUs; accelerate's
    # PartialState reads the same environment (gloo on the CPU)
    reports = _run(
        two.root, [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517"]
    )
    assert sorted(r["shard"] for r in reports) == ["0-of-2", "1-of-2"]
    generated = [r["counts"][0]["generated"] for r in reports]
    assert sorted(generated) == [2, 4]  # 3 items x 2 seeds, each video made once: items 0, 2 and item 1
    for table in ("per_video", "per_frame"):
        a = pd.read_csv(getattr(one.method_results("base"), table))
        b = pd.read_csv(getattr(two.method_results("base"), table))
        pd.testing.assert_frame_equal(a.drop(columns="file", errors="ignore"), b.drop(columns="file", errors="ignore"))
    assert not list(two.method_results("base").dir.glob("*.part-*"))  # merged, then removed
    # a second launch finds every video complete and generates nothing
    again = _run(two.root, [sys.executable])
    assert again[0]["counts"][0] == {**again[0]["counts"][0], "generated": 0, "skipped": 6}
