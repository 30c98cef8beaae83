"""Benchmark VCD forward+backward: batched vs a frame-by-frame loop.

For each resolution (the paper's 368x272 and the default profile's, from params.yaml)
and projection count, it times the gradient of VCD for ``--frames`` frames of one
video against its conditioning image, two ways:

* ``batched``: the conditioning image and all frames in one encoder pass
  (``VideoConsistencyDistance.forward(video, frame_index="all")``);
* ``loop``: one ``frame_distance(cond, frame)`` call and backward per frame.

Each configuration runs in a fresh subprocess so its peak memory is its own: peak RSS
growth on CPU, ``torch.cuda.max_memory_allocated`` on CUDA.

    python benchmarks/bench_vcd.py                  # CPU (and CUDA if available)
    python benchmarks/bench_vcd.py --device cuda    # GPU only
    python benchmarks/bench_vcd.py --out benchmarks/results/vcd_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _one(args: argparse.Namespace) -> dict:
    import torch

    from vcd import VideoConsistencyDistance
    from vcd.provenance import cpu_name

    device = torch.device(args.device)
    torch.manual_seed(0)
    metric = VideoConsistencyDistance(num_projections=args.projections).to(device)
    frames = args.frames
    video = torch.rand(1, frames + 1, 3, args.height, args.width, device=device)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def step() -> None:
        v = video.clone().requires_grad_(True)
        if args.mode == "batched":
            metric(v, frame_index="all").sum().backward()
        else:
            for i in range(2, frames + 2):
                metric.frame_distance(v[:, 0], v[:, i - 1]).sum().backward()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up (allocations, kernel selection)
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    result = {
        "device": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "threads": torch.get_num_threads(),
        "resolution": f"{args.width}x{args.height}",
        "projections": args.projections,
        "mode": args.mode,
        "frames": frames,
        "seconds_per_frame": min(times) / frames,
        "seconds_per_video_step": min(times),
    }
    if device.type == "cuda":
        result["peak_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        result["peak_memory_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="batched", help=argparse.SUPPRESS)
    parser.add_argument("--width", type=int, default=368, help=argparse.SUPPRESS)
    parser.add_argument("--height", type=int, default=272, help=argparse.SUPPRESS)
    parser.add_argument("--projections", type=int, default=256, help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(args)))
        return 0

    import torch

    from vcd.layout import Layout
    from vcd.settings import Settings

    settings = Settings.load(Layout(REPO).params_file)
    default_res = settings.video.size
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    configs = []
    for device in devices:
        gpu = device == "cuda"
        for (w, h), frames in (((368, 272), 24 if gpu else 4), (default_res, 24 if gpu else 8)):
            for projections in (256, settings.vcd.num_projections):
                for mode in ("batched", "loop"):
                    configs.append((device, w, h, projections, mode, frames))
    configs = list(dict.fromkeys(configs))
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(1 << 32), "MALLOC_TRIM_THRESHOLD_": str(1 << 32)}
    results = []
    for device, w, h, projections, mode, frames in configs:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            "--device",
            device,
            "--width",
            str(w),
            "--height",
            str(h),
            "--projections",
            str(projections),
            "--mode",
            mode,
            "--frames",
            str(frames),
            "--repeats",
            str(args.repeats),
        ]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        results.append(result)
        print(
            f"{device:4s} {w}x{h} P={projections:3d} {mode:7s} {frames:2d} frames: "
            f"{result['seconds_per_frame'] * 1000:8.1f} ms/frame  peak {result['peak_memory_mb']:8.1f} MB",
            flush=True,
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
