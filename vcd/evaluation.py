"""A method's evaluation: generate (or reuse) its videos and score every one (Sec. 4.1).

For the base model or a finished fine-tuning run, and every evaluation dataset: one
video per (evaluation item, seed) (:mod:`vcd.generation`), each read back from its MP4
as VBench does, then scored with the weight-free metrics of :mod:`vcd.video_metrics`
and, for the seeds of ``evaluation.vcd_seeds``, VCD per frame. Bad videos are kept as
rows with the reason they were excluded; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .columns import METRICS
from .data import Item
from .files import write_csv, write_json
from .layout import Layout, RunFiles
from .methods import BASE, CANDIDATES, sampling_model, split_best_of, split_frameinit
from .settings import Settings, VideoSpec
from .sharding import Shard, current_shard, wait_for_all

if TYPE_CHECKING:  # the report reads scores without importing torch
    from .metric import VideoConsistencyDistance

__all__ = [
    "score_videos",
    "method_runs",
    "evaluate_method",
    "evaluate_methods",
    "evaluate_best_of",
    "collect_per_video",
    "collect_per_frame",
]


def score_videos(
    method: str,
    dataset: str,
    items: Sequence[Item],
    seeds: Sequence[int],
    layout: Layout,
    metric: VideoConsistencyDistance | None,
    video: VideoSpec,
    vcd_seeds: Sequence[int] | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every expected video of a method on a dataset; one row per (item, seed).

    A missing, empty, corrupt or undecodable video, one with the wrong number of frames
    (e.g. one frame) or another resolution is kept as a row with ``status =
    "excluded"``, the ``reason``, and NaN metrics; the others get ``status = "ok"``.

    VCD per frame (the drift curve) is computed for the videos of ``vcd_seeds`` (all
    seeds when None): it is the most expensive measure on a CPU and no claim rests on
    it. It goes to the per-frame table, and to the ``vcd`` column only when every seed
    is covered (so that column is never partially filled).
    Returns (per-video metrics, per-frame VCD rows)."""
    import torch

    from .fidelity import score_fidelity
    from .frames import load_image, video_to_tensor
    from .video_io import VideoReadError, read_video
    from .video_metrics import score_video

    video_dir = layout.method_videos(method, dataset)
    rows, frame_rows = [], []
    for item in tqdm(items, desc=f"scoring {method}/{dataset}", disable=not progress):
        cond = load_image(item.image)
        usable: list[tuple[dict[str, Any], np.ndarray]] = []
        for seed in seeds:
            path = layout.video_file(method, dataset, item.caption, seed)
            row: dict[str, Any] = {
                "method": method,
                "dataset": dataset,
                "image_id": item.id,
                "prompt": item.caption,
                "seed": int(seed),
                "file": layout.relative(path),
                "status": "ok",
                "reason": "",
            }
            try:
                if not video_dir.is_dir():
                    raise VideoReadError(f"{layout.relative(video_dir)}: method folder missing")
                frames = read_video(path)
                if frames.shape[0] != video.num_frames:
                    raise VideoReadError(f"{path}: has {frames.shape[0]} frame(s), expected {video.num_frames}")
                if (frames.shape[2], frames.shape[1]) != video.size:
                    raise VideoReadError(
                        f"{path}: frames are {frames.shape[2]}x{frames.shape[1]}, expected {video.width}x{video.height}"
                    )
                row.update(score_video(frames, cond))
                row.update(score_fidelity(frames, cond, item.caption))
                usable.append((row, frames))
            except (VideoReadError, ValueError) as exc:
                row.update(status="excluded", reason=str(exc))
            rows.append(row)
        chosen = [(row, f) for row, f in usable if vcd_seeds is None or row["seed"] in vcd_seeds]
        if metric is not None and chosen:
            # One batched VCD call for all of this item's videos: the encoder and the
            # projections run once per frame batch.
            videos = video_to_tensor(np.stack([f for _, f in chosen]))
            device = next(metric.parameters()).device
            with torch.no_grad():
                distances = metric.per_frame(videos.to(device)).cpu()
            weighted = metric.weighted_mean(distances, video.num_frames)
            for (row, _), d, w in zip(chosen, distances, weighted, strict=True):
                if vcd_seeds is None or set(seeds) <= set(vcd_seeds):
                    row["vcd"] = float(w)
                frame_rows += [
                    {
                        "method": method,
                        "dataset": dataset,
                        "image_id": item.id,
                        "seed": row["seed"],
                        "frame": j + 2,
                        "vcd_unweighted": float(v),
                    }
                    for j, v in enumerate(d.tolist())
                ]
    per_video = pd.DataFrame(rows)
    for name in METRICS:  # every metric column exists, NaN where not computed
        if name not in per_video:
            per_video[name] = np.nan
    return per_video, pd.DataFrame(
        frame_rows, columns=["method", "dataset", "image_id", "seed", "frame", "vcd_unweighted"]
    )


