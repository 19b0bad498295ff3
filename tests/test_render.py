"""render.py: the H.264 writer (format, timing, atomic replace) and the overlay drawing helpers."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from formcheck.landmarks import LM, N_LANDMARKS
from formcheck.render import (
    H264Writer,
    draw_back_contour,
    draw_hud,
    draw_skeleton,
    draw_spine_gauge,
)
from formcheck.spine import BackSample

# ------------------------------------------------------------------------------------------------
# H264Writer


def _frames(n: int, w: int, h: int) -> list[np.ndarray]:
    """Grey frames of level 30 + 20 * i, so their order can be read back."""
    return [np.full((h, w, 3), 30 + 20 * i, np.uint8) for i in range(n)]


def _read_back(path: Path) -> tuple[av.video.stream.VideoStream, list[av.VideoFrame]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream, list(container.decode(stream))


def test_writes_browser_playable_h264_with_even_size(tmp_path: Path) -> None:
    target = tmp_path / "annotated.mp4"
    with H264Writer(target, fps=30, width=65, height=49) as writer:
        for img in _frames(8, 65, 49):
            writer.write(img)
    stream, frames = _read_back(target)

    assert stream.codec_context.name == "h264"
    assert stream.codec_context.pix_fmt == "yuv420p"
    assert (stream.width, stream.height) == (64, 48)  # odd size cropped to even
    assert len(frames) == 8
    assert [round(float(f.to_ndarray(format="gray").mean())) for f in frames] == pytest.approx(
        [30 + 20 * i for i in range(8)], abs=3
    )
    head = target.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moov") < max(head.find(b"mdat"), 4096)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotated.mp4"]


def test_constant_frame_rate_places_frame_i_at_i_over_fps(tmp_path: Path) -> None:
    target = tmp_path / "cfr.mp4"
    with H264Writer(target, fps=24000 / 1001, width=32, height=32) as writer:
        for img in _frames(10, 32, 32):
            writer.write(img)
    stream, frames = _read_back(target)
    assert float(stream.average_rate) == pytest.approx(23.976, abs=0.01)
    assert [f.time for f in frames] == pytest.approx(
        [i * 1001 / 24000 for i in range(10)], abs=1e-4
    )


def test_variable_timestamps_are_kept(tmp_path: Path) -> None:
    t_s = [0.0, 0.04, 0.05, 0.2, 0.21, 0.5]
    target = tmp_path / "vfr.mp4"
    with H264Writer(target, fps=30, width=32, height=32) as writer:
        for img, t in zip(_frames(6, 32, 32), t_s, strict=True):
            writer.write(img, t_s=t)
    _, frames = _read_back(target)
    assert [f.time for f in frames] == pytest.approx(t_s, abs=1e-4)


def test_exception_inside_the_block_leaves_no_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="pose failed"), H264Writer(target, 30, 32, 32) as w:
        for img in _frames(5, 32, 32):
            w.write(img)
        raise RuntimeError("pose failed")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_video(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    target.write_bytes(b"previous video")
    with pytest.raises(RuntimeError), H264Writer(target, 30, 32, 32) as w:
        w.write(_frames(1, 32, 32)[0])
        raise RuntimeError
    assert target.read_bytes() == b"previous video"
    assert list(tmp_path.iterdir()) == [target]


def test_successful_write_replaces_the_previous_video(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    target.write_bytes(b"previous video")
    with H264Writer(target, 30, 32, 32) as w:
        w.write(_frames(1, 32, 32)[0])
    assert target.read_bytes()[4:8] == b"ftyp"
    assert list(tmp_path.iterdir()) == [target]


def test_timestamps_that_do_not_increase_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="increase"), H264Writer(target, 30, 32, 32) as w:
        w.write(_frames(1, 32, 32)[0], t_s=0.5)
        w.write(_frames(1, 32, 32)[0], t_s=0.5)
    assert list(tmp_path.iterdir()) == []


def test_wrong_image_size_is_refused(tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match=r"\(32, 32, 3\)"),
        H264Writer(tmp_path / "o.mp4", 30, 32, 32) as w,
    ):
        w.write(np.zeros((32, 40, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_no_frames_saves_no_video(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no frames"), H264Writer(tmp_path / "o.mp4", 30, 32, 32):
        pass
    assert list(tmp_path.iterdir()) == []


def test_background_encoding_keeps_every_frame_in_order_and_the_caller_may_reuse_its_image(
    tmp_path: Path,
) -> None:
    target = tmp_path / "reuse.mp4"
    image = np.zeros((32, 32, 3), np.uint8)
    n = 3 * H264Writer.QUEUE_DEPTH  # more frames than the queue holds, so write() has to wait
    with H264Writer(target, fps=30, width=32, height=32) as writer:
        for i in range(n):
            image[:] = 30 + 15 * i  # the same buffer, overwritten right after each write()
            writer.write(image)
    _, frames = _read_back(target)
    assert [round(float(f.to_ndarray(format="gray").mean())) for f in frames] == pytest.approx(
        [30 + 15 * i for i in range(n)], abs=3
    )


class _EncoderFailure(RuntimeError):
    pass


def _break_encoder(writer: H264Writer) -> None:
    def fail(frame: av.VideoFrame) -> None:
        raise _EncoderFailure("encoder broke")

    writer._encode = fail  # type: ignore[method-assign]


def test_an_encoder_error_on_the_background_thread_reaches_the_caller(tmp_path: Path) -> None:
    target = tmp_path / "broken.mp4"
    target.write_bytes(b"previous video")
    img = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(_EncoderFailure), H264Writer(target, 30, 32, 32) as w:
        _break_encoder(w)
        for i in range(10 * H264Writer.QUEUE_DEPTH):  # must not hang on a full queue either
            w.write(img, t_s=i / 30)
    assert target.read_bytes() == b"previous video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4"]


def test_an_encoder_error_on_the_last_frames_is_raised_by_close(tmp_path: Path) -> None:
    target = tmp_path / "late.mp4"
    w = H264Writer(target, 30, 32, 32)
    _break_encoder(w)
    w.write(np.zeros((32, 32, 3), np.uint8))  # accepted: encoding happens later
    with pytest.raises(_EncoderFailure):
        w.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("fps", "width"), [(0.0, 32), (float("nan"), 32), (30.0, 1)])
def test_bad_writer_settings_are_refused(tmp_path: Path, fps: float, width: int) -> None:
    with pytest.raises(ValueError):
        H264Writer(tmp_path / "o.mp4", fps, width, 32)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------
# Drawing


def _canvas(h: int = 720, w: int = 1280) -> np.ndarray:
    return np.full((h, w, 3), 90, np.uint8)  # mid grey: both light and dark marks show


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels the drawing touched."""
    return np.any(before != after, axis=2)


