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

One run per (training dataset, reward), as Sec. 4.1 fine-tunes one model per training
set. Its record ``runs/<dataset>/<reward>/`` (:class:`vcd.layout.RunFiles`) holds
``train_log.csv``, ``val_log.csv``, ``metrics.json``, ``checkpoints/`` and
``run_info.json``, whose ``status`` is ``complete`` only when the run finished
(:mod:`vcd.runs`); later stages refuse anything else. The adapter,
``lora.safetensors`` (LoRA keys only) and ``lora_config.json``, goes to
``models/lora/<dataset>/<reward>/``; the LoRA after each of ``finetune.snapshot_steps``
(the consistency-motion trade-off path) to its ``snapshots/step-<k>/``, written at the
end from copies the checkpoints carry, so a resumed run has them too.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .data import Item
from .files import atomic_path, write_csv, write_json
from .frames import load_image, to_tensor
from .layout import Layout, RunFiles
from .metric import metric_from_config
from .models import (
    add_lora,
    check_model_available,
    load_pipeline,
    lora_target_report,
    model_provenance,
    save_lora,
    sha256_of_files,
)
from .provenance import params_digest, record
from .rewards import REWARDS, build_reward
from .runs import COMPLETE, mark_complete, mark_running, read_run_info
from .sampling import check_video_shape, decode_frames, encode_conditions, generate_video, sample_latents
from .settings import Settings

__all__ = [
    "FinetuneInterrupted",
    "RunExistsError",
    "train_dataset",
    "validate_finetune",
    "run_finetune",
    "run_finetunes",
    "seeded_generator",
]


class FinetuneInterrupted(RuntimeError):
    """Raised by ``stop_after_steps`` to simulate a killed run (tests)."""


class RunExistsError(FileExistsError):
    """The run folder holds a finished run of other settings; it is kept unless asked."""


def seeded_generator(seed: int, *keys: int) -> torch.Generator:
    """A CPU generator seeded from ``seed`` and integer keys (step, micro-step, rank)."""
    value = int(seed)
    for key in keys:
        value = (value * 1_000_003 + int(key) + 1) % (2**63 - 1)
    return torch.Generator().manual_seed(value)


#: The modules whose code a fine-tuning run's numbers depend on: the training loop, the
#: rewards and the metric with its encoder, the sampler, model loading, data and frames.
#: Their bytes (as this process runs them) enter the resume digest.
FINETUNE_CODE = ("training", "rewards", "metric", "encoders", "sampling", "models", "data", "frames")


def _code_files() -> list[Path]:
    package = Path(__file__).resolve().parent
    return [package / f"{name}.py" for name in FINETUNE_CODE]


def _finetune_digest(
    settings: Settings,
    reward: str,
    run_seed: int,
    base_model: dict[str, str],
    train_items: Sequence[Item],
    code: Sequence[Path] = (),
    reward_record: Mapping[str, Any] | None = None,
) -> str:
    """What a checkpoint must match to be resumed: everything that shapes the run.

    Settings alone are not enough: a re-trained base model (same ``model`` settings,
    new weights) or a new split would otherwise resume adapters trained on something
    else, and a change of the training code (``code``: :data:`FINETUNE_CODE`) would
    resume -- or, for a finished run, simply keep -- steps the new code never took, under
    the new code's provenance. So the digest also covers the base model's weight record,
    the training items' ids, captions and image bytes, the bytes of the code files, and
    the reward's own record (``reward_record``: a learned reward's weights digest).
    """
    sections = {
        name: dataclasses.asdict(getattr(settings, name)) for name in ("model", "video", "vcd", "rewards", "finetune")
    }
    # the run's own seed, not the list: adding a run seed must not invalidate the others' checkpoints
    sections["finetune"]["run_seeds"] = [int(run_seed)]
    data = [(it.id, it.caption, sha256_of_files([Path(it.image)])) for it in train_items]
    code_sha256 = {path.name: sha256_of_files([path]) for path in code}
    return params_digest(
        {
            "reward": reward,
            **sections,
            "base_model": dict(base_model),
            "train_items": data,
            "code": code_sha256,
            **({"reward_record": dict(reward_record)} if reward_record else {}),
        }
    )


