"""Splitting the evaluation across processes, GPUs and nodes (``accelerate``).

The paper profile's evaluation is about 4,000 items x 5 seeds x six methods at 25
frames: far more than one GPU does in a day. ``accelerate launch --num_processes N -m
vcd.evaluation`` starts N copies of the same code; each takes every N-th item of
every dataset (:meth:`Shard.take`), generates the videos of its items that are not
complete yet, scores them into a part file, and the main process merges the parts into
the same ``per_video.csv`` / ``per_frame.csv`` a single process writes, row for row.
One process (the notebook, ``dvc repro``) is the one-shard case of the same path:
:func:`current_shard` is ``Shard(0, 1)`` when no launcher set the world size.

Items, not videos, are the unit of the split: an item's seeds are sampled as one batch
(:func:`vcd.generation.generate_method_videos`), so a video comes out the same whichever
process made it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Shard", "current_shard", "wait_for_all"]

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Process ``index`` of ``count``; process 0 writes what is shared."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not (self.count >= 1 and 0 <= self.index < self.count):
            raise ValueError(f"shard {self.index} of {self.count} does not exist")

    @property
    def is_main(self) -> bool:
        return self.index == 0

    def take(self, items: Sequence[T]) -> list[T]:
        """This process's share: items ``index``, ``index + count``, ... (order kept)."""
        return list(items)[self.index :: self.count]

    def __str__(self) -> str:
        return f"{self.index}-of-{self.count}"


def current_shard() -> Shard:
    """The shard of this process as ``accelerate launch`` (or torchrun) set it up."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Shard()
    import torch
    from accelerate import PartialState

    # without CUDA, accelerate forms a process group only when told it runs on the CPU (gloo)
    state = PartialState(cpu=not torch.cuda.is_available())
    return Shard(state.process_index, state.num_processes)


def wait_for_all(shard: Shard) -> None:
    """A barrier across the shards (nothing to wait for with one process)."""
    if shard.count > 1:
        from accelerate import PartialState

        PartialState().wait_for_everyone()
