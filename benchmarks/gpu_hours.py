"""The paper profile's compute per stage, counted, and the GPU-hours it implies.

    python benchmarks/gpu_hours.py [--out benchmarks/results/gpu_hours_estimate.json]

No GPU was lent to this project's sessions, so the per-video cost of the paper profile
could not be *timed* on one. What can be measured here, exactly and offline, is the
work: the floating-point operations of every network call the paper profile makes,
counted by PyTorch's ``FlopCounterMode`` while the published Wan2.1 architectures
(``data/architectures/``) run on the ``meta`` device at the paper's shape (368x272, 25
frames; Sec. 4.1) -- shapes only, no weights, no memory, a few minutes on a CPU. The
transformer forward, its LoRA backward under gradient checkpointing, the VAE decode
(and its backward for the rewarded frames) are counted that way, VGG19 by the same
counter on the CPU; the UMT5-XXL
and CLIP ViT-H encoders, whose configurations the repository does not hold, as
2 x parameters x tokens from their published sizes.

GPU-hours = FLOPs / (peak x utilisation). The peak is the H100/H200 SXM dense bf16
figure (989 TFLOP/s); the utilisation (MFU) of a batch-1, 2.7k-token video diffusion
workload is not known here, so the table gives a range (15 % and 40 %). It is an
estimate from counted work, not a timing: ``benchmarks/gpu_check.py`` times the same
calls on a GPU, and its seconds per video replace these figures when it runs.

Plausibility check on the count: the same counter applied to the 1.3B fine-tuning step
measured on this machine's CPU (``finetune_wan1.3b_cpu.json``) gives the CPU's
achieved FLOP/s for that step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: dense bf16 tensor-core peak of an H100 SXM (an H200 has the same compute), TFLOP/s
PEAK_TFLOPS = 989.0
#: the utilisation range the GPU-hours are given for
MFU = (0.15, 0.40)
#: evaluation items of the paper's datasets (Sec. 4.1; ../shared/notes/evaluation.md):
#: I2V-Bench's 2,951 videos less the 100 fine-tuned on, VBench-I2V's 1,118 prompts (355
#: images and their camera-motion variants), AI-ArtBench's 100 evaluation images
EVAL_ITEMS = {"i2v_bench": 2951 - 100, "vbench_i2v": 1118, "ai_artbench": 100}
#: encoders counted as 2 x parameters x tokens (their configurations are not in the repo):
#: UMT5-XXL's encoder without its embedding (24 layers of 4096-wide attention and a
#: 10240-wide gated FFN: 24 x (4 x 4096^2 + 3 x 4096 x 10240) = 4.63e9) over 512 tokens,
#: and CLIP ViT-H/14 (0.63e9) over 257 tokens
UMT5_XXL_PARAMS, TEXT_TOKENS = 24 * (4 * 4096**2 + 3 * 4096 * 10240), 512
CLIP_H_PARAMS, IMAGE_TOKENS = 0.632e9, 257


def analytic_forward_flops(config, tokens: int) -> float:
    """Closed-form FLOPs of one Wan transformer forward (the cross-check of the counter):
    per block, the self-attention and output projections and the FFN over the video
    tokens, the cross-attention keys/values over the text and image tokens, and the
    attention products (QK^T and AV); embeddings and the head are left out (< 1 %)."""
    d, ffn = config.num_attention_heads * config.attention_head_dim, config.ffn_dim
    context = TEXT_TOKENS + (IMAGE_TOKENS if config.image_dim is not None else 0)
    per_block = (
        2 * tokens * (6 * d * d + 2 * d * ffn)  # q, k, v, o of self-attention; q, o of cross-attention; FFN
        + 2 * context * 2 * d * d  # k, v of the text (and image) context
        + 4 * tokens * tokens * d  # self-attention QK^T and AV
        + 4 * tokens * context * d  # cross-attention QK^T and AV
    )
    return float(config.num_layers * per_block)


def _flops(fn) -> float:
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def paper_settings():
    from vcd.config import deep_merge, load_params
    from vcd.layout import Layout
    from vcd.settings import Settings

    layout = Layout(REPO)
    merged = deep_merge(load_params(layout.params_file), load_params(layout.profile("paper")))
    return layout, Settings.from_mapping(merged, "params.yaml + profiles/paper.yaml")


class Counter:
    """FLOPs of one Wan model's calls at a video shape, on the ``meta`` device."""

    def __init__(self, layout, model: str, width: int, height: int, num_frames: int):
        from vcd.architectures import build_transformer, build_vae

        self.transformer = build_transformer(layout, model, "meta")
        self.vae = build_vae(layout, model, "meta")
        cfg = self.transformer.config
        downsample = self.vae.config.temperal_downsample  # diffusers' spelling
        self.temporal_factor, spatial = 2 ** sum(downsample), 2 ** len(downsample)
        self.latent = (1 + (num_frames - 1) // self.temporal_factor, height // spatial, width // spatial)
        self.in_channels, self.text_dim, self.image_dim = cfg.in_channels, cfg.text_dim, cfg.image_dim
        self.tokens = self.latent[0] * (self.latent[1] // 2) * (self.latent[2] // 2)

    def _inputs(self):
        x = torch.empty(1, self.in_channels, *self.latent, device="meta")
        kwargs = {
            "timestep": torch.empty(1, device="meta", dtype=torch.long),
            "encoder_hidden_states": torch.empty(1, TEXT_TOKENS, self.text_dim, device="meta"),
            "return_dict": False,
        }
        if self.image_dim is not None:
            kwargs["encoder_hidden_states_image"] = torch.empty(1, IMAGE_TOKENS, self.image_dim, device="meta")
        return x, kwargs

    def forward(self) -> float:
        """One transformer forward (one denoising step of one CFG branch)."""
        x, kwargs = self._inputs()
        with torch.no_grad():
            return _flops(lambda: self.transformer(x, **kwargs))

    def forward_backward_lora(self, lora) -> float:
        """One forward with autograd and the backward into the LoRA weights only, with
        gradient checkpointing (the fine-tuning step's last denoising step, per branch)."""
        from vcd.models import add_lora

        add_lora(self.transformer, lora)
        self.transformer.enable_gradient_checkpointing()
        self.transformer.train()
        x, kwargs = self._inputs()
        return _flops(lambda: self.transformer(x, **kwargs)[0].float().sum().backward())

    def decode(self, latent_frames: int, backward: bool = False) -> float:
        z = torch.empty(1, self.vae.config.z_dim, latent_frames, *self.latent[1:], device="meta")
        if not backward:
            with torch.no_grad():
                return _flops(lambda: self.vae.decode(z, return_dict=False))
        z.requires_grad_(True)
        return _flops(lambda: self.vae.decode(z, return_dict=False)[0].float().sum().backward())


def vgg_frame_flops(width: int, height: int, backward: bool) -> float:
    from vcd.encoders import VGG19Features

    encoder = VGG19Features(weights=None)  # on the CPU (autocast has no meta device): ~40 GFLOP, a second
    x = torch.rand(1, 3, height, width, requires_grad=backward)
    if backward:
        return _flops(lambda: sum(f.float().sum() for f in encoder(x)).backward())
    with torch.no_grad():
        return _flops(lambda: encoder(x))


def estimate(model: str) -> dict:
    from vcd.methods import split_best_of
    from vcd.sampling import latent_frames_needed

    layout, settings = paper_settings()
    video, ft, mc = settings.video, settings.finetune, settings.model
    start = time.perf_counter()
    count = Counter(layout, model, video.width, video.height, video.num_frames)
    branches = 2 if mc.guidance_scale > 1.0 else 1  # classifier-free guidance: conditional + unconditional
    steps, k = mc.num_inference_steps, ft.backprop_steps
    fwd = count.forward()
    decode_all = count.decode(count.latent[0])
    encoders = branches * 2 * UMT5_XXL_PARAMS * TEXT_TOKENS + 2 * CLIP_H_PARAMS * IMAGE_TOKENS
    vgg = vgg_frame_flops(video.width, video.height, backward=False)
    per_video = {
        "transformer": steps * branches * fwd,
        "vae_decode": decode_all,
        "text_and_image_encoders": encoders,
        "vcd_vgg19": (video.num_frames + 1) * vgg,  # the conditioning image and every frame
    }
    # fine-tuning micro-step of a VCD-family reward: sampling with autograd on the last K
    # steps, decode of the causal prefix holding frames 1 and i (i ~ U{2..N}), backward
    # through the decode and VGG19 of the two frames
    fwd_bwd = count.forward_backward_lora(ft.lora)
    prefixes = [latent_frames_needed([0, i - 1], count.temporal_factor) for i in range(2, video.num_frames + 1)]
    decode_bwd = {t: count.decode(t, backward=True) for t in sorted(set(prefixes))}
    vgg_bwd = vgg_frame_flops(video.width, video.height, backward=True)
    micro_step = {
        "transformer_no_grad": (steps - k) * branches * fwd,
        "transformer_with_grad": k * branches * fwd_bwd,
        "vae_decode_prefix_with_grad": sum(decode_bwd[t] for t in prefixes) / len(prefixes),
        "text_and_image_encoders": encoders,
        "vcd_vgg19_with_grad": 2 * vgg_bwd,
    }
    # every reward once per run seed (the study's replicate runs); a replicate run's videos use its seeds
    runs = len(settings.methods.train_on) * len(settings.methods.rewards) * len(ft.run_seeds)
    eval_items = {d: EVAL_ITEMS[d] for d in settings.evaluation.datasets}
    # best-of-N methods sample nothing of their own: their N candidates per seed are sampled once
    sampled = [m for m in settings.study_methods if split_best_of(m) is None]
    seeds_per_item = sum(len(settings.evaluation.seeds_of(m)) for m in sampled)
    if settings.best_of_n.scorers:
        seeds_per_item += settings.best_of_n.n * len(settings.evaluation.seeds)
    # every run's trade-off snapshots, on the first evaluation.tradeoff.items items of each dataset
    tradeoff = settings.evaluation.tradeoff
    snapshot_items = sum(min(tradeoff.items or n, n) for n in eval_items.values())
    snapshot_videos = len(settings.snapshot_methods) * len(tradeoff.seeds) * snapshot_items
    videos = sum(eval_items.values()) * seeds_per_item + snapshot_videos
    run_flops = sum(micro_step.values()) * ft.grad_accumulation * ft.batch_size * ft.steps
    stages = {
        "finetune (one run)": run_flops,
        f"finetune (all {runs} runs)": run_flops * runs,
        f"evaluate: generation + VCD ({videos:,} videos, {snapshot_videos:,} of them trade-off snapshots)": sum(
            per_video.values()
        )
        * videos,
    }

    def hours(flops: float, mfu: float) -> float:
        return flops / (PEAK_TFLOPS * 1e12 * mfu) / 3600

    return {
        "model": model,
        "shape": f"{video.width}x{video.height}x{video.num_frames}",
        "transformer_tokens": count.tokens,
        "denoising_steps": steps,
        "cfg_branches": branches,
        "counting_seconds": time.perf_counter() - start,
        "tflop": {
            "transformer_forward": fwd / 1e12,
            "transformer_forward_closed_form": analytic_forward_flops(count.transformer.config, count.tokens) / 1e12,
            "transformer_forward_backward_lora_checkpointed": fwd_bwd / 1e12,
            "vae_decode_25_frames": decode_all / 1e12,
            "vae_decode_backward_by_latent_frames": {t: v / 1e12 for t, v in decode_bwd.items()},
        },
        "per_video_tflop": {n: v / 1e12 for n, v in per_video.items()},
        "per_video_seconds": {f"mfu_{m:.2f}": sum(per_video.values()) / (PEAK_TFLOPS * 1e12 * m) for m in MFU},
        "finetune_micro_step_tflop": {n: v / 1e12 for n, v in micro_step.items()},
        "finetune_optimizer_steps": ft.steps,
        "micro_steps_per_optimizer_step": ft.grad_accumulation * ft.batch_size,
        "eval_items": eval_items,
        "eval_seeds": len(settings.evaluation.seeds),
        "methods": list(settings.study_methods),
        "snapshot_videos": snapshot_videos,
        "stages": {
            name: {"pflop": flops / 1e15, **{f"gpu_hours_mfu_{m:.2f}": hours(flops, m) for m in MFU}}
            for name, flops in stages.items()
        },
    }


def cpu_plausibility(measured: Path) -> dict | None:
    """The counter on the CPU-measured 1.3B step (bench_finetune --config wan-cpu)."""
    from vcd.layout import Layout
    from vcd.settings import LoraSettings

    if not measured.is_file():
        return None
    runs = json.loads(measured.read_text())["runs"]
    out = []
    for run in runs:
        width, height = (int(v) for v in run["resolution"].split("x"))
        count = Counter(Layout(REPO), "wan2.1-fun-1.3b-inp", width, height, run["frames"])
        branches = 2 if run["guidance_scale"] > 1.0 else 1
        fwd = count.forward()
        fwd_bwd = count.forward_backward_lora(LoraSettings(16, 16.0, 0.0, ("to_q", "to_k", "to_v", "to_out.0")))
        decode = count.decode(count.latent[0], backward=True)  # upper bound: the whole clip
        k, steps = run["backprop_steps"], run["denoising_steps"]
        flops = (steps - k) * branches * fwd + k * branches * fwd_bwd + decode
        out.append(
            {
                "resolution": run["resolution"],
                "frames": run["frames"],
                "tflop_counted": flops / 1e12,
                "seconds_measured": run["seconds_per_step"],
                "achieved_gflop_per_s": flops / run["seconds_per_step"] / 1e9,
            }
        )
    return {"source": str(measured.relative_to(REPO)), "device": runs[0].get("device_name"), "runs": out}


def markdown(result: dict) -> str:
    """The README's table: counted work and GPU-hours at the two utilisations, per stage."""
    lo, hi = (f"mfu_{m:.2f}" for m in MFU)
    models = result["models"]
    header = f"stage ({result['shape']}, {result['denoising_steps']} steps, CFG)"
    lines = [f"| {header} | " + " | ".join(m["model"] for m in models) + " |", "|---|" + "---|" * len(models)]
    for name in models[0]["stages"]:
        cells = []
        for model in models:
            stage = model["stages"][name]
            hours = f"{stage['gpu_hours_' + hi]:,.0f}–{stage['gpu_hours_' + lo]:,.0f} GPU-h"
            cells.append(f"{stage['pflop']:,.0f} PFLOP: {hours}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cells = []
    for model in models:
        seconds = model["per_video_seconds"]
        cells.append(f"{sum(model['per_video_tflop'].values()):,.0f} TFLOP: {seconds[hi]:.1f}–{seconds[lo]:.1f} s")
    lines.append("| one evaluation video | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "gpu_hours_estimate.json")
    parser.add_argument("--models", nargs="+", default=["wan2.1-fun-1.3b-inp", "wan2.1-i2v-14b-480p"])
    args = parser.parse_args(argv)
    from vcd.files import write_json
    from vcd.provenance import code_version

    models = [estimate(m) for m in args.models]
    result = {
        "what": "counted FLOPs of the paper profile's network calls (FlopCounterMode, meta device) and the GPU-hours "
        f"they imply at {PEAK_TFLOPS:g} TFLOP/s dense bf16 (H100/H200 SXM) and {MFU[0]:.0%}-{MFU[1]:.0%} utilisation; "
        "an estimate, not a GPU timing (none was lent); VBench-I2V's and VideoScore's own models are not included",
        "code_version": code_version(REPO),
        "torch": torch.__version__,
        "shape": models[0]["shape"],
        "denoising_steps": models[0]["denoising_steps"],
        "models": models,
        "cpu_plausibility": cpu_plausibility(REPO / "benchmarks" / "results" / "finetune_wan1.3b_cpu.json"),
    }
    result["markdown"] = markdown(result)
    write_json(args.out, result)
    print(result["markdown"])
    if result["cpu_plausibility"]:
        for run in result["cpu_plausibility"]["runs"]:
            print(
                f"CPU step {run['resolution']}x{run['frames']}: {run['tflop_counted']:.1f} TFLOP counted in "
                f"{run['seconds_measured']:.0f} s measured = {run['achieved_gflop_per_s']:.0f} GFLOP/s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
