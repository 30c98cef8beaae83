"""Reward fine-tuning of an image-to-video model with LoRA (Sec. 3.2 and 4.1; VADER).

One optimizer step:

1. draw a batch of (conditioning image, caption) pairs from the training split;
2. sample videos with the pipeline's scheduler, autograd on only for the last K
   denoising steps (truncated backpropagation; K = 1 in the paper);
3. decode only the frames the reward needs (the causal prefix of Wan's VAE);
4. compute the reward's loss (VCD for the VCD family) and backpropagate into the LoRA
   parameters only; accumulate, clip, AdamW with a constant learning rate.

Everything random in a step is drawn from generators seeded by (seed, step,
micro-step, process), so a run resumed from a checkpoint repeats exactly what an
uninterrupted run does. ``accelerate`` runs the same loop on a CPU, one GPU or many
(``accelerate launch``; README); bf16 autocast on CUDA.

A run folder ``runs/<name>/`` holds ``lora.safetensors`` (LoRA keys only),
``lora_config.json``, ``train_log.csv``, ``val_log.csv``, ``checkpoints/`` and
``run_info.json``, whose ``status`` is ``complete`` only when the run finished;
later stages refuse anything else.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from PIL import Image
from tqdm.auto import tqdm

from .data import Item
from .metric import metric_from_params
from .models import add_lora, check_model_available, load_pipeline, lora_target_report, model_provenance, save_lora, sha256_of_files
from .provenance import params_digest, record
from .rewards import REWARDS, build_reward
from .sampling import decode_frames, encode_conditions, generate_video, sample_latents

__all__ = ["FinetuneInterrupted", "validate_finetune", "run_finetune", "read_run_info", "require_complete_run", "seeded_generator"]

RUN_INFO = "run_info.json"


class FinetuneInterrupted(RuntimeError):
    """Raised by ``stop_after_steps`` to simulate a killed run (tests)."""


def seeded_generator(seed: int, *keys: int) -> torch.Generator:
    """A CPU generator seeded from ``seed`` and integer keys (step, micro-step, rank)."""
    value = int(seed)
    for key in keys:
        value = (value * 1_000_003 + int(key) + 1) % (2**63 - 1)
    return torch.Generator().manual_seed(value)


def _finetune_digest(
    params: Mapping[str, Any], reward: str, base_model: Mapping[str, str], train_items: Sequence[Item]
) -> str:
    """What a checkpoint must match to be resumed: everything that shapes the run.

    Settings alone are not enough: a re-trained base model (same ``model`` params,
    new weights) or a new split would otherwise resume adapters trained on something
    else. So the digest also covers the base model's weight record and the training
    items' ids, captions and image bytes.
    """
    keys = ("model", "video", "vcd", "rewards")
    finetune = {k: v for k, v in params["finetune"].items() if k != "rewards"}  # the list of runs is not a setting of this run
    data = [(it.id, it.caption, sha256_of_files([Path(it.image)])) for it in train_items]
    return params_digest(
        {"reward": reward, "finetune": finetune, **{k: params.get(k) for k in keys}, "base_model": dict(base_model), "train_items": data}
    )


def validate_finetune(params: Mapping[str, Any], reward: str, run_dir: str | Path) -> None:
    """Every check that needs no model, run before anything is loaded or created."""
    if reward not in REWARDS:
        raise ValueError(f"unknown reward {reward!r}; expected one of {list(REWARDS)}")
    ft, model = params["finetune"], params["model"]
    steps = int(model["num_inference_steps"])
    k = int(ft["backprop_steps"])
    if not 1 <= k <= steps:
        raise ValueError(f"finetune.backprop_steps (K) must be between 1 and model.num_inference_steps = {steps}; got {k}")
    for key in ("steps", "batch_size", "grad_accumulation", "checkpoint_every"):
        if int(ft[key]) < 1:
            raise ValueError(f"finetune.{key} must be >= 1; got {ft[key]}")
    if not ft["lora"]["target_modules"]:
        raise ValueError("finetune.lora.target_modules is empty")
    run_dir = Path(run_dir)
    parent = run_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = parent / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise PermissionError(f"cannot write the run folder under {parent}: {exc}") from exc


def read_run_info(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / RUN_INFO
    return json.loads(path.read_text()) if path.is_file() else {}


def require_complete_run(run_dir: str | Path) -> dict[str, Any]:
    """The run's info if it finished; otherwise a clear error (never a half-trained LoRA)."""
    info = read_run_info(run_dir)
    if info.get("status") != "complete":
        raise FileNotFoundError(
            f"{run_dir} is not a finished fine-tuning run (status: {info.get('status', 'missing')}); "
            "run the finetune stage (`dvc repro finetune`) first"
        )
    return info


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_images(items: Sequence[Item]) -> list[np.ndarray]:
    return [np.asarray(Image.open(it.image).convert("RGB")) for it in items]


