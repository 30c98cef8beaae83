"""Would more transformer training make the toy base model move as its prompt says?
(testbed issue: the motion probe, 0.375 of pan/tilt videos in the prompted direction
against a target of 0.7; ``benchmarks/motion_limits.py`` locates the limit in the
transformer)

Continues the flow-matching training of the *shipped* model's transformer (same
training videos, same VAE, same objective as ``vcd.toy.train_transformer``, a second
one-cycle schedule of ``--steps`` steps at ``--lr``) and runs the motion probe of
``03b_base_check`` on training and held-out images at the start and after every
``--every`` steps. The shipped model on disk is never modified.

    python benchmarks/transformer_longer.py [--steps 1000] [--every 500] [--lr 5e-4]
    # -> benchmarks/results/transformer_longer.{json,md}

Single measurements on a shared CPU; one sampling seed per probe video.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def probe(pipe, splits, sampling) -> dict[str, float]:
    """The share of pan/tilt probe videos whose dominant flow follows the prompt, per split,
    and the mean flow magnitude (px per frame pair)."""
    import numpy as np

    from vcd.drift import motion_probe
    from vcd.fidelity import follows_direction, mean_flow, prompted_direction
    from vcd.frames import load_image, to_uint8
    from vcd.sampling import generate_video

    out = {}
    for part, items in splits.items():
        probe_items = motion_probe(items)
        videos = generate_video(
            pipe,
            [load_image(it.image) for it in probe_items],
            [it.caption for it in probe_items],
            [0] * len(probe_items),
            sampling,
        )
        flows = [mean_flow(to_uint8(v.cpu())) for v in videos]
        out[f"follows_{part}"] = float(
            np.mean([follows_direction(f, prompted_direction(it.caption)) for f, it in zip(flows, probe_items)])
        )
        out[f"flow_{part}"] = float(np.mean([np.hypot(*f) for f in flows]))
    return out


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--items", type=int, default=8, help="images per split in the probe (03b: 8)")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results/transformer_longer.json")
    args = parser.parse_args(argv)

    import torch

    from vcd.data import load_original_images, read_split
    from vcd.files import write_json, write_text
    from vcd.frames import to_tensor
    from vcd.layout import Layout
    from vcd.models import load_pipeline, model_provenance
    from vcd.provenance import code_version, cpu_name
    from vcd.settings import Settings
    from vcd.toy import encode_videos, make_training_videos, train_transformer
    from vcd.training_images import training_sources

    start = time.perf_counter()
    layout = Layout(REPO)
    settings = Settings.load(layout.params_file)
    pretrain, video = settings.pretrain, settings.video
    pipe = load_pipeline(settings.model, layout, "cpu", offline=True)
    train_items, eval_items = read_split(layout, "embedded", "train"), read_split(layout, "embedded", "eval")
    splits = {"train": train_items[: args.items], "eval": eval_items[: args.items]}
    # the training videos of vcd.toy.pretrain_toy, rebuilt from the same seed
    photos = {k: to_tensor(v) for k, v in load_original_images(train_items, settings.data.min_side).items()}
    pool = pretrain.sources
    sources = training_sources(
        photos,
        {it.id: it.caption for it in train_items},
        pool.photo_views,
        pool.procedural,
        video.size,
        pretrain.seed,
        {it.id for it in eval_items},
        pool.grey_share,
    )
    videos = make_training_videos(sources, video.num_frames, video.size, pretrain.seed)
    with torch.no_grad():
        latents = encode_videos(pipe.vae, videos, progress=False)
    rows = [{"extra_steps": 0, "loss": None, **probe(pipe, splits, settings.sampling)}]
    print(rows[-1], flush=True)
    done = 0
    while done < args.steps:
        chunk = min(args.every, args.steps - done)
        log = train_transformer(
            pipe,
            videos,
            chunk,
            pretrain.transformer.batch_size,
            args.lr,
            pretrain.seed + 1000 + done,  # new draws for every chunk
            settings.model.max_sequence_length,
            progress=False,
            latents=latents,
        )
        done += chunk
        rows.append(
            {"extra_steps": done, "loss": float(log.loss.tail(50).mean()), **probe(pipe, splits, settings.sampling)}
        )
        print(rows[-1], flush=True)
    report = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "shipped_steps": pretrain.transformer.steps,
        "machine": cpu_name(),
        "code": code_version(REPO),
        "base_model": model_provenance(settings.model, layout),
        "minutes": (time.perf_counter() - start) / 60,
        "rows": rows,
    }
    write_json(args.output, report)
    write_text(args.output.with_suffix(".md"), markdown(report))
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    args = report["args"]
    lines = [
        "Continued transformer training of the shipped toy base model (embedded default profile, NOT the paper's "
        f"numbers; `benchmarks/transformer_longer.py`, {report['machine']}, {report['minutes']:.0f} min): "
        f"{args['steps']} extra steps after the shipped {report['shipped_steps']}, one-cycle schedules of "
        f"{args['every']} steps at lr {args['lr']:g}; motion probe of {args['items']} images per split x 4 camera "
        "moves, one seed. `follows`: share of videos whose dominant flow has the prompted direction (target >= 0.7).",
        "",
        "| extra steps | training loss (last 50) | follows, training images | follows, held-out | "
        "mean flow, training [px/frame] | mean flow, held-out |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        loss = f"{r['loss']:.3f}" if r["loss"] is not None else "-"
        lines.append(
            f"| {r['extra_steps']} | {loss} | {r['follows_train']:.2f} | {r['follows_eval']:.2f} | "
            f"{r['flow_train']:.2f} | {r['flow_eval']:.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
