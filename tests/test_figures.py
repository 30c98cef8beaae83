"""Figures: what is asked for is drawn, or a clear error; never a silent substitute."""

from __future__ import annotations

import pandas as pd
import pytest

from vcd.figures import frame_strips_by_method
from vcd.layout import Layout


def test_frame_strips_refuse_image_ids_that_are_not_evaluation_items(tmp_path):
    per_video = pd.DataFrame({"dataset": ["d", "d"], "image_id": ["rocket", "brick"], "prompt": ["a rocket", "bricks"]})
    with pytest.raises(ValueError, match=r"names \['rockett'\], which are not evaluation items of d"):
        frame_strips_by_method(Layout(tmp_path), ["base"], "d", per_video, ["rockett"], seed=0)


def test_confidence_bands_are_the_same_on_every_call(tmp_path):
    """seaborn bootstraps its CI bands: unseeded, the committed figures changed on every
    report run with the same data."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from vcd.figures import plot_vcd_by_frame, save_figure

    rng = np.random.default_rng(0)
    per_frame = pd.DataFrame(
        [
            {"method": m, "frame": f, "image_id": f"i{k}", "vcd_unweighted": f + rng.normal()}
            for m in ("base", "vcd")
            for f in range(2, 6)
            for k in range(6)
        ]
    )
    files = []
    for k in range(2):
        files.append(tmp_path / f"{k}.png")
        save_figure(plot_vcd_by_frame(per_frame, ["base", "vcd"]), files[-1])
    assert files[0].read_bytes() == files[1].read_bytes()


def test_tradeoff_figure_draws_the_methods_without_a_path_as_labelled_points():
    import matplotlib

    matplotlib.use("Agg")
    from vcd.figures import plot_tradeoff

    c, m = "i2v_subject_hog", "flow_magnitude_farneback"
    points = pd.DataFrame(
        {"dataset": "d", "reward": "vcd", "run": "vcd", "run_seed": 0, "step": [0, 10, 20], c: [0.5, 0.6, 0.7], m: 1.0}
    )
    markers = pd.DataFrame({"dataset": "d", "method": "base+frameinit", "run": "base+frameinit", c: [0.65], m: [2.0]})
    fig = plot_tradeoff(points, c, [m], "t", markers)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["+VCD", "base model + FrameInit (no path)", "base model (step 0)"]
    marker = [line for line in fig.axes[0].lines if line.get_label().endswith("(no path)")][0]
    assert marker.get_xdata().tolist() == [65.0] and marker.get_ydata().tolist() == [2.0]
