"""Is the toy transformer the limit of the base model's later frames? Transformer
variants trained on the shipped model's VAE, then the base model check of each.

The shipped toy's frame 1 is its VAE's reconstruction (Wan2.2-style conditioning), but
its later frames are noisy and drift to saturated colours, and its flow-matching loss
flattens. With 12-channel latents and 4 x 4 patches a token is 192-dimensional, more
than the 128 dimensions of the toy transformer. This script keeps the shipped VAE and
text encoder, trains transformer variants from scratch on the same training videos
(a fresh pool from :mod:`vcd.training_images`) for the same number of steps, and runs
the check of ``03b_base_check`` (held-out images and the motion probe) on each:

    python benchmarks/transformer_capacity.py [--steps 800] [--videos 600]
    # -> benchmarks/results/transformer_capacity.{json,md}

Single measurements on a shared CPU; compare the variants within one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: name -> changes to model.toy.transformer
VARIANTS = {
    "as shipped (4 heads x 32 = 128 wide, FFN 256)": {},
    "192 wide (6 heads x 32, FFN 512)": {"num_attention_heads": 6, "ffn_dim": 512},
}


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--videos", type=int, default=600, help="training videos (two thirds from photographs)")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results/transformer_capacity.json")
    args = parser.parse_args(argv)

    import torch

    from vcd.data import load_original_images, read_split
    from vcd.drift import drift_check, drift_summary, motion_probe, testbed_targets
    from vcd.files import write_json, write_text
    from vcd.frames import to_tensor
    from vcd.layout import Layout
    from vcd.metric import metric_from_config
    from vcd.models import build_toy_pipeline, load_pipeline
    from vcd.provenance import code_version, cpu_name
    from vcd.settings import Settings
    from vcd.toy import encode_videos, make_training_videos, train_transformer
    from vcd.training_images import training_sources

    layout = Layout(REPO)
    settings = Settings.load(layout.params_file)
    toy, pretrain = settings.model.toy, settings.pretrain
    train, held_out = read_split(layout, "embedded", "train"), read_split(layout, "embedded", "eval")
    photos = {k: to_tensor(v) for k, v in load_original_images(train, settings.data.min_side).items()}
    sources = training_sources(
        photos,
        {it.id: it.caption for it in train},
        args.videos * 2 // 3,
        args.videos - args.videos * 2 // 3,
        settings.video.size,
        seed=pretrain.seed + 1,
        held_out={it.id for it in held_out},
        grey_share=pretrain.sources.grey_share,
    )
    videos = make_training_videos(sources, settings.video.num_frames, settings.video.size, pretrain.seed + 1)
    pipe = load_pipeline(settings.model, layout, "cpu")
    latents = encode_videos(pipe.vae, videos)
    splits = {"eval": held_out[: pretrain.check_items]}
    splits["motion"] = motion_probe(splits["eval"])
    metric = metric_from_config(settings.vcd, "paper")
    results, lines = {}, []
    for name, changes in VARIANTS.items():
        architecture = dataclasses.replace(toy, transformer=dataclasses.replace(toy.transformer, **changes))
        fresh = build_toy_pipeline(architecture, ["unused"], pretrain.seed, settings.model.flow_shift)
        pipe.transformer = fresh.transformer
        start = time.perf_counter()
        log = train_transformer(
            pipe,
            videos,
            args.steps,
            pretrain.transformer.batch_size,
            pretrain.transformer.lr,
            pretrain.seed,
            settings.model.max_sequence_length,
            latents=latents,
        )
        seconds = time.perf_counter() - start
        drift, _, fidelity = drift_check(pipe, splits, settings.sampling, metric, pretrain.check_seeds, None)
        summary = drift_summary(drift, fidelity)
        targets = testbed_targets(summary)
        by_frame = drift[drift.split == "eval"].groupby("frame").ssim_to_first.mean()
        results[name] = {
            "changes": changes,
            "parameters": sum(p.numel() for p in pipe.transformer.parameters()),
            "seconds": seconds,
            "final_loss": float(log.loss.tail(50).mean()),
            "ssim_to_frame_1_by_frame": {int(k): float(v) for k, v in by_frame.items()},
            "summary": summary,
            "targets": targets.to_dict(orient="records"),
        }
        lines.append(
            f"| {name} | {results[name]['parameters']:,} | {seconds / 60:.1f} min | "
            f"{results[name]['final_loss']:.3f} | "
            f"{by_frame.iloc[0]:.3f} | {summary['eval']['ssim_last_to_cond']:.3f} | "
            f"{summary['motion']['flow_follows_prompt']:.2f} | {summary['eval']['periodic_artifacts']:.3f} |"
        )
        print(lines[-1], flush=True)
    header = [
        f"Toy transformer variants, each trained {args.steps} steps on {len(videos)} videos with the shipped VAE "
        f"(`benchmarks/transformer_capacity.py`, {cpu_name()}); the base model check on the held-out images.",
        "",
        "| transformer | parameters | training | final loss | SSIM frame 2 to frame 1 | SSIM last frame to image | "
        "flow follows prompt (probe) | periodic artefacts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    write_text(args.output.with_suffix(".md"), "\n".join(header + lines) + "\n")
    write_json(
        args.output,
        {"steps": args.steps, "videos": len(videos), "variants": results, "machine": {"cpu": cpu_name()}}
        | {"code": code_version(REPO), "torch_threads": torch.get_num_threads()},
    )
    print(f"wrote {args.output} and its .md table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
