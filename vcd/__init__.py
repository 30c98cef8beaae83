"""Video Consistency Distance (Aoshima et al.): metric, rewards, fine-tuning, evaluation.

The public API is small; see README.md for the pipeline around it::

    from vcd import VideoConsistencyDistance
    m = VideoConsistencyDistance.preset("paper")
    m(video)                # video [B, N, 3, H, W] in [0, 1] -> [B], Eq. 2
"""

from __future__ import annotations

from typing import Any

__all__ = ["VideoConsistencyDistance", "PRESETS", "metric_from_params", "temporal_weight"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The metric (and torch with it) is imported on first use, not with the package:
    # `python -m vcd.pipeline`, which only launches a notebook kernel for each of the
    # pipeline's stages, then starts 1.5 s sooner (README, Performance).
    if name in __all__:
        from . import metric

        return getattr(metric, name)
    raise AttributeError(f"module 'vcd' has no attribute {name!r}")
