"""live.py: camera set-up check, cue rate limiting, the frame processor (with a fake pose model) and
the background recorder. The last test runs the real pose model on a real clip."""

from __future__ import annotations

import dataclasses
import math
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from formcheck.faults import FaultCode, load_measure_params, load_rules
from formcheck.kinematics import View
from formcheck.landmarks import LM, N_LANDMARKS, PoseFrame
from formcheck.live import (
    PREVIEW_LABEL,
    CueLimiter,
    FrameRecorder,
    LiveProcessor,
    LiveStatus,
    RecordedSet,
    SetupCheck,
    check_setup,
    load_live_params,
)
from formcheck.notices import NoticeCode
from formcheck.pipeline import AnalysisOptions, analyze
from formcheck.report import SessionReport
from formcheck.reps import Exercise
from formcheck.video import iter_frames

LIVE = load_live_params()
W, H = 640, 480


def off(dx: float, dy: float) -> np.ndarray:
    return np.array([dx, dy])


def side_pose(depth_deg: float, origin: tuple[float, float] = (300.0, 430.0)) -> np.ndarray:
    """(33, 2) pixels of a lifter seen from the side, facing image right, squatting to depth_deg
    (0 = standing; the thigh turns depth_deg from vertical, shank and trunk follow)."""
    shank, thigh, torso = (
        math.radians(0.35 * depth_deg),
        math.radians(depth_deg),
        math.radians(0.45 * depth_deg),
    )
    ankle = np.array(origin)
    knee = ankle + 100 * np.array([math.sin(shank), -math.cos(shank)])
    hip = knee + 100 * np.array([-math.sin(thigh), -math.cos(thigh)])
    shoulder = hip + 130 * np.array([math.sin(torso), -math.cos(torso)])
    ear = shoulder + 30 * np.array([math.sin(torso), -math.cos(torso)])
    xy = np.full((N_LANDMARKS, 2), np.nan)
    points = {
        LM.NOSE: ear + off(12, 3), LM.LEFT_EAR: ear, LM.RIGHT_EAR: ear,
        LM.LEFT_SHOULDER: shoulder, LM.RIGHT_SHOULDER: shoulder,
        LM.LEFT_ELBOW: shoulder + off(15, 20), LM.RIGHT_ELBOW: shoulder + off(15, 20),
        LM.LEFT_WRIST: shoulder + off(10, -5), LM.RIGHT_WRIST: shoulder + off(10, -5),
        LM.LEFT_HIP: hip, LM.RIGHT_HIP: hip, LM.LEFT_KNEE: knee, LM.RIGHT_KNEE: knee,
        LM.LEFT_ANKLE: ankle, LM.RIGHT_ANKLE: ankle,
        LM.LEFT_HEEL: ankle + off(-12, 12), LM.RIGHT_HEEL: ankle + off(-12, 12),
        LM.LEFT_FOOT: ankle + off(35, 12), LM.RIGHT_FOOT: ankle + off(35, 12),
    }  # fmt: skip
    for i, p in points.items():
        # the far (left) side sits 4 px behind the near one, as in a true profile
        xy[i] = p + ([-4.0, 0.0] if LM(i).name.startswith("LEFT") else [0.0, 0.0])
    for i in range(N_LANDMARKS):  # face and hand points the model also returns
        if not np.isfinite(xy[i]).all():
            xy[i] = ear + off(8, 0) if i < 11 else shoulder + off(10, 0)
    return xy


def frame_of(xy: np.ndarray) -> PoseFrame:
    return PoseFrame(
        xy_px=xy, visibility=np.full(N_LANDMARKS, 0.95), world_m=np.full((N_LANDMARKS, 3), np.nan),
        mask=None, n_people=1,
    )  # fmt: skip


# --- set-up check -----------------------------------------------------------------------------


def _setup(xy: np.ndarray, view: View = View.SIDE) -> SetupCheck:
    """The check on a window of one frame (xy (33, 2)) or several (xy (T, 33, 2))."""
    window = xy if xy.ndim == 3 else xy[None]
    return check_setup(window, np.full(window.shape[:2], 0.95), W, H, view)


def _check(xy: np.ndarray, view: View = View.SIDE) -> dict[str, bool | None]:
    return {i.key: i.ok for i in _setup(xy, view).items}


def test_a_good_side_view_passes_every_check() -> None:
    result = _setup(side_pose(0))
    assert result.passed, result.first_problem


def test_no_lifter_fails_and_leaves_the_rest_undecided() -> None:
    result = _check(np.full((N_LANDMARKS, 2), np.nan))
    assert result["person"] is False
    assert {k: v for k, v in result.items() if k != "person"} == dict.fromkeys(
        ("whole_body", "side_view", "hip_height", "level"), None
    )


def test_feet_out_of_the_picture_are_named() -> None:
    xy = side_pose(0, origin=(300.0, 490.0))  # ankles below the bottom edge
    result = _setup(xy)
    problem = result.first_problem
    assert problem is not None and problem.key == "whole_body"
    assert "feet" in problem.advice


