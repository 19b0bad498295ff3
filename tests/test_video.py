"""video.py: frames + timestamps from files, rotation, VFR, codecs, and one test per bad-input kind.

Most videos are generated here with PyAV (tiny, a few frames); the real clips are used when present.
Frame i of a generated clip is grey of level 20 + 15 * i with a red top-left quadrant (orientation)
and noise in the bottom-left one (so every frame costs about as many bytes as the others); order,
drops and orientation can all be read back from the pixels.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import numpy as np
import pytest

from formcheck.video import (
    Frame,
    SkippedFrame,
    VideoError,
    _decode,
    _timeline,
    iter_frames,
    iter_strided,
    probe,
)

W, H = 96, 64  # the smallest picture probe() accepts is MIN_SIDE_PX a side


def _image(i: int, w: int = W, h: int = H) -> np.ndarray:
    img = np.full((h, w, 3), 20 + 15 * (i % 15), np.uint8)
    img[: h // 2, : w // 2] = (0, 0, 255)  # red, top-left quadrant
    img[h // 2 :, : w // 2] = np.random.default_rng(i).integers(0, 256, (h - h // 2, w // 2, 3))
    return img


def write_clip(
    path: Path,
    codec: str = "libx264",
    n: int = 12,
    fps: int = 25,
    size: tuple[int, int] = (W, H),
    pts_s: Sequence[float] | None = None,
    rotation_ccw: float | None = None,
    faststart: bool = False,
) -> Path:
    """A small test clip; pts_s: each frame's time (variable frame rate), in a 1/1000 time base."""
    options = {"movflags": "+faststart"} if faststart and path.suffix in (".mp4", ".mov") else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        if rotation_ccw is not None:
            stream.set_display_rotation(rotation_ccw)
        if pts_s is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(_image(i, *size), format="bgr24")
            if pts_s is not None:
                frame.pts = round(pts_s[i] * 1000)
                frame.time_base = Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _grey_levels(frames: list[Frame]) -> list[int]:
    """Grey level of each frame, read from its bottom-right quadrant."""
    return [round(float(f.image_bgr[-8:, -8:].mean())) for f in frames]


# ------------------------------------------------------------------------------------------------
# Good files


@pytest.mark.parametrize(
    ("codec", "suffix", "codec_name"),
    [
        ("libx264", "mp4", "h264"),
        ("libx264", "mov", "h264"),
        ("libx264", "mkv", "h264"),
        ("mpeg4", "avi", "mpeg4"),
        ("libvpx-vp9", "webm", "vp9"),
    ],
)
def test_each_container_and_codec_decodes_every_frame_in_order(
    tmp_path: Path, codec: str, suffix: str, codec_name: str
) -> None:
    path = write_clip(tmp_path / f"clip.{suffix}", codec=codec, n=10, fps=25)
    info = probe(path)
    frames = list(iter_frames(path))

    assert (info.codec, info.width, info.height, info.rotation_deg) == (codec_name, W, H, 0)
    assert info.fps == pytest.approx(25.0)
    assert info.duration_s == pytest.approx(0.4, abs=0.05)
    assert [f.index for f in frames] == list(range(10))
    assert [f.t_s for f in frames] == pytest.approx([i / 25 for i in range(10)], abs=1e-3)
    assert _grey_levels(frames) == pytest.approx([20 + 15 * i for i in range(10)], abs=6)
    img = frames[0].image_bgr
    assert img.shape == (H, W, 3) and img.dtype == np.uint8 and img.flags.writeable


def test_variable_frame_rate_keeps_real_timestamps(tmp_path: Path) -> None:
    pts = [0.0, 0.033, 0.066, 0.150, 0.160, 0.300, 0.310, 0.320, 0.400, 0.500]
    path = write_clip(tmp_path / "vfr.mp4", pts_s=pts, n=len(pts))
    frames = list(iter_frames(path))
    assert [f.t_s for f in frames] == pytest.approx(pts, abs=1e-3)
    assert _grey_levels(frames) == pytest.approx([20 + 15 * i for i in range(10)], abs=6)
    # nominal fps is the average rate (10 frames over ~0.5 s), not the 25 the stream was opened with
    assert 15 < probe(path).fps < 25


