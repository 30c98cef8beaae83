"""The file layout: VBench's names, paths under the root, and dvc.yaml naming only layout paths."""

from __future__ import annotations

import itertools
import shlex
from pathlib import Path

import pytest
import yaml

from vcd.layout import Layout, find_repo_root, split_video_name, video_name
from vcd.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def test_vbench_names_round_trip():
    assert video_name("a cat, camera pans left", 3) == "a cat, camera pans left-3.mp4"
    assert video_name("a/b\\c", 0) == "a_b_c-0.mp4"
    assert split_video_name("x/a cat, camera pans left-3.mp4") == ("a cat, camera pans left", 3)
    assert split_video_name("a-b-c-12") == ("a-b-c", 12)
    with pytest.raises(ValueError, match="not a VBench video name"):
        split_video_name("no_seed.mp4")


def test_paths_live_under_the_root_and_are_recorded_relative_to_it(tmp_path):
    layout = Layout(tmp_path)
    assert layout.video_file("vcd", "embedded", "a cup", 2) == tmp_path / "results/videos/vcd/embedded/a cup-2.mp4"
    run = layout.run("vcd", "i2v_bench")  # one run per (training dataset, reward), Sec. 4.1
    assert layout.relative(run.lora) == "models/lora/i2v_bench/vcd/lora.safetensors"  # the adapter apart from the log
    assert layout.relative(run.info) == "runs/i2v_bench/vcd/run_info.json"
    assert layout.relative("/elsewhere/file.txt") == "/elsewhere/file.txt"
    assert layout.resolve("data/external/x") == tmp_path / "data/external/x" and layout.resolve("/abs") == Path("/abs")
    assert run.checkpoint(7).name == "step-000007"
    for bad in ("", "../x", ".hidden", "a/b", "a\\b"):
        with pytest.raises(ValueError, match="not a run name"):
            layout.run(bad, "embedded")
        with pytest.raises(ValueError, match="not a run name"):
            layout.run("vcd", bad)
    with pytest.raises(ValueError, match="part must be"):
        layout.split_manifest("embedded", "test")


def test_the_root_is_found_from_a_subfolder():
    assert find_repo_root(REPO / "notebooks") == REPO
    assert Layout.discover(REPO / "vcd").root == REPO


def _layout_paths(layout: Layout, methods, datasets, train_on) -> set[str]:
    """Every path the layout names that a stage can track, relative to the root."""
    paths = [
        layout.embedded_manifest,
        layout.paper_results,
        layout.base_model,
        layout.runs_dir,
        layout.adapters_dir,
        layout.videos_dir,
        layout.eval_dir,
        layout.per_video_metrics,
        layout.summary,
        layout.tradeoff,
        layout.tradeoff_end_points,
        layout.claims,
        layout.tables_dir,
        layout.figures_dir,
    ]
    for stage in (layout.data_results, layout.sanity, layout.pretrain, layout.report, layout.human_study):
        paths += [stage.metrics, stage.provenance]
    paths += [layout.study_manifest, layout.human_analysis.dir, layout.human_votes_dir, layout.study_reruns_dir]
    paths += [layout.sanity.csv(n) for n in ("curves", "shift_sensitivity")]
    paths += [
        layout.sanity.figure(n)
        for n in (
            "vcd_motion_vs_drift",
            "amplitude_vs_phase",
            "shift_sensitivity",
            "temporal_weight",
            "synthetic_videos",
        )
    ]
    paths += [layout.pretrain.csv(n) for n in ("drift", "fidelity", "vae_reconstruction")]
    paths += [layout.pretrain.markdown("targets")]
    paths += [layout.pretrain.figure(n) for n in ("training_loss", "frame_strips", "drift")]
    paths += [layout.reward_models_dir, layout.reward_models.figure("reward_models")]
    paths += [layout.reward_models.metrics, layout.reward_models.provenance, layout.reward_models.markdown("heldout")]
    paths += [layout.reward_models.markdown("heldout").with_suffix(".tex")]
    paths += [layout.reward_models.csv(n) for n in ("train_log", "heldout_scores", "heldout_measures")]
    paths += [layout.best_of_n_curve]
    for dataset in datasets:
        paths += [layout.split_dir(dataset).parent, layout.split_dir(dataset), layout.split_figure(dataset)]
    for dataset, method in itertools.product(train_on, methods):
        run = layout.run(method, dataset)
        paths += [layout.replicate_records(method, dataset), layout.reward_runs(method, dataset)]
        paths += [
            run.adapter,
            run.checkpoints,
            run.lora,
            run.lora_config,
            run.notebook,
            run.info,
            run.metrics,
            run.train_log,
            run.val_log,
            run.curve,
        ]
    for notebook in layout.notebooks.glob("*.ipynb"):
        paths += [layout.notebook(notebook.stem), layout.executed_notebook(notebook.stem)]
    return {layout.relative(p) for p in paths}


