"""Sampling cost of FrameInit (vcd/frameinit.py) against plain sampling, on the shipped base model.

Generates the first ``--items`` evaluation items of the embedded profile with each
item's seeds in one batch (as the evaluation stage does), alternately with and without
FrameInit, and reports seconds per video. Run it alone: the machine's other load moves
the numbers.

    python benchmarks/frameinit_cost.py --out benchmarks/results/frameinit_cost.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    import torch

    from vcd.data import read_split
    from vcd.frameinit import generate_video_frameinit
    from vcd.frames import load_image
    from vcd.layout import Layout
    from vcd.models import load_pipeline
    from vcd.provenance import cpu_name
    from vcd.sampling import generate_video
    from vcd.settings import Settings

    layout = Layout.discover()
    settings = Settings.load(layout.params_file)
    pipe = load_pipeline(settings.model, layout, "cpu")
    pipe.transformer.eval()
    seeds = list(settings.evaluation.seeds)
    items = read_split(layout, settings.evaluation.datasets[0], "eval")[: args.items]
    samplers = {
        "plain": lambda images, prompts: generate_video(pipe, images, prompts, seeds, settings.sampling),
        "frameinit": lambda images, prompts: generate_video_frameinit(
            pipe, images, prompts, seeds, settings.sampling, settings.frameinit
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in samplers}
    for _ in range(args.repeats):
        for name, sample in samplers.items():  # alternate, so drift in machine speed hits both
            start = time.perf_counter()
            for item in items:
                sample([load_image(item.image)] * len(seeds), [item.caption] * len(seeds))
            times[name].append((time.perf_counter() - start) / (len(items) * len(seeds)))
    result = {
        "machine": cpu_name(),
        "torch_threads": torch.get_num_threads(),
        "items": len(items),
        "seeds_per_item": len(seeds),
        "seconds_per_video": {name: min(t) for name, t in times.items()},
        "all_seconds_per_video": times,
    }
    result["frameinit_overhead"] = result["seconds_per_video"]["frameinit"] / result["seconds_per_video"]["plain"] - 1
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
