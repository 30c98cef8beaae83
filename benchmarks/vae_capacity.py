"""Which toy VAE can reach the testbed's frame-1 target? Reconstruction SSIM on the
held-out evaluation images against training time, for the VAE configurations the
toy could use (README, 'The base model').

With Wan2.2-style conditioning frame 1 *is* the VAE's reconstruction of the image, so
its SSIM to the image is bounded by the VAE's. Each configuration is trained the same
way for the same wall time -- single frames (the first-frame path of Wan's causal VAE),
random 32 x 32 crops of the pre-training pool (:mod:`vcd.training_images`), L1 on the
posterior mean, AdamW with a cosine decay -- and evaluated every 100 steps on the
held-out images at the video's resolution. Also reported: the cost of one video's
encode and decode-with-backward (what fine-tuning pays per video), and the SSIM of a
plain area-down / bicubic-up round trip at each compression, a reference point.

    python benchmarks/vae_capacity.py [--seconds 180]   # -> benchmarks/results/vae_capacity.{json,md}

Needs the data split (``dvc repro data_split``). Single measurements on a shared CPU:
compare configurations within one run of the script.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: name -> AutoencoderKLWan arguments (base_dim, z_dim, dim_mult, temporal downsample, patch_size)
CONFIGS = {
    "x4 spatial, 8 channels (the previous toy)": (8, 8, [1, 2], [True], 2),
    "x4 spatial, 16 channels": (16, 16, [1, 2], [True], 2),
    "x4 spatial, 32 channels": (16, 32, [1, 2], [True], 2),
    "x2 spatial, 12 channels (the toy)": (8, 12, [1, 2], [True], None),
}


def _vae(base_dim, z_dim, dim_mult, temporal, patch):
    from diffusers import AutoencoderKLWan

    channels = 3 * (patch**2 if patch else 1)
    return AutoencoderKLWan(
        base_dim=base_dim,
        z_dim=z_dim,
        dim_mult=dim_mult,
        num_res_blocks=1,
        attn_scales=[],
        temperal_downsample=temporal,
        latents_mean=[0.0] * z_dim,
        latents_std=[1.0] * z_dim,
        patch_size=patch,
        in_channels=channels,
        out_channels=channels,
    )


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="training wall time per configuration")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results/vae_capacity.json")
    args = parser.parse_args(argv)

    import numpy as np
    import torch
    import torch.nn.functional as F

    from vcd.data import load_original_images, read_split
    from vcd.files import write_json, write_text
    from vcd.frames import load_image, to_tensor
    from vcd.layout import Layout
    from vcd.provenance import code_version, cpu_name
    from vcd.settings import Settings
    from vcd.training_images import training_sources
    from vcd.video_metrics import ssim

    layout = Layout(REPO)
    settings = Settings.load(layout.params_file)
    size = settings.video.size
    train, held_out = read_split(layout, "embedded", "train"), read_split(layout, "embedded", "eval")
    photos = {k: to_tensor(v) for k, v in load_original_images(train, settings.data.min_side).items()}
    pool = training_sources(photos, {it.id: it.caption for it in train}, 200, 100, size, seed=0)
    images = torch.stack([to_tensor(load_image(it.image)) for it in held_out])
    width, height = size

    def batch(rng: np.random.Generator, count: int, crop: int = 32) -> torch.Tensor:
        out = []
        for _ in range(count):
            source = pool[int(rng.integers(len(pool)))].image
            top = int(rng.integers(0, source.shape[1] - crop + 1))
            left = int(rng.integers(0, source.shape[2] - crop + 1))
            out.append(source[:, top : top + crop, left : left + crop])
        return torch.stack(out)[:, :, None] * 2 - 1

    @torch.no_grad()
    def held_out_ssim(vae) -> list[float]:
        recon = vae.decode(vae.encode(images[:, :, None] * 2 - 1).latent_dist.mean).sample[:, :, 0]
        return ssim((recon.clamp(-1, 1) + 1) / 2, images).tolist()

    results = {}
    for name, config in CONFIGS.items():
        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        vae = _vae(*config)
        optimizer = torch.optim.AdamW(vae.parameters(), lr=2e-3)
        curve, start, step = [], time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds:
            x = batch(rng, 16)
            loss = (vae.decode(vae.encode(x).latent_dist.mean).sample - x).abs().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            progress = min((time.perf_counter() - start) / args.seconds, 1.0)
            for group in optimizer.param_groups:
                group["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * progress))
            if step % 100 == 0:
                seconds = time.perf_counter() - start
                curve.append({"step": step, "seconds": seconds, "ssim": float(np.mean(held_out_ssim(vae)))})
        per_image = held_out_ssim(vae)
        video = torch.rand(1, 3, settings.video.num_frames, height, width) * 2 - 1
        with torch.no_grad():
            t0 = time.perf_counter()
            latents = vae.encode(video).latent_dist.mean
            encode = time.perf_counter() - t0
        latents.requires_grad_(True)
        t0 = time.perf_counter()
        vae.decode(latents).sample.mean().backward()
        decode = time.perf_counter() - t0
        results[name] = {
            "config": dict(zip(("base_dim", "z_dim", "dim_mult", "temporal_downsample", "patch_size"), config)),
            "parameters": sum(p.numel() for p in vae.parameters()),
            "steps": step,
            "held_out_ssim": float(np.mean(per_image)),
            "held_out_ssim_per_image": dict(zip((it.id for it in held_out), per_image)),
            "curve": curve,
            "seconds_encode_video": encode,
            "seconds_decode_and_backward_video": decode,
        }
        print(f"{name}: held-out SSIM {np.mean(per_image):.3f} after {step} steps", flush=True)
    reference = {}
    for factor in (2, 4):
        small = F.interpolate(images, scale_factor=1 / factor, mode="area")
        back = F.interpolate(small, size=(height, width), mode="bicubic", align_corners=False).clamp(0, 1)
        reference[f"x{factor}"] = float(ssim(back, images).mean())
    write_json(
        args.output,
        {
            "what": "toy VAE reconstruction SSIM on the held-out embedded images (video resolution)",
            "seconds_per_config": args.seconds,
            "configs": results,
            "area_down_bicubic_up_ssim": reference,
            "machine": {"cpu": cpu_name(), "torch_threads": torch.get_num_threads()},
            "code": code_version(REPO),
        },
    )
    lines = [
        f"Toy VAE reconstruction SSIM on the held-out embedded images, each trained {args.seconds:.0f} s on this "
        f"machine ({cpu_name()}; `benchmarks/vae_capacity.py`). A plain area-down / bicubic-up round trip scores "
        f"{reference['x2']:.3f} at x2 and {reference['x4']:.3f} at x4.",
        "",
        "| VAE | parameters | steps | held-out SSIM | textures (brick, grass, gravel) | encode / video | "
        "decode + backward / video |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        textures = np.mean([row["held_out_ssim_per_image"].get(k, np.nan) for k in ("brick", "grass", "gravel")])
        lines.append(
            f"| {name} | {row['parameters']:,} | {row['steps']} | {row['held_out_ssim']:.3f} | {textures:.3f} | "
            f"{row['seconds_encode_video']:.2f} s | {row['seconds_decode_and_backward_video']:.2f} s |"
        )
    write_text(args.output.with_suffix(".md"), "\n".join(lines) + "\n")
    print(f"wrote {args.output} and its .md table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
