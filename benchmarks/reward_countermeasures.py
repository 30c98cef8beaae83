"""Does VCD fine-tuning of the toy base model exploit the reward, and which
counter-measures keep it honest? (testbed issue: "the reward is not a loophole")

Fine-tunes the VCD reward on the embedded training split under several variants of
the fine-tuning settings, all from the shipped base model and the same seed, and
scores each on the *held-out* evaluation images with weight-free measures only:

* consistency to the conditioning image: mean SSIM of frames 2..N to it (frame 1 is
  the image's own latent under Wan2.2-style conditioning, so fine-tuning cannot move
  it), and the unweighted VCD of each frame to frame 1;
* motion: the mean Farneback flow magnitude (a frozen video "wins" on consistency);
* artefacts: :func:`vcd.fidelity.periodic_artifacts`, the spectral-peak power share
  (stripes and grids a random VGG19 can be fooled by), beside the base model's.

Each variant is also scored at every checkpoint it keeps, which is the curve early
stopping on a held-out probe would choose from. Variants:

    as configured        params.yaml's finetune / rewards
    resampled            new random projections every step (rewards.resample_projections)
    weight decay         AdamW weight decay on the LoRA (a pull of A, B towards 0)
    lower lr, longer     a quarter of the learning rate for four times the steps

    python benchmarks/reward_countermeasures.py [--seeds 0 1] [--variants ...]
    # -> benchmarks/results/reward_countermeasures.{json,md}

The runs go to a temporary folder, never to runs/ or models/lora/. Single measurements
on a shared CPU; the comparison is within one run of the script.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: name -> dotted params.yaml overrides ("/4", "*4": divide or multiply the configured value)
VARIANTS: dict[str, dict[str, object]] = {
    "as configured": {},
    "resampled projections": {"rewards.resample_projections": True},
    "weight decay 0.1": {"finetune.weight_decay": 0.1},
    "lr / 4, steps x 4": {"finetune.lr": "/4", "finetune.steps": "*4"},
}


def _override(raw: dict, changes: dict[str, object]) -> dict:
    raw = copy.deepcopy(raw)
    for key, value in changes.items():
        *parents, leaf = key.split(".")
        node = raw
        for p in parents:
            node = node[p]
        if isinstance(value, str) and value[:1] in "/*":
            factor = float(value[1:])
            value = node[leaf] / factor if value[0] == "/" else type(node[leaf])(node[leaf] * factor)
        node[leaf] = value
    return raw


METRICS = {
    "ssim_frames_2_to_n_to_cond": "SSIM frames 2..N to image",
    "ssim_last_to_cond": "SSIM last frame to image",
    "vcd_to_first": "VCD to frame 1 (unweighted, frames 2..N)",
    "flow_magnitude_farneback": "flow magnitude",
    "periodic_artifacts": "periodic artefacts",
    "flow_follows_prompt": "flow follows prompt",
}


def _score(pipe, items, settings, metric, seeds) -> dict[str, float]:
    """Weight-free scores of the pipeline's videos of ``items`` x ``seeds`` (means)."""
    import numpy as np
    import torch

    from vcd.drift import per_frame_drift
    from vcd.fidelity import score_fidelity
    from vcd.frames import load_image, to_tensor, to_uint8
    from vcd.sampling import generate_video
    from vcd.video_metrics import score_video

    images = [load_image(it.image) for it in items]
    cond = torch.stack([to_tensor(im) for im in images])
    rows, drift = [], []
    for seed in seeds:
        videos = generate_video(pipe, images, [it.caption for it in items], [seed] * len(items), settings.sampling)
        drift.append(per_frame_drift(videos, cond, metric))
        for item, image, video in zip(items, images, videos, strict=True):
            frames = to_uint8(video)
            rows.append({**score_video(frames, image), **score_fidelity(frames, image, item.caption)})
    import pandas as pd

    per_video, per_frame = pd.DataFrame(rows), pd.concat(drift)
    return {
        "ssim_frames_2_to_n_to_cond": float(per_frame.ssim_to_cond.mean()),
        "ssim_last_to_cond": float(per_video.ssim_last_to_cond.mean()),
        "vcd_to_first": float(per_frame.vcd_to_first.mean()),
        "flow_magnitude_farneback": float(per_video.flow_magnitude_farneback.mean()),
        "periodic_artifacts": float(per_video.periodic_artifacts.mean()),
        "flow_follows_prompt": float(np.nanmean(per_video.flow_follows_prompt)),
        "videos": len(per_video),
    }


