"""The catalogue of result columns: what each per-video metric is, and what it stands in for.

A leaf module (no imports from the package, no torch): the weight-free metrics
(:mod:`vcd.video_metrics`), the official VBench-I2V / VideoScore parsers
(:mod:`vcd.official`), the tables and the settings' checks all read the same entries.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MetricInfo", "METRICS", "VBENCH_DIMENSIONS", "VIDEOSCORE_ASPECTS", "OFFICIAL_METRICS", "metric_info"]


@dataclass(frozen=True)
class MetricInfo:
    """How a per-video column is labelled, read and compared."""

    label: str
    family: str  # "i2v consistency", "temporal consistency", "motion", "quality", "drift", "fidelity", "official"
    higher_is_better: bool
    stand_in_for: str  # the official VBench dimension it follows, with its original model
    percent: bool = True  # a score in [0, 1], shown x100 like the paper's tables

    @property
    def heading(self) -> str:
        """The label with the direction of improvement, as table headers show it."""
        return self.label + (" ↑" if self.higher_is_better else " ↓")


#: The default profile's weight-free metrics (vcd/video_metrics.py), in table order.
METRICS: dict[str, MetricInfo] = {
    "i2v_subject_hog": MetricInfo("I2V Subject (HOG+colour)", "i2v consistency", True, "VBench-I2V i2v_subject (DINO)"),
    "i2v_conformity_hog": MetricInfo(
        "I2V conformity (HOG+colour)", "i2v consistency", True, "i2v_subject's conformity term, averaged"
    ),
    "ssim_to_cond_aligned": MetricInfo(
        "SSIM to cond. (aligned)", "i2v consistency", True, "structural measure (not in VBench)"
    ),
    "subject_consistency_hog": MetricInfo(
        "Subject Consistency (HOG+colour)", "temporal consistency", True, "VBench subject_consistency (DINO)"
    ),
    "temporal_flickering": MetricInfo(
        "Temporal Flickering", "temporal consistency", True, "VBench temporal_flickering (exact)"
    ),
    "motion_smoothness_linear": MetricInfo(
        "Motion Smoothness (linear interp.)", "motion", True, "VBench motion_smoothness (AMT-S)"
    ),
    "dynamic_degree_farneback": MetricInfo(
        "Dynamic Degree (Farneback)", "motion", True, "VBench dynamic_degree (RAFT)"
    ),
    "flow_magnitude_farneback": MetricInfo(
        "Motion magnitude (Farneback)", "motion", True, "dynamic_degree's per-pair flow score, averaged", percent=False
    ),
    "sharpness_laplacian": MetricInfo(
        "Sharpness (Laplacian var.)", "quality", True, "imaging_quality (MUSIQ); relative only", percent=False
    ),
    "vcd": MetricInfo("VCD (Eq. 2)", "drift", False, "the fine-tuning objective itself", percent=False),
    # is the video an image-to-video video at all? (vcd/fidelity.py)
    "ssim_frame1_to_cond": MetricInfo(
        "SSIM frame 1 to cond.", "fidelity", True, "first-frame fidelity (not in VBench)"
    ),
    "ssim_last_to_cond": MetricInfo("SSIM last frame to cond.", "fidelity", True, "drift by the end (not in VBench)"),
    "chroma_error_frame1": MetricInfo(
        "Chroma error, frame 1", "fidelity", False, "colour fidelity, 0-255 (not in VBench)", percent=False
    ),
    "flow_follows_prompt": MetricInfo(
        "Flow follows prompt", "fidelity", True, "direction of camera_motion / pan prompts (Farneback)"
    ),
    "periodic_artifacts": MetricInfo(
        "Periodic artefacts", "fidelity", False, "spectral-peak power share: stripes, grids (not in VBench)"
    ),
}

#: VBench-I2V's dimensions in the paper's Table 2 (overall_consistency = ViCLIP video-text alignment)
VBENCH_DIMENSIONS = (
    "i2v_subject",
    "i2v_background",
    "subject_consistency",
    "background_consistency",
    "temporal_flickering",
    "camera_motion",
    "motion_smoothness",
    "dynamic_degree",
    "aesthetic_quality",
    "imaging_quality",
    "overall_consistency",
)
#: VideoScore's five outputs, in order (He et al. 2024)
VIDEOSCORE_ASPECTS = (
    "visual_quality",
    "temporal_consistency",
    "dynamic_degree",
    "text_to_video_alignment",
    "factual_consistency",
)


def _official() -> dict[str, MetricInfo]:
    info = {}
    for dim in VBENCH_DIMENSIONS:
        label = "Video-Text Alignment (ViCLIP)" if dim == "overall_consistency" else dim.replace("_", " ").title()
        info[f"vbench_{dim}"] = MetricInfo(f"{label} (VBench)", "official", True, f"VBench {dim}")
    for aspect in VIDEOSCORE_ASPECTS:
        info[f"videoscore_{aspect}"] = MetricInfo(
            f"{aspect.replace('_', ' ').title()} (VideoScore)", "official", True, f"VideoScore {aspect}", percent=False
        )
    return info


#: The official columns: ``vbench_<dimension>`` and ``videoscore_<aspect>`` (vcd/official.py).
OFFICIAL_METRICS: dict[str, MetricInfo] = _official()


def metric_info(name: str) -> MetricInfo:
    """Display information of a per-video column (default-profile or official)."""
    if name in METRICS:
        return METRICS[name]
    if name in OFFICIAL_METRICS:
        return OFFICIAL_METRICS[name]
    raise KeyError(f"unknown metric column {name!r}; expected one of {[*METRICS, *OFFICIAL_METRICS]}")
