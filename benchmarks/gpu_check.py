"""The paper profile's GPU check: one script, under 10 minutes on one CUDA GPU.

    python benchmarks/gpu_check.py                       # writes benchmarks/results/gpu_check.json

It needs no download (random weights of the real architectures, the bundled photographs)
and runs three measurements:

1. ``vcd``: the VCD metric benchmark at the paper's resolution (``bench_vcd.py``: 368x272,
   256 projections, batched over 24 frames, forward + backward);
2. ``finetune_step``: one fine-tuning step of Wan2.1-Fun-1.3B-InP's published
   transformer and VAE (random weights) at the paper's shape -- 368x272, 25 frames,
   30 denoising steps, gradients through the last, bf16 -- with its peak GPU memory
   (``bench_finetune.py --config wan``);
3. ``end_to_end``: the paper profile itself on a scratch copy of the project: the
   random-weight 1.3B pipeline saved and loaded like downloaded weights, a two-step
   LoRA fine-tuning with the VCD reward (``vcd.training.run_finetune``), and one
   evaluated video of the fine-tuned model (``vcd.evaluation.evaluate_method``).

``--smoke`` runs step 3 on the CPU at a tiny size (one transformer block, 64x48, 5
frames) so the tests exercise the same code (tests/test_benchmarks.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WAN = "wan2.1-fun-1.3b-inp"

#: what the check changes in the paper profile: the bundled photographs, one reward, one
#: run of two steps, one video; the VGG19 of the reward and metric is seeded-random (no download)
CHECK_OVERLAY = {
    "data": {"datasets": ["embedded"], "embedded": {"n_train": 2, "n_eval": 1}},
    "evaluation": {"datasets": ["embedded"], "seeds": [0], "replicate_seeds": [0], "vcd_seeds": None},
    "finetune": {
        "run_seeds": [0],
        "steps": 2,
        "grad_accumulation": 1,
        "checkpoint_every": 1,
        "val_every": 0,
        "val_items": 0,
    },
    "methods": {"rewards": ["vcd"], "baseline": None, "train_on": ["embedded"]},
    "vcd": {"encoder_weights": None},
    "report": {"official": False},
    # the human study may only pair evaluated methods (Settings checks it); the paper's pairs need +V-JEPA
    "human_study": {"pairs": [["base", "vcd"]]},
}
#: --smoke: the same path on the CPU in about a minute
SMOKE_OVERLAY = {
    "video": {"width": 64, "height": 48, "num_frames": 5},
    "sanity": {"width": 64, "height": 48},
    "model": {"dtype": "float32", "num_inference_steps": 2},
    "vcd": {"num_projections": 8},
}


def end_to_end(scratch: Path, device: str, smoke: bool) -> dict:
    """Steps of the paper profile on a scratch project; returns times and the video's scores."""
    import pandas as pd

    from vcd.architectures import write_random_pipeline
    from vcd.config import apply_overlay, apply_profile, deep_merge
    from vcd.data import build_split, read_split
    from vcd.evaluation import evaluate_method
    from vcd.layout import Layout
    from vcd.metric import metric_from_config
    from vcd.settings import Settings
    from vcd.training import run_finetune

    repo = Layout(REPO)
    layout = Layout(scratch)
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(repo.root / name, layout.root / name)
    shutil.copytree(repo.profiles, layout.profiles)
    shutil.copytree(repo.embedded_manifest.parent, layout.embedded_manifest.parent)
    apply_profile("paper", layout)
    # the full model is written once and reused by later checks; the smoke one stays in the scratch folder
    weights = write_random_pipeline(
        repo,
        WAN,
        scratch / "weights" if smoke else repo.random_weights(WAN),
        texts=["a photo"],
        dtype=torch.float32 if smoke else torch.bfloat16,
        **({"num_layers": 1} if smoke else {}),
    )
    overlay = deep_merge(CHECK_OVERLAY, SMOKE_OVERLAY) if smoke else CHECK_OVERLAY
    apply_overlay(layout.params_file, deep_merge(overlay, {"model": {"hub": {WAN: {"repo_id": str(weights)}}}}))
    settings = Settings.load(layout.params_file)
    out: dict = {"profile": settings.profile, "model": settings.model.name, "weights": "random (real architecture)"}
    out["split"] = build_split("embedded", settings.data, layout, settings.video, progress=False)
    start = time.perf_counter()
    info = run_finetune(settings, layout, "vcd", layout.run("vcd", "embedded"), read_split(layout, "embedded", "train"))
    out["finetune_seconds"] = time.perf_counter() - start
    out["finetune"] = {k: info[k] for k in ("status", "steps", "seconds_per_step", "peak_mem_mb", "lora_parameters")}
    start = time.perf_counter()
    metric = metric_from_config(settings.vcd, "paper").to(device)
    out["evaluation"] = evaluate_method(settings, layout, "vcd", metric, device, progress=False)
    out["evaluation_seconds"] = time.perf_counter() - start
    video = pd.read_csv(layout.method_results("vcd").per_video).iloc[0]
    out["video"] = {k: (v.item() if hasattr(v, "item") else v) for k, v in video.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="step 3 only, tiny, on the CPU")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "gpu_check.json")
    args = parser.parse_args(argv)
    if not args.smoke and not torch.cuda.is_available():
        parser.error("no CUDA device: this check is for a GPU machine (--smoke runs its end-to-end part on the CPU)")
    from vcd.files import write_json
    from vcd.provenance import code_version

    result: dict = {"code_version": code_version(REPO), "torch": torch.__version__}
    if not args.smoke:
        import importlib.util

        def load(name: str):
            spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module

        result["device"] = torch.cuda.get_device_name(0)
        vcd_args = argparse.Namespace(
            device="cuda", width=368, height=272, projections=256, mode="batched", frames=24, repeats=3
        )
        result["vcd"] = load("bench_vcd")._one(vcd_args)
        torch.cuda.reset_peak_memory_stats()
        result["finetune_step"] = load("bench_finetune").run("wan", "cuda", steps=2)
        torch.cuda.empty_cache()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as scratch:
        result["end_to_end"] = end_to_end(Path(scratch), "cpu" if args.smoke else "cuda", args.smoke)
    write_json(args.out, result)
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