def test_every_path_dvc_yaml_names_is_a_layout_path():
    layout = Layout(REPO)
    settings = Settings.load(layout.params_file)
    stages = yaml.safe_load(layout.dvc_file.read_text())["stages"]
    methods = settings.methods
    known = _layout_paths(layout, methods.rewards, settings.data.datasets, methods.train_on)
    runs = list(itertools.product(methods.train_on, methods.rewards))

    def expand(path: str) -> list[str]:  # a matrix stage's path, for every (dataset, reward)
        if "${item." not in path:
            return [path]
        return [path.replace("${item.dataset}", d).replace("${item.reward}", r) for d, r in runs]

    named = []
    for stage in stages.values():
        for kind in ("deps", "outs", "metrics", "plots"):
            for entry in stage.get(kind, []):
                path = entry if isinstance(entry, str) else next(iter(entry))
                if path.startswith("vcd/"):
                    continue  # the package's modules (checked by tests/test_architecture.py)
                named += expand(path)
        for word in shlex.split(stage["cmd"]):
            if "/" in word:
                named += expand(word)
    assert not [p for p in named if "${" in p], "a dvc.yaml path with an unknown ${...} variable"
    unknown = sorted({p for p in named if p not in known})
    assert not unknown, f"dvc.yaml names paths vcd/layout.py does not: {unknown}"


def test_replicate_runs_live_inside_their_reward_and_keep_the_first_runs_checkpoints_apart(tmp_path):
    from vcd.methods import method_label, replicate_name, split_replicate

    layout = Layout(tmp_path)
    first, replicate = layout.run("vcd", "embedded"), layout.run(replicate_name("vcd", 2), "embedded")
    assert replicate.dir == layout.replicate_records("vcd", "embedded") / "seed-2"
    assert replicate.adapter == first.adapter / "replicates" / "seed-2"
    assert replicate.checkpoints == first.checkpoints / "replicates" / "seed-2"
    first.checkpoint(4).mkdir(parents=True)
    replicate.checkpoint(4).mkdir(parents=True)
    assert first.checkpoint_folders() == [first.checkpoint(4)]  # never the replicate's
    assert split_replicate("vcd@2") == ("vcd", 2) and split_replicate("base") == ("base", None)
    assert method_label("vcd@2") == "+VCD (run seed 2)"
    for bad in ("vcd@x", "vcd@"):
        with pytest.raises(ValueError, match="replicate run is named"):
            split_replicate(bad)
    with pytest.raises(ValueError, match="already a replicate"):
        replicate_name("vcd@1", 2)


def test_a_snapshot_is_its_runs_record_with_its_own_adapter(tmp_path):
    from vcd.methods import method_label, snapshot_name, split_replicate, split_snapshot

    layout = Layout(tmp_path)
    run = layout.run("vcd@2", "embedded")
    snapshot = layout.run(snapshot_name("vcd@2", 5), "embedded")
    assert snapshot == run.snapshot(5) and snapshot.dir == run.dir and snapshot.checkpoints == run.checkpoints
    assert snapshot.adapter == run.adapter / "snapshots" / "step-000005"
    assert (
        layout.run("vcd~5", "embedded").adapter == layout.run("vcd", "embedded").adapter / "snapshots" / "step-000005"
    )
    assert split_snapshot("vcd@2~5") == ("vcd@2", 5) and split_snapshot("vcd@2") == ("vcd@2", None)
    assert split_replicate("vcd@2~5") == ("vcd", 2) and split_replicate("vcd~5") == ("vcd", None)
    assert method_label("vcd@2~5") == "+VCD (run seed 2) after step 5"
    for bad, match in (("vcd~x", "snapshot is named"), ("vcd~", "snapshot is named")):
        with pytest.raises(ValueError, match=match):
            split_snapshot(bad)
    with pytest.raises(ValueError, match="already a snapshot"):
        snapshot_name("vcd~5", 10)
    with pytest.raises(ValueError, match="after a step >= 1"):
        snapshot_name("vcd", 0)


def test_a_frameinit_method_samples_with_its_models_run(tmp_path):
    from vcd.methods import frameinit_name, method_label, split_frameinit, split_replicate

    layout = Layout(tmp_path)
    assert [frameinit_name(m) for m in ("base", "vcd", "vcd@2")] == [
        "base+frameinit",
        "vcd+frameinit",
        "vcd+frameinit@2",
    ]
    assert split_frameinit("vcd+frameinit@2") == ("vcd@2", True) and split_frameinit("vcd@2") == ("vcd@2", False)
    assert split_replicate("vcd+frameinit@2") == ("vcd+frameinit", 2)  # the runs of one method, as for any method
    assert layout.run("vcd+frameinit@2", "embedded") == layout.run("vcd@2", "embedded")  # the same LoRA
    assert method_label("vcd+frameinit@2") == "+VCD + FrameInit (run seed 2)"
    assert method_label("base+frameinit") == "base model + FrameInit"
    for bad in ("vcd+frameinit", "vcd~5"):
        with pytest.raises(ValueError, match="once"):
            frameinit_name(bad)