@pytest.mark.parametrize(
    ("n", "stride", "with_pixels"),
    [(10, 3, [0, 3, 6, 9]), (11, 3, [0, 3, 6, 9, 10]), (5, 1, [0, 1, 2, 3, 4]), (4, 9, [0, 3])],
)
def test_strided_frames_give_pixels_to_every_kth_and_the_last_and_times_to_all(
    tmp_path: Path, n: int, stride: int, with_pixels: list[int]
) -> None:
    pts = [0.0, 0.033, 0.066, 0.150, 0.160, 0.300, 0.310, 0.320, 0.400, 0.500, 0.533][:n]
    path = write_clip(tmp_path / "vfr.mp4", pts_s=pts, n=n)
    every = list(iter_frames(path))
    strided = list(iter_strided(path, stride))

    assert [f.index for f in strided] == list(range(n))
    assert [f.t_s for f in strided] == [f.t_s for f in every]
    assert [f.index for f in strided if isinstance(f, Frame)] == with_pixels
    assert all(isinstance(f, SkippedFrame) for f in strided if f.index not in with_pixels)
    for f in strided:
        loaded = f if isinstance(f, Frame) else f.load()  # a skipped frame's pixels on request
        assert (loaded.index, loaded.t_s) == (f.index, f.t_s)
        assert np.array_equal(loaded.image_bgr, every[f.index].image_bgr)


