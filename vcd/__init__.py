"""Video Consistency Distance (Aoshima et al.): metric, rewards, fine-tuning, evaluation.

The public API is small; see README.md for the pipeline around it::

    from vcd import VideoConsistencyDistance
    m = VideoConsistencyDistance.preset("paper")
    m(video)                # video [B, N, 3, H, W] in [0, 1] -> [B], Eq. 2

    from vcd import Layout, Settings
    layout = Layout.discover()                      # every path of the project
    settings = Settings.load(layout.params_file)    # every setting, typed and checked
"""

from __future__ import annotations

from typing import Any

__all__ = ["VideoConsistencyDistance", "PRESETS", "metric_from_config", "temporal_weight", "Settings", "Layout"]
__version__ = "0.1.0"

_HOME = {
    "VideoConsistencyDistance": "metric",
    "PRESETS": "metric",
    "metric_from_config": "metric",
    "temporal_weight": "metric",
    "Settings": "settings",
    "Layout": "layout",
}


def __getattr__(name: str) -> Any:
    # Imported on first use, not with the package: `python -m vcd.pipeline`, which only
    # launches a notebook kernel for each of the pipeline's stages, then does not pay
    # for importing torch (README, Performance).
    if name in _HOME:
        from importlib import import_module

        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module 'vcd' has no attribute {name!r}")
