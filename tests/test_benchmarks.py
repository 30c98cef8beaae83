"""The benchmark scripts' code paths, at tiny sizes (the real ones need a GPU or minutes)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wan_shaped_finetune_step_runs_at_tiny_size():
    bench = _load("bench_finetune")
    result = bench.run(
        "wan",
        "cpu",
        steps=1,
        shape=(64, 48, 5, 2),
        wan_size={
            "num_layers": 1,
            "num_attention_heads": 2,
            "attention_head_dim": 16,
            "ffn_dim": 32,
            "added_kv_proj_dim": 32,
            "vae_base_dim": 8,
        },
    )
    assert result["seconds_per_step"] > 0 and result["peak_memory_mb"] > 0
    assert result["trainable_lora_parameters"] == 8 * 16 * 2 * 32 and result["resolution"] == "64x48"


def test_sequence_length_of_the_paper_shape():
    bench = _load("bench_finetune")
    assert bench.tokens(368, 272, 25) == 7 * 17 * 23  # 7 latent frames of 23 x 17 patches
    assert bench.tokens(160, 112, 9) == 3 * 7 * 10


def test_vcd_benchmark_single_configuration(capsys):
    bench = _load("bench_vcd")
    import argparse

    args = argparse.Namespace(device="cpu", width=96, height=80, projections=4, mode="batched", frames=2, repeats=1)
    result = bench._one(args)
    assert result["seconds_per_frame"] > 0 and result["resolution"] == "96x80"
    args.mode = "loop"
    assert bench._one(args)["mode"] == "loop"


def test_claims_by_code_version_table_matches_the_stored_runs():
    """The README's stability table is recomputed from the stored claims files."""
    import json

    bench = _load("claims_by_code_version")
    versions = ["fc07ceb", "c8c70cd", "71b1467", "4ee71de", "51cb636", "e96e80a"]
    text = bench.table(versions)
    assert text == (REPO / "benchmarks" / "results" / "claims_by_code_version.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| C")]
    stored = {v: json.loads((bench.FOLDER / f"{v}.json").read_text()) for v in versions}
    assert len(rows) == len(stored["e96e80a"])
    for row, claims in zip(rows, zip(*stored.values())):
        held = sum(c["reproduced"] for c in claims)
        assert row.endswith(f"| {held} / {len(versions)} |") and row.startswith(f"| {claims[0]['id']} |")


def test_gpu_check_end_to_end_part_runs_the_paper_profile_on_the_cpu_at_tiny_size(tmp_path):
    """benchmarks/gpu_check.py --smoke: the paper profile with the random-weight 1.3B
    architecture (one block), saved and loaded like downloaded weights, two fine-tuning
    steps and one evaluated video -- the code the GPU check runs."""
    bench = _load("gpu_check")
    out = tmp_path / "gpu_check.json"
    assert bench.main(["--smoke", "--out", str(out)]) == 0
    result = __import__("json").loads(out.read_text())["end_to_end"]
    assert result["profile"] == "paper" and result["model"] == "wan2.1-fun-1.3b-inp"
    assert result["finetune"]["status"] == "complete" and result["finetune"]["steps"] == 2
    assert result["evaluation"]["generated"] == 1 and result["video"]["status"] == "ok"


def test_the_flop_counter_agrees_with_the_closed_form_on_the_real_1_3b_architecture():
    """gpu_hours.py counts the published 1.3B transformer's forward at the paper's shape on
    the meta device; it must agree with the closed form of its matmuls and attention (and
    the stored estimate must be the one this code computes from the same counts)."""
    import json

    from vcd.layout import Layout

    gpu_hours = _load("gpu_hours")
    count = gpu_hours.Counter(Layout(REPO), "wan2.1-fun-1.3b-inp", 368, 272, 25)
    assert count.tokens == 7 * 17 * 23 and count.latent == (7, 34, 46)
    counted = count.forward()
    closed = gpu_hours.analytic_forward_flops(count.transformer.config, count.tokens)
    assert abs(counted / closed - 1) < 0.01, (counted, closed)
    stored = json.loads((REPO / "benchmarks/results/gpu_hours_estimate.json").read_text())
    model = next(m for m in stored["models"] if m["model"] == "wan2.1-fun-1.3b-inp")
    assert model["tflop"]["transformer_forward"] * 1e12 == counted
    assert stored["markdown"] == gpu_hours.markdown(stored)
    assert stored["markdown"] in (REPO / "README.md").read_text()  # the README shows the stored estimate
