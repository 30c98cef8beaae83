"""The file layout of the project: the one place that names a path.

Every file the pipeline reads or writes is named here, relative to the repository
root; the package and the notebooks ask a :class:`Layout` for paths and never spell
one out. ``dvc.yaml`` names the same paths (it must: DVC tracks them), and a test
checks that every path it names is one this module produces.

Also here: the video file names VBench expects, ``{prompt}-{seed}.mp4``
(VBench's "standard mode"; :func:`video_name`), and their inverse.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from .methods import split_frameinit, split_replicate, split_snapshot

__all__ = [
    "Layout",
    "RunFiles",
    "RerunFiles",
    "MethodResults",
    "StageResults",
    "video_name",
    "conditioning_name",
    "split_video_name",
    "find_repo_root",
    "DATA_README",
]

#: Where the datasets' download instructions are (quoted in error messages), relative to the root.
DATA_README = "data/README.md"
#: The sub-folder of a reward's run folders that holds its replicate runs (``seed-<k>/``).
REPLICATES = "replicates"
#: The folder of a run's trade-off snapshots, inside its adapter folder.
SNAPSHOTS = "snapshots"


def find_repo_root(start: str | Path | None = None) -> Path:
    """The folder holding ``params.yaml`` and ``dvc.yaml`` at or above ``start`` (cwd).

    Notebooks run the same from JupyterLab (cwd = notebooks/) and from papermill in
    the DVC pipeline (cwd = repository root).
    """
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "params.yaml").is_file() and (folder / "dvc.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no params.yaml + dvc.yaml found at or above {here}")


# ---------------------------------------------------------------------------- video names
def video_name(prompt: str, seed: int) -> str:
    """VBench's file name of the video of ``prompt`` and ``seed``: ``{prompt}-{seed}.mp4``
    (path separators replaced by ``_``)."""
    return f"{conditioning_name(prompt)}-{int(seed)}.mp4"


def conditioning_name(prompt: str) -> str:
    """The file stem shared by a prompt's videos and its conditioning image."""
    return prompt.replace("/", "_").replace("\\", "_")


_VIDEO_NAME = re.compile(r"^(?P<prompt>.*)-(?P<seed>\d+)$")


def split_video_name(path: str | Path) -> tuple[str, int]:
    """``".../a cat, camera pans left-3.mp4"`` -> ``("a cat, camera pans left", 3)``."""
    name = Path(str(path)).name
    stem = name[: -len(Path(name).suffix)] if Path(name).suffix else name
    match = _VIDEO_NAME.match(stem)
    if not match:
        raise ValueError(f"{path}: not a VBench video name '{{prompt}}-{{seed}}.mp4'")
    return match.group("prompt"), int(match.group("seed"))


