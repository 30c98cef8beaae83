"""End to end: `dvc repro` of the whole default pipeline in a temporary copy of the
repository, with tiny parameters, the network blocked, and checks of what it wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from vcd.config import apply_overlay

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Products of the pipeline are not copied: the copy must regenerate them from scratch.
PRODUCTS = ("results/", "runs/", "models/", "data/splits/", "data/cache/", "dvc.lock")

pytestmark = pytest.mark.pipeline


def _source_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return [f for f in out if f and not f.startswith(PRODUCTS) and (REPO / f).is_file()]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    work = tmp_path_factory.mktemp("repo")
    for rel in _source_files():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, work / rel)
    apply_overlay(work / "params.yaml", yaml.safe_load((FIXTURES / "smoke_params.yaml").read_text()))
    log = work.parent / "network.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "DIFFUSERS_"))}
    env.update(
        {
            "PYTHONPATH": str(FIXTURES / "network_guard"),
            "VCD_NETWORK_LOG": str(log),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        }
    )
    _run(["git", "init", "-q"], work, env)
    dvc = [sys.executable, "-m", "dvc"]
    # the shipped model is not copied (a product) and the tiny settings need their own:
    # retrain it the way `make pretrain` does, then freeze it as the repository ships it
    _run(dvc + ["unfreeze", "base_model"], work, env)
    _run(dvc + ["repro"], work, env)
    _run(dvc + ["freeze", "base_model"], work, env)
    return {"work": work, "env": env, "log": log, "dvc": dvc}


def _leaves(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)
    else:
        yield node


def test_no_stage_touched_the_network(pipeline):
    assert not pipeline["log"].exists() or pipeline["log"].read_text() == ""


def test_data_split_outputs(pipeline):
    work = pipeline["work"]
    embedded = json.loads((work / "results/data/metrics.json").read_text())["embedded"]
    assert embedded["train"] == 2 and embedded["eval"] == 2 and embedded["files_rejected"] == 0
    assert embedded["items"] == embedded["files_ok"] + embedded["files_converted"]
    train = json.loads((work / "data/splits/embedded/train.json").read_text())
    video = yaml.safe_load((work / "params.yaml").read_text())["video"]
    for item in train["items"]:
        assert Image.open(work / "data/splits/embedded" / item["image"]).size == (video["width"], video["height"])
    assert json.loads((work / "results/data/provenance.json").read_text())["profile"] == "default"


def test_sanity_outputs(pipeline):
    work = pipeline["work"]
    metrics = json.loads((work / "results/sanity/metrics.json").read_text())
    sep = metrics["separation"]
    assert sep["appearance_drift_mean"] > sep["natural_motion_mean"] > 0
    assert 0 <= sep["auc_drift_above_motion"] <= 1
    variants = {"paper", "paper:amplitude", "paper:phase", "l2", "l2:amplitude", "l2:phase"}
    assert set(metrics["relative_distance_at_largest_shift"]) == variants
    provenance = json.loads((work / "results/sanity/provenance.json").read_text())
    assert provenance["weights"]["encoder"]["encoder_weights"] == "random"
    for name in (
        "vcd_motion_vs_drift",
        "amplitude_vs_phase",
        "shift_sensitivity",
        "temporal_weight",
        "synthetic_videos",
    ):
        with Image.open(work / f"results/sanity/{name}.png") as img:
            assert img.size[0] > 300 and img.size[1] > 200
    assert (work / "results/notebooks/02_vcd_sanity.ipynb").is_file()


def test_base_model_and_finetuning_runs(pipeline):
    from vcd.drift import FIDELITY_MEASURES, TESTBED_TARGETS

    work = pipeline["work"]
    params = yaml.safe_load((work / "params.yaml").read_text())
    assert (work / "models/base/model_index.json").is_file()
    pretrain = json.loads((work / "results/pretrain/metrics.json").read_text())
    # the gap: training minus held-out fidelity; motion: the motion probe (vcd.drift.motion_probe)
    assert set(pretrain["drift"]) == {"train", "eval", "motion", "gap"}
    assert set(pretrain["drift"]["gap"]) == set(FIDELITY_MEASURES)
    assert pretrain["targets"] == len(TESTBED_TARGETS) and 0 <= pretrain["targets_met"] <= pretrain["targets"]
    record = json.loads((work / "models/base/training.json").read_text())
    assert record["videos"] == sum(params["pretrain"]["sources"][k] for k in ("photo_views", "procedural"))
    targets = (work / "results/pretrain/targets.md").read_text()
    assert all(label in targets for label, *_ in TESTBED_TARGETS)
    assert (
        json.loads((work / "results/pretrain/provenance.json").read_text())["weights"]["base_model"]["model"] == "toy"
    )
    for reward in params["methods"]["rewards"]:
        info = json.loads((work / f"runs/embedded/{reward}/run_info.json").read_text())
        assert info["status"] == "complete" and info["steps"] == 2
        assert set(json.loads((work / f"runs/embedded/{reward}/metrics.json").read_text())) >= {
            "loss_first_quarter",
            "val_vcd_last",
        }
        assert (work / f"models/lora/embedded/{reward}/lora.safetensors").is_file()
        log = (work / f"runs/embedded/{reward}/train_log.csv").read_text().splitlines()
        assert log[0].startswith("step,loss,") and len(log) == 3
        # the second run seed's replicate run, trained in the same stage
        replicate = json.loads((work / f"runs/embedded/{reward}/replicates/seed-1/run_info.json").read_text())
        assert replicate["status"] == "complete" and replicate["run_seed"] == 1
        assert (work / f"models/lora/embedded/{reward}/replicates/seed-1/lora.safetensors").is_file()
        listed = json.loads((work / f"runs/embedded/{reward}/runs.json").read_text())["runs"]
        assert [r["run_seed"] for r in listed] == [0, 1]
        # the trade-off snapshot (finetune.snapshots of 2 steps: step 1) of each run
        for run in (f"models/lora/embedded/{reward}", f"models/lora/embedded/{reward}/replicates/seed-1"):
            assert (work / run / "snapshots/step-000001/lora.safetensors").is_file()


def test_evaluation_outputs_and_exact_summary(pipeline):
    import pandas as pd

    from vcd.columns import METRICS
    from vcd.statistics import summarise

    work = pipeline["work"]
    params = yaml.safe_load((work / "params.yaml").read_text())
    frameinit = params["methods"]["frameinit"]  # models also sampled with FrameInit
    assert frameinit, "the smoke test should cover the FrameInit methods"
    best_of = [f"base+bestof-{s}" for s in params["best_of_n"]["scorers"]]  # chosen from the candidates
    assert {"icreward", "mlp_reward"} <= set(params["methods"]["rewards"]), "the learned rewards should be covered"
    methods = ["base", *params["methods"]["rewards"], *(f"{m}+frameinit" for m in frameinit), *best_of]
    seeds = params["evaluation"]["seeds"]
    items = json.loads((work / "data/splits/embedded/eval.json").read_text())["items"]
    for method in methods:
        videos = list((work / f"results/videos/{method}/embedded").glob("*.mp4"))
        assert len(videos) == len(items) * len(seeds), method
    candidates = list((work / "results/videos/base+candidates/embedded").glob("*.mp4"))
    assert len(candidates) == len(items) * len(seeds) * params["best_of_n"]["n"]
    scored = pd.read_csv(work / "results/eval/base+candidates/per_video.csv")
    assert scored[["vcd", "icreward", "mlp_reward"]].notna().all().all()  # every scorer scored every candidate
    curve = pd.read_csv(work / "results/best_of_n.csv")
    assert set(curve.n) == set(range(1, params["best_of_n"]["n"] + 1))
    reward_models = json.loads((work / "results/reward_models/metrics.json").read_text())
    assert 0.0 <= reward_models["icreward_heldout_accuracy"] <= 1.0 and "vcd_heldout_accuracy" in reward_models
    # the replicate runs (every run seed after the first) have the replicate seeds' videos only
    replicates = [
        f"{r}@{k}"
        for r in [*params["methods"]["rewards"], *(f"{m}+frameinit" for m in frameinit if m != "base")]
        for k in params["finetune"]["run_seeds"][1:]
    ]
    for method in replicates:
        videos = list((work / f"results/videos/{method}/embedded").glob("*.mp4"))
        assert len(videos) == len(items) * len(params["evaluation"]["replicate_seeds"]), method
    # every run's trade-off snapshot: the subset's items (null: all) with the trade-off seeds, nothing else
    tradeoff = params["evaluation"]["tradeoff"]
    for method in [m for r in params["methods"]["rewards"] for m in (f"{r}~1", f"{r}@1~1")]:
        videos = list((work / f"results/videos/{method}/embedded").glob("*.mp4"))
        assert len(videos) == (tradeoff["items"] or len(items)) * len(tradeoff["seeds"]), method
    points = pd.read_csv(work / "results/tradeoff.csv")
    runs = 2 * len(params["methods"]["rewards"])
    assert len(points) == runs * 3 and sorted(set(points.step)) == [0, 1, 2]  # base, the snapshot, the run
    per_video = pd.read_csv(work / "results/per_video_metrics.csv", keep_default_na=True)
    assert not per_video.method.str.contains("~").any()  # snapshots are not in the claims' table
    assert len(per_video) == len(items) * (
        len(methods) * len(seeds) + len(replicates) * len(params["evaluation"]["replicate_seeds"])
    )
    assert {"method", "dataset", "image_id", "prompt", "seed"} <= set(per_video.columns)
    assert (per_video.status == "ok").all()
    summary = pd.read_csv(work / "results/summary.csv")
    assert list(summary.columns) == [
        "method",
        "dataset",
        "metric",
        "mean",
        "ci95_low",
        "ci95_high",
        "n_runs",
        "n_videos",
        "n_excluded",
    ]
    recomputed = summarise(per_video.assign(reason=per_video.reason.fillna("")), [m for m in METRICS if m in per_video])
    pd.testing.assert_frame_equal(summary.reset_index(drop=True), recomputed.reset_index(drop=True), check_dtype=False)
    first_runs = summary.method.isin(methods)
    assert (summary.n_runs[first_runs] == len(seeds)).all()
    assert (summary.n_runs[~first_runs] == len(params["evaluation"]["replicate_seeds"])).all()
    assert set(summary.method[~first_runs]) == set(replicates)
    claims = json.loads((work / "results/claims.json").read_text())
    assert {c["id"] for c in claims} >= {"C1a", "C2a", "C4a", "C5a", "C6a", "C6c", "C7a", "C8a", "C8c", "C9a", "C9c"}
    tested = {c["id"] for c in claims if c["tested"]}
    assert {"C10a", "C10b", "C11a", "C11b", "C11c"} <= tested, tested  # learned rewards and best-of-N
    motion = [c for c in claims if "tradeoff_equal_gain" in c]  # the motion claims' two trade-off readings
    assert {c["id"] for c in motion} == {"C5a", "C5b", "C6a", "C6b", "C6c", "C6d"}
    assert all({"effect", "p_value", "reproduced"} <= set(c["tradeoff_equal_steps"]) for c in motion)
    for claim in claims:
        assert set(claim) >= {
            "id",
            "claim",
            "metric",
            "comparison",
            "effect",
            "p_value",
            "reproduced",
            "tested",
            "note",
            "paper_effect",
            "paper_p_value",
            "paper_reproduced",
        }
        # the paper's protocol tests every claim; the run-level fit each one its two runs per reward and
        # two items allow (a claim it cannot fit says why in its note)
        assert isinstance(claim["reproduced"], bool) and claim["paper_tested"]
        assert isinstance(claim["paper_reproduced"], bool) and isinstance(claim["paper_p_value"], float)
        if claim["tested"]:
            fixed = claim["first"].startswith("base+")  # FrameInit or best-of-N: one fixed model, nothing fine-tuned
            assert claim["runs_first"] == (1 if fixed else 2) and {"p_holm", "ci95_low", "mde80"} <= set(claim)
        else:
            assert claim["note"]
    assert any(c["tested"] for c in claims), "no claim was fitted at the run level"
    for name in (
        "table2_embedded",
        "table1_embedded",
        "table5_temporal_weight_embedded",
        "ablation_distance_space_embedded",
        "related_methods_embedded",
        "claims",
        "tradeoff_claims",
        "learned_rewards_embedded",
        "best_of_n_embedded",
        "costs_embedded",
    ):
        assert (work / f"results/tables/{name}.md").read_text().count("|") > 10
        assert "\\begin{tabular}" in (work / f"results/tables/{name}.tex").read_text()
    for name in (
        "fig6_bars_embedded",
        "fig14_strips_embedded",
        "vcd_by_frame_embedded",
        "tradeoff_embedded",
        "best_of_n_embedded",
    ):
        with Image.open(work / f"results/figures/{name}.png") as img:
            assert img.size[0] > 400


def test_dvc_metrics_show_lists_only_comparable_numbers(pipeline):
    work, env, dvc = pipeline["work"], pipeline["env"], pipeline["dvc"]
    shown = json.loads(_run(dvc + ["metrics", "show", "--json"], work, env).stdout)
    files = next(iter(shown.values()))["data"]
    assert {
        "results/sanity/metrics.json",
        "results/data/metrics.json",
        "results/metrics.json",
        "runs/embedded/vcd/metrics.json",
    } <= set(files)
    # runs.json (every run's numbers with their labels) is a plain output, not a metrics file
    assert not any(path.endswith("/runs.json") for path in files)
    values = [v for f in files.values() for v in _leaves(f["data"])]
    # a bounded set: the stages' numbers and the claims' effects, p-values and verdicts (160 in the default profile)
    assert len(values) < 250, f"dvc metrics show lists {len(values)} values"
    assert all(isinstance(v, (int, float, bool)) for v in values), (
        "a metric that is not a number (provenance belongs elsewhere)"
    )
    text = json.dumps(files)
    assert "provenance" not in text and "commit" not in text
    _run(dvc + ["plots", "show", "--json"], work, env)


def test_same_params_give_the_same_numbers(pipeline):
    work, env, dvc = pipeline["work"], pipeline["env"], pipeline["dvc"]
    before = json.loads((work / "results/sanity/metrics.json").read_text())
    status = _run(dvc + ["status"], work, env).stdout
    assert "up to date" in status.lower() or status.strip() == ""
    _run(dvc + ["repro", "--force", "vcd_sanity"], work, env)
    assert json.loads((work / "results/sanity/metrics.json").read_text()) == before


def test_an_experiment_on_a_report_setting_reruns_only_the_report(pipeline):
    """`dvc exp run -S report.strip_images=...` re-runs the stage that reads it, nothing
    upstream, and `dvc exp show --only-changed` compares the experiments readably."""
    work, env, dvc = pipeline["work"], pipeline["env"], pipeline["dvc"]
    _run(["git", "add", "-A"], work, env)
    _run(["git", "commit", "-qm", "smoke baseline"], work, env)
    ids = [it["id"] for it in json.loads((work / "data/splits/embedded/eval.json").read_text())["items"]]
    out = _run(dvc + ["exp", "run", "-S", f"report.strip_images=[{ids[-1]}]"], work, env).stdout
    ran = sorted(line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage"))
    assert ran == ["report"], out
    table = _run(dvc + ["exp", "show", "--only-changed", "--csv"], work, env).stdout.splitlines()
    header = table[0].split(",")
    assert "report.strip_images" in header and len(header) < 60, header
    assert not [h for h in header if "provenance" in h or "commit" in h]


def test_the_human_study_is_designed_and_its_votes_analysed_once_exported(pipeline):
    """Without votes the stage writes the design and says there is nothing to analyse;
    votes cast through the app's store and exported by its CLI are analysed by a rerun."""
    work, env, dvc = pipeline["work"], pipeline["env"], pipeline["dvc"]
    study = json.loads((work / "results/human_study/study.json").read_text())
    assert study["selection"]["embedded"]["selected"] == len(study["trials"]) // len(study["pairs"]) > 0
    assert sorted(p.name for p in (work / "results/human_study/analysis").iterdir()) == ["status.md"]
    assert json.loads((work / "results/human_study/metrics.json").read_text())["votes"] == 0
    cast = (
        "from pathlib import Path\n"
        "from vcd.human_study import rater_plan, read_study\n"
        "from vcd.layout import Layout\n"
        "from vcd.rating_app import VoteStore\n"
        "layout = Layout(Path('.').resolve())\n"
        "study = read_study(layout.study_manifest)\n"
        "store = VoteStore(layout.ratings_db, study)\n"
        "store.ensure_raters(2)\n"
        "for rater in (1, 2):\n"
        "    for view in rater_plan(study, rater):\n"
        "        for criterion in study['criteria']:\n"
        "            store.cast(rater, view.trial, criterion, 'A' if view.left == 'vcd' else 'Tie')\n"
    )
    _run([sys.executable, "-c", cast], work, env)
    _run([sys.executable, "-m", "vcd.rating_app", "export"], work, env)
    assert (work / "data/human_votes" / f"{study['study']}.csv").is_file()
    out = _run(dvc + ["repro", "human_study"], work, env).stdout
    assert "Running stage 'human_study'" in out
    analysis = work / "results/human_study/analysis"
    assert {
        "table4.csv",
        "table4.md",
        "significance.csv",
        "side_bias.csv",
        "agreement.json",
        "fig8_human_votes.png",
    } <= {p.name for p in analysis.iterdir()}
    votes = 2 * len(study["trials"]) * len(study["criteria"])
    assert json.loads((work / "results/human_study/metrics.json").read_text())["votes"] == votes
    (work / "data/human_votes" / f"{study['study']}.csv").unlink()  # the copy's other tests see no votes


def test_network_guard_catches_outgoing_connections(tmp_path):
    log = tmp_path / "net.log"
    env = {**os.environ, "PYTHONPATH": str(FIXTURES / "network_guard"), "VCD_NETWORK_LOG": str(log)}
    code = (
        "import urllib.request\ntry:\n    urllib.request.urlopen('http://example.com', timeout=2)\n"
        "except OSError as e:\n    print('blocked', e)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "blocked" in out and "example.com" in log.read_text()
