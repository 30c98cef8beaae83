"""Run VideoScore on the pipeline's videos (inside .envs/videoscore).

    .envs/videoscore/bin/python scripts/official/run_videoscore.py --methods base vcd frame_consistency

Scores every ``{prompt}-{seed}.mp4`` with TIGER-Lab's VideoScore (Mantis-Idefics2-8B
regression head, their query template) and writes
``results/official/videoscore/<method>_<dataset>.json`` in the format of VideoScore's
own ``benchmark/eval_videoscore.py`` -- a list of {"id", "text", "ref", "ans"} with the
five aspect scores in ``ans`` -- which ``vcd.official.parse_videoscore`` reads.
Runs only in the VideoScore environment (scripts/official/setup_envs.sh).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def frame_indices(total: int, max_frames: int) -> np.ndarray:
    """The frames VideoScore feeds its model, as upstream's ``examples/run_videoscore.py``
    picks them: every frame of a video with at most ``max_frames`` (48 for v1.1, 16 for
    v1.0), else ``max_frames`` at a stride of ``total / max_frames`` -- never repeated."""
    if total > max_frames:
        return np.arange(0, total, total / max_frames).astype(int)
    return np.arange(total)


def read_frames(path: Path, max_frames: int) -> list:
    import av
    from PIL import Image

    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return [Image.fromarray(frames[i]) for i in frame_indices(len(frames), max_frames)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", required=True)
    parser.add_argument("--datasets", nargs="+", default=["embedded"])
    parser.add_argument("--model", default="TIGER-Lab/VideoScore-v1.1")
    parser.add_argument("--frames", type=int, default=48, help="at most this many: 16 for VideoScore, 48 for v1.1")
    parser.add_argument("--videos", default="results/videos")
    parser.add_argument("--out", default="results/official/videoscore")
    args = parser.parse_args()

    import torch
    from mantis.models.idefics2 import Idefics2ForSequenceClassification
    from transformers import AutoProcessor

    sys.path.insert(0, str(REPO / ".envs" / "src" / "VideoScore" / "benchmark"))
    from utils_tools import regression_query_template  # VideoScore's own prompt template

    template = regression_query_template()
    processor = AutoProcessor.from_pretrained(args.model, torch_dtype=torch.bfloat16)
    model = Idefics2ForSequenceClassification.from_pretrained(args.model, torch_dtype=torch.bfloat16).eval().to("cuda")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for method in args.methods:
        for dataset in args.datasets:
            results = []
            for video in sorted((Path(args.videos) / method / dataset).glob("*.mp4")):
                prompt = video.stem.rsplit("-", 1)[0]
                frames = read_frames(video, args.frames)
                query = template.format(text_prompt=prompt)
                query += "<image> " * max(0, len(frames) - query.count("<image>"))
                inputs = {
                    k: v.to(model.device) for k, v in processor(text=query, images=frames, return_tensors="pt").items()
                }
                with torch.no_grad():
                    logits = model(**inputs).logits
                scores = [round(logits[0, i].item(), 3) for i in range(logits.shape[-1])]
                results.append({"id": video.stem, "text": prompt, "ref": "[-1, -1, -1, -1, -1]", "ans": str(scores)})
            target = out / f"{method}_{dataset}.json"
            partial = target.with_name(f".{target.name}.tmp")
            partial.write_text(json.dumps(results, indent=4))
            partial.replace(target)  # atomic: a killed run leaves no half-written result
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
