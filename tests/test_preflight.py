"""The preflight (`python -m vcd.preflight`, run by `make repro` first): settings that
cannot mean nonsense and the data, weights and environments a run needs, checked
before anything computes."""

from __future__ import annotations

from pathlib import Path

import yaml

from tiny import project_with_profile
from vcd.config import apply_profile, load_params

REPO = Path(__file__).resolve().parents[1]


def test_check_rejects_a_reward_with_shell_syntax_before_any_command_runs(tmp_path, monkeypatch, capsys):
    """`make repro` runs `python -m vcd.preflight` before DVC interpolates the rewards."""
    from vcd.preflight import _main

    layout = project_with_profile(tmp_path, "paper")  # the default profile (the overlay is not applied)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.chdir(tmp_path)
    assert _main([]) == 0
    params = load_params(layout.params_file)
    params["methods"]["rewards"] = ["vcd; touch pwned"]
    params["methods"]["baseline"] = None
    layout.params_file.write_text(yaml.safe_dump(params))
    assert _main([]) == 2
    assert "unknown reward(s) ['vcd; touch pwned']" in capsys.readouterr().err
    assert not (tmp_path / "pwned").exists()


def test_repro_checks_the_settings_before_dvc_and_dvc_quotes_the_reward():
    recipe = (REPO / "Makefile").read_text().split("\nrepro:")[1].split("\n\n")[0]
    assert recipe.index("vcd.preflight") < recipe.index("dvc repro")
    assert "-p reward '${item.reward}' -p dataset '${item.dataset}'" in (REPO / "dvc.yaml").read_text()


def test_check_names_what_a_paper_run_lacks_before_anything_runs(tmp_path, monkeypatch, capsys):
    """No datasets, weights or official environments here: exit 2, each one named with
    the README section that says how to get it."""
    import huggingface_hub.constants

    from vcd.preflight import _main

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    layout = project_with_profile(tmp_path, "paper")
    apply_profile("paper", layout)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.chdir(tmp_path)
    assert _main([]) == 2
    err = capsys.readouterr().err
    for expected in (
        "data.i2v_bench.root = 'data/external/i2v_bench/videos' does not exist "
        "(see data/README.md, 'I2V-Bench (ConsistI2V, Ren et al.)')",
        "data.vbench_i2v.info_json",
        "data.ai_artbench.prompts",
        "model 'wan2.1-fun-1.3b-inp' (weizhou03/Wan2.1-Fun-1.3B-InP-Diffusers) is not in the Hugging Face cache",
        "torchvision's VGG19 ImageNet weights are not at",
        "V-JEPA 2 weights",
        "the official vbench environment .envs/vbench is not set up",
        "the official videoscore environment",
        "README.md, 'Profiles'",
        "nothing was run",
    ):
        assert expected in err


def test_check_reads_the_labelled_pairs_before_anything_runs(tmp_path, monkeypatch, capsys):
    """A bad labelled-pairs file (reward_models.labelled_pairs) stops the run in the
    preflight with the reader's own message, not after feature extraction."""
    from vcd.preflight import _main

    layout = project_with_profile(tmp_path, "paper")
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.chdir(tmp_path)
    params = load_params(layout.params_file)
    params["reward_models"]["labelled_pairs"] = {"csv": "data/pairs.csv", "criterion": "MQ"}
    layout.params_file.write_text(yaml.safe_dump(params))
    assert _main([]) == 2
    assert "reward_models.labelled_pairs: labelled pairs" in (err := capsys.readouterr().err)
    assert "pairs.csv does not exist (see README.md, 'Profiles' (real labelled pairs" in err
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "pairs.csv").write_text("path_A,path_B,prompt,MQ\n")
    assert _main([]) == 2
    assert "missing column(s) ['image']" in capsys.readouterr().err
