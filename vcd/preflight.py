"""What a run needs on this machine, checked before any stage computes anything.

``make repro`` runs ``python -m vcd.preflight`` first, which builds the settings
(:mod:`vcd.settings`) and then asks :func:`missing_resources` whether the datasets,
weights and official environments the profile uses are here. Each problem names what
is missing and the README or data README section that says how to get it, so a paper
profile run on a fresh GPU machine stops in seconds instead of after hours of
generation (the official evaluation is the last step; its environments are checked
first).

The embedded default profile needs nothing outside the repository: its data is
bundled, its base model ships with the repository (the frozen ``base_model`` stage;
checked here against the code and settings it was trained from, :mod:`vcd.shipped`)
and its encoder is seeded-random.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .layout import Layout
from .settings import Settings, SettingsError
from .shipped import stale_shipped_model

__all__ = ["Missing", "missing_resources"]

_PAPER = "README.md, 'Profiles' (paper profile steps 1-3)"
_PAIRS = "README.md, 'Profiles' (real labelled pairs for the learned rewards)"
_RETRAIN = "README.md, 'The base model': `make pretrain` retrains it, or restore what it was trained from"


@dataclass(frozen=True)
class Missing:
    """One thing a run needs that this machine lacks, and where to read how to get it."""

    what: str
    see: str

    def __str__(self) -> str:
        return f"{self.what} (see {self.see})"


def _dataset_paths(settings: Settings, layout: Layout) -> list[Missing]:
    data, out = settings.data, []
    data_readme = layout.relative(layout.data_readme)
    sections = {
        "i2v_bench": (
            "I2V-Bench (ConsistI2V, Ren et al.)",
            [("root", data.i2v_bench.root), ("captions", data.i2v_bench.captions)],
        ),
        "vbench_i2v": (
            "VBench-I2V image suite",
            [("root", data.vbench_i2v.root), ("info_json", data.vbench_i2v.info_json)],
        ),
        "ai_artbench": (
            'AI-ArtBench, "ukiyoe" subset',
            [("root", data.ai_artbench.root), ("prompts", data.ai_artbench.prompts)],
        ),
    }
    for name in data.datasets:
        if name not in sections:
            continue  # the embedded set ships with the repository
        title, paths = sections[name]
        for key, value in paths:
            if value is None or not layout.resolve(value).exists():
                out.append(Missing(f"data.{name}.{key} = {value!r} does not exist", f"{data_readme}, '{title}'"))
        if name == "vbench_i2v" and data.vbench_i2v.root and layout.resolve(data.vbench_i2v.root).is_dir():
            crop = layout.resolve(data.vbench_i2v.root) / "crop" / data.vbench_i2v.ratio
            if not crop.is_dir():
                out.append(Missing(f"VBench-I2V crops {crop} do not exist", f"{data_readme}, '{title}'"))
    return out


def _hub_cached(repo: str, revision: str | None, offline: bool) -> bool:
    """Whether a Hugging Face repository (or local folder) is usable without the network."""
    if Path(repo).expanduser().is_dir():
        return True
    if not offline:
        return True  # it downloads when first loaded
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot_download(repo, revision=revision, local_files_only=True, allow_patterns=["*.json"])
    except (LocalEntryNotFoundError, OSError, ValueError):
        return False
    return True


def _weights(settings: Settings, layout: Layout) -> list[Missing]:
    from .encoders import VGG19_IMAGENET_URL

    offline, out = settings.runtime.offline, []
    model = settings.model
    for problem in stale_shipped_model(settings, layout):  # the toy is shipped by the frozen base_model stage
        out.append(Missing(f"the shipped toy base model does not match this checkout: {problem}", _RETRAIN))
    if not model.is_toy:
        from .models import ModelNotAvailableError, check_model_available

        try:
            check_model_available(model, layout, offline)
        except ModelNotAvailableError:
            hub = model.hub[model.name]
            out.append(Missing(f"model {model.name!r} ({hub.repo_id}) is not in the Hugging Face cache", _PAPER))
    uses_vgg = any(r.startswith("vcd") or r == "frame_consistency" for r in settings.methods.rewards)
    if settings.vcd.encoder_weights == "imagenet" and uses_vgg and offline:
        import torch

        cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(VGG19_IMAGENET_URL).name
        if not cache.is_file():
            out.append(Missing(f"torchvision's VGG19 ImageNet weights are not at {cache}", _PAPER))
    if "vjepa" in settings.methods.rewards:
        vj = settings.rewards.vjepa
        if not _hub_cached(vj.model, vj.revision, offline):
            out.append(Missing(f"V-JEPA 2 weights {vj.model!r} are not in the Hugging Face cache", _PAPER))
    return out


def _official(settings: Settings, layout: Layout) -> list[Missing]:
    if not settings.report.official:
        return []
    out = []
    for env, ready in (("vbench", ".ready"), ("videoscore", "VIDEOSCORE_COMMIT")):
        if not (layout.root / ".envs" / env / ready).is_file():
            out.append(
                Missing(
                    f"the official {env} environment .envs/{env} is not set up (report.official is true)",
                    f"{_PAPER}; `bash scripts/official/setup_envs.sh {env}`",
                )
            )
    return out


def _labelled_pairs(settings: Settings, layout: Layout) -> list[Missing]:
    """The real labelled pairs of the learned rewards, if set: the whole CSV is checked
    (header, labels, files) without decoding a video."""
    spec = settings.reward_models.labelled_pairs
    if spec is None:
        return []
    from .labelled_pairs import LabelledPairsError, read_labelled_pairs

    try:
        read_labelled_pairs(layout.resolve(spec.csv), spec.criterion, spec.image_column)
    except LabelledPairsError as error:
        return [Missing(f"reward_models.labelled_pairs: {error}", _PAIRS)]
    return []


def missing_resources(settings: Settings, layout: Layout) -> list[Missing]:
    """Everything the settings' run needs that this machine lacks (empty: ready)."""
    return [
        *_dataset_paths(settings, layout),
        *_weights(settings, layout),
        *_official(settings, layout),
        *_labelled_pairs(settings, layout),
    ]


def _main(argv: list[str] | None = None) -> int:
    """``python -m vcd.preflight``: exit 2, with every reason, when the run cannot start."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m vcd.preflight", description="Check params.yaml and what its run needs on this machine."
    )
    parser.parse_args(argv)
    layout = Layout.discover()
    try:
        settings = Settings.load(layout.params_file)
    except SettingsError as error:
        print(f"{layout.params_file}: {error}", file=sys.stderr)
        return 2
    missing = missing_resources(settings, layout)
    for problem in missing:
        print(f"missing: {problem}", file=sys.stderr)
    if missing:
        print(f"profile {settings.profile!r}: {len(missing)} thing(s) missing; nothing was run", file=sys.stderr)
        return 2
    print(f"{layout.params_file}: ok (profile {settings.profile!r}; its data, weights and environments are here)")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