def _pipeline_with(settings, layout, lora_state=None, run=None):
    """A fresh base pipeline with a LoRA folded in (a run's final adapter or a
    checkpoint's state); fresh because merging changes the weights in place."""
    from peft.utils import set_peft_model_state_dict

    from vcd.models import add_lora, load_lora, load_pipeline

    pipe = load_pipeline(settings.model, layout, "cpu")
    if run is not None:
        load_lora(pipe.transformer, run, merge=True)
    elif lora_state is not None:
        add_lora(pipe.transformer, settings.finetune.lora)
        set_peft_model_state_dict(pipe.transformer, lora_state)
        from peft.tuners.tuners_utils import BaseTunerLayer

        for module in pipe.transformer.modules():  # folded in, as vcd.models.load_lora(merge=True)
            if isinstance(module, BaseTunerLayer):
                module.merge()
    pipe.transformer.eval()
    return pipe


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="sampling seeds per held-out image")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results/reward_countermeasures.json")
    args = parser.parse_args(argv)

    import torch
    import yaml

    from vcd.data import read_split
    from vcd.files import write_json, write_text
    from vcd.layout import Layout, RunFiles
    from vcd.metric import metric_from_config
    from vcd.models import model_provenance
    from vcd.provenance import code_version, cpu_name
    from vcd.settings import Settings
    from vcd.training import run_finetune

    layout = Layout(REPO)
    raw = yaml.safe_load(layout.params_file.read_text())
    settings = Settings.from_mapping(raw, str(layout.params_file))
    train = read_split(layout, "embedded", "train")
    held_out = read_split(layout, "embedded", "eval")
    metric = metric_from_config(settings.vcd, "paper")  # per_frame: unweighted VCD of each frame to frame 1
    results: dict[str, dict] = {}
    start = time.perf_counter()
    results["base model"] = {
        "steps": 0,
        "seconds": 0.0,
        "by_step": {0: _score(_pipeline_with(settings, layout), held_out, settings, metric, args.seeds)},
    }
    print("base", results["base model"]["by_step"][0], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.variants:
            variant = Settings.from_mapping(
                _override(raw, {**VARIANTS[name], "finetune.keep_checkpoints": 1000}), f"{layout.params_file} + {name}"
            )
            run = RunFiles(
                Path(tmp) / name.replace(" ", "_").replace("/", "div"),
                Path(tmp) / f"{name}-adapter".replace(" ", "_").replace("/", "div"),
            )
            clock = time.perf_counter()
            run_finetune(variant, layout, "vcd", run, train, progress=False)
            seconds = time.perf_counter() - clock
            by_step = {}
            for state_file in sorted(run.checkpoint_states()):
                state = torch.load(state_file, map_location="cpu", weights_only=True)
                step = int(state["step"])
                pipe = (
                    _pipeline_with(variant, layout, lora_state=state["lora"])
                    if step < variant.finetune.steps
                    else _pipeline_with(variant, layout, run=run)
                )
                by_step[step] = _score(pipe, held_out, variant, metric, args.seeds)
                print(name, step, by_step[step], flush=True)
            results[name] = {
                "changes": VARIANTS[name],
                "steps": variant.finetune.steps,
                "lr": variant.finetune.lr,
                "seconds": seconds,
                "by_step": by_step,
            }
    report = {
        "held_out_images": [it.id for it in held_out],
        "seeds": args.seeds,
        "machine": cpu_name(),
        "code": code_version(REPO),
        "base_model": model_provenance(settings.model, layout),
        "minutes": (time.perf_counter() - start) / 60,
        "results": results,
    }
    write_json(args.output, report)
    write_text(args.output.with_suffix(".md"), markdown(report))
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    lines = [
        "VCD fine-tuning variants of the embedded default's toy model (NOT the paper's numbers): "
        f"held-out images x seeds {report['seeds']}, weight-free scores, each variant at every kept checkpoint "
        f"(`benchmarks/reward_countermeasures.py`, {report['machine']}, {report['minutes']:.0f} min).",
        "",
        "| variant | step | " + " | ".join(METRICS.values()) + " |",
        "|---|---|" + "---|" * len(METRICS),
    ]
    for name, result in report["results"].items():
        for step, scores in sorted(result["by_step"].items(), key=lambda kv: int(kv[0])):
            lines.append(f"| {name} | {step} | " + " | ".join(f"{scores[m]:.4f}" for m in METRICS) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
