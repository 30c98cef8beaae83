"""Reading and writing videos: H.264 MP4.

VBench reads generated videos back from MP4, so evaluation here does the same: the
metrics see the decoded H.264 frames, compression included.

Writing pipes the frames to a fresh ``ffmpeg`` process (imageio-ffmpeg's bundled
binary): its libx264 output depends only on the frames. libx264 inside this process,
through PyAV, was measured to give different bytes for the same frames from one call to
the next (4 distinct files from 6 writes), which would make the metrics vary between
runs of the same code. Reading decodes in process with PyAV (decoding is exact): about
13 ms per 9-frame 112x80 video against 100 ms through a subprocess (README, Performance).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["VideoReadError", "VideoWriteError", "write_video", "read_video", "read_first_frame", "video_is_complete"]


class VideoReadError(ValueError):
    """A video file is missing, empty, corrupt or has fewer frames than required."""


class VideoWriteError(OSError):
    """The encoder failed (a full disk, a killed process): nothing was written under the name."""


def _ffmpeg():
    import imageio_ffmpeg

    return imageio_ffmpeg


def _av():
    import av

    av.logging.set_level(av.logging.PANIC)  # failures surface as exceptions with a reason; no stderr noise
    return av


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__


def write_video(path: str | Path, frames: np.ndarray, fps: int = 8, crf: int = 12) -> Path:
    """Write ``frames`` ([T, H, W, 3] uint8) as H.264 MP4 (yuv420p) atomically.

    The file appears under its final name only once ffmpeg has finished and the result
    decodes to the frames sent (count and size): an encoder failure (a full disk, a
    killed process) raises :class:`VideoWriteError` and leaves nothing under the name,
    and an interrupted run never leaves a truncated video a re-run would take as done.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3]; got {frames.dtype} {frames.shape}")
    if frames.shape[0] < 1:
        raise ValueError("cannot write a video with no frames")
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        raise ValueError(f"H.264 (yuv420p) needs even frame sizes; got {width}x{height}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    writer = _ffmpeg().write_frames(
        str(tmp),
        (width, height),
        fps=fps,
        codec="libx264",
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        quality=None,
        output_params=["-crf", str(crf), "-preset", "medium", "-threads", "1"],  # bytes independent of the core count
        macro_block_size=1,
        ffmpeg_log_level="error",
    )
    try:
        writer.send(None)  # start the generator
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        written = read_video(tmp)
        if written.shape != frames.shape:
            got = f"{written.shape[0]} frame(s) of {written.shape[2]}x{written.shape[1]}"
            raise VideoWriteError(f"{path}: the encoder wrote {got}, expected {frames.shape[0]} of {width}x{height}")
        tmp.replace(path)
    except (OSError, RuntimeError, VideoReadError, StopIteration) as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, VideoWriteError):
            raise
        raise VideoWriteError(f"{path}: writing the video failed ({_reason(exc)})") from exc
    return path


def _decode(path: Path, limit: int | None = None) -> list[np.ndarray]:
    """Decode up to ``limit`` frames of ``path`` as uint8 [H, W, 3] arrays."""
    av = _av()
    frames: list[np.ndarray] = []
    with av.open(str(path), mode="r") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        for frame in container.decode(container.streams.video[0]):
            frames.append(frame.to_ndarray(format="rgb24"))
            if limit is not None and len(frames) >= limit:
                break
    return frames


def read_video(path: str | Path, min_frames: int = 1) -> np.ndarray:
    """Decode a video to uint8 [T, H, W, 3]; raise :class:`VideoReadError` with the reason."""
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise VideoReadError(f"{path}: zero-length file")
    errors = (_av().FFmpegError, OSError, ValueError, RuntimeError)
    try:
        frames = _decode(path)
    except errors as exc:
        raise VideoReadError(f"{path}: cannot be decoded ({_reason(exc)})") from exc
    if len(frames) < min_frames:
        raise VideoReadError(f"{path}: has {len(frames)} frame(s), need at least {min_frames}")
    return np.stack(frames)


def read_first_frame(path: str | Path) -> np.ndarray:
    """The first frame of a video as uint8 [H, W, 3] (the conditioning frame of I2V-Bench)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise VideoReadError(f"{path}: missing or zero-length video")
    errors = (_av().FFmpegError, OSError, ValueError, RuntimeError)
    try:
        frames = _decode(path, limit=1)
    except errors as exc:
        raise VideoReadError(f"{path}: no decodable frame ({_reason(exc)})") from exc
    if not frames:
        raise VideoReadError(f"{path}: no decodable frame (the video stream is empty)")
    return frames[0]


def video_is_complete(path: str | Path, num_frames: int, size: tuple[int, int] | None = None) -> bool:
    """True when ``path`` decodes to exactly ``num_frames`` frames (of ``size`` = (W, H) if given)."""
    try:
        frames = read_video(path)
    except VideoReadError:
        return False
    if frames.shape[0] != num_frames:
        return False
    return size is None or (frames.shape[2], frames.shape[1]) == tuple(size)
