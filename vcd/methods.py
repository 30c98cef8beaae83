"""The methods the pipeline compares: their names, display labels and stand-ins.

A leaf module (no torch): the settings check ``methods.rewards`` against
:data:`REWARD_NAMES`, tables and figures label rows with :func:`method_label`, and the
reward registry (:mod:`vcd.rewards`) builds exactly these names (a test checks).
"""

from __future__ import annotations

__all__ = ["BASE", "REWARD_NAMES", "STAND_INS", "METHOD_LABELS", "method_label", "is_stand_in"]

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
    "vjepa": "+V-JEPA 2",
    "aesthetic": "+Aesthetic",  # App. A
    "hps": "+HPS",
    "pickscore": "+PickScore",
}

#: Every reward a fine-tuning run can use (``methods.rewards``).
REWARD_NAMES: tuple[str, ...] = tuple(name for name in METHOD_LABELS if name != BASE)

#: Rewards that stand in for a method that cannot run here, with what they replace.
STAND_INS: dict[str, str] = {"frame_consistency": "V-JEPA (+V-JEPA row of Table 2)"}


def method_label(name: str) -> str:
    """Display name of a method for tables and figures (stand-ins say so)."""
    return METHOD_LABELS.get(name, name)


def is_stand_in(name: str) -> bool:
    return name in STAND_INS
