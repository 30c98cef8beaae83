"""Video Consistency Distance (Aoshima et al.): metric, rewards, fine-tuning, evaluation.

The public API is small; see README.md for the pipeline around it::

    from vcd import VideoConsistencyDistance
    m = VideoConsistencyDistance.preset("paper")
    m(video)                # video [B, N, 3, H, W] in [0, 1] -> [B], Eq. 2
"""

from .metric import PRESETS, VideoConsistencyDistance, metric_from_params, temporal_weight

__all__ = ["VideoConsistencyDistance", "PRESETS", "metric_from_params", "temporal_weight"]
__version__ = "0.1.0"
