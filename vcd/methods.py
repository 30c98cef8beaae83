"""The methods the pipeline compares: their names, display labels and stand-ins.

A leaf module (no torch): the settings check ``methods.rewards`` against
:data:`REWARD_NAMES`, tables and figures label rows with :func:`method_label`, and the
reward registry (:mod:`vcd.rewards`) builds exactly these names (a test checks).
"""

from __future__ import annotations

__all__ = [
    "BASE",
    "REWARD_NAMES",
    "STAND_INS",
    "METHOD_LABELS",
    "method_label",
    "is_stand_in",
    "replicate_name",
    "split_replicate",
    "snapshot_name",
    "split_snapshot",
    "FRAMEINIT_MARK",
    "frameinit_name",
    "split_frameinit",
    "LEARNED_REWARD_NAMES",
    "SCORERS",
    "BEST_OF_MARK",
    "best_of_name",
    "split_best_of",
    "CANDIDATES",
    "sampling_model",
]

#: The base model's method name (no fine-tuning).
BASE = "base"

#: name -> label shown in tables and figures; stand-ins say so in their label.
METHOD_LABELS: dict[str, str] = {
    BASE: "base model",
    "vcd": "+VCD",  # Eq. 2 (Sec. 3)
    "vcd_no_tw": "+VCD w/o temporal weight",  # App. C.3, Table 5
    "vcd_l2": "+VCD (L2, Eq. 4)",
    "vcd_feat": "+VCD (feature space, Eq. 5)",
    "vcd_amp": "+Amp.",  # Table 1
    "vcd_phase": "+Phase",  # Table 1
    "frame_consistency": "+frame consistency (stand-in for +V-JEPA)",
    "icreward": "+ICReward-style reward (learned)",  # ICReward's attention model (vcd.reward_models)
    "mlp_reward": "+MLP reward (learned)",  # ICReward's MLP baseline
    "vjepa": "+V-JEPA 2",
    "aesthetic": "+Aesthetic",  # App. A
    "hps": "+HPS",
    "pickscore": "+PickScore",
}

#: Every reward a fine-tuning run can use (``methods.rewards``).
REWARD_NAMES: tuple[str, ...] = tuple(name for name in METHOD_LABELS if name != BASE)

#: Rewards that stand in for a method that cannot run here, with what they replace.
STAND_INS: dict[str, str] = {"frame_consistency": "V-JEPA (+V-JEPA row of Table 2)"}


#: The learned consistency rewards (:mod:`vcd.reward_models`), trained by the reward_models stage.
LEARNED_REWARD_NAMES: tuple[str, ...] = ("mlp_reward", "icreward")

#: What best-of-N selection can rank candidates by: VCD (lowest wins) or a learned reward.
SCORERS: tuple[str, ...] = ("vcd", *LEARNED_REWARD_NAMES)

#: Separates a reward from a replicate run's seed in a method name: ``vcd@1``.
REPLICATE_MARK = "@"


def replicate_name(reward: str, run_seed: int) -> str:
    """The method name of the run of ``reward`` fine-tuned from ``run_seed`` when that
    seed is not the study's first (``finetune.run_seeds[0]``, whose run keeps the bare
    reward name: the paper's one model per method)."""
    if REPLICATE_MARK in reward:
        raise ValueError(f"{reward!r} is already a replicate run's name")
    return f"{reward}{REPLICATE_MARK}{int(run_seed)}"


def split_replicate(method: str) -> tuple[str, int | None]:
    """``"vcd@2"`` -> ``("vcd", 2)``; ``"vcd"`` or ``"base"`` -> (the name, None). A
    snapshot's name (``"vcd@2~5"``, :func:`snapshot_name`) splits like its run's."""
    reward, mark, seed = split_snapshot(method)[0].partition(REPLICATE_MARK)
    if not mark:
        return reward, None
    if not seed.isdigit():
        raise ValueError(f"{method!r}: a replicate run is named '<reward>{REPLICATE_MARK}<run seed>'")
    return reward, int(seed)


#: Separates a run from the training step of one of its snapshots: ``vcd@1~5``.
SNAPSHOT_MARK = "~"