def method_runs(settings: Settings, layout: Layout, method: str) -> dict[str, RunFiles | None]:
    """Evaluation dataset -> the run whose LoRA generates its videos (None for the base
    model): the run of ``method`` trained on ``evaluation.trained_on(dataset)`` (Sec. 4.1:
    I2V-Bench's LoRA for I2V-Bench and VBench-I2V, AI-ArtBench's for AI-ArtBench)."""
    evaluation = settings.evaluation
    model = sampling_model(method)  # FrameInit and best-of-N sample with their model's weights
    return {d: None if model == BASE else layout.run(model, evaluation.trained_on(d)) for d in evaluation.datasets}


def evaluate_method(
    settings: Settings,
    layout: Layout,
    method: str,
    metric: VideoConsistencyDistance | None,
    device: str = "cpu",
    base_model: dict[str, str] | None = None,
    progress: bool = True,
    shard: Shard | None = None,
) -> dict[str, Any]:
    """Generate (or reuse) and score the evaluation videos of one method (Sec. 4.1).

    ``method`` is ``"base"`` (the base model), a run (``vcd``, ``vcd@1``) or a run's
    trade-off snapshot (``vcd@1~5``: scored on ``evaluation.tradeoff``'s items and seeds,
    without VCD per frame, as replicate runs are); for every dataset of
    ``evaluation.datasets`` the finished run of that reward trained on the dataset's
    training set (:func:`method_runs`) has its LoRA folded into the transformer for
    sampling. One video per (eval item, seed), reused when complete and made by the same
    model, LoRA and settings, then every video read back from its MP4 and scored. Writes
    the layout's ``method_results(method)`` (``per_video.csv``, ``per_frame.csv``,
    ``provenance.json``); returns the counts of videos generated, reused, scored and
    excluded. ``base_model`` is the base model's provenance record when the caller
    already has it (hashing large weights once).

    ``shard`` (default: this process's, :func:`vcd.sharding.current_shard`) splits the
    items across processes; the main process merges their scores into the same tables,
    in the same row order, as one process writes.
    """
    import torch

    from .data import read_split
    from .generation import generate_method_videos
    from .models import load_lora, load_pipeline, lora_digest, model_provenance
    from .provenance import params_digest, record
    from .runs import require_complete_run
    from .sampling import check_video_shape

    runs = method_runs(settings, layout, method)
    for run in runs.values():
        if run is not None:
            require_complete_run(run)  # never a half-trained LoRA
    base = base_model if base_model is not None else model_provenance(settings.model, layout)
    sampling = settings.sampling
    results = layout.method_results(method)
    evaluation = settings.evaluation
    seeds = evaluation.seeds_of(method)  # a replicate run: evaluation.replicate_seeds
    vcd_seeds = evaluation.vcd_seeds_of(method)
    if method == CANDIDATES:  # best-of-N: n candidates per seed, every one with VCD (a scorer)
        from .best_of_n import candidate_seeds

        seeds, vcd_seeds = candidate_seeds(evaluation.seeds, settings.best_of_n.n), None
    frame_init = settings.frameinit if split_frameinit(method)[1] else None  # ConsistI2V's initial noise
    shard = shard or current_shard()
    counts = {"method": method, "generated": 0, "skipped": 0}
    per_video, per_frame, order = [], [], {}
    adapters: dict[str, dict[str, Any]] = {}
    loaded: tuple[RunFiles | None, Any, str, str | None] | None = None
    for dataset in evaluation.datasets:
        run = runs[dataset]
        if loaded is None or loaded[0] != run:
            torch.manual_seed(0)  # the same numbers whatever the order methods are evaluated in
            # A fresh pipeline per adapter: folding a LoRA in changes the weights in place, and
            # unmerging is not bit-exact, so reusing one would make results depend on the order.
            pipe = load_pipeline(settings.model, layout, device, offline=settings.runtime.offline)
            check_video_shape(pipe, sampling.num_frames, sampling.height, sampling.width)  # before any file is made
            if run is not None:
                load_lora(pipe.transformer, run, merge=True)  # sampling only: W + (alpha / r) B A
            pipe.transformer.eval()
            # Everything that shapes the videos; a re-run reuses finished videos only if it matches.
            lora_sha = None if run is None else lora_digest(run)  # the weights' content, not the file's bytes
            shaping = {
                "model": settings.as_dict()["model"],
                "video": settings.as_dict()["video"],
                "base": base,
                "lora": lora_sha,
                "batch_videos": evaluation.batch_videos,  # which videos share a batch moves floats
                **({} if frame_init is None else {"frameinit": settings.as_dict()["frameinit"]}),
            }
            loaded = (run, pipe, params_digest(shaping), lora_sha)
        _, pipe, fingerprint, lora_sha = loaded
        adapters[dataset] = {
            "trained_on": None if run is None else evaluation.trained_on(dataset),
            "lora": None if run is None else layout.relative(run.lora),
            "lora_content_sha256": lora_sha,
            "videos_fingerprint": fingerprint,
        }
        items = evaluation.items_of(method, read_split(layout, dataset, "eval"))  # a snapshot: the trade-off subset
        order.update({(dataset, it.id): (len(order), k) for k, it in enumerate(items)})
        made = generate_method_videos(
            pipe,
            items,
            seeds,
            layout,
            method,
            dataset,
            settings.sampling,
            settings.video.fps,
            fingerprint,
            progress=progress,
            shard=shard,
            batch_videos=evaluation.batch_videos,
            frame_init=frame_init,
        )
        counts["generated"] += made["generated"]
        counts["skipped"] += made["skipped"]
        pv, pf = score_videos(
            method,
            dataset,
            shard.take(items),
            seeds,
            layout,
            metric,
            settings.video,
            vcd_seeds=vcd_seeds,
            progress=progress,
        )
        per_video.append(pv)
        per_frame.append(pf)
    per_video_all = pd.concat(per_video, ignore_index=True)
    per_frame_all = pd.concat(per_frame, ignore_index=True)
    if shard.count > 1:
        counts["shard"] = str(shard)
        write_csv(results.part(results.per_video, shard), per_video_all)
        write_csv(results.part(results.per_frame, shard), per_frame_all)
        wait_for_all(shard)
        if not shard.is_main:
            return counts
        per_video_all, per_frame_all = _merge_parts(results, shard.count, order)
    write_csv(results.per_video, per_video_all)
    write_csv(results.per_frame, per_frame_all)
    write_json(
        results.provenance,
        record(
            settings,
            layout.root,
            base_model=base,
            adapters=adapters,  # per evaluation dataset: which LoRA made its videos
            **({"encoder": metric.provenance()} if metric is not None else {}),
        ),
    )
    counts.update(scored=int((per_video_all.status == "ok").sum()), excluded=int((per_video_all.status != "ok").sum()))
    return counts


