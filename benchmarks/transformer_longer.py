"""Would more transformer training make the toy base model move as its prompt says?
(testbed issue: the motion probe, 0.375 of pan/tilt videos in the prompted direction
against a target of 0.7; ``benchmarks/motion_limits.py`` locates the limit in the
transformer)

Continues the flow-matching training of the *shipped* model's transformer (same
training videos, same VAE, same objective as ``vcd.toy.train_transformer``, a second
one-cycle schedule of ``--steps`` steps at ``--lr``) and runs the motion probe of
``03b_base_check`` on training and held-out images at the start and after every
``--every`` steps. The shipped model on disk is never modified.

Two changes of the objective can be tried the same way, without touching the training
code (a trial, not the shipped recipe): ``--uncond-share`` adds that share of copies of
the training videos with an empty caption, so that the unconditional branch that
classifier-free guidance needs is trained (caption dropout, as text-to-video models are
trained), and ``--train-shift`` draws the training noise levels with another shift of
the flow-matching schedule (a larger shift puts more weight on high noise, where the
motion is decided). ``--guidance`` adds probes with classifier-free guidance against an
empty negative prompt.

    python benchmarks/transformer_longer.py [--steps 1000] [--every 500] [--lr 5e-4]
    # -> benchmarks/results/transformer_longer.{json,md}
    python benchmarks/transformer_longer.py --steps 600 --every 600 --uncond-share 0.15 \
        --guidance 3 5 --output benchmarks/results/transformer_caption_dropout.json
    python benchmarks/transformer_longer.py --steps 600 --every 600 --train-shift 8 \
        --output benchmarks/results/transformer_high_noise.json

Single measurements on a shared CPU; one sampling seed per probe video.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def probe(pipe, splits, sampling, guidance: float = 1.0) -> dict[str, float]:
    """The share of pan/tilt probe videos whose dominant flow follows the prompt, per split,
    and the mean flow magnitude (px per frame pair); ``guidance`` > 1: classifier-free
    guidance against an empty negative prompt."""
    import dataclasses

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
            dataclasses.replace(sampling, guidance_scale=guidance),
        )
        flows = [mean_flow(to_uint8(v.cpu())) for v in videos]
        tag = part if guidance <= 1 else f"{part}_cfg{guidance:g}"
        out[f"follows_{tag}"] = float(
            np.mean([follows_direction(f, prompted_direction(it.caption)) for f, it in zip(flows, probe_items)])
        )
        out[f"flow_{tag}"] = float(np.mean([np.hypot(*f) for f in flows]))
    return out


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--items", type=int, default=8, help="images per split in the probe (03b: 8)")
    parser.add_argument("--uncond-share", type=float, default=0.0, help="share of extra empty-caption copies")
    parser.add_argument("--train-shift", type=float, default=None, help="flow shift of the training noise levels")
    parser.add_argument("--guidance", type=float, nargs="*", default=[], help="extra probes with CFG at these scales")
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
    if args.uncond_share > 0:
        import dataclasses

        g = torch.Generator().manual_seed(pretrain.seed + 77)
        picks = torch.randperm(len(videos), generator=g)[: round(args.uncond_share * len(videos))].tolist()
        videos = videos + [dataclasses.replace(videos[i], caption="") for i in picks]
        latents = torch.cat([latents, latents[picks]])
    if args.train_shift is not None:
        import vcd.toy

        shifted = vcd.toy.shifted_sigmas
        # train_transformer reads the shift from the sampler's config; this trial overrides it for training only
        vcd.toy.shifted_sigmas = lambda u, shift: shifted(u, args.train_shift)

    def probes() -> dict[str, float]:
        out = probe(pipe, splits, settings.sampling)
        for scale in args.guidance:
            out |= probe(pipe, splits, settings.sampling, scale)
        return out

    rows = [{"extra_steps": 0, "loss": None, **probes()}]
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
        rows.append({"extra_steps": done, "loss": float(log.loss.tail(50).mean()), **probes()})
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
    trial = []
    if args.get("uncond_share"):
        trial.append(f"{args['uncond_share']:.0%} extra empty-caption copies (caption dropout)")
    if args.get("train_shift") is not None:
        trial.append(f"training noise levels drawn with shift {args['train_shift']:g}")
    keys = [k for k in report["rows"][0] if k.startswith("follows_")]
    lines = [
        "Continued transformer training of the shipped toy base model (embedded default profile, NOT the paper's "
        f"numbers; `benchmarks/transformer_longer.py`, {report['machine']}, {report['minutes']:.0f} min): "
        f"{args['steps']} extra steps after the shipped {report['shipped_steps']}, one-cycle schedules of "
        f"{args['every']} steps at lr {args['lr']:g}"
        + (f"; trial objective: {', '.join(trial)}" if trial else "")
        + f"; motion probe of {args['items']} images per split x 4 camera moves, one seed. `follows`: share of "
        "videos whose dominant flow has the prompted direction (target >= 0.7); flow in px per frame pair; "
        "`cfg S`: classifier-free guidance at scale S against an empty negative prompt.",
        "",
        "| extra steps | training loss (last 50) | "
        + " | ".join(
            f"follows, {k[8:].replace('_cfg', ', cfg ')} | flow, {k[8:].replace('_cfg', ', cfg ')}" for k in keys
        )
        + " |",
        "|---|---|" + "---|---|" * len(keys),
    ]
    for r in report["rows"]:
        loss = f"{r['loss']:.3f}" if r["loss"] is not None else "-"
        cells = " | ".join(f"{r[k]:.2f} | {r['flow_' + k[8:]]:.2f}" for k in keys)
        lines.append(f"| {r['extra_steps']} | {loss} | {cells} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