def test_a_point_just_inside_the_edge_margin_counts_as_cut_off() -> None:
    xy = side_pose(0)
    head_low = float(xy[[LM.NOSE, LM.LEFT_EAR, LM.RIGHT_EAR], 1].max())  # lowest head point
    inside = _check(xy + off(0.0, 0.02 * H + 1 - head_low))  # it is 1 px inside the margin
    outside = _check(xy + off(0.0, 0.02 * H - 1 - head_low))  # the whole head is in the margin
    assert inside["whole_body"] is True
    assert outside["whole_body"] is False


def test_front_view_fails_the_side_view_check() -> None:
    assert _check(side_pose(0), View.FRONT)["side_view"] is False
    assert _check(side_pose(0), View.UNKNOWN)["side_view"] is None


@pytest.mark.parametrize(
    ("hip_row", "ok"), [(0.30, False), (0.36, True), (0.64, True), (0.70, False)]
)
def test_camera_height_from_where_the_hips_sit(hip_row: float, ok: bool) -> None:
    xy = side_pose(0, origin=(300.0, 300.0))
    xy[:, 1] *= 0.5  # a small, distant lifter so the whole body fits at any height
    xy[:, 1] += hip_row * H - xy[LM.LEFT_HIP, 1]
    assert _check(xy)["hip_height"] is ok