def _merge_parts(results, count: int, order: dict[tuple[str, str], tuple[int, int]]):
    """The shards' part tables as one, in the single-process row order (dataset, item
    as listed in the split, seed, frame); the part files are removed after."""
    merged = []
    for table, keys in ((results.per_video, ["seed"]), (results.per_frame, ["seed", "frame"])):
        parts = [results.part(table, Shard(i, count)) for i in range(count)]
        text = {"image_id": str, "prompt": str, "dataset": str, "method": str}
        read = [pd.read_csv(p, dtype=text, keep_default_na=False, na_values=[""]) for p in parts]
        frame = pd.concat(read, ignore_index=True)
        rank = [order[(d, i)] for d, i in zip(frame["dataset"], frame["image_id"], strict=True)]
        frame = frame.assign(_rank=rank).sort_values(["_rank", *keys], kind="stable").drop(columns="_rank")
        merged.append((frame.reset_index(drop=True), parts))
    for _, parts in merged:
        for part in parts:
            part.unlink()
    return merged[0][0], merged[1][0]


def evaluate_methods(
    settings: Settings,
    layout: Layout,
    methods: Sequence[str] | None = None,
    device: str | None = None,
    progress: bool = True,
    shard: Shard | None = None,
) -> list[dict[str, Any]]:
    """:func:`evaluate_method` for every method (default: base and every reward), after
    checking every run is finished -- before any video is made. One metric and one
    hashing of the base weights serve all methods."""
    import torch

    from .metric import metric_from_config
    from .models import model_provenance
    from .runs import require_complete_run

    shard = shard or current_shard()
    methods = list(settings.study_methods if methods is None else methods)
    for method in methods:
        for run in method_runs(settings, layout, method).values():
            if run is not None:
                require_complete_run(run)
    if device is None:
        device = "cpu"
        if torch.cuda.is_available():  # one GPU per process under accelerate
            device = f"cuda:{shard.index % torch.cuda.device_count()}"
    metric = metric_from_config(settings.vcd, "paper").to(device)
    base = model_provenance(settings.model, layout)
    best_of = [m for m in methods if split_best_of(m) is not None]
    counts = [
        evaluate_method(settings, layout, m, metric, device, base, progress, shard) for m in methods if m not in best_of
    ]
    if best_of:
        counts += evaluate_best_of(settings, layout, best_of, metric, device, base, progress, shard)
    return counts