def _pose() -> tuple[np.ndarray, np.ndarray]:
    """A standing side-view lifter in a 1280x720 frame; untracked landmarks are NaN."""
    xy = np.full((N_LANDMARKS, 2), np.nan)
    points = {
        LM.LEFT_SHOULDER: (640, 200), LM.RIGHT_SHOULDER: (650, 200),
        LM.LEFT_HIP: (630, 400), LM.RIGHT_HIP: (640, 400),
        LM.LEFT_KNEE: (660, 530), LM.RIGHT_KNEE: (670, 530),
        LM.LEFT_ANKLE: (640, 660), LM.RIGHT_ANKLE: (650, 660),
    }  # fmt: skip
    for i, p in points.items():
        xy[i] = p
    return xy, np.where(np.isfinite(xy[:, 0]), 0.9, 0.0)


def test_skeleton_draws_bones_between_visible_landmarks() -> None:
    img = _canvas()
    before = img.copy()
    xy, vis = _pose()
    draw_skeleton(img, xy, vis)
    changed = _changed(before, img)
    mid_thigh = ((xy[LM.LEFT_HIP] + xy[LM.LEFT_KNEE]) / 2).round().astype(int)
    assert changed[mid_thigh[1], mid_thigh[0]]
    assert img[mid_thigh[1], mid_thigh[0]].min() > 200  # bones are white
    assert not changed[:150].any() and not changed[:, :550].any()  # nothing away from the body


def test_skeleton_skips_nan_and_low_visibility_landmarks() -> None:
    xy, vis = _pose()
    xy[LM.LEFT_KNEE] = np.nan
    vis[LM.RIGHT_KNEE] = 0.2
    img = _canvas()
    before = img.copy()
    draw_skeleton(img, xy, vis)
    changed = _changed(before, img)
    for knee in (LM.LEFT_KNEE, LM.RIGHT_KNEE):  # bones to either knee are not drawn
        hip, ankle = (
            (LM.LEFT_HIP, LM.LEFT_ANKLE) if knee == LM.LEFT_KNEE else (LM.RIGHT_HIP, LM.RIGHT_ANKLE)
        )
        knee_xy = _pose()[0][knee]
        for end in (hip, ankle):
            x, y = ((xy[end] + knee_xy) / 2).round().astype(int)
            assert not changed[y, x]
    assert changed[300, 635]  # the trunk is still drawn


def test_skeleton_with_no_person_draws_nothing() -> None:
    img = _canvas()
    draw_skeleton(img, np.full((N_LANDMARKS, 2), np.nan), np.zeros(N_LANDMARKS))
    assert (img == 90).all()


def _back_sample(flexion_deg: float = 32.0) -> BackSample:
    t = np.linspace(0, 1, 25)[:, None]
    contour = np.array([600.0, 200.0]) + t * np.array([-20.0, 200.0])
    contour[:, 0] -= 30 * np.sin(np.pi * t[:, 0])  # bulges left, like a rounded back facing right
    return BackSample(
        contour_px=contour,
        flexion_deg=flexion_deg,
        upper_tangent_px=contour[[0, 6]],
        lower_tangent_px=contour[[18, 24]],
        confidence=0.8,
    )


