"""Typed settings: built once from params.yaml, every key checked, no default of its own."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from tiny import settings_of
from vcd.config import load_params
from vcd.settings import Settings, SettingsError, VCDConfig

REPO = Path(__file__).resolve().parents[1]
RAW = load_params(REPO / "params.yaml")


def _leaves(node, path=()):
    """(key path, value) of every leaf of a nested mapping (keys may contain dots)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, node


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def test_params_yaml_builds_and_every_key_reaches_a_setting_unchanged():
    settings = Settings.load(REPO / "params.yaml")
    built = settings.as_dict()
    for path, value in _leaves(RAW):
        node = built
        for key in path:
            node = node[key]
        assert _plain(node) == value or (isinstance(node, list) and [_plain(v) for v in node] == value), path


def test_no_setting_takes_a_default_that_params_yaml_could_disagree_with():
    """Every field of every section is in params.yaml; only the metric's ablation switches,
    which the presets set, are not."""
    preset_switches = {f.name for f in dataclasses.fields(VCDConfig)} - set(VCDConfig.REQUIRED_IN_PARAMS)
    built = Settings.load(REPO / "params.yaml").as_dict()
    absent = []
    for path, _ in _leaves(built):
        node = RAW
        for key in path:
            if not isinstance(node, dict) or key not in node:
                absent.append(".".join(path))
                break
            node = node[key]
    assert sorted(absent) == sorted(f"vcd.{name}" for name in preset_switches)


