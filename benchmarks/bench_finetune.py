"""Time and peak memory of one reward fine-tuning step (VCD reward, K = 1).

Three configurations:

* ``toy``: the default profile's toy model (``models/base``, written by the pipeline)
  at its resolution, on CPU (and CUDA if available);
* ``wan``: Wan2.1-Fun-1.3B-InP's published transformer and VAE
  (``data/architectures/``) with *random* weights, fed random text and image tokens of
  Wan's sizes, at the paper's shape: 368x272, 25 frames, 30 denoising steps,
  gradients through the last one, VCD with 256 projections, on CUDA;
* ``wan-cpu``: the same model saved as a diffusers folder with the reduced encoders
  (:func:`vcd.architectures.write_random_pipeline`), loaded by
  :func:`vcd.models.load_pipeline` like downloaded weights, and one paper-profile
  step -- classifier-free guidance 5.0, K = 1, gradient checkpointing, 256
  projections -- at a reduced size on the CPU (default 160x112, 9 frames, 4
  denoising steps). ``--estimate`` runs it at two sizes, each in a fresh process, and
  extrapolates the activation memory to the paper's shape (README, "Fine-tuning").

    python benchmarks/bench_finetune.py --config toy
    python benchmarks/bench_finetune.py --config wan --device cuda
    python benchmarks/bench_finetune.py --config wan-cpu --estimate --out benchmarks/results/finetune_wan1.3b_cpu.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    """This process's resident memory now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


WAN = "wan2.1-fun-1.3b-inp"
PROMPT = "a red cup of espresso on a saucer on a wooden table"