def snapshot_name(run: str, step: int) -> str:
    """The method name of ``run``'s LoRA as it was after optimizer step ``step`` (a
    trade-off snapshot, ``finetune.snapshots``): ``vcd~5``, ``vcd@1~10``."""
    if SNAPSHOT_MARK in run:
        raise ValueError(f"{run!r} is already a snapshot's name")
    if int(step) < 1:
        raise ValueError(f"a snapshot is taken after a step >= 1; got {step}")
    return f"{run}{SNAPSHOT_MARK}{int(step)}"


def split_snapshot(method: str) -> tuple[str, int | None]:
    """``"vcd@1~5"`` -> ``("vcd@1", 5)``; a name without a snapshot -> (the name, None)."""
    run, mark, step = method.partition(SNAPSHOT_MARK)
    if not mark:
        return method, None
    if not step.isdigit():
        raise ValueError(f"{method!r}: a snapshot is named '<run>{SNAPSHOT_MARK}<step>'")
    return run, int(step)


#: Marks a model sampled with FrameInit (:mod:`vcd.frameinit`): ``vcd+frameinit@1``.
FRAMEINIT_MARK = "+frameinit"


def frameinit_name(model: str) -> str:
    """The method name of ``model`` (``base``, a reward's run ``vcd`` or ``vcd@1``)
    sampled with FrameInit: ``base+frameinit``, ``vcd+frameinit``, ``vcd+frameinit@1``.
    The mark goes before the run seed, so the runs of ``vcd+frameinit`` split like any
    method's (:func:`split_replicate`)."""
    if FRAMEINIT_MARK in model or SNAPSHOT_MARK in model:
        raise ValueError(f"{model!r}: FrameInit applies to the base model or a run, once")
    reward, seed = split_replicate(model)
    name = f"{reward}{FRAMEINIT_MARK}"
    return name if seed is None else replicate_name(name, seed)


def split_frameinit(method: str) -> tuple[str, bool]:
    """``"vcd+frameinit@1"`` -> ``("vcd@1", True)`` (the model whose weights sample it);
    a name without FrameInit -> (the name, False)."""
    if FRAMEINIT_MARK not in method:
        return method, False
    return method.replace(FRAMEINIT_MARK, "", 1), True


#: Marks the base model's best-of-N selection by a scorer: ``base+bestof-vcd``.
BEST_OF_MARK = "+bestof-"


def best_of_name(scorer: str) -> str:
    """The method that keeps, per (item, seed), the best of the base model's N candidates
    by ``scorer`` (:mod:`vcd.best_of_n`)."""
    if scorer not in SCORERS:
        raise ValueError(f"unknown best-of-N scorer {scorer!r}; expected one of {list(SCORERS)}")
    return f"{BASE}{BEST_OF_MARK}{scorer}"


def split_best_of(method: str) -> str | None:
    """``"base+bestof-vcd"`` -> ``"vcd"``; any other method -> None."""
    prefix = f"{BASE}{BEST_OF_MARK}"
    return method[len(prefix) :] if method.startswith(prefix) else None


#: The pseudo-method whose videos are the base model's best-of-N candidates (not a row of
#: any table: the best-of-N methods are chosen from it).
CANDIDATES = f"{BASE}+candidates"


def sampling_model(method: str) -> str:
    """The model whose weights sample ``method``'s videos: ``base`` for the base model,
    its FrameInit and best-of-N variants and the candidates; the run for the others
    (``vcd+frameinit@1`` -> ``vcd@1``)."""
    if method == CANDIDATES or split_best_of(method) is not None:
        return BASE
    return split_frameinit(method)[0]


_SCORER_LABELS = {"vcd": "VCD", "mlp_reward": "MLP reward", "icreward": "ICReward-style reward"}


def method_label(name: str) -> str:
    """Display name of a method for tables and figures (stand-ins say so); a replicate
    run is labelled with its reward's label and its run seed, a snapshot with its step,
    a FrameInit method with its model's label and "+ FrameInit"."""
    scorer = split_best_of(name)
    if scorer is not None:
        return f"base model, best-of-N by {_SCORER_LABELS[scorer]}"
    run, step = split_snapshot(name)
    reward, seed = split_replicate(run)
    model, frameinit = split_frameinit(reward)
    label = METHOD_LABELS.get(model, model) + (" + FrameInit" if frameinit else "")
    label = label if seed is None else f"{label} (run seed {seed})"
    return label if step is None else f"{label} after step {step}"


def is_stand_in(name: str) -> bool:
    return name in STAND_INS