def test_settings_are_frozen_and_give_the_sampling_config():
    settings = Settings.load(REPO / "params.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.video.width = 64
    sampling = settings.sampling
    assert (sampling.width, sampling.height, sampling.num_frames) == (
        settings.video.width,
        settings.video.height,
        settings.video.num_frames,
    )
    assert (sampling.num_inference_steps, sampling.max_sequence_length) == (
        settings.model.num_inference_steps,
        settings.model.max_sequence_length,
    )


@pytest.mark.parametrize(
    "change, match",
    [
        ({"finetune.lrr": 1.0}, r"unknown key 'finetune.lrr' \(did you mean 'lr'\?\)"),
        ({"evaluaton": {}}, r"unknown key 'evaluaton' \(did you mean 'evaluation'\?\)"),
        ({"data.embedded.captions": "x"}, "unknown key 'data.embedded.captions'"),
        ({"finetune.lr": "1e-2"}, "finetune.lr must be a number; got '1e-2' .*write 1.0e-2"),
        ({"finetune.steps": 2.5}, "finetune.steps must be an integer"),
        ({"finetune.steps": True}, "finetune.steps must be an integer"),
        ({"runtime.offline": 1}, "runtime.offline must be true or false"),
        ({"finetune.lora.target_modules": "to_q"}, "target_modules must be a list"),
        ({"vcd.distance": "l3"}, "vcd.distance must be one of 'swd', 'l2'"),
        ({"finetune.grad_clip": 0}, "grad_clip must be > 0"),
        ({"finetune.grad_clip": -1.0}, "grad_clip must be > 0"),
        ({"evaluation.seeds": []}, "seeds must name at least one seed"),
        ({"evaluation.vcd_seeds": [7]}, "vcd_seeds .* must be a subset of seeds"),
        ({"methods.baseline": "frame_consistencyy"}, "baseline 'frame_consistencyy' is not one of rewards"),
        ({"methods.rewards": ["vcd", "rm -rf"]}, "unknown reward"),
        ({"evaluation.datasets": ["i2v_bench"]}, r"evaluation.datasets \['i2v_bench'\] are not in data.datasets"),
        ({"video.num_frames": 8}, "num_frames - 1 must be a multiple of the model's temporal compression 2"),
        ({"video.width": 30}, "video.width must be an even number|multiples of 8"),
        ({"video.width": 116}, "multiples of 8"),
        ({"finetune.backprop_steps": 9}, r"backprop_steps \(K\) must be between 1 and model.num_inference_steps = 8"),
        ({"report.table_metrics": ["i2v_subjekt"]}, "unknown metric"),
        ({"model.name": "sora"}, "unknown model name 'sora'"),
        ({"sanity.variants": ["paper", "best"]}, "unknown preset"),
        ({"methods.train_on": ["i2v_bench"]}, r"methods.train_on \['i2v_bench'\] are not in data.datasets"),
        ({"methods.train_on": ["embedded", "embedded"]}, "train_on lists a dataset twice"),
        ({"methods.train_on": ["imagenet; rm -rf ~"]}, r"train_on: unknown dataset\(s\)"),
        ({"data.embedded.n_train": 0}, "methods.train_on .*n_train is 0, there is nothing to fine-tune on"),
        (
            {"evaluation.lora_from": {"embedded": "ai_artbench"}},
            "'embedded' is generated with the LoRAs trained on 'ai_artbench', which is not in methods.train_on",
        ),
        ({"evaluation.lora_from": {"embeded": "embedded"}}, r"lora_from: unknown dataset\(s\) \['embeded'\]"),
    ],
)
def test_bad_settings_are_rejected_with_the_key_named(change, match):
    raw = copy.deepcopy(RAW)
    with pytest.raises(SettingsError, match=match):
        settings_of(raw, **change)


def test_a_missing_key_is_named():
    raw = copy.deepcopy(RAW)
    del raw["finetune"]["val_items"]
    with pytest.raises(SettingsError, match="finetune.val_items is missing"):
        Settings.from_mapping(raw)
    raw = copy.deepcopy(RAW)
    del raw["report"]
    with pytest.raises(SettingsError, match="report is missing"):
        Settings.from_mapping(raw)


def test_the_source_file_is_named_in_the_message():
    with pytest.raises(SettingsError, match="^my.yaml: "):
        Settings.from_mapping({**RAW, "extra": 1}, "my.yaml")


@pytest.mark.parametrize(
    "change, match",
    [
        ({"evaluation.seeds": [0, 1, -1]}, r"evaluation.seeds must be in \[0, 2\*\*63\)"),
        ({"data.split_seed": -3}, "data.split_seed must be in"),
        ({"pretrain.vae.crop": [51, 48]}, "pretrain.vae.crop .* multiples of the VAE's spatial compression 2"),
        ({"pretrain.vae.crop": [96, 48]}, "must fit in the 112x80 videos"),
        ({"pretrain.vae.clip_frames": 8}, "clip_frames must be at most video.num_frames = 9 and 1 \\+ a multiple"),
        ({"pretrain.vae.clip_frames": 5}, r"clip_frames must be at least min\(video.num_frames, 9\) = 9"),
        ({"finetune.lora.dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"model.guidance_scale": 0.5}, "guidance_scale must be >= 1"),
        ({"finetune.mixed_precision": "fp8"}, "mixed_precision must be one of"),
    ],
)
def test_every_setting_has_a_valid_range(change, match):
    with pytest.raises(SettingsError, match=match):
        settings_of(copy.deepcopy(RAW), **change)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"methods.rewards": []}, "rewards must name at least one reward"),
        ({"methods.train_on": []}, "train_on must name at least one training dataset"),
        ({"report.table_metrics": []}, "table_metrics must name at least one metric"),
    ],
)
def test_empty_lists_that_would_leave_a_stage_without_work_are_rejected(change, match):
    with pytest.raises(SettingsError, match=match):
        settings_of(copy.deepcopy(RAW), **change)


def test_a_yaml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("video:\n  width: [112\n")
    with pytest.raises(SettingsError, match="params.yaml is not valid YAML"):
        Settings.load(path)


def test_the_paper_profile_trains_one_lora_per_training_set_as_sec_4_1(tmp_path):
    """I2V-Bench's LoRAs make the I2V-Bench and VBench-I2V videos, AI-ArtBench's its own;
    VBench-I2V (no training split) is never trained on."""
    from tiny import project_with_profile
    from vcd.config import apply_profile

    layout = project_with_profile(tmp_path, "paper")
    apply_profile("paper", layout)
    settings = Settings.load(layout.params_file)
    assert settings.methods.train_on == ("i2v_bench", "ai_artbench")
    assert {d: settings.evaluation.trained_on(d) for d in settings.evaluation.datasets} == {
        "i2v_bench": "i2v_bench",
        "vbench_i2v": "i2v_bench",
        "ai_artbench": "ai_artbench",
    }