def evaluate_best_of(
    settings: Settings,
    layout: Layout,
    methods: Sequence[str],
    metric: VideoConsistencyDistance,
    device: str = "cpu",
    base_model: dict[str, str] | None = None,
    progress: bool = True,
    shard: Shard | None = None,
) -> list[dict[str, Any]]:
    """The best-of-N methods (``base+bestof-<scorer>``, :mod:`vcd.best_of_n`): the base
    model's candidates (:data:`vcd.methods.CANDIDATES`, ``best_of_n.n`` per item and seed)
    are generated and scored once -- every metric, VCD per frame, and each learned
    scorer -- then each method keeps, per (item, seed), its scorer's best candidate: the
    video is linked into the method's own folder under VBench's naming, and its rows
    (scores, per-frame VCD) are the candidate's, with the evaluation seed and the
    candidate's index. Returns one count record per method, the candidates' first."""
    from .best_of_n import chosen_rows, learned_scores, link_video, select_best
    from .data import read_split
    from .methods import LEARNED_REWARD_NAMES
    from .provenance import record
    from .reward_models import load_scorer

    shard = shard or current_shard()
    scorers = [split_best_of(m) for m in methods]
    n = settings.best_of_n.n
    learned = {s: load_scorer(layout.reward_models_dir, s, device) for s in scorers if s in LEARNED_REWARD_NAMES}
    counts = [evaluate_method(settings, layout, CANDIDATES, metric, device, base_model, progress, shard)]
    if not shard.is_main:
        return counts
    files = layout.method_results(CANDIDATES)
    candidates = pd.read_csv(files.per_video, keep_default_na=True)
    candidates["reason"] = candidates["reason"].fillna("")
    items = [it for d in settings.evaluation.datasets for it in read_split(layout, d, "eval")]
    candidates = learned_scores(candidates, layout, items, learned, device, progress)
    write_csv(files.per_video, candidates)  # the scores every best-of method is chosen by
    per_frame = pd.read_csv(files.per_frame)
    for method, scorer in zip(methods, scorers, strict=True):
        best = select_best(candidates, scorer, n)
        targets = {}
        for row in best.itertuples(index=False):
            item = next(it for it in items if it.dataset == row.dataset and it.id == row.image_id)
            target = layout.video_file(method, row.dataset, item.caption, int(row.eval_seed))
            if row.status == "ok":
                link_video(layout.resolve(row.file), target)
                link_video(
                    layout.conditioning_image(CANDIDATES, row.dataset, item.caption),
                    layout.conditioning_image(method, row.dataset, item.caption),
                )
            targets[(row.dataset, row.image_id, int(row.eval_seed))] = layout.relative(target)
        # the same columns as any method's: VCD (per frame, and the column when every seed
        # has it) only for evaluation.vcd_seeds, no candidate scores
        rows = chosen_rows(best, method, targets).drop(columns=list(learned), errors="ignore")
        vcd_seeds = settings.evaluation.vcd_seeds_of(BASE)
        if vcd_seeds is not None and not set(settings.evaluation.seeds) <= set(vcd_seeds):
            rows["vcd"] = np.nan
        chosen = best[["dataset", "image_id", "seed", "eval_seed"]]
        frames = per_frame.merge(chosen, on=["dataset", "image_id", "seed"]).assign(method=method)
        frames = frames.drop(columns=["seed"]).rename(columns={"eval_seed": "seed"})[per_frame.columns]
        if vcd_seeds is not None:
            frames = frames[frames.seed.isin(list(vcd_seeds))]
        results = layout.method_results(method)
        write_csv(results.per_video, rows)
        write_csv(results.per_frame, frames)
        write_json(
            results.provenance,
            record(
                settings,
                layout.root,
                base_model=base_model,
                best_of_n={
                    "scorer": scorer,
                    "n": n,
                    "candidates": layout.relative(layout.method_videos(CANDIDATES, "")),
                },
                **({"reward_model": learned[scorer].provenance()} if scorer in learned else {}),
                encoder=metric.provenance(),
            ),
        )
        counts.append(
            {
                "method": method,
                "generated": 0,
                "skipped": 0,
                "scored": int((rows.status == "ok").sum()),
                "excluded": int((rows.status != "ok").sum()),
            }
        )
    return counts


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(
        prog="python -m vcd.evaluation",
        description="Generate and score the evaluation videos; under `accelerate launch` each process takes "
        "every N-th item and the main one merges the tables.",
    )
    parser.add_argument("--methods", nargs="+", help="default: base and every run of every methods.rewards")
    parser.add_argument("--device", help="default: this process's GPU, else the CPU")
    args = parser.parse_args(argv)
    layout = Layout.discover()
    settings = Settings.load(layout.params_file)
    shard = current_shard()
    counts = evaluate_methods(settings, layout, args.methods, args.device, progress=shard.is_main, shard=shard)
    print(json.dumps({"shard": str(shard), "counts": counts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())


def collect_per_video(
    layout: Layout, methods: Sequence[str], datasets: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Every method's ``per_video.csv`` in one table, restricted to ``datasets``.

    A method whose results are missing is listed in the second return value (the
    report says so), never silently dropped; a metric computed for no video is left
    out (e.g. VCD limited to some seeds).
    """
    frames, missing = [], []
    for method in methods:
        path = layout.method_results(method).per_video
        if not path.is_file():
            missing.append(method)
            continue
        frames.append(pd.read_csv(path, keep_default_na=True))
    if not frames:
        raise FileNotFoundError(
            f"no per_video.csv under {layout.relative(layout.eval_dir)} for any of {list(methods)}; "
            "run the evaluate stage"
        )
    per_video = pd.concat(frames, ignore_index=True)
    per_video["reason"] = per_video["reason"].fillna("")
    per_video = per_video.dropna(axis=1, how="all")
    return per_video[per_video.dataset.isin(list(datasets))].reset_index(drop=True), missing


def collect_per_frame(layout: Layout, methods: Sequence[str]) -> pd.DataFrame:
    """Every method's ``per_frame.csv`` (unweighted VCD per frame) in one table; methods
    without results are skipped (:func:`collect_per_video` reports them)."""
    paths = [layout.method_results(m).per_frame for m in methods]
    frames = [pd.read_csv(p) for p in paths if p.is_file()]
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["method", "dataset", "frame", "vcd_unweighted"])
    )