def _write_info(run_dir: Path, info: Mapping[str, Any]) -> None:
    tmp = run_dir / f".{RUN_INFO}.partial"
    tmp.write_text(json.dumps(info, indent=2, default=str) + "\n")
    tmp.replace(run_dir / RUN_INFO)


def _latest_checkpoint(ckpt_dir: Path) -> Path | None:
    found = sorted(ckpt_dir.glob("step-*/state.pt"))
    return found[-1] if found else None


@torch.no_grad()
def _validate(pipe, probe_images, probe_items, seed: int, params: Mapping[str, Any], metric, device) -> dict[str, float]:
    """Mean VCD (Eq. 2 averaged over i = 2..N) of videos for a fixed probe set."""
    model, video = params["model"], params["video"]
    videos = generate_video(pipe, probe_images, [it.caption for it in probe_items], [seed] * len(probe_items),
                            int(video["num_frames"]), int(video["height"]), int(video["width"]),
                            int(model["num_inference_steps"]), float(model["guidance_scale"]), int(model["max_sequence_length"]))
    return {"val_vcd": float(metric(videos.to(device), frame_index="all").mean())}


def run_finetune(
    params: Mapping[str, Any],
    reward_name: str,
    run_dir: str | Path,
    train_items: Sequence[Item],
    progress: bool = True,
    stop_after_steps: int | None = None,
) -> dict[str, Any]:
    """Fine-tune the base model with ``reward_name``; resumable. Returns the run info."""
    from accelerate import Accelerator
    from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

    run_dir = Path(run_dir)
    validate_finetune(params, reward_name, run_dir)
    ft, model_cfg, video = params["finetune"], params["model"], params["video"]
    offline = bool(params.get("runtime", {}).get("offline", 1))
    check_model_available(model_cfg, offline)
    if not train_items:
        raise ValueError("no training items: the split's train set is empty")

    use_cuda = torch.cuda.is_available() and ft.get("device", "auto") != "cpu"
    mixed = str(ft.get("mixed_precision", "bf16")) if use_cuda else "no"
    accelerator = Accelerator(cpu=not use_cuda, mixed_precision=mixed, gradient_accumulation_steps=int(ft["grad_accumulation"]))
    device = accelerator.device
    dtype = getattr(torch, model_cfg["dtype"])
    pipe = load_pipeline(model_cfg, device, dtype, offline)
    reward = build_reward(reward_name, params, device, offline)
    targets = lora_target_report(pipe.transformer, ft["lora"]["target_modules"])  # raises below if a target matches nothing
    torch.manual_seed(int(ft["seed"]))  # LoRA A is initialised from the global RNG: make it a function of the seed
    add_lora(pipe.transformer, ft["lora"])
    if ft.get("gradient_checkpointing", True):
        pipe.transformer.enable_gradient_checkpointing()
    lora_params = [p for p in pipe.transformer.parameters() if p.requires_grad]
    for p in lora_params:  # trainable weights in float32 even when the model runs in bf16 (autocast handles the matmuls)
        p.data = p.data.float()
    optimizer = torch.optim.AdamW(lora_params, lr=float(ft["lr"]), weight_decay=float(ft.get("weight_decay", 0.0)))
    transformer, optimizer = accelerator.prepare(pipe.transformer, optimizer)
    unwrapped = accelerator.unwrap_model(transformer)

    # ---------------------------------------------------------------- run folder, resume
    base = model_provenance(model_cfg)
    digest = _finetune_digest(params, reward_name, base, train_items)
    ckpt_dir = run_dir / "checkpoints"
    latest = _latest_checkpoint(ckpt_dir)
    state = torch.load(latest, map_location="cpu", weights_only=False) if latest is not None else None
    resumable = state is not None and state.get("digest") == digest
    if accelerator.is_main_process:
        if run_dir.exists() and not resumable:
            shutil.rmtree(run_dir)  # checkpoints of other settings: start afresh
        for stale in (RUN_INFO, "lora.safetensors", "train_log.csv", "val_log.csv"):
            (run_dir / stale).unlink(missing_ok=True)  # never leave a finished-looking folder while training
    run_dir.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    start_step, rows, val_rows, elapsed = 0, [], [], 0.0
    if resumable:
        set_peft_model_state_dict(unwrapped, state["lora"])
        optimizer.load_state_dict(state["optimizer"])
        start_step, rows, val_rows, elapsed = state["step"], state["rows"], state["val_rows"], state["elapsed"]
    if accelerator.is_main_process:
        _write_info(run_dir, {"status": "running", "reward": reward_name, "resumed_from_step": start_step})

    images = _load_images(train_items)
    num_frames, height, width = int(video["num_frames"]), int(video["height"]), int(video["width"])
    batch_size, accum, seed = int(ft["batch_size"]), int(ft["grad_accumulation"]), int(ft["seed"])
    k, steps = int(ft["backprop_steps"]), int(model_cfg["num_inference_steps"])
    guidance, max_len = float(model_cfg["guidance_scale"]), int(model_cfg["max_sequence_length"])
    probe = list(range(min(int(ft.get("val_items", 4)), len(train_items))))
    val_metric = metric_from_params(params["vcd"], "paper").to(device)
    rank, world = accelerator.process_index, accelerator.num_processes

    def validate(step: int) -> None:
        if not probe or not accelerator.is_main_process:
            return
        transformer.eval()
        result = _validate(pipe, [images[i] for i in probe], [train_items[i] for i in probe], seed, params, val_metric, device)
        transformer.train()
        val_rows.append({"step": step, **result})

    transformer.train()
    if start_step == 0 and int(ft.get("val_every", 0)) > 0:
        validate(0)
    total = int(ft["steps"])
    bar = tqdm(range(start_step, total), desc=f"fine-tuning ({reward_name})", disable=not (progress and accelerator.is_main_process),
               initial=start_step, total=total)
    clock = time.perf_counter()
    for step in bar:
        losses, rewards_, frame_indices, grad_norm = [], [], [], float("nan")
        for micro in range(accum):
            g = seeded_generator(seed, step, micro, rank)
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=g)))  # LoRA dropout
            picks = torch.randint(len(train_items), (batch_size,), generator=g).tolist()
            noise = [seeded_generator(seed, step, micro, rank, b) for b in range(batch_size)]
            with accelerator.accumulate(transformer):
                cond = encode_conditions(pipe, [images[i] for i in picks], [train_items[i].caption for i in picks], num_frames,
                                         height, width, noise, guidance, max_sequence_length=max_len)
                with accelerator.autocast():
                    latents = sample_latents(pipe, cond, steps, guidance, grad_steps=k, transformer=transformer)
                plan = reward.plan(batch_size, num_frames, g)
                frames = decode_frames(pipe, latents, plan.frames)
                cond_images = torch.stack([torch.from_numpy(images[i].copy()).permute(2, 0, 1).float() / 255 for i in picks]).to(device)
                out = reward(frames, plan, num_frames, cond_images, [train_items[i].caption for i in picks])
                loss = out.loss.mean()
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    grad_norm = float(accelerator.clip_grad_norm_(lora_params, float(ft["grad_clip"])))
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            rewards_.append(float(out.reward.detach().mean()))
            frame_indices += out.info.get("frame_index", [])
        elapsed += time.perf_counter() - clock
        clock = time.perf_counter()
        rows.append({"step": step + 1, "loss": float(np.mean(losses)), "reward": float(np.mean(rewards_)), "grad_norm": grad_norm,
                     "lr": float(ft["lr"]), "seconds": elapsed, "peak_mem_mb": _peak_memory_mb(device),
                     "frame_index": " ".join(map(str, frame_indices))})
        bar.set_postfix(loss=f"{rows[-1]['loss']:.4f}")
        done = step + 1
        if int(ft.get("val_every", 0)) > 0 and (done % int(ft["val_every"]) == 0 or done == total):
            validate(done)
            clock = time.perf_counter()
        if (done % int(ft["checkpoint_every"]) == 0 or done == total) and accelerator.is_main_process:
            target = ckpt_dir / f"step-{done:06d}"
            target.mkdir(parents=True, exist_ok=True)
            state = {"lora": get_peft_model_state_dict(unwrapped), "optimizer": optimizer.state_dict(), "step": done,
                     "rows": rows, "val_rows": val_rows, "elapsed": elapsed, "digest": digest}
            torch.save(state, target / "state.pt.partial")
            (target / "state.pt.partial").replace(target / "state.pt")
            for old in sorted(ckpt_dir.glob("step-*"))[: -int(ft.get("keep_checkpoints", 2))]:
                shutil.rmtree(old)
        if stop_after_steps is not None and done >= stop_after_steps and done < total:
            raise FinetuneInterrupted(f"stopped after step {done} (simulated interruption)")
    accelerator.wait_for_everyone()

    summary: dict[str, Any] = {}
    if accelerator.is_main_process:
        log = pd.DataFrame(rows)
        log.to_csv(run_dir / "train_log.csv", index=False)
        pd.DataFrame(val_rows, columns=["step", "val_vcd"]).to_csv(run_dir / "val_log.csv", index=False)
        provenance = record(params, base_model=base, reward=reward.provenance())
        save_lora(unwrapped, run_dir, ft["lora"], metadata={"reward": reward_name, "steps": total, "base_model": base["source"]})
        quarter = max(1, len(log) // 4)
        summary = {
            "status": "complete",
            "reward": reward_name,
            "resumed_from_step": start_step,
            "steps": total,
            "lora_targets": targets,
            "lora_parameters": int(sum(p.numel() for p in lora_params)),
            "loss_first_quarter": float(log.loss.head(quarter).mean()),
            "loss_last_quarter": float(log.loss.tail(quarter).mean()),
            "seconds": elapsed,
            "seconds_per_step": elapsed / total,
            "peak_mem_mb": float(log.peak_mem_mb.max()),
            "device": str(device),
            "world_size": world,
            "provenance": provenance,
        }
        if val_rows:
            summary["val_vcd_first"], summary["val_vcd_last"] = val_rows[0]["val_vcd"], val_rows[-1]["val_vcd"]
        _write_info(run_dir, summary)
    return summary


def _main(argv: Sequence[str] | None = None) -> int:
    """``accelerate launch [--multi_gpu --num_processes N] -m vcd.training --reward vcd``:
    the same run as the ``finetune`` stage, on as many GPUs as accelerate is given. A
    later ``dvc repro`` finds the finished run's final checkpoint and only rewrites its
    outputs."""
    import argparse

    from .config import find_repo_root, load_params
    from .data import read_split

    parser = argparse.ArgumentParser(prog="python -m vcd.training", description="Reward fine-tuning (one run).")
    parser.add_argument("--reward", required=True, choices=REWARDS)
    parser.add_argument("--run-dir", default=None, help="default: runs/<reward>")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    os.chdir(find_repo_root())
    params = load_params(args.params)
    dataset = params["data"]["datasets"][0]
    run_finetune(params, args.reward, args.run_dir or f"runs/{args.reward}", read_split(f"data/splits/{dataset}", "train"))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