# ---------------------------------------------------------------------------- folders
@dataclass(frozen=True)
class RunFiles:
    """A fine-tuning run: its record ``runs/<dataset>/<reward>/`` (logs, checkpoints,
    status; the protocol is in :mod:`vcd.runs`) and its product, the adapter
    ``models/lora/<dataset>/<reward>/`` -- one per training dataset and reward (Sec. 4.1).

    The adapter has a folder of its own so that what evaluation depends on is only the
    weights: a re-run that trains the same weights changes the record's timings, not
    the adapter's bytes, and leaves the evaluation as it is.

    A replicate run of the study (``<reward>@<seed>``, :mod:`vcd.methods`) lives inside
    its reward's folders, under ``replicates/seed-<k>/``; its checkpoints under the
    reward's ``checkpoints/replicates/seed-<k>/``, so that every run of one stage
    resumes from the stage's one persisted checkpoint folder.
    """

    dir: Path
    adapter: Path
    checkpoints: Path

    @property
    def info(self) -> Path:
        """``run_info.json``: status (``complete`` only when finished), settings, provenance."""
        return self.dir / "run_info.json"

    @property
    def metrics(self) -> Path:
        """``metrics.json``: the run's comparable numbers (``dvc metrics show``)."""
        return self.dir / "metrics.json"

    @property
    def lora(self) -> Path:
        """The LoRA weights (LoRA keys only, safetensors)."""
        return self.adapter / "lora.safetensors"

    @property
    def lora_config(self) -> Path:
        return self.adapter / "lora_config.json"

    @property
    def train_log(self) -> Path:
        return self.dir / "train_log.csv"

    @property
    def val_log(self) -> Path:
        return self.dir / "val_log.csv"

    def checkpoint(self, step: int) -> Path:
        """The folder of the checkpoint after optimizer step ``step``."""
        return self.checkpoints / f"step-{int(step):06d}"

    def checkpoint_state(self, step: int) -> Path:
        return self.checkpoint(step) / "state.pt"

    def checkpoint_states(self) -> list[Path]:
        """The checkpoints' state files, newest first."""
        return sorted(self.checkpoints.glob("step-*/state.pt"), reverse=True)

    def checkpoint_folders(self) -> list[Path]:
        """This run's checkpoint folders, oldest first (never another run's)."""
        return sorted(p for p in self.checkpoints.glob("step-*") if p.is_dir())

    def snapshot(self, step: int) -> RunFiles:
        """The run's adapter as it was after optimizer step ``step`` (a trade-off
        snapshot, ``finetune.snapshots``): ``<adapter>/snapshots/step-<step>/``, with the
        run's record (whose status says whether the run, snapshots included, finished)."""
        return replace(self, adapter=self.adapter / SNAPSHOTS / f"step-{int(step):06d}")

    @property
    def curve(self) -> Path:
        return self.dir / "training_curve.png"

    @property
    def notebook(self) -> Path:
        return self.dir / "04_finetune.ipynb"


@dataclass(frozen=True)
class MethodResults:
    """``results/eval/<method>/``: the scores of one method's evaluation videos."""

    dir: Path

    @property
    def per_video(self) -> Path:
        return self.dir / "per_video.csv"

    @property
    def per_frame(self) -> Path:
        return self.dir / "per_frame.csv"

    @property
    def provenance(self) -> Path:
        return self.dir / "provenance.json"

    def part(self, table: Path, shard: object) -> Path:
        """One process's share of ``per_video.csv`` / ``per_frame.csv`` (merged, then removed)."""
        return table.with_name(f"{table.stem}.part-{shard}{table.suffix}")


@dataclass(frozen=True)
class StageResults:
    """A stage's results folder: its metrics, provenance, tables and figures by name."""

    dir: Path

    @property
    def metrics(self) -> Path:
        """The stage's comparable numbers (``dvc metrics show``)."""
        return self.dir / "metrics.json"

    @property
    def provenance(self) -> Path:
        """What produced the stage's results (code, params, weights)."""
        return self.dir / "provenance.json"

    def csv(self, name: str) -> Path:
        """A table of the stage's data, ``<dir>/<name>.csv``."""
        return self.dir / f"{name}.csv"

    def figure(self, name: str) -> Path:
        """A figure of the stage, ``<dir>/<name>.png``."""
        return self.dir / f"{name}.png"

    def markdown(self, name: str) -> Path:
        """A table of the stage for people to read, ``<dir>/<name>.md``."""
        return self.dir / f"{name}.md"

    def json(self, name: str) -> Path:
        """A record of the stage, ``<dir>/<name>.json``."""
        return self.dir / f"{name}.json"

    def folder(self, name: str) -> Path:
        return self.dir / name


@dataclass(frozen=True)
class RerunFiles(StageResults):
    """``data/study_reruns/study-seed-<k>/``: what a rerun of the study keeps
    (:mod:`vcd.study`): its ``metrics``, ``provenance`` and ``summary.csv``, and its own
    ``record.json`` and ``claims.json``."""

    @property
    def label(self) -> str:
        return self.dir.name

    @property
    def record(self) -> Path:
        """``record.json``: study seed, commit, settings digest, seconds, machine."""
        return self.json("record")

    @property
    def best_of_n_curve(self) -> Path:
        """``results/best_of_n.csv``: the best-of-N gain for every N' <= ``best_of_n.n``."""
        return self.report.csv("best_of_n")

    @property
    def claims(self) -> Path:
        return self.json("claims")

    @property
    def summary(self) -> Path:
        return self.csv("summary")