def train_dataset(settings: Settings, dataset: str | None = None) -> str:
    """The training dataset of a run: ``dataset`` if it is one of ``methods.train_on``,
    the first of them when None (a clear error otherwise, before anything is loaded)."""
    train_on = settings.methods.train_on
    if dataset is None:
        return train_on[0]
    if dataset not in train_on:
        raise ValueError(f"{dataset!r} is not a training dataset; methods.train_on is {list(train_on)}")
    return dataset


def validate_finetune(reward: str, run: RunFiles) -> None:
    """Every check that needs no model, run before anything is loaded or created
    (the settings checked their own types and ranges when they were built)."""
    if reward not in REWARDS:
        raise ValueError(f"unknown reward {reward!r}; expected one of {list(REWARDS)}")
    for parent in (run.dir.parent, run.adapter.parent):
        try:
            parent.mkdir(parents=True, exist_ok=True)
            probe = parent / f".write-test-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise PermissionError(f"cannot write the run folder under {parent}: {exc}") from exc


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@torch.no_grad()
def _probe_vcd(pipe, probe_images, probe_items, seed: int, settings: Settings, metric, device) -> dict[str, float]:
    """Mean VCD (Eq. 2 averaged over i = 2..N) of videos for a fixed probe set."""
    videos = generate_video(
        pipe, probe_images, [it.caption for it in probe_items], [seed] * len(probe_items), settings.sampling
    )
    return {"val_vcd": float(metric(videos.to(device), frame_index="all").mean())}


