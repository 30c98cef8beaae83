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