@dataclass(frozen=True)
class Layout:
    """Every path of the project, under the repository ``root``.

    ``Layout.discover()`` finds the root from the working directory (notebooks run from
    ``notebooks/`` in JupyterLab and from the root in the pipeline); tests build one
    over a temporary folder.
    """

    root: Path

    @classmethod
    def discover(cls, start: str | Path | None = None) -> Layout:
        return cls(find_repo_root(start))

    def relative(self, path: str | Path) -> str:
        """``path`` relative to the root, as results record it (machine-independent)."""
        # normalised, not resolved: a folder linked into the project is still "in" it
        path, root = (Path(os.path.normpath(Path(p).absolute())) for p in (path, self.root))
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return str(path)

    def resolve(self, path: str | Path) -> Path:
        """A path from ``params.yaml`` (relative to the root, or absolute)."""
        path = Path(path).expanduser()
        return path if path.is_absolute() else self.root / path

    # ------------------------------------------------------------------ inputs
    @property
    def params_file(self) -> Path:
        return self.root / "params.yaml"

    @property
    def dvc_file(self) -> Path:
        return self.root / "dvc.yaml"

    def profile(self, name: str) -> Path:
        return self.root / "profiles" / f"{name}.yaml"

    @property
    def profiles(self) -> Path:
        return self.root / "profiles"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def readme(self) -> Path:
        return self.root / "README.md"

    @property
    def embedded_manifest(self) -> Path:
        """The embedded mini-benchmark: real photographs shipped inside Python packages."""
        return self.root / "data" / "embedded" / "manifest.json"

    @property
    def paper_results(self) -> Path:
        """The numbers the paper reports (quoted, never computed)."""
        return self.root / "data" / "paper" / "results.yaml"

    def architecture(self, model: str) -> Path:
        """``data/architectures/<model>/``: a Wan model's published configs (``transformer/``, ``vae/``)."""
        return self.root / "data" / "architectures" / model

    def architecture_config(self, model: str, component: str) -> Path:
        """The published ``config.json`` of a Wan model's ``transformer`` or ``vae``."""
        return self.architecture(model) / component / "config.json"

    def random_weights(self, model: str) -> Path:
        """``.cache/random-weights/<model>/``: a random-weight diffusers folder of a real
        architecture (benchmarks; large, never committed)."""
        return self.root / ".cache" / "random-weights" / model

    @property
    def architectures_dir(self) -> Path:
        return self.root / "data" / "architectures"

    @property
    def data_readme(self) -> Path:
        return self.root / DATA_README

    @property
    def package_dir(self) -> Path:
        return self.root / "vcd"

    @property
    def source_paths(self) -> tuple[str, ...]:
        """What shapes a result: the package, notebooks, settings and inputs, relative to
        the root. Pipeline outputs (results/, runs/, dvc.lock, the README's synced tables)
        are tracked by git too, but DVC deletes a stage's outputs before running it, so
        counting them would mark every pipeline run as "dirty"."""
        return (
            "vcd",
            "notebooks",
            "scripts",
            "data",
            "profiles",
            "params.yaml",
            "dvc.yaml",
            "pyproject.toml",
            "constraints.txt",
        )

    # ------------------------------------------------------------------ data_split
    def split_dir(self, dataset: str) -> Path:
        return self.root / "data" / "splits" / dataset

    def split_manifest(self, dataset: str, part: str) -> Path:
        """``data/splits/<dataset>/{train,eval}.json``."""
        if part not in ("train", "eval"):
            raise ValueError(f"part must be 'train' or 'eval'; got {part!r}")
        return self.split_dir(dataset) / f"{part}.json"

    def split_report(self, dataset: str) -> Path:
        """One row per input file and what happened to it."""
        return self.split_dir(dataset) / "report.csv"

    def split_images(self, dataset: str) -> Path:
        return self.split_dir(dataset) / "images"

    @property
    def i2v_bench_frames(self) -> Path:
        """First frames extracted from I2V-Bench's videos (a cache)."""
        return self.root / "data" / "cache" / "i2v_bench_first_frames"

    def i2v_bench_frame(self, video_stem: str) -> Path:
        """The cached first frame of the I2V-Bench video ``<video_stem>.mp4`` (PNG)."""
        return self.i2v_bench_frames / f"{video_stem}.png"

    def i2v_bench_frame_error(self, video_stem: str) -> Path:
        """Why that first frame could not be extracted (the image check reports it)."""
        return self.i2v_bench_frames / f"{video_stem}.error.txt"

    def prepared_image(self, dataset: str, name: str, index: int) -> Path:
        """A conditioning image prepared at the generation size (``name`` made file-safe)."""
        return self.split_images(dataset) / f"{name}-{int(index):05d}.png"

    @property
    def data_results(self) -> StageResults:
        return StageResults(self.root / "results" / "data")

    def split_figure(self, dataset: str) -> Path:
        return self.data_results.figure(f"split_{dataset}")

    # ------------------------------------------------------------------ vcd_sanity, base_model, base_check
    @property
    def sanity(self) -> StageResults:
        return StageResults(self.root / "results" / "sanity")

    @property
    def base_model(self) -> Path:
        """The toy base model (``save_pretrained`` folder), or a hub model's reference."""
        return self.root / "models" / "base"

    @property
    def base_model_log(self) -> Path:
        return self.base_model / "train_log.csv"

    @property
    def toy_training_code(self) -> tuple[Path, ...]:
        """The files whose content the toy base model's weights depend on: its data,
        architecture and training loop, the training notebook (its jupytext twin) and the
        embedded manifest (photographs, captions, split input); hashed into the model's
        training record (:mod:`vcd.shipped`)."""
        package = self.package_dir
        return (
            package / "toy.py",
            package / "training_images.py",
            package / "synthetic.py",
            package / "models.py",
            package / "sampling.py",
            self.notebooks / "03a_base_model.py",
            self.embedded_manifest,
        )

    @property
    def base_model_record(self) -> Path:
        """The toy's training record: what it was trained from and how long it took
        (:mod:`vcd.shipped`)."""
        return self.base_model / "training.json"

    @property
    def base_model_reference(self) -> Path:
        """For a hub model: which one was used (nothing is trained)."""
        return self.base_model / "reference.json"

    @property
    def pretrain(self) -> StageResults:
        return StageResults(self.root / "results" / "pretrain")

    # ------------------------------------------------------------------ reward_models
    @property
    def reward_models_dir(self) -> Path:
        """``models/reward_models/``: the learned consistency rewards, ``<name>.safetensors``
        and ``<name>.json`` each (:mod:`vcd.reward_models`)."""
        return self.root / "models" / "reward_models"

    @property
    def reward_models(self) -> StageResults:
        """``results/reward_models/``: their training logs, held-out accuracy and figures."""
        return StageResults(self.root / "results" / "reward_models")

    # ------------------------------------------------------------------ finetune
    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run(self, method: str, dataset: str) -> RunFiles:
        """The run of ``method`` fine-tuned on ``dataset``'s training split: a reward's
        first run (``vcd``), a replicate run (``vcd@1``: ``<reward>/replicates/seed-1``)
        or a run's snapshot (``vcd@1~5``: :meth:`RunFiles.snapshot`)."""
        method = split_frameinit(method)[0]  # ``vcd+frameinit@1`` samples with ``vcd@1``'s LoRA
        run, step = split_snapshot(method)
        if step is not None:  # ``vcd@1~5``: the run's snapshot after step 5
            return self.run(run, dataset).snapshot(step)
        reward, run_seed = split_replicate(method)
        for name in (dataset, reward):
            if not name or "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"not a run name: {name!r}")
        record, adapter = self.runs_dir / dataset / reward, self.adapters_dir / dataset / reward
        if run_seed is None:
            return RunFiles(record, adapter, record / "checkpoints")
        own = Path(REPLICATES) / f"seed-{run_seed}"
        return RunFiles(record / own, adapter / own, record / "checkpoints" / own)

    def replicate_records(self, reward: str, dataset: str) -> Path:
        """``runs/<dataset>/<reward>/replicates/``: the records of ``reward``'s replicate runs."""
        return self.run(reward, dataset).dir / REPLICATES

    def reward_runs(self, reward: str, dataset: str) -> Path:
        """``runs/<dataset>/<reward>/runs.json``: every run of one reward, one row per run seed."""
        return self.run(reward, dataset).dir / "runs.json"

    @property
    def adapters_dir(self) -> Path:
        """``models/lora/``: the fine-tuned adapters, ``<dataset>/<reward>/`` per run."""
        return self.root / "models" / "lora"

    # ------------------------------------------------------------------ evaluate
    @property
    def videos_dir(self) -> Path:
        return self.root / "results" / "videos"

    def method_videos(self, method: str, dataset: str) -> Path:
        """``results/videos/<method>/<dataset>/``: ``{prompt}-{seed}.mp4`` (VBench naming)."""
        return self.videos_dir / method / dataset

    def video_file(self, method: str, dataset: str, prompt: str, seed: int) -> Path:
        return self.method_videos(method, dataset) / video_name(prompt, seed)

    def generation_stamp(self, method: str, dataset: str) -> Path:
        """The fingerprint of what made a folder's videos (model, LoRA, settings)."""
        return self.method_videos(method, dataset) / "generation.json"

    def conditioning_dir(self, method: str, dataset: str) -> Path:
        return self.method_videos(method, dataset) / "conditioning"

    def conditioning_image(self, method: str, dataset: str, prompt: str) -> Path:
        """The conditioning image a prompt's videos were generated from (PNG)."""
        return self.conditioning_dir(method, dataset) / f"{conditioning_name(prompt)}.png"

    @property
    def eval_dir(self) -> Path:
        return self.root / "results" / "eval"

    def method_results(self, method: str) -> MethodResults:
        return MethodResults(self.eval_dir / method)

    @property
    def official_dir(self) -> Path:
        """Official VBench-I2V / VideoScore results (scripts/official/), native formats."""
        return self.root / "results" / "official"

    def vbench_results(self, method: str, dataset: str) -> Path:
        return self.official_dir / "vbench" / f"{method}_{dataset}_eval_results.json"

    def vbench_pairs(self, method: str, dataset: str) -> Path:
        """What VBench's own loaders selected per dimension (``run_vbench.py --pairs``)."""
        return self.official_dir / "vbench" / f"{method}_{dataset}_pairs.json"

    def vbench_versions(self, method: str, dataset: str) -> Path:
        """The VBench environment's package versions a result file was made with."""
        return self.official_dir / "vbench" / f"{method}_{dataset}.versions.json"

    def vbench_info(self, method: str, dataset: str) -> Path:
        """The VBench info JSON of one method's videos of one dataset (its prompts, subsets, images)."""
        return self.official_dir / "vbench" / f"{method}_{dataset}_full_info.json"

    @property
    def vbench_jobs(self) -> Path:
        """What ``scripts/official/run_vbench.py`` evaluates: info file, image folder, result file."""
        return self.official_dir / "vbench" / "jobs.json"

    def videoscore_results(self, method: str, dataset: str) -> Path:
        return self.official_dir / "videoscore" / f"{method}_{dataset}.json"

    # ------------------------------------------------------------------ report
    @property
    def report(self) -> StageResults:
        """``results/``: the report's tables, figures, claims and their metrics."""
        return StageResults(self.root / "results")

    @property
    def per_video_metrics(self) -> Path:
        """Every method's per-video scores in one table (official columns merged)."""
        return self.report.csv("per_video_metrics")

    @property
    def summary(self) -> Path:
        """Mean over runs with 95 % intervals, per (method, dataset, metric)."""
        return self.report.csv("summary")

    @property
    def tradeoff(self) -> Path:
        """The consistency-motion trade-off: every run's path (base, snapshots, the run) on
        the fixed subset, one row per (dataset, run, step) (:mod:`vcd.tradeoff`)."""
        return self.report.csv("tradeoff")

    @property
    def tradeoff_end_points(self) -> Path:
        """The methods without a training path (FrameInit, best-of-N, +VCD + FrameInit) as
        single points on the trade-off subset, one row per (dataset, method run)."""
        return self.report.csv("tradeoff_end_points")

    @property
    def best_of_n_curve(self) -> Path:
        """``results/best_of_n.csv``: the best-of-N gain for every N' <= ``best_of_n.n``."""
        return self.report.csv("best_of_n")

    @property
    def claims(self) -> Path:
        """The paper's claims and how each was tested (``report.metrics`` holds their numbers)."""
        return self.report.dir / "claims.json"

    @property
    def tables_dir(self) -> Path:
        return self.report.folder("tables")

    def table(self, name: str) -> Path:
        """The stem of a table; it is written as ``<stem>.md`` and ``<stem>.tex``."""
        return self.tables_dir / name

    @property
    def figures_dir(self) -> Path:
        return self.report.folder("figures")

    def figure(self, name: str) -> Path:
        return self.figures_dir / f"{name}.png"

    # ------------------------------------------------------------------ human study
    @property
    def human_study(self) -> StageResults:
        """``results/human_study/``: the study's design (trials, rater plans), its
        metrics and provenance (notebook 07)."""
        return StageResults(self.root / "results" / "human_study")

    @property
    def human_analysis(self) -> StageResults:
        """``results/human_study/analysis/``: Table 4, Fig. 8, significance, agreement and
        side bias of the real votes in ``human_votes_dir`` (nothing else, when there are none)."""
        return StageResults(self.human_study.dir / "analysis")

    @property
    def study_manifest(self) -> Path:
        """The study design the rating app serves (``vcd.human_study.build_study``)."""
        return self.human_study.dir / "study.json"

    @property
    def study_reruns_dir(self) -> Path:
        """``data/study_reruns/``: the study rerun with other study seeds (:mod:`vcd.study`),
        an input of the report. Written by ``make study-rerun`` and committed; never by a stage."""
        return self.root / "data" / "study_reruns"

    def study_rerun(self, study_seed: int) -> RerunFiles:
        """``data/study_reruns/study-seed-<k>/``: one rerun's claims, metrics and record."""
        return RerunFiles(self.study_reruns_dir / f"study-seed-{int(study_seed)}")

    def study_reruns(self) -> list[RerunFiles]:
        """Every rerun folder of ``study_reruns_dir``, by name."""
        root = self.study_reruns_dir
        return [RerunFiles(p) for p in sorted(root.glob("study-seed-*")) if p.is_dir()] if root.is_dir() else []

    @property
    def human_votes_dir(self) -> Path:
        """``data/human_votes/``: exported votes (CSV) of real raters, the analysis' input.
        Committed by the organiser; never written by the pipeline."""
        return self.root / "data" / "human_votes"

    def human_votes_export(self, study: str) -> Path:
        """Where the rating app exports the votes of study ``study``."""
        return self.human_votes_dir / f"{study}.csv"

    @property
    def ratings_db(self) -> Path:
        """The rating app's SQLite database (tokens, votes, their history); not versioned."""
        return self.root / "data" / "ratings" / "ratings.sqlite"

    def screenshot(self, name: str) -> Path:
        """``docs/screenshots/<name>.png``: pictures of the apps for the README
        (``scripts/human_study_screenshots.py``)."""
        return self.root / "docs" / "screenshots" / f"{name}.png"

    # ------------------------------------------------------------------ executed notebooks
    def executed_notebook(self, notebook: str) -> Path:
        """Where the pipeline keeps the executed copy of ``notebooks/<notebook>.ipynb``."""
        return self.root / "results" / "notebooks" / f"{notebook}.ipynb"

    def notebook(self, name: str) -> Path:
        return self.notebooks / f"{name}.ipynb"