def test_a_stride_below_one_is_refused(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mp4", n=3)
    with pytest.raises(ValueError, match="stride must be at least 1"):
        iter_strided(path, 0)


def test_timestamps_start_at_zero_when_the_first_pts_is_late(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "late.mkv", pts_s=[2.0 + i / 10 for i in range(5)], n=5)
    assert [f.t_s for f in iter_frames(path)] == pytest.approx([i / 10 for i in range(5)], abs=1e-3)


def _fake_frames(pts: list[int | None]) -> list[Any]:
    return [
        SimpleNamespace(pts=p, time=None if p is None else p / 1000, n=i) for i, p in enumerate(pts)
    ]


def test_timeline_drops_duplicates_and_moves_a_backwards_step_forward() -> None:
    # 1000 -> 0 s; 1040 repeated -> dropped; 500 steps back -> one 0.04 s interval after 0.08
    # and the frame after it moves with it; a frame without pts comes one interval later.
    frames = _fake_frames([1000, 1040, 1040, 1080, 500, 540, None])
    out = list(_timeline(iter(frames), nominal_dt=0.04))
    assert [f.n for _, f in out] == [0, 1, 3, 4, 5, 6]
    assert [t for t, _ in out] == pytest.approx([0.0, 0.04, 0.08, 0.12, 0.16, 0.20])


def test_timeline_is_strictly_increasing_for_any_pts_order() -> None:
    rng = np.random.default_rng(3)
    pts = [int(p) for p in rng.integers(0, 50, 200)]
    t = np.array([t for t, _ in _timeline(iter(_fake_frames(pts)), nominal_dt=0.04)])
    assert t[0] == 0.0 and np.all(np.diff(t) > 0)


@pytest.mark.parametrize(
    ("rotation_ccw", "rotation_cw", "red_corner"),
    [
        (90.0, 270, "bottom-left"),  # display matrix turns the picture a quarter counter-clockwise
        (-90.0, 90, "top-right"),  # the usual portrait phone clip ("rotate=90" tag)
        (180.0, 180, "bottom-right"),
    ],
)
def test_rotation_metadata_is_applied(
    tmp_path: Path, rotation_ccw: float, rotation_cw: int, red_corner: str
) -> None:
    path = write_clip(tmp_path / "rot.mp4", n=3, rotation_ccw=rotation_ccw)
    info = probe(path)
    frame = next(iter_frames(path))
    upright = (H, W) if rotation_cw in (90, 270) else (W, H)

    assert info.rotation_deg == rotation_cw
    assert (info.width, info.height) == upright
    assert frame.image_bgr.shape[1::-1] == upright
    red = frame.image_bgr[..., 2].astype(int) - frame.image_bgr[..., 0]
    h, w = red.shape
    corners = {
        "top-left": red[: h // 2, : w // 2],
        "top-right": red[: h // 2, w // 2 :],
        "bottom-left": red[h // 2 :, : w // 2],
        "bottom-right": red[h // 2 :, w // 2 :],
    }
    assert max(corners, key=lambda k: corners[k].mean()) == red_corner


def test_non_square_pixels_are_resampled_so_angles_stay_true(tmp_path: Path) -> None:
    # Anamorphic clip: pixels twice as wide as tall. A 45° diagonal in the picture is stored as a
    # line one pixel across for every two down; upright frames must show it at 45° again.
    stored = np.zeros((96, 64, 3), np.uint8)
    for y in range(96):
        stored[y, y // 2] = 255
    path = tmp_path / "anamorphic.mkv"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 96, "yuv420p"
        stream.codec_context.sample_aspect_ratio = Fraction(2, 1)
        stream.options = {"crf": "0"}
        container.mux(stream.encode(av.VideoFrame.from_ndarray(stored, format="bgr24")))
        container.mux(stream.encode(None))

    info = probe(path)
    grey = next(iter_frames(path)).image_bgr.mean(axis=2)
    assert (info.width, info.height) == (128, 96)
    assert grey.shape == (96, 128)
    ys = np.arange(16, 80)
    xs = grey[ys].argmax(axis=1)
    slope = np.polyfit(ys, xs, 1)[0]
    assert slope == pytest.approx(1.0, abs=0.1)


def test_max_side_downscales_the_longer_side_and_never_upscales(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mp4", n=2, size=(128, 96))
    rotated = write_clip(tmp_path / "rot.mp4", n=2, size=(128, 96), rotation_ccw=-90)
    assert next(iter_frames(path, max_side=64)).image_bgr.shape == (48, 64, 3)
    assert next(iter_frames(rotated, max_side=64)).image_bgr.shape == (64, 48, 3)
    assert next(iter_frames(path, max_side=1000)).image_bgr.shape == (96, 128, 3)
    with pytest.raises(ValueError, match="max_side"):
        iter_frames(path, max_side=0)


def test_frames_stream_without_memory_growing_with_length(tmp_path: Path) -> None:
    # 100 frames of 160x120 are 5.8 MB if anything kept them; streaming holds one or two at a time.
    path = write_clip(tmp_path / "long.mp4", n=100, size=(160, 120))
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_frames(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100
    assert peak < 1_500_000


# ------------------------------------------------------------------------------------------------
# Bad inputs: one test per kind


def _assert_video_error(excinfo: pytest.ExceptionInfo[VideoError], path: Path, reason: str) -> None:
    err = excinfo.value
    assert err.path == path
    assert reason in err.reason
    assert err.hint
    assert "\n" not in str(err) and str(path) in str(err) and err.hint in str(err)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.mp4"
    with pytest.raises(VideoError) as excinfo:
        probe(path)
    _assert_video_error(excinfo, path, "not found")
    with pytest.raises(VideoError):
        iter_frames(path)  # raises at the call, before iteration


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(VideoError) as excinfo:
        probe(tmp_path)
    _assert_video_error(excinfo, tmp_path, "folder")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(VideoError) as excinfo:
        iter_frames(path)
    _assert_video_error(excinfo, path, "empty")


def test_text_file_renamed_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("squat 5x5 @ 100 kg\n" * 20)
    with pytest.raises(VideoError) as excinfo:
        probe(path)
    _assert_video_error(excinfo, path, "not a video file")


def test_truncated_mp4_without_index_is_reported_as_truncated(tmp_path: Path) -> None:
    # A plain mp4 keeps its index (moov) at the end: cut in half, it cannot be opened at all.
    full = write_clip(tmp_path / "full.mp4", n=40)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(VideoError) as excinfo:
        probe(cut)
    _assert_video_error(excinfo, cut, "truncated")


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_truncated_file_yields_the_frames_before_the_cut(tmp_path: Path, suffix: str) -> None:
    # A streamable file (faststart mp4, mkv) cut in half still holds its first frames.
    full = write_clip(tmp_path / f"full.{suffix}", n=40, faststart=True)
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    frames = list(iter_frames(cut))
    assert 5 < len(frames) < 40
    assert _grey_levels(frames[:5]) == pytest.approx([20 + 15 * i for i in range(5)], abs=6)
    assert np.all(np.diff([f.t_s for f in frames]) > 0)


class _FaultyDemux:
    """Stands in for an opened container whose packet number `at` fails: "read" raises a read
    error there (e.g. a network drive dropping out), "damage" hands over a garbage packet."""

    def __init__(self, container: Any, at: int, fault: str) -> None:
        self._container, self._at, self._fault = container, at, fault

    def demux(self, stream: Any) -> Iterator[av.Packet]:
        for i, packet in enumerate(self._container.demux(stream)):
            if i == self._at and self._fault == "read":
                raise av.error.OSError(5, "Input/output error")
            if i == self._at:
                bad = av.Packet(b"\xff" * 200)
                bad.pts, bad.dts, bad.time_base = packet.pts, packet.dts, packet.time_base
                yield bad
            else:
                yield packet


def _decode_with_fault(path: Path, at: int, fault: str) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in _decode(_FaultyDemux(container, at, fault), stream, path))


def test_read_error_mid_file_keeps_the_frames_still_in_the_decoder(tmp_path: Path) -> None:
    # The frames the threaded decoder still holds are flushed, so all 20 come out.
    path = write_clip(tmp_path / "clip.mp4", n=40)
    assert _decode_with_fault(path, at=20, fault="read") == 20


def test_damaged_packet_is_skipped_and_decoding_goes_on(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.mp4", n=40)
    assert _decode_with_fault(path, at=10, fault="damage") == 39


def test_file_cut_before_its_first_frame_has_no_decodable_frames(tmp_path: Path) -> None:
    full = write_clip(tmp_path / "full.mp4", n=10, faststart=True)
    cut = tmp_path / "header_only.mp4"
    cut.write_bytes(full.read_bytes()[:1500])  # the header, no complete frame
    with pytest.raises(VideoError) as excinfo:
        list(iter_frames(cut))
    _assert_video_error(excinfo, cut, "no decodable video frames")


def test_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "voice_memo.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=44100)
        for i in range(5):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 44100, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(VideoError) as excinfo:
        probe(path)
    _assert_video_error(excinfo, path, "no video stream")


# ------------------------------------------------------------------------------------------------
# Real clips (skipped where ../shared/clips is absent)


def _clip_paths(clips_dir: Path) -> list[Path]:
    return sorted(p for p in clips_dir.rglob("*") if p.suffix.lower() in {".mp4", ".mov"})


@pytest.mark.clips
def test_every_real_clip_opens_and_decodes_a_frame(clips_dir: Path) -> None:
    paths = _clip_paths(clips_dir)
    assert len(paths) > 20
    for path in paths:
        info = probe(path)  # decodes the first frame
        assert info.width > 0 and info.height > 0, path
        assert info.fps > 0 and info.n_frames_estimate > 0, path


@pytest.mark.clips
@pytest.mark.slow
def test_every_real_clip_decodes_fully_with_increasing_timestamps(clips_dir: Path) -> None:
    for path in _clip_paths(clips_dir):
        info = probe(path)
        count, last_t, shape = 0, -1.0, None
        for frame in iter_frames(path, max_side=320):
            assert frame.t_s > last_t, path
            assert shape is None or frame.image_bgr.shape == shape, path
            count, last_t, shape = count + 1, frame.t_s, frame.image_bgr.shape
        assert count > 0, path
        assert count <= info.n_frames_estimate + 1, path
        assert last_t <= info.duration_s + 0.1, path


def _compare_with_transcode(clips_dir: Path, n_frames: int | None) -> int:
    """Decode the AV1 clip next to its H.264 transcode; returns how many frame pairs matched."""
    av1 = clips_dir / "form-guard" / "squat_bad.mp4"
    h264 = clips_dir / "form-guard" / "squat_bad__h264_transcode.mp4"
    info = probe(av1)
    assert (info.codec, info.width, info.height) == ("av1", 720, 1280)
    n = 0
    for a, b in zip(iter_frames(av1, max_side=320), iter_frames(h264, max_side=320), strict=False):
        assert a.t_s == pytest.approx(b.t_s, abs=0.002)
        if n % 25 == 0:  # the same pictures, up to compression noise
            assert np.abs(a.image_bgr.astype(int) - b.image_bgr).mean() < 6
        n += 1
        if n == n_frames:
            break
    return n


@pytest.mark.clips
def test_av1_clip_decodes_like_its_h264_transcode(clips_dir: Path) -> None:
    assert _compare_with_transcode(clips_dir, n_frames=30) == 30


@pytest.mark.clips
@pytest.mark.slow
def test_av1_clip_decodes_all_its_frames(clips_dir: Path) -> None:
    assert _compare_with_transcode(clips_dir, n_frames=None) == 450


@pytest.mark.clips
def test_portrait_phone_clip_without_rotation_flag_stays_upright(clips_dir: Path) -> None:
    info = probe(clips_dir / "lnewco-squat" / "bad_IMG_7029.mov")
    assert (info.width, info.height, info.rotation_deg) == (1080, 1920, 0)


@pytest.mark.clips
@pytest.mark.slow
def test_header_frame_count_is_only_an_estimate(clips_dir: Path) -> None:
    # MANIFEST: formfit/squat1.mp4 claims 591 frames in its header but holds 549.
    path = clips_dir / "formfit" / "squat1.mp4"
    frames = [f.t_s for f in iter_frames(path, max_side=160)]
    assert probe(path).n_frames_estimate == 591
    assert len(frames) == 549
    assert np.all(np.diff(frames) > 0)


def test_prefetch_keeps_order_and_reraises_decoder_errors() -> None:
    from formcheck.video import Frame, VideoError, prefetch

    def frames(n: int, fail: bool) -> Iterator[Frame]:
        for i in range(n):
            yield Frame(index=i, t_s=i / 30, image_bgr=np.zeros((2, 2, 3), np.uint8))
        if fail:
            raise VideoError(Path("x.mp4"), "file is truncated or damaged", "re-export it")

    assert [f.index for f in prefetch(frames(20, False), depth=3)] == list(range(20))
    got = []
    with pytest.raises(VideoError, match="truncated"):
        for f in prefetch(frames(5, True)):
            got.append(f.index)
    assert got == [0, 1, 2, 3, 4]


def test_prefetch_stops_its_thread_when_the_consumer_stops_early() -> None:
    import threading

    from formcheck.video import Frame, prefetch

    def endless() -> Iterator[Frame]:
        i = 0
        while True:
            yield Frame(index=i, t_s=i / 30, image_bgr=np.zeros((2, 2, 3), np.uint8))
            i += 1

    stream = prefetch(endless(), depth=2)
    assert next(stream).index == 0
    stream.close()
    assert not any(t.name == "formcheck-decode" and t.is_alive() for t in threading.enumerate())


@pytest.mark.parametrize("below", [32, 2])
def test_a_video_too_small_to_show_a_lifter_is_refused(tmp_path: Path, below: int) -> None:
    """Below MIN_SIDE_PX on the shorter side a clear VideoError; at it, a video like any other."""
    from formcheck.video import MIN_SIDE_PX

    side = MIN_SIDE_PX - below  # even sizes (x264)
    path = write_clip(tmp_path / "tiny.mp4", size=(side, 2 * side))
    with pytest.raises(VideoError) as excinfo:
        probe(path)
    _assert_video_error(excinfo, path, f"only {side}x{2 * side} pixels")
    path = write_clip(tmp_path / "small.mp4", size=(MIN_SIDE_PX, 2 * MIN_SIDE_PX))
    assert (probe(path).width, probe(path).height) == (MIN_SIDE_PX, 2 * MIN_SIDE_PX)


def test_a_strip_of_a_video_is_refused_and_ten_to_one_is_not(tmp_path: Path) -> None:
    """Longer side over MAX_ASPECT times the shorter: a clear VideoError; at MAX_ASPECT, accepted."""
    from formcheck.video import MAX_ASPECT, MIN_SIDE_PX

    long_side = int(MAX_ASPECT * MIN_SIDE_PX)
    path = write_clip(tmp_path / "strip.mp4", size=(long_side + 2, MIN_SIDE_PX))
    with pytest.raises(VideoError) as excinfo:
        probe(path)
    _assert_video_error(excinfo, path, f"{long_side + 2}x{MIN_SIDE_PX} pixels, a strip")
    path = write_clip(tmp_path / "tall.mp4", size=(MIN_SIDE_PX, long_side + 2))
    with pytest.raises(VideoError, match="a strip"):
        probe(path)
    path = write_clip(tmp_path / "wide.mp4", size=(long_side, MIN_SIDE_PX))
    assert (probe(path).width, probe(path).height) == (long_side, MIN_SIDE_PX)
