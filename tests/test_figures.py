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