def run_finetune(
    settings: Settings,
    layout: Layout,
    reward_name: str,
    run: RunFiles,
    train_items: Sequence[Item],
    progress: bool = True,
    stop_after_steps: int | None = None,
    overwrite: bool = False,
    run_seed: int | None = None,
) -> dict[str, Any]:
    """Fine-tune the base model with ``reward_name`` into ``run``, from ``run_seed``
    (default: ``finetune.run_seeds[0]``, the paper protocol's run); resumable.

    Everything is checked (settings, model, reward, LoRA targets, video shape, images)
    before any output is touched. A folder holding a *finished* run of other settings
    is never replaced unless ``overwrite`` is set (:class:`RunExistsError`); the DVC
    pipeline removes a stage's outputs before re-running it (and keeps them in its
    cache). Returns the run info (``run_info.json``).
    """
    from accelerate import Accelerator
    from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

    validate_finetune(reward_name, run)
    ft, model_cfg, sampling = settings.finetune, settings.model, settings.sampling
    seed = ft.first_seed if run_seed is None else int(run_seed)
    if seed not in ft.run_seeds:
        raise ValueError(f"run seed {seed} is not one of finetune.run_seeds {list(ft.run_seeds)}")
    offline = settings.runtime.offline
    check_model_available(model_cfg, layout, offline)
    if not train_items:
        raise ValueError("no training items: the split's train set is empty")
    existing = read_run_info(run)

    use_cuda = torch.cuda.is_available()
    accelerator = Accelerator(
        cpu=not use_cuda,
        mixed_precision=ft.mixed_precision if use_cuda else "no",
        gradient_accumulation_steps=ft.grad_accumulation,
    )
    device = accelerator.device
    pipe = load_pipeline(model_cfg, layout, device, offline)
    check_video_shape(pipe, sampling.num_frames, sampling.height, sampling.width)
    reward = build_reward(reward_name, settings.rewards, settings.vcd, device, offline, layout.reward_models_dir)
    # how many layers each target matches; add_lora raises if one matches nothing
    targets = lora_target_report(pipe.transformer, ft.lora.target_modules)
    torch.manual_seed(seed)  # LoRA A is initialised from the global RNG: make it a function of the seed
    add_lora(pipe.transformer, ft.lora)
    if ft.gradient_checkpointing:
        pipe.transformer.enable_gradient_checkpointing()
    lora_params = [p for p in pipe.transformer.parameters() if p.requires_grad]
    # trainable weights in float32 even when the model runs in bf16 (autocast handles the matmuls)
    for p in lora_params:
        p.data = p.data.float()
    optimizer = torch.optim.AdamW(lora_params, lr=ft.lr, weight_decay=ft.weight_decay)
    transformer, optimizer = accelerator.prepare(pipe.transformer, optimizer)
    unwrapped = accelerator.unwrap_model(transformer)

    # ---------------------------------------------------------------- run folder, resume
    base = model_provenance(model_cfg, layout)
    digest = _finetune_digest(settings, reward_name, seed, base, train_items, _code_files(), reward.provenance())
    if existing.get("status") == COMPLETE and existing.get("digest") != digest and not overwrite:
        raise RunExistsError(
            f"{run.dir} holds a finished run of other settings, base model, training items or training code; "
            "it is kept. Move it away, or pass overwrite=True (notebook 04's `overwrite` parameter) to replace it"
        )
    images = [load_image(it.image) for it in train_items]  # a bad image fails here, before the folder is touched
    state = None
    for candidate in run.checkpoint_states():  # the newest readable one; one cut short falls back to the one before
        try:  # tensors, numbers and strings only: weights_only never unpickles code
            state = torch.load(candidate, map_location="cpu", weights_only=True)
            break
        except (RuntimeError, EOFError, OSError, ValueError) as exc:
            print(f"ignoring the unreadable checkpoint {candidate}: {exc}")
    resumable = state is not None and state.get("digest") == digest
    if accelerator.is_main_process:
        if not resumable:  # checkpoints of other settings: start afresh (a replicate's own folders only)
            for old in run.checkpoint_folders():
                shutil.rmtree(old)
        for stale in (run.info, run.metrics, run.lora, run.lora_config, run.train_log, run.val_log):
            stale.unlink(missing_ok=True)  # never leave a finished-looking folder while training
        for step in ft.snapshot_steps:  # the snapshots are rewritten from the checkpoints' copies at the end
            shutil.rmtree(run.snapshot(step).adapter, ignore_errors=True)
    run.dir.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    start_step, rows, val_rows, elapsed = 0, [], [], 0.0
    snapshots: dict[int, dict[str, torch.Tensor]] = {}  # step -> the LoRA after it (the trade-off path)
    if resumable:
        set_peft_model_state_dict(unwrapped, state["lora"])
        optimizer.load_state_dict(state["optimizer"])
        start_step, rows, val_rows, elapsed = state["step"], state["rows"], state["val_rows"], state["elapsed"]
        snapshots = {int(k): v for k, v in state.get("snapshots", {}).items()}
    if accelerator.is_main_process:
        mark_running(run, reward_name, start_step)

    num_frames, batch_size, accum = sampling.num_frames, ft.batch_size, ft.grad_accumulation
    probe = list(range(min(ft.val_items, len(train_items))))
    val_metric = metric_from_config(settings.vcd, "paper").to(device)
    rank, world = accelerator.process_index, accelerator.num_processes

    def validate(step: int) -> None:
        if not probe or not accelerator.is_main_process:
            return
        transformer.eval()
        result = _probe_vcd(
            pipe, [images[i] for i in probe], [train_items[i] for i in probe], seed, settings, val_metric, device
        )
        transformer.train()
        val_rows.append({"step": step, **result})

    transformer.train()
    if start_step == 0 and ft.val_every > 0:
        validate(0)
    total = ft.steps
    bar = tqdm(
        range(start_step, total),
        desc=f"fine-tuning ({reward_name})",
        disable=not (progress and accelerator.is_main_process),
        initial=start_step,
        total=total,
    )
    clock = time.perf_counter()
    for step in bar:
        losses, rewards_, frame_indices, grad_norm = [], [], [], float("nan")
        for micro in range(accum):
            g = seeded_generator(seed, step, micro, rank)
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=g)))  # LoRA dropout
            picks = torch.randint(len(train_items), (batch_size,), generator=g).tolist()
            noise = [seeded_generator(seed, step, micro, rank, b) for b in range(batch_size)]
            prompts = [train_items[i].caption for i in picks]
            with accelerator.accumulate(transformer):
                cond = encode_conditions(
                    pipe,
                    [images[i] for i in picks],
                    prompts,
                    num_frames,
                    sampling.height,
                    sampling.width,
                    noise,
                    sampling.guidance_scale,
                    max_sequence_length=sampling.max_sequence_length,
                )
                with accelerator.autocast():
                    latents = sample_latents(
                        pipe,
                        cond,
                        sampling.num_inference_steps,
                        sampling.guidance_scale,
                        grad_steps=ft.backprop_steps,
                        transformer=transformer,
                    )
                plan = reward.plan(batch_size, num_frames, g)
                frames = decode_frames(pipe, latents, plan.frames)
                cond_images = torch.stack([to_tensor(images[i]) for i in picks]).to(device)
                out = reward(frames, plan, num_frames, cond_images, prompts)
                loss = out.loss.mean()
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    grad_norm = float(accelerator.clip_grad_norm_(lora_params, ft.grad_clip))
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            rewards_.append(float(out.reward.detach().mean()))
            frame_indices += out.info.get("frame_index", [])
        elapsed += time.perf_counter() - clock
        clock = time.perf_counter()
        rows.append(
            {
                "step": step + 1,
                "loss": float(np.mean(losses)),
                "reward": float(np.mean(rewards_)),
                "grad_norm": grad_norm,
                "lr": ft.lr,
                "seconds": elapsed,
                "peak_mem_mb": _peak_memory_mb(device),
                "frame_index": " ".join(map(str, frame_indices)),
            }
        )
        bar.set_postfix(loss=f"{rows[-1]['loss']:.4f}")
        done = step + 1
        if done in ft.snapshot_steps:  # copied, not referenced: the optimizer keeps updating the parameters
            snapshots[done] = {k: v.detach().to("cpu").clone() for k, v in get_peft_model_state_dict(unwrapped).items()}
        if ft.val_every > 0 and (done % ft.val_every == 0 or done == total):
            validate(done)
            clock = time.perf_counter()
        if (done % ft.checkpoint_every == 0 or done == total) and accelerator.is_main_process:
            state = {
                "lora": get_peft_model_state_dict(unwrapped),
                "optimizer": optimizer.state_dict(),
                "step": done,
                "rows": rows,
                "val_rows": val_rows,
                "elapsed": elapsed,
                "digest": digest,
                "snapshots": snapshots,
            }
            run.checkpoint(done).mkdir(parents=True, exist_ok=True)
            with atomic_path(run.checkpoint_state(done)) as tmp:
                torch.save(state, tmp)
            for old in run.checkpoint_folders()[: -ft.keep_checkpoints]:
                shutil.rmtree(old)
        if stop_after_steps is not None and done >= stop_after_steps and done < total:
            raise FinetuneInterrupted(f"stopped after step {done} (simulated interruption)")
    accelerator.wait_for_everyone()

    summary: dict[str, Any] = {}
    if accelerator.is_main_process:
        log = pd.DataFrame(rows)
        write_csv(run.train_log, log)
        write_csv(run.val_log, pd.DataFrame(val_rows, columns=["step", "val_vcd"]))
        provenance = record(settings, layout.root, base_model=base, reward=reward.provenance())
        missing = [s for s in ft.snapshot_steps if s not in snapshots]
        if missing:  # a checkpoint of these settings always carries them: this is a bug, not bad input
            raise RuntimeError(f"{run.dir}: no snapshot of the LoRA after step(s) {missing}")
        final = {k: v.detach().clone() for k, v in get_peft_model_state_dict(unwrapped).items()}
        for snap_step, snap in sorted(snapshots.items()):  # each written through the model, as the run's own
            set_peft_model_state_dict(unwrapped, snap)
            save_lora(
                unwrapped,
                run.snapshot(snap_step),
                ft.lora,
                metadata={"reward": reward_name, "steps": snap_step, "of_steps": total, "base_model": base["source"]},
            )
        set_peft_model_state_dict(unwrapped, final)
        save_lora(
            unwrapped, run, ft.lora, metadata={"reward": reward_name, "steps": total, "base_model": base["source"]}
        )
        quarter = max(1, len(log) // 4)
        metrics = {
            "loss_first_quarter": float(log.loss.head(quarter).mean()),
            "loss_last_quarter": float(log.loss.tail(quarter).mean()),
            "seconds_per_step": elapsed / total,
            "peak_mem_mb": float(log.peak_mem_mb.max()),
        }
        if val_rows:
            metrics["val_vcd_first"], metrics["val_vcd_last"] = val_rows[0]["val_vcd"], val_rows[-1]["val_vcd"]
        write_json(run.metrics, metrics)
        summary = mark_complete(
            run,
            {
                "reward": reward_name,
                "run_seed": seed,
                "trained_on": sorted({it.dataset for it in train_items}),
                "train_items": len(train_items),
                "digest": digest,
                "resumed_from_step": start_step,
                "steps": total,
                "snapshot_steps": sorted(snapshots),
                "lora_targets": targets,
                "lora_parameters": int(sum(p.numel() for p in lora_params)),
                **metrics,
                "seconds": elapsed,
                "device": str(device),
                "world_size": world,
                "provenance": provenance,
            },
        )
    return summary


def run_finetunes(
    settings: Settings,
    layout: Layout,
    reward_name: str,
    dataset: str,
    train_items: Sequence[Item],
    progress: bool = True,
    overwrite: bool = False,
) -> list[dict[str, Any]]:
    """Every run of ``reward_name`` on ``dataset``, one per ``finetune.run_seeds``, in
    this one process (a kernel and the imports are paid once), each resumable on its own.

    The first seed's run is the reward's model in the paper's protocol
    (``runs/<dataset>/<reward>/``); the others are its replicate runs (``<reward>@<seed>``,
    :meth:`vcd.layout.Layout.run`). Every run folder is checked before the first run
    starts. Writes ``runs.json`` (:meth:`vcd.layout.Layout.reward_runs`): one row per run
    with its seed and comparable numbers, the run-to-run spread at a glance. Returns the
    runs' infos in seed order.
    """
    seeds = settings.run_seeds_of(reward_name)
    runs = {name: layout.run(name, dataset) for name in seeds}
    for run in runs.values():
        validate_finetune(reward_name, run)
    infos = []
    for name, seed in seeds.items():
        run = runs[name]
        if progress:
            print(f"run {name} (run seed {seed}) -> {layout.relative(run.dir)}")
        infos.append(
            run_finetune(
                settings, layout, reward_name, run, train_items, progress=progress, overwrite=overwrite, run_seed=seed
            )
        )
    keys = ("loss_first_quarter", "loss_last_quarter", "val_vcd_first", "val_vcd_last", "seconds_per_step", "seconds")
    rows = [
        {"method": name, "run_seed": seed, "dir": layout.relative(run.dir), **{k: info[k] for k in keys if k in info}}
        for (name, seed), run, info in zip(seeds.items(), runs.values(), infos, strict=True)
    ]
    write_json(layout.reward_runs(reward_name, dataset), {"reward": reward_name, "dataset": dataset, "runs": rows})
    return infos


def _main(argv: Sequence[str] | None = None) -> int:
    """``accelerate launch [--multi_gpu --num_processes N] -m vcd.training --reward vcd
    [--dataset i2v_bench] [--run-seed 1]``: the same runs as the ``finetune`` stage (every
    ``finetune.run_seeds``, or the one given: one seed per machine), on as many GPUs as
    accelerate is given. A later ``dvc repro`` finds each finished run's final checkpoint
    and only rewrites its outputs."""
    import argparse

    from .data import read_split
    from .methods import replicate_name

    parser = argparse.ArgumentParser(prog="python -m vcd.training", description="Reward fine-tuning.")
    parser.add_argument("--reward", required=True, choices=REWARDS)
    parser.add_argument("--dataset", help="the training dataset (default: the first of methods.train_on)")
    parser.add_argument("--run-seed", type=int, help="only this one of finetune.run_seeds (default: all)")
    parser.add_argument("--params", default=None, help="parameter file (default: the repository's params.yaml)")
    args = parser.parse_args(argv)
    layout = Layout.discover()
    settings = Settings.load(args.params or layout.params_file)
    dataset = train_dataset(settings, args.dataset)
    items = read_split(layout, dataset, "train")
    if args.run_seed is None:
        run_finetunes(settings, layout, args.reward, dataset, items)
        return 0
    seeds = settings.finetune.run_seeds
    if args.run_seed not in seeds:
        parser.error(f"--run-seed {args.run_seed} is not one of finetune.run_seeds {list(seeds)}")
    name = args.reward if args.run_seed == seeds[0] else replicate_name(args.reward, args.run_seed)
    run_finetune(settings, layout, args.reward, layout.run(name, dataset), items, run_seed=args.run_seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