def _wan_pipeline(device: torch.device, dtype: torch.dtype, overrides: dict | None = None):
    """Wan2.1-Fun-1.3B-InP's transformer and VAE from their published configs, random
    weights, no encoders (the benchmark feeds text and image tokens of Wan's sizes)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline

    from vcd.architectures import build_transformer, build_vae
    from vcd.layout import Layout

    layout = Layout(REPO)
    overrides = dict(overrides or {})
    vae_base = overrides.pop("vae_base_dim", None)
    transformer = build_transformer(layout, WAN, "cpu", **overrides).to(device, dtype)
    vae = build_vae(layout, WAN)
    if vae_base is not None:  # tests: a narrower VAE of the same design
        from diffusers import AutoencoderKLWan

        vae = AutoencoderKLWan.from_config({**vae.config, "base_dim": vae_base})
    return WanImageToVideoPipeline(
        tokenizer=None,
        text_encoder=None,
        vae=vae.to(device, torch.float32),
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
    )


def _saved_wan(layout, overrides: dict | None = None):
    """The random-weight 1.3B pipeline folder (written once, then reused), as model settings."""
    import dataclasses

    from vcd.architectures import write_random_pipeline
    from vcd.settings import Settings

    settings = Settings.load(layout.params_file)
    tag = "-".join(f"{k}{v}" for k, v in sorted((overrides or {}).items()))
    folder = layout.random_weights(WAN + (f"-{tag}" if tag else ""))
    if not (folder / "model_index.json").is_file():
        write_random_pipeline(layout, WAN, folder, texts=[PROMPT], dtype=torch.float32, **(overrides or {}))
    hub = dict(settings.model.hub)
    hub[WAN] = dataclasses.replace(hub[WAN], repo_id=str(folder))
    return dataclasses.replace(settings.model, name=WAN, hub=hub, dtype="float32")


def run(
    config: str,
    device_name: str,
    steps: int,
    shape: tuple[int, int, int, int] | None = None,
    wan_size: dict | None = None,
) -> dict:
    import dataclasses

    from vcd.layout import Layout
    from vcd.metric import metric_from_config
    from vcd.models import add_lora, load_pipeline
    from vcd.provenance import cpu_name
    from vcd.rewards import VCDReward
    from vcd.sampling import Conditions, decode_frames, encode_conditions, sample_latents
    from vcd.settings import Settings

    device = torch.device(device_name)
    layout = Layout(REPO)
    settings = Settings.load(layout.params_file)
    lora = settings.finetune.lora
    if config == "toy":
        video, model = settings.video, settings.model
        width, height, frames, denoise = video.width, video.height, video.num_frames, model.num_inference_steps
        pipe = load_pipeline(dataclasses.replace(model, dtype="float32"), layout, device)
        vcd_config = settings.vcd
        dtype = torch.float32
    elif config == "wan-cpu":
        width, height, frames, denoise = shape or (160, 112, 9, 4)
        dtype = torch.float32
        pipe = load_pipeline(_saved_wan(layout, wan_size), layout, device)
        vcd_config = dataclasses.replace(settings.vcd, num_projections=256)
    else:
        width, height, frames, denoise = shape or (368, 272, 25, 30)
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        pipe = _wan_pipeline(device, dtype, wan_size)
        vcd_config = dataclasses.replace(settings.vcd, num_projections=256)
    guidance = 5.0 if config == "wan-cpu" else 1.0  # the paper profile's (Wan's default)
    torch.manual_seed(0)
    add_lora(pipe.transformer, lora)
    pipe.transformer.enable_gradient_checkpointing()
    pipe.transformer.train()
    reward = VCDReward(metric_from_config(vcd_config, "paper"), "vcd").to(device)
    lora_params = [p for p in pipe.transformer.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(lora_params, lr=2e-4)
    image = torch.rand(3, height, width)

    def conditions() -> Conditions:
        g = torch.Generator().manual_seed(0)
        if config in ("toy", "wan-cpu"):
            return encode_conditions(
                pipe,
                [image],
                [PROMPT],
                frames,
                height,
                width,
                g,
                guidance_scale=guidance,
                max_sequence_length=settings.model.max_sequence_length if config == "toy" else 512,
            )
        latents, condition = pipe.prepare_latents(
            (image[None] * 2 - 1).to(device), 1, 16, height, width, frames, torch.float32, device, g
        )
        text = torch.randn(1, 512, 4096, device=device, dtype=dtype)
        image_tokens = torch.randn(1, 257, 1280, device=device, dtype=dtype)
        return Conditions(text, None, image_tokens, latents, condition, None, frames)

    def step() -> None:
        cond = conditions()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            latents = sample_latents(pipe, cond, denoise, guidance_scale=guidance, grad_steps=1)
        plan = reward.plan(1, frames, torch.Generator().manual_seed(1))
        decoded = decode_frames(pipe, latents, plan.frames)
        loss = reward(decoded, plan, frames, None, []).loss.mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    with torch.no_grad():  # page in memory-mapped weights, so that the baseline holds them
        for module in (pipe.transformer, pipe.vae, pipe.text_encoder, getattr(pipe, "image_encoder", None)):
            for p in module.parameters() if module is not None else ():
                p.sum()
    resident = _rss_mb()  # weights, LoRA and optimizer state, before any step
    if config == "wan-cpu":
        steps = 0  # one step, measured: a warm-up would double minutes of CPU time
        start = time.perf_counter()
        step()
        first = time.perf_counter() - start
    else:
        step()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = [first] if config == "wan-cpu" else []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return {
        "config": config,
        "device": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "resolution": f"{width}x{height}",
        "frames": frames,
        "denoising_steps": denoise,
        "backprop_steps": 1,
        "guidance_scale": guidance,
        "gradient_checkpointing": True,
        "seconds_per_step": min(times),
        "peak_memory_mb": _peak_mb(device),
        "memory_before_step_mb": resident,
        "transformer_parameters": int(sum(p.numel() for p in pipe.transformer.parameters() if not p.requires_grad)),
        "trainable_lora_parameters": int(sum(p.numel() for p in lora_params)),
        "torch_threads": torch.get_num_threads(),
    }


def tokens(width: int, height: int, frames: int) -> int:
    """Wan2.1's transformer sequence length: latent frames x (H/16) x (W/16) (VAE x8, patch 2)."""
    return ((frames - 1) // 4 + 1) * (height // 16) * (width // 16)


def estimate(sizes: list[tuple[int, int, int, int]]) -> dict:
    """One ``wan-cpu`` step per size, each in its own process (peak RSS is per process),
    and a straight-line fit of activation memory (peak - memory before the step) in the
    transformer's sequence length, extrapolated to the paper's 368x272, 25 frames."""
    import tempfile

    runs = []
    for width, height, frames, denoise in sizes:
        with tempfile.TemporaryDirectory() as scratch:
            record = Path(scratch) / "run.json"
            shape = [str(v) for v in (width, height, frames, denoise)]
            command = [sys.executable, __file__, "--config", "wan-cpu", "--shape", *shape, "--out", str(record)]
            subprocess.run(command, check=True)
            result = json.loads(record.read_text())
        result["tokens"] = tokens(width, height, frames)
        result["activation_mb"] = result["peak_memory_mb"] - result["memory_before_step_mb"]
        runs.append(result)
    (a, b) = runs[0], runs[-1]
    slope = (b["activation_mb"] - a["activation_mb"]) / (b["tokens"] - a["tokens"])
    paper_tokens = tokens(368, 272, 25)
    activation_fp32 = a["activation_mb"] + slope * (paper_tokens - a["tokens"])
    params = a["transformer_parameters"]
    return {
        "runs": runs,
        "paper_shape": {"resolution": "368x272", "frames": 25, "tokens": paper_tokens},
        "activation_mb_per_token_fp32": slope,
        "estimate": {
            "activations_fp32_mb": activation_fp32,
            "activations_bf16_mb": activation_fp32 / 2,
            "transformer_bf16_mb": params * 2 / 2**20,
            "how": (
                "activation memory (peak RSS minus RSS before the step, float32 on the CPU) measured at two sizes, "
                "fitted as a straight line in the transformer's sequence length and extrapolated to 368x272x25; "
                "halved for bf16 on a GPU. Add the bf16 transformer, the VAE (0.5 GB fp32) and the real encoders "
                "(UMT5-XXL 11 GB bf16 and the ViT-H image encoder 1.3 GB, unless their outputs are precomputed), "
                "which the CPU run replaces by reduced stand-ins. Attention is assumed linear in memory "
                "(PyTorch's fused SDPA); the VAE decode of the rewarded frames scales with pixels, not tokens."
            ),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=["toy", "wan", "wan-cpu"], default="toy")
    parser.add_argument("--shape", nargs=4, type=int, metavar=("W", "H", "FRAMES", "STEPS"))
    parser.add_argument("--estimate", action="store_true", help="wan-cpu at two sizes + the paper-shape estimate")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.config == "wan" and args.device != "cuda":
        parser.error("the Wan-shaped benchmark at the paper's shape runs on CUDA only (wan-cpu: reduced size)")
    if args.estimate:
        result = estimate([(160, 112, 9, 4), (224, 160, 9, 4)])
    else:
        result = run(args.config, args.device, args.steps, tuple(args.shape) if args.shape else None)
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
