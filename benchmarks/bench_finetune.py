"""Time and peak memory of one reward fine-tuning step (VCD reward, K = 1).

Two configurations:

* ``toy``: the default profile's toy model (``models/base``, written by the pipeline)
  at its resolution, on CPU (and CUDA if available);
* ``wan``: a Wan2.1-1.3B-shaped image-to-video transformer (Wan2.1-Fun-1.3B-InP's
  config: 30 layers, width 1536, 12 heads, 36 input channels, CLIP image tokens) with
  *random* weights and Wan's VAE architecture, at the paper's shape: 368x272, 25
  frames, 30 denoising steps, gradients through the last one, VCD with 256
  projections. No download is needed. It runs on CUDA only (on a 2-core CPU one step
  takes far too long to be useful).

    python benchmarks/bench_finetune.py --config toy
    python benchmarks/bench_finetune.py --config wan --device cuda
"""

from __future__ import annotations

import argparse
import json
import resource
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


#: Wan2.1-Fun-1.3B-InP's transformer shape (tests shrink it to check the code path on CPU)
WAN_1_3B = {"num_layers": 30, "num_attention_heads": 12, "attention_head_dim": 128, "ffn_dim": 8960, "vae_base_dim": 96}


def _wan_like_pipeline(device: torch.device, dtype: torch.dtype, size: dict | None = None):
    """Random-weight components with Wan2.1-Fun-1.3B-InP's shapes (no tokenizer: the
    benchmark feeds text embeddings of Wan's size directly)."""
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )

    size = {**WAN_1_3B, **(size or {})}
    width = size["num_attention_heads"] * size["attention_head_dim"]
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=size["num_attention_heads"],
        attention_head_dim=size["attention_head_dim"],
        in_channels=36,
        out_channels=16,
        text_dim=4096,
        freq_dim=256,
        ffn_dim=size["ffn_dim"],
        num_layers=size["num_layers"],
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        eps=1e-6,
        image_dim=1280,
        added_kv_proj_dim=width,
        rope_max_seq_len=1024,
    ).to(device, dtype)
    vae = AutoencoderKLWan(base_dim=size["vae_base_dim"]).to(
        device, torch.float32
    )  # Wan2.1's VAE architecture, random weights
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    return WanImageToVideoPipeline(
        tokenizer=None, text_encoder=None, vae=vae, transformer=transformer, scheduler=scheduler
    )


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
    else:
        width, height, frames, denoise = shape or (368, 272, 25, 30)
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        pipe = _wan_like_pipeline(device, dtype, wan_size)
        vcd_config = dataclasses.replace(settings.vcd, num_projections=256)
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
        if config == "toy":
            return encode_conditions(
                pipe,
                [image],
                ["a cup of coffee"],
                frames,
                height,
                width,
                g,
                max_sequence_length=settings.model.max_sequence_length,
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
            latents = sample_latents(pipe, cond, denoise, grad_steps=1)
        plan = reward.plan(1, frames, torch.Generator().manual_seed(1))
        decoded = decode_frames(pipe, latents, plan.frames)
        loss = reward(decoded, plan, frames, None, []).loss.mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
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
        "seconds_per_step": min(times),
        "peak_memory_mb": _peak_mb(device),
        "trainable_lora_parameters": int(sum(p.numel() for p in lora_params)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=["toy", "wan"], default="toy")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.config == "wan" and args.device != "cuda":
        parser.error("the Wan-shaped benchmark runs on CUDA only")
    result = run(args.config, args.device, args.steps)
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