def _rolled(xy: np.ndarray, deg: float) -> np.ndarray:
    centre = xy[LM.LEFT_HIP].copy()
    a = math.radians(deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.asarray((xy - centre) @ rot.T + centre)


@pytest.mark.parametrize(
    ("tilt_deg", "ok"), [(0.0, True), (9.0, True), (11.0, False), (-11.0, False)]
)
def test_a_rolled_camera_shows_as_tilted_feet(tilt_deg: float, ok: bool) -> None:
    assert _check(_rolled(side_pose(0), tilt_deg))["level"] is ok


def test_level_is_judged_on_the_window_median_not_one_jittery_frame() -> None:
    frames = [_rolled(side_pose(0), d) for d in (2.0, -3.0, 25.0, 1.0, 0.0)]  # one wild frame
    assert _check(np.stack(frames))["level"] is True
    assert _check(frames[2])["level"] is False


def test_check_setup_wants_a_window() -> None:
    with pytest.raises(ValueError, match=r"\(T, 33, 2\)"):
        check_setup(side_pose(0), np.full(N_LANDMARKS, 0.95), W, H, View.SIDE)


# --- cues -------------------------------------------------------------------------------------


def test_a_cue_needs_the_condition_to_hold() -> None:
    cues = CueLimiter(cooldown_s=4.0)
    assert cues.offer("back_rounding", True, 0.0) is False
    assert cues.offer("back_rounding", True, LIVE.cue_hold_s - 0.01) is False
    assert cues.offer("back_rounding", True, LIVE.cue_hold_s + 0.01) is True


def test_a_broken_condition_restarts_the_hold() -> None:
    cues = CueLimiter(cooldown_s=4.0)
    cues.offer("back_rounding", True, 0.0)
    cues.offer("back_rounding", False, 0.2)
    assert cues.offer("back_rounding", True, 0.3) is False
    assert cues.offer("back_rounding", True, 0.3 + LIVE.cue_hold_s) is True


def test_one_cue_per_code_per_movement() -> None:
    cues = CueLimiter(cooldown_s=1.0)
    assert cues.offer("back_rounding", True, 0.0) is False
    assert cues.offer("back_rounding", True, 0.5) is True
    assert cues.offer("back_rounding", True, 5.0) is False  # still the same rep
    cues.new_movement()
    assert cues.offer("back_rounding", True, 6.0) is True


def test_no_cue_within_the_cooldown_of_another() -> None:
    cues = CueLimiter(cooldown_s=4.0)
    cues.offer("back_rounding", True, 0.0)
    assert cues.offer("back_rounding", True, 0.5) is True
    cues.offer("back_overarch", True, 1.0)
    assert cues.offer("back_overarch", True, 2.0) is False
    assert cues.offer("back_overarch", True, 4.49) is False
    assert cues.offer("back_overarch", True, 4.51) is True


# --- the processor ----------------------------------------------------------------------------


class FakeDetector:
    """Returns scripted poses in order; records the timestamps it was given."""

    def __init__(self, poses: list[np.ndarray]) -> None:
        self.poses = poses
        self.times: list[float] = []
        self.closed = False

    def detect(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame:
        self.times.append(t_s)
        return frame_of(self.poses[len(self.times) - 1])

    def close(self) -> None:
        self.closed = True


def squat_set(
    n_reps: int, fps: float = 30.0, rep_s: float = 2.0, rest_s: float = 1.0
) -> list[np.ndarray]:
    depths = [0.0] * int(rest_s * fps)
    for _ in range(n_reps):
        n = int(rep_s * fps)
        depths += [100.0 * math.sin(math.pi * i / n) ** 2 for i in range(n)]
    depths += [0.0] * int(rest_s * fps)
    depths += [0.0] * (-len(depths) % 10)
    return [side_pose(d) for d in depths]


class FakeClock:
    """The processor's clock (seconds), moved by the test, and by step_s at every reading."""

    def __init__(self, t_s: float = 1000.0, step_s: float = 0.0) -> None:
        self.t_s = t_s
        self.step_s = step_s

    def __call__(self) -> float:
        self.t_s += self.step_s
        return self.t_s

    def advance(self, s: float) -> None:
        self.t_s += s


def _processor(
    poses: list[np.ndarray], clock: FakeClock | None = None
) -> tuple[LiveProcessor, FakeDetector]:
    fake = FakeDetector(poses)
    proc = LiveProcessor(
        Exercise.SQUAT, load_rules("beginner"), detector_factory=lambda: fake,
        clock=clock or FakeClock(),
    )  # fmt: skip
    return proc, fake


def test_the_processor_counts_reps_and_reports_poses(tmp_path: Path) -> None:
    poses = squat_set(3)
    proc, fake = _processor(poses, FakeClock(step_s=0.01))  # each analysis takes 10 ms
    proc.start_recording(tmp_path / "set.mp4")
    image = np.zeros((H, W, 3), np.uint8)
    for i in range(len(poses)):
        out = proc.process(image.copy(), 100.0 + i / 30.0)
        assert out.shape == (H, W, 3)
    status = proc.status()
    assert status.reps == 3
    assert status.frames == status.frames_with_pose == len(poses)
    assert fake.times[0] == 0.0 and fake.times[-1] == pytest.approx((len(poses) - 1) / 30.0)
    assert status.latency_ms == pytest.approx(10.0) and status.fps == pytest.approx(50.0)
    proc.close()


def test_reps_are_counted_only_while_a_set_is_recorded(tmp_path: Path) -> None:
    """Squats before "Start set" (warming up, trying the camera) count nothing; the set counts
    from zero."""
    poses = squat_set(2) + squat_set(3)
    proc, _ = _processor(poses + poses)
    image = np.zeros((H, W, 3), np.uint8)
    before = len(squat_set(2))
    for i in range(before):
        proc.process(image.copy(), i / 30.0)
        assert proc.status().reps == 0
    proc.start_recording(tmp_path / "set.mp4")
    for i in range(before, len(poses)):
        proc.process(image.copy(), i / 30.0)
    assert proc.status().reps == 3
    proc.stop_recording()
    for i in range(len(poses)):  # squats after the set are not added to it
        proc.process(image.copy(), (len(poses) + i) / 30.0)
    assert proc.status().reps == 3  # the finished set's count stays on the page
    proc.close()


def test_the_overlay_is_drawn_on_the_returned_frame_and_labelled_a_preview() -> None:
    proc, _ = _processor(squat_set(1))
    out = proc.process(np.zeros((H, W, 3), np.uint8), 0.0)
    assert proc._overlay is not None and proc._overlay.lines[0] == PREVIEW_LABEL == "LIVE PREVIEW"
    hip = side_pose(0)[LM.RIGHT_HIP].astype(int)
    assert out[hip[1] - 3 : hip[1] + 4, hip[0] - 3 : hip[0] + 4].any()  # a joint dot on the hip
    assert out[:60, :60].any()  # the HUD panel, top-left


def test_a_new_set_counts_from_zero(tmp_path: Path) -> None:
    poses = squat_set(2) + squat_set(1)
    proc, _ = _processor(poses)
    proc.start_recording(tmp_path / "set.mp4")
    image = np.zeros((H, W, 3), np.uint8)
    first = len(squat_set(2))
    for i in range(first):
        proc.process(image.copy(), i / 30.0)
    assert proc.status().reps == 2
    proc.new_set()
    assert proc.status().reps == 0
    for i in range(first, len(poses)):
        proc.process(image.copy(), i / 30.0)
    assert proc.status().reps == 1
    proc.close()


def test_the_set_up_turns_ready_after_holding_still() -> None:
    proc, _ = _processor([side_pose(0)] * 60)
    image = np.zeros((H, W, 3), np.uint8)
    for i in range(20):
        proc.process(image.copy(), i / 30.0)
    assert proc.status().setup_ready is False  # 0.63 s: not held long enough yet
    for i in range(20, 60):
        proc.process(image.copy(), i / 30.0)
    assert proc.status().setup.passed and proc.status().setup_ready


def test_ready_lasts_through_the_reps_and_ends_when_the_lifter_leaves() -> None:
    gone = [np.full((N_LANDMARKS, 2), np.nan)] * 75  # 2.5 s without the lifter
    poses = [side_pose(0)] * 45 + squat_set(2, rest_s=0.0) + gone
    proc, _ = _processor(poses)
    image = np.zeros((H, W, 3), np.uint8)
    ready = []
    for i in range(len(poses)):
        proc.process(image.copy(), i / 30.0)
        ready.append(proc.status().setup_ready)
    assert ready[44] and all(ready[45 : len(poses) - 75])  # squatting does not undo it
    assert ready[len(poses) - 75 + 55]  # 1.8 s gone: still ready
    assert not ready[-1]  # 2.5 s gone: set up again


def test_a_rounding_back_cues_once_per_rep_within_the_cooldown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Back outline scripted: 10° when standing (the neutral), 10° + 30° at the bottom of each rep
    (past the 15° rounding limit and the 25° severe limit of the beginner preset)."""
    from formcheck import live, spine
    from formcheck.guidance import cue_for

    poses = squat_set(3, rest_s=1.5)
    thigh = [p[LM.RIGHT_KNEE] - p[LM.RIGHT_HIP] for p in poses]
    from_vertical = [float(np.degrees(np.arctan2(abs(v[0]), abs(v[1])))) for v in thigh]
    flex = iter([10.0 + (30.0 if a > 60 else 0.0) for a in from_vertical])  # near the bottom

    def scripted(*args: object, **kwargs: object) -> spine.BackSample:
        base = spine.empty_back_sample()
        return dataclasses.replace(base, flexion_deg=next(flex), confidence=0.9)

    monkeypatch.setattr(live.spine, "measure_back", scripted)
    proc, _ = _processor(poses)
    image = np.zeros((H, W, 3), np.uint8)
    banners = []
    for i in range(len(poses)):
        out = proc.process(image.copy(), i / 30.0)
        banners.append(bool(out[H - 60 :, :, 2].max() > 200))  # the red cue banner
    cues = proc.status().cues
    assert [c.code for c in cues] == ["back_rounding", "back_rounding"]  # reps 1 and 3
    assert all(c.text == cue_for("back_rounding") and c.severity == "major" for c in cues)
    assert cues[1].t_s - cues[0].t_s >= 4.0  # rep 2 fell inside the 4 s cooldown
    assert any(banners)


def test_lost_lifter_gives_nan_not_zero() -> None:
    proc, _ = _processor([np.full((N_LANDMARKS, 2), np.nan)] * 3)
    for i in range(3):
        proc.process(np.zeros((H, W, 3), np.uint8), i / 30.0)
    status = proc.status()
    assert status.frames_with_pose == 0
    assert math.isnan(status.spine_rel_deg)
    assert status.setup.first_problem is not None
    assert status.setup.first_problem.key == "person"


def test_live_mode_needs_a_chosen_lift() -> None:
    with pytest.raises(ValueError, match="squat or deadlift"):
        LiveProcessor(Exercise.UNKNOWN, load_rules("beginner"))


def _av_frame(i: int, fps: float = 30.0) -> av.VideoFrame:
    image = np.zeros((H, W, 3), np.uint8)
    image[:, : (i * 7) % W] = 200  # moving content, so frames differ
    frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(
        format="yuv420p"
    )  # as WebRTC
    frame.pts = 5000 + round(i * 90000 / fps)  # the browser's clock does not start at 0
    frame.time_base = Fraction(1, 90000)
    return frame


def test_recording_keeps_every_camera_frame_while_only_the_newest_is_analysed(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    poses = [side_pose(0)] * 60
    proc, fake = _processor(poses, clock)
    proc.start_recording(tmp_path / "set.mp4")
    returned = []
    for start in range(0, 60, 3):  # the browser delivers frames in bunches of 3, 10 a second
        clock.advance(0.1)
        returned += proc.on_frames([_av_frame(i) for i in range(start, start + 3)])
    assert proc.wait_idle(10.0)
    assert proc.status().recording
    recorded = proc.stop_recording()
    assert recorded is not None and recorded.path == tmp_path / "set.mp4"
    assert recorded.frames == 60 and recorded.wall_s == pytest.approx(2.0)
    assert len(returned) == 20  # one frame back per bunch, the newest
    assert returned[0].width == W and returned[0].height == H
    assert 1 <= len(fake.times) <= 20  # never more than one analysis per bunch
    frames = list(iter_frames(recorded.path))
    # timed by arrival, spread evenly over each bunch's 0.1 s
    assert [f.t_s for f in frames] == pytest.approx([i / 30.0 for i in range(60)], abs=1e-4)
    assert proc.status().recording is False
    proc.close()
    assert fake.closed


def test_webrtc_frames_with_mixed_time_bases_keep_the_stream_going() -> None:
    """WebRTC hands over some frames in a microsecond time base starting at 0 and the rest on the
    RTP clock; frame times that jump back must not stop the analysis."""
    clock = FakeClock()
    proc, fake = _processor([side_pose(0)] * 40, clock)
    for i in range(40):
        clock.advance(1 / 30.0)
        frame = _av_frame(i)
        if i % 5 == 0:
            frame.pts, frame.time_base = 33_000 * i, Fraction(1, 1_000_000)
        (out,) = proc.on_frames([frame])
        assert out.width == W
        assert proc.wait_idle(10.0)  # each frame analysed before the next arrives
    assert proc.status().frames == 40
    assert np.all(np.diff(fake.times) > 0)
    proc.close()


def test_a_failing_analysis_does_not_stop_the_stream_or_the_analysis() -> None:
    class Broken(FakeDetector):
        def detect(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame:
            if len(self.times) == 1:
                self.times.append(t_s)
                raise RuntimeError("model hiccup")
            return super().detect(image_bgr, t_s)

    broken = Broken([side_pose(0)] * 5)
    proc = LiveProcessor(Exercise.SQUAT, load_rules("beginner"), detector_factory=lambda: broken)
    sent = [_av_frame(i) for i in range(4)]
    outs = []
    for frame in sent:
        outs += proc.on_frames([frame])
        assert proc.wait_idle(10.0)
    assert len(outs) == 4 and all(out is not frame for out, frame in zip(outs, sent, strict=True))
    assert len(broken.times) == 4  # the frame after the failure was analysed
    assert proc.status().frames == 3  # frames 0, 2 and 3 were analysed, 1 failed
    proc.close()


class GatedDetector(FakeDetector):
    """A pose model that holds each frame until the test lets it go, and notes which camera frame
    (by _av_frame's stripe width) it was given."""

    def __init__(self, poses: list[np.ndarray]) -> None:
        super().__init__(poses)
        self.seen: list[int] = []
        self.entered = threading.Semaphore(0)
        self.go = threading.Semaphore(0)

    def detect(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame:
        self.seen.append(round(int((image_bgr[H // 2, :, 1] > 100).sum()) / 7))
        self.entered.release()
        assert self.go.acquire(timeout=10.0), "the test never let the frame go"
        return super().detect(image_bgr, t_s)


def test_a_busy_analysis_drops_waiting_frames_for_the_newest_and_the_preview_goes_on() -> None:
    """While the pose model is busy, camera frames are not queued: each one replaces the frame
    waiting for the analysis, goes back at once, and the next analysis takes the newest."""
    gated = GatedDetector([side_pose(0)] * 5)
    proc = LiveProcessor(Exercise.SQUAT, load_rules("beginner"), detector_factory=lambda: gated)
    (first,) = proc.on_frames([_av_frame(1)])
    assert gated.entered.acquire(timeout=10.0)  # frame 1 is in the pose model, which holds it
    assert first.to_ndarray(format="bgr24")[H - 60 :].any()  # "Starting..." until an analysis
    back = [proc.on_frames([_av_frame(i)])[0] for i in range(2, 10)]  # none waits for frame 1
    assert len(back) == 8 and gated.seen == [1]
    gated.go.release()  # frame 1 done; the analysis takes frame 9, the newest, next
    assert gated.entered.acquire(timeout=10.0)
    gated.go.release()
    assert proc.wait_idle(10.0)
    assert gated.seen == [1, 9]
    status = proc.status()
    assert (status.camera_frames, status.dropped, status.frames) == (9, 7, 2)
    # the next camera frame shows the newest skeleton at once, before its own analysis is done
    (shown,) = proc.on_frames([_av_frame(0)])
    hip = side_pose(0)[LM.RIGHT_HIP].astype(int)
    assert shown.to_ndarray(format="bgr24")[hip[1] - 3 : hip[1] + 4, hip[0] - 3 : hip[0] + 4].any()
    assert gated.entered.acquire(timeout=10.0)
    gated.go.release()
    proc.close()


def test_the_back_gauge_reads_within_a_second_of_standing_side_on_at_a_few_frames_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A machine analysing 4 frames a second: the neutral is learned from the frames of the first
    LIVE.neutral_min_span_s, so the gauge reads well within a second."""
    from formcheck import live, spine

    def outline(*args: object, **kwargs: object) -> spine.BackSample:
        return dataclasses.replace(spine.empty_back_sample(), flexion_deg=10.0, confidence=0.9)

    monkeypatch.setattr(live.spine, "measure_back", outline)
    proc, _ = _processor([side_pose(0)] * 8)
    read_at = None
    for i in range(8):
        proc.process(np.zeros((H, W, 3), np.uint8), i / 4.0)
        if read_at is None and math.isfinite(proc.status().spine_rel_deg):
            read_at = i / 4.0
    assert read_at is not None and LIVE.neutral_min_span_s <= read_at < 1.0
    assert proc.status().spine_rel_deg == pytest.approx(0.0)  # standing at the neutral
    proc.close()


def test_the_live_neutral_is_taken_as_the_offline_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standing readings 30, 30, 30 (an arm crossing the back), 11, 11, 11, then 10: the neutral
    drops the outlying 30s as spine.neutral_of does offline (10, where a plain median says 10.5),
    so standing at 10 reads 0."""
    from formcheck import live, spine

    values = [30.0] * 3 + [11.0] * 3 + [10.0] * 6
    readings = iter(values)

    def outline(*args: object, **kwargs: object) -> spine.BackSample:
        base = spine.empty_back_sample()
        return dataclasses.replace(base, flexion_deg=next(readings), confidence=0.9)

    monkeypatch.setattr(live.spine, "measure_back", outline)
    proc, _ = _processor([side_pose(0)] * len(values))
    for i in range(len(values)):
        proc.process(np.zeros((H, W, 3), np.uint8), i / 4.0)
    assert spine.neutral_of(np.array(values))[0] == pytest.approx(10.0)
    assert proc.status().spine_rel_deg == pytest.approx(0.0)
    proc.close()


@pytest.mark.parametrize(
    ("fps", "camera_fps", "latency_ms", "behind"),
    [
        (LIVE.falling_behind_fps + 0.1, 30.0, LIVE.falling_behind_lag_ms - 1, False),
        (LIVE.falling_behind_fps - 0.1, 30.0, 100.0, True),  # too few frames a second for the reps
        (20.0, 30.0, LIVE.falling_behind_lag_ms + 1, True),  # the overlay lags the camera
        (5.0, 5.0, 100.0, False),  # a slow camera, every frame analysed: keeping up
    ],
)
def test_falling_behind_the_camera(
    fps: float, camera_fps: float, latency_ms: float, behind: bool
) -> None:
    status = LiveStatus(
        frames=100, camera_frames=200, fps=fps, camera_fps=camera_fps, latency_ms=latency_ms
    )
    assert status.falling_behind is behind
    assert LiveStatus().falling_behind is False  # no camera yet


def test_a_paused_processor_passes_frames_through_without_analysing() -> None:
    proc, fake = _processor([side_pose(0)] * 5)
    proc.process(np.zeros((H, W, 3), np.uint8), 0.0)
    proc.pause("Analysing your set...")
    out = proc.process(np.zeros((H, W, 3), np.uint8), 0.1)
    assert len(fake.times) == 1 and proc.status().frames == 1
    assert out[H - 60 :].any()  # the message banner along the bottom
    proc.resume()
    proc.process(np.zeros((H, W, 3), np.uint8), 0.2)
    assert len(fake.times) == 2


def test_reps_seen_on_too_few_frames_are_not_counted(tmp_path: Path) -> None:
    """A machine analysing ~3 frames per rep cannot tell a rep from a jump between frames; at 8
    analysed frames a second (a busy machine keeping up) every rep counts."""
    dense = squat_set(3, fps=30.0)
    busy = squat_set(3, fps=8.0)
    sparse = squat_set(3, fps=1.5, rest_s=4.0)  # 3 frames per 2 s rep
    for poses, fps, expected in ((dense, 30.0, 3), (busy, 8.0, 3), (sparse, 1.5, 0)):
        proc, _ = _processor(poses)
        proc.start_recording(tmp_path / f"set-{fps}.mp4")
        for i in range(len(poses)):
            proc.process(np.zeros((H, W, 3), np.uint8), i / fps)
        assert proc.status().reps == expected, fps
        proc.close()


@pytest.mark.parametrize(
    ("wall_s", "recorded_s", "frames", "warned"),
    [
        (10.0, 8.1, 300, False),  # 81 % of the set's time: a slow start, not lost frames
        (10.0, 7.9, 300, True),  # just under 80 %, 2.1 s lost
        (4.0, 2.6, 120, False),  # 65 % but only 1.4 s lost
        (4.0, 2.4, 120, True),  # 1.6 s lost
        (10.0, 10.0, 80, False),  # 8 frames a second: a dim webcam, still whole
        (10.0, 10.0, 79, True),  # bursts after stalls spread over the stall: too few frames
        (1.4, 0.1, 3, False),  # a set ended at once is not a lost recording
    ],
)
def test_a_recording_that_lost_frames_is_told_apart_from_a_slow_camera(
    wall_s: float, recorded_s: float, frames: int, warned: bool
) -> None:
    notice = RecordedSet(Path("set.mp4"), wall_s, recorded_s, frames).gap_notice()
    assert (notice is not None) == warned
    if notice is not None:
        assert notice.code == NoticeCode.RECORDING_INCOMPLETE
        assert notice.message.startswith(f"Only {frames} frames ({recorded_s:.1f} s) of the ")
        assert "record the set again" in notice.advice


def test_a_steady_stream_longer_than_the_stall_limit_is_not_stalled(tmp_path: Path) -> None:
    """Stalled means no frame lately, not a long recording: frames every 0.1 s for 2.5 s."""
    clock = FakeClock()
    proc, _ = _processor([side_pose(0)] * 1000, clock)
    proc.start_recording(tmp_path / "set.mp4")
    for i in range(round((LIVE.stream_stall_s + 0.5) / 0.1)):
        clock.advance(0.1)
        proc.on_frames([_av_frame(i, fps=10.0)])
        status = proc.status()
        assert status.recording and status.stalled_s == 0.0 and not status.stream_stalled
    clock.advance(LIVE.stream_stall_s - 0.01)
    assert not proc.status().stream_stalled  # just under the limit since the last frame
    proc.close()


def test_a_set_whose_stream_stalled_says_so_live_and_in_its_report(tmp_path: Path) -> None:
    """The camera's frames stop coming (a machine too busy for the stream) while the set is
    recorded: the live status says so once LIVE.stream_stall_s have passed; what was recorded is kept
    and analysed, and the report says frames were lost."""
    clock = FakeClock()
    proc, _ = _processor([side_pose(0)] * 10, clock)
    proc.start_recording(tmp_path / "set.mp4")
    for start in range(0, 9, 3):
        clock.advance(0.1)
        proc.on_frames([_av_frame(i) for i in range(start, start + 3)])
    assert not proc.status().stream_stalled
    clock.advance(LIVE.stream_stall_s - 0.01)
    assert not proc.status().stream_stalled
    clock.advance(0.41)  # nothing arrives: the page says so while it lasts
    status = proc.status()
    assert status.stream_stalled and status.stalled_s == pytest.approx(LIVE.stream_stall_s + 0.4)
    recorded = proc.stop_recording()
    assert recorded is not None and recorded.frames == 9
    assert recorded.wall_s == pytest.approx(0.3 + LIVE.stream_stall_s + 0.4)
    assert recorded.recorded_s == pytest.approx(8 / 30.0, abs=1e-3)  # the stall is not in it
    notice = recorded.gap_notice()
    assert notice is not None and notice.code == NoticeCode.RECORDING_INCOMPLETE
    assert notice.message.startswith("Only 9 frames (0.3 s) of the 3 s set reached formcheck")
    options = AnalysisOptions(exercise="squat", write_video=False, input_warnings=(notice,))
    report = analyze(recorded.path, options).report
    assert report.notices[0] == notice  # first: it qualifies everything below it
    stored = SessionReport.from_dict(report.to_dict())
    assert stored.notices[0] == notice
    proc.close()


def test_stop_without_frames_returns_none(tmp_path: Path) -> None:
    recorder = FrameRecorder(tmp_path / "empty.mp4")
    assert recorder.stop() is None
    assert not (tmp_path / "empty.mp4").exists()


def test_recorder_skips_repeated_timestamps(tmp_path: Path) -> None:
    recorder = FrameRecorder(tmp_path / "r.mp4")
    image = np.zeros((48, 64, 3), np.uint8)
    for t in (0.0, 0.033, 0.033, 0.066, 0.05, 0.1):
        recorder.put(image, t)
    assert recorder.stop() == tmp_path / "r.mp4"
    assert [round(f.t_s, 3) for f in iter_frames(tmp_path / "r.mp4")] == [0.0, 0.033, 0.066, 0.1]


def test_status_can_be_read_while_frames_are_processed() -> None:
    poses = squat_set(2)
    proc, _ = _processor(poses)
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                status = proc.status()
                assert status.frames_with_pose <= status.frames
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    reader = threading.Thread(target=read)
    reader.start()
    image = np.zeros((H, W, 3), np.uint8)
    for i in range(len(poses)):
        proc.process(image.copy(), i / 30.0)
        if i == len(poses) // 2:
            proc.new_set()
    done.set()
    reader.join()
    assert errors == []


# --- real pose model on a real clip -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.clips
def test_real_clip_through_the_live_path(clips_dir: Path, tmp_path: Path) -> None:
    """formfit/squat.mp4: 3 back squats from the side (the offline analysis finds the same 3),
    recorded as a set. Fed at 15 fps, as a busy machine would analyse a 30 fps camera."""
    proc = LiveProcessor(Exercise.SQUAT, load_rules("beginner"))
    proc.start_recording(tmp_path / "set.mp4")
    views = set()
    cues = set()
    try:
        for frame in iter_frames(clips_dir / "formfit" / "squat.mp4", max_side=640):
            if frame.index % 2 == 0:
                proc.process(frame.image_bgr, frame.t_s)
                views.add(proc.status().view)
                cues.update(cue.code for cue in proc.status().cues)
        for k in range(20):  # standing still for a moment after the set
            proc.process(frame.image_bgr, frame.t_s + (k + 1) / 15.0)
        status = proc.status()
    finally:
        proc.close()
    assert status.frames_with_pose >= 0.9 * status.frames
    assert status.reps == 3
    assert "side" in views
    # the learned read-out reads the back under the bar: a neutral is found, and this good-form
    # squat gets no back cue
    assert status.neutral_found
    assert not cues & {FaultCode.BACK_ROUNDING.value, FaultCode.BACK_OVERARCH.value}, cues


@pytest.mark.slow
@pytest.mark.clips
def test_real_deadlift_through_the_live_path_finds_the_back_neutral(clips_dir: Path) -> None:
    """formfit/deadlift.mp4: 2 deadlifts from the side; the back outline is clear when standing."""
    proc = LiveProcessor(Exercise.DEADLIFT, load_rules("beginner"))
    try:
        for frame in iter_frames(clips_dir / "formfit" / "deadlift.mp4", max_side=640):
            if frame.index % 2 == 0:
                proc.process(frame.image_bgr, frame.t_s)
        status = proc.status()
    finally:
        proc.close()
    assert status.frames_with_pose >= 0.9 * status.frames
    assert status.neutral_found


def test_live_back_uses_the_review_terms() -> None:
    """Rounding is read only at the hinge, against the lift's population neutral
    (faults.population_rounding), whether or not a standing neutral has been seen; arching against
    the own standing neutral only, never the population."""
    params = load_measure_params()
    hinge = params.spine_hinge_min_lean_deg + 10.0
    reading = params.spine_deadlift_population_neutral_deg + 20.0
    deadlift = LiveProcessor(Exercise.DEADLIFT, load_rules("beginner"))
    rounding, arching = deadlift._back(reading, None, hinge)
    assert rounding == pytest.approx(20.0) and math.isnan(arching)
    assert all(math.isnan(v) for v in deadlift._back(reading, None, 5.0))  # upright: no hinge
    rounding, arching = deadlift._back(reading, reading - 30.0, hinge)  # the own neutral: arching
    assert rounding == pytest.approx(20.0) and arching == pytest.approx(-30.0)
    deadlift.close()
    rounding, arching = deadlift._back(reading, reading - 30.0, 5.0)  # upright: arching only
    assert math.isnan(rounding) and arching == pytest.approx(-30.0)
    squat = LiveProcessor(Exercise.SQUAT, load_rules("beginner"))
    learned = params.spine_squat_population_neutral_deg + 20.0
    rounding, arching = squat._back(learned, None, hinge)
    assert rounding == pytest.approx(20.0) and math.isnan(arching)
    assert squat._back(learned, learned - 30.0, hinge)[0] == pytest.approx(20.0)
    squat.close()


# --- the set's review is the upload's analysis ------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("demo", ["squat_rounded_demo", "deadlift_rounded_demo"])
def test_a_recorded_set_gets_the_verdicts_of_an_upload_of_the_same_frames(
    tmp_path: Path, demo: str
) -> None:
    """The demo's frames through the Live page's path (as WebRTC hands them over, yuv420p,
    arriving at the clip's own times, recorded, the set judged when it ends) and the demo
    uploaded: every rep gets the same verdict on every check, with the same values within the
    recording's re-encoding noise, and the set's review says nothing the upload does not."""
    import shutil

    from formcheck.history import History
    from formcheck.report import verdict_line
    from formcheck.ui.jobs import analyse_and_store, analyse_recorded_set, analysis_options

    clip = Path(__file__).resolve().parents[1] / "sample_videos" / f"{demo}.mp4"
    lift = demo.split("_")[0]
    options = dataclasses.replace(analysis_options(lift, "beginner", {}), write_video=False)
    store = History(tmp_path / "data")

    folder = store.new_session_dir(clip.name)
    shutil.copyfile(clip, folder / clip.name)
    upload = analyse_and_store(
        store, folder / clip.name, folder, options, origin="upload", keep_raw_video=False
    )

    clock = FakeClock()
    preview = FakeDetector([side_pose(0)] * 1000)  # the overlay's pose model: not judged here
    proc = LiveProcessor(
        Exercise(lift), load_rules("beginner"), detector_factory=lambda: preview, clock=clock
    )
    folder = store.new_session_dir(f"live-{lift}")
    proc.start_recording(folder / f"live-{lift}.mp4")
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            clock.t_s = 1000.0 + float(frame.time)
            proc.on_frames([frame])
    recorded = proc.stop_recording()
    proc.close()
    assert recorded is not None and recorded.gap_notice() is None
    live = analyse_recorded_set(store, recorded, folder, options, keep_raw_video=False)

    assert upload.session_id is not None and live.session_id is not None, live.error
    a, b = store.report(upload.session_id), store.report(live.session_id)
    assert store.session(live.session_id).origin == "live"  # type: ignore[union-attr]
    assert a.exercise == b.exercise == lift and a.frames_analysed == b.frames_analysed
    assert [n.code for n in b.notices] == [n.code for n in a.notices]
    assert len(a.reps) == len(b.reps) >= 2
    judged = [c.value for r in a.reps for c in r.checks if c.value is not None]
    assert len(judged) >= 2 * len(a.reps)  # values to compare (the back's at least)
    for ra, rb in zip(a.reps, b.reps, strict=True):
        assert verdict_line(rb) == verdict_line(ra)
        assert [(c.code, c.verdict) for c in rb.checks] == [(c.code, c.verdict) for c in ra.checks]
        for ca, cb in zip(ra.checks, rb.checks, strict=True):
            assert (ca.value is None) == (cb.value is None)
            if ca.value is not None and cb.value is not None:
                assert cb.value == pytest.approx(ca.value, abs=0.1), (rb.index, ca.code)
        assert (rb.start_s, rb.end_s) == pytest.approx((ra.start_s, ra.end_s), abs=0.05)