def test_the_study_evaluates_every_run_seed_of_every_reward():
    settings = settings_of(
        RAW,
        **{
            "finetune.run_seeds": [4, 7],
            "methods.rewards": ["vcd", "vcd_l2"],
            "methods.baseline": None,
            "human_study.pairs": [["base", "vcd"]],
        },
    )
    assert settings.finetune.first_seed == 4
    best_of = ("base+bestof-vcd", "base+bestof-icreward", "base+bestof-mlp_reward")  # best_of_n.scorers
    assert settings.study_methods == (
        "base", "vcd", "vcd_l2", "base+frameinit", "vcd+frameinit", *best_of, "vcd@7", "vcd_l2@7", "vcd+frameinit@7"
    )  # fmt: skip
    without = settings_of(RAW, **{"methods.frameinit": [], "methods.rewards": ["vcd"], "methods.baseline": None,
                                  "human_study.pairs": [["base", "vcd"]]})  # fmt: skip
    assert without.methods.all == ("base", "vcd")
    with pytest.raises(SettingsError, match="frameinit"):
        settings_of(RAW, **{"methods.frameinit": ["vcd_feat"], "methods.rewards": ["vcd"], "methods.baseline": None,
                            "human_study.pairs": [["base", "vcd"]]})  # fmt: skip
    assert settings.runs_of("vcd") == ("vcd", "vcd@7")
    assert settings.run_seeds_of("vcd") == {"vcd": 4, "vcd@7": 7}
    ev = settings.evaluation
    assert ev.seeds_of("vcd") == ev.seeds and ev.seeds_of("vcd@7") == ev.replicate_seeds


@pytest.mark.parametrize(
    "change, match",
    [
        ({"finetune.run_seeds": []}, "run_seeds must name at least one seed"),
        ({"finetune.run_seeds": [1, 1]}, "run_seeds lists a seed twice"),
        ({"finetune.run_seeds": [0, -2]}, r"finetune.run_seeds must be in \[0, 2\*\*63\)"),
        ({"evaluation.replicate_seeds": [0, 9]}, "replicate_seeds .* must name seeds of seeds"),
        ({"evaluation.replicate_seeds": []}, "replicate_seeds .* must name seeds of seeds"),
    ],
)
def test_bad_run_seeds_are_rejected(change, match):
    with pytest.raises(SettingsError, match=match):
        settings_of(RAW, **change)


def test_snapshot_fractions_become_steps_before_the_last():
    params = load_params(REPO / "params.yaml")
    settings = settings_of(params, **{"finetune.steps": 20, "finetune.snapshots": [0.5, 0.25]})
    assert settings.finetune.snapshot_steps == (5, 10)
    # a short run: fractions that round to the same step give one snapshot, never the last step or step 0
    assert settings_of(params, **{"finetune.steps": 2, "finetune.snapshots": [0.25, 0.5]}).finetune.snapshot_steps == (
        1,
    )
    assert settings_of(params, **{"finetune.steps": 1, "finetune.snapshots": [0.5]}).finetune.snapshot_steps == ()
    assert settings_of(params, **{"finetune.snapshots": []}).snapshot_methods == ()
    assert settings.snapshot_methods[:2] == ("vcd~5", "vcd~10") and "vcd@1~10" in settings.snapshot_methods
    for bad in ([0.0], [1.0], [1.5]):
        with pytest.raises(SettingsError, match=r"snapshots are fractions of the steps in \(0, 1\)"):
            settings_of(params, **{"finetune.snapshots": bad})
    with pytest.raises(SettingsError, match="tradeoff.seeds .* must name seeds of replicate_seeds"):
        settings_of(params, **{"evaluation.tradeoff.seeds": [4]})


def test_snapshot_methods_get_the_tradeoff_subset_and_no_vcd_curves():
    ev = settings_of(
        load_params(REPO / "params.yaml"), **{"evaluation.tradeoff": {"items": 2, "seeds": [1]}}
    ).evaluation
    assert ev.seeds_of("vcd@1~5") == (1,) and ev.seeds_of("vcd@1") == ev.replicate_seeds
    assert ev.items_of("vcd~5", "abcd") == ["a", "b"] and ev.items_of("vcd", "abcd") == list("abcd")
    assert ev.vcd_seeds_of("vcd") == ev.vcd_seeds and ev.vcd_seeds_of("vcd@1") == () == ev.vcd_seeds_of("vcd~5")
