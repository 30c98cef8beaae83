"""Tiny model settings shared by the tests (see conftest.py)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from vcd.settings import Settings, ToyArchitecture, parse

TINY_TOY = {
    "vae": {
        "base_dim": 4,
        "z_dim": 4,
        "dim_mult": [1, 2],
        "temporal_downsample": [True],
        "patch_size": 2,
        "num_res_blocks": 1,
    },
    "transformer": {
        "patch_size": [1, 2, 2],
        "num_layers": 1,
        "num_attention_heads": 2,
        "attention_head_dim": 8,
        "ffn_dim": 32,
        "freq_dim": 16,
    },
    "text_encoder": {"d_model": 16, "num_layers": 1, "num_heads": 2, "d_ff": 32},
    "expand_timesteps": True,
}
TINY_ARCHITECTURE: ToyArchitecture = parse(ToyArchitecture, TINY_TOY, "model.toy")
CAPTIONS = ["a red cup on a table", "a cat looks at the camera", "gravel seen from above"]


def settings_of(raw: dict[str, Any], **changes: Any) -> Settings:
    """Typed settings of a raw parameter mapping, with dotted-key changes applied to a copy
    (``settings_of(raw, **{"finetune.lr": 1e-3})``)."""
    raw = copy.deepcopy(raw)
    for dotted, value in changes.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return Settings.from_mapping(raw, "test parameters")


def pan_of(photo: np.ndarray, step: int, n: int = 9) -> np.ndarray:
    """A 112 x 80 camera pan over ``photo`` (160 x 112), ``step`` px per frame, uint8 [n, 80, 112, 3]."""
    return np.stack([photo[10:90, 8 + step * k : 120 + step * k] for k in range(n)])


def project_with_profile(root, profile: str):
    """A project folder holding the repository's params.yaml and ``profiles/<profile>.yaml``."""
    import shutil
    from pathlib import Path

    from vcd.layout import Layout

    repo = Path(__file__).resolve().parents[1]
    layout = Layout(root)
    layout.profiles.mkdir()
    shutil.copy(repo / "params.yaml", layout.params_file)
    shutil.copy(repo / "profiles" / f"{profile}.yaml", layout.profile(profile))
    return layout