def test_back_contour_draws_outline_tangents_and_value() -> None:
    img = _canvas()
    before = img.copy()
    sample = _back_sample()
    draw_back_contour(img, sample)
    changed = _changed(before, img)
    x, y = sample.contour_px[12].round().astype(int)  # middle of the outline: magenta
    assert changed[y, x] and img[y, x, 1] < img[y, x, 0] and img[y, x, 1] < img[y, x, 2]
    x, y = ((sample.upper_tangent_px[0] + sample.upper_tangent_px[1]) / 2).round().astype(int)
    assert img[y, x, 2] < img[y, x, 0] and img[y, x, 2] < img[y, x, 1]  # tangent: cyan, not magenta
    left_of_back = changed[250:350, 450:560]  # the value label sits beside the bulge
    assert left_of_back.sum() > 200


def test_back_contour_unmeasured_draws_nothing_and_nan_rows_are_skipped() -> None:
    img = _canvas()
    empty = BackSample(
        np.zeros((0, 2)), np.nan, np.full((2, 2), np.nan), np.full((2, 2), np.nan), 0.0
    )
    draw_back_contour(img, empty)
    assert (img == 90).all()

    sample = _back_sample(flexion_deg=np.nan)
    sample.contour_px[5:8] = np.nan
    draw_back_contour(img, sample)  # draws the finite part, no label
    assert _changed(_canvas(), img).any()
    assert not _changed(_canvas(), img)[:, :540].any()


def test_hud_panel_counter_and_lines_sit_top_left() -> None:
    img = _canvas()
    draw_hud(img, ["Hip 85°", "Knee 102°"], rep_count=3, banner=None, banner_severity=None)
    changed = _changed(_canvas(), img)
    assert 30 < img[18:24, 18:24].mean() < 60  # the semi-transparent dark panel, inside its padding
    assert changed[:, :300].any() and not changed[:, 640:].any()
    assert not changed[600:].any()  # no banner


def test_hud_text_draws_typographic_marks_as_ascii_look_alikes() -> None:
    # Hershey fonts are ASCII only: "·" and "—" must not turn into "?".
    fancy, plain, unknown = _canvas(), _canvas(), _canvas()
    draw_hud(fancy, ["SQUAT · side view — 85°"], None, None, None)
    draw_hud(plain, ["SQUAT - side view - 85°"], None, None, None)
    draw_hud(unknown, ["SQUAT ? side view ? 85°"], None, None, None)
    assert (fancy == plain).all() and not (fancy == unknown).all()


def test_hud_without_counter_or_lines_draws_no_panel() -> None:
    img = _canvas()
    draw_hud(img, [], rep_count=None, banner=None, banner_severity=None)
    assert (img == 90).all()


@pytest.mark.parametrize(
    ("severity", "dominant"),
    [("major", "red"), ("minor", "orange")],
)
def test_hud_banner_colour_follows_severity(severity: str, dominant: str) -> None:
    img = _canvas()
    draw_hud(img, [], None, banner="Back rounding +18° (rep 3)", banner_severity=severity)
    b, g, r = img[690, 40].astype(int)  # bottom strip, left of the centred text
    assert r > 200 and b < 120
    if dominant == "red":
        assert g < 120
    else:
        assert 110 < g < 200
    assert (img[:600] == 90).all()


def _gauge(value: float, threshold: float = 10.0, severe: float | None = 20.0) -> np.ndarray:
    img = np.zeros((720, 1280, 3), np.uint8)
    draw_spine_gauge(img, value, threshold, severe)
    return img


def _needle_colour(value: float) -> np.ndarray:
    """Mean colour of the needle and value text: what differs from the mirrored value's gauge
    (same dial, needle on the other side) and is bright in this one."""
    img = _gauge(value)
    diff = _changed(_gauge(-value), img) & (img.max(axis=2) > 150)
    return img[diff].mean(axis=0)


def test_spine_gauge_sits_top_right() -> None:
    changed = _gauge(5.0).any(axis=2)
    assert changed[:250, 1000:].any() and not changed[:, :900].any() and not changed[300:].any()


@pytest.mark.parametrize(
    ("value", "zone"),
    [(9.5, "green"), (-9.5, "green"), (10.5, "orange"), (-10.5, "orange"), (21.0, "red")],
)
def test_spine_gauge_needle_colour_changes_at_the_thresholds(value: float, zone: str) -> None:
    b, g, r = _needle_colour(value)
    if zone == "green":
        assert g > r and g > b
    elif zone == "orange":
        assert r > g > b and g > 100
    else:
        assert r > g and r > b and g < 100


def test_spine_gauge_nan_draws_a_grey_dial() -> None:
    img = _gauge(np.nan)
    saturation = img.max(axis=2).astype(int) - img.min(axis=2)
    assert img.any() and saturation.max() < 30


def test_spine_gauge_needs_a_positive_threshold() -> None:
    with pytest.raises(ValueError):
        _gauge(3.0, threshold=0.0)
