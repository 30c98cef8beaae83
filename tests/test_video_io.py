"""vcd.video_io: H.264 MP4 round trips, reproducible bytes, and clear errors."""

import numpy as np
import pytest

from vcd.video_io import VideoReadError, read_first_frame, read_video, video_is_complete, write_video


def smooth_video(frames: int = 5, height: int = 32, width: int = 48) -> np.ndarray:
    """A moving colour gradient: smooth content that H.264 at CRF 12 keeps closely."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    video = [np.stack([(x + 3 * t) / width, y / height, 0.5 + 0 * x], axis=-1) for t in range(frames)]
    return (np.clip(np.stack(video), 0, 1) * 255).round().astype(np.uint8)


def test_round_trip_keeps_shape_and_content(tmp_path):
    video = smooth_video()
    path = write_video(tmp_path / "a b-0.mp4", video, fps=8)
    back = read_video(path)
    assert back.shape == video.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - video.astype(int)).mean() < 3.0
    assert np.array_equal(read_first_frame(path), back[0])
    assert not list(tmp_path.glob(".*partial*"))  # the temporary file was renamed, not left behind


def test_same_frames_give_the_same_bytes(tmp_path):
    """Textured frames, written repeatedly: libx264 through PyAV gave different bytes
    here from call to call (hence the ffmpeg process per file)."""
    rng = np.random.default_rng(0)
    video = np.clip(smooth_video(frames=9).astype(int) + rng.integers(-40, 40, (9, 32, 48, 3)), 0, 255).astype(np.uint8)
    files = {write_video(tmp_path / f"v{k}.mp4", video).read_bytes() for k in range(4)}
    assert len(files) == 1


def test_completeness_checks_frame_count_and_size(tmp_path):
    path = write_video(tmp_path / "v.mp4", smooth_video(frames=5, height=32, width=48))
    assert video_is_complete(path, 5, (48, 32))
    assert not video_is_complete(path, 9, (48, 32))
    assert not video_is_complete(path, 5, (32, 48))
    assert not video_is_complete(tmp_path / "missing.mp4", 5)


@pytest.mark.parametrize(
    "content, reason", [(None, "file not found"), (b"", "zero-length"), (b"not a video" * 50, "cannot be decoded")]
)
def test_unreadable_files_raise_with_the_reason(tmp_path, content, reason):
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(VideoReadError, match=reason):
        read_video(path)


def test_truncated_video_is_an_error_or_short(tmp_path):
    data = write_video(tmp_path / "v.mp4", smooth_video(frames=9)).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoReadError):
        read_video(cut, min_frames=9)


def test_bad_frames_are_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "v.mp4", np.zeros((2, 8, 8, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "v.mp4", np.zeros((2, 7, 8, 3), dtype=np.uint8))
    assert not (tmp_path / "v.mp4").exists()


def test_a_failed_encode_leaves_nothing_under_the_name(tmp_path, monkeypatch):
    """A full disk: the encoder 'succeeds' but writes an empty file; nothing may look done."""
    import imageio_ffmpeg

    from vcd.video_io import VideoWriteError

    def broken(path, *args, **kwargs):
        open(path, "wb").close()  # 0 bytes, as on a full disk
        while True:
            frame = yield
            if frame is None:
                continue

    monkeypatch.setattr(imageio_ffmpeg, "write_frames", broken)
    target = tmp_path / "v-0.mp4"
    with pytest.raises(VideoWriteError, match="writing the video failed"):
        write_video(target, np.zeros((3, 16, 16, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
