"""Rep segmentation and exercise detection on synthetic angle curves with known reps.

A clip is described as a depth profile: "hold" and "move" segments (moves follow a half cosine, so a
down-and-up rep is one sine-like cycle). The profile drives every angle channel through a fixed
posture model for a squat or a deadlift, so the true rep boundaries are known exactly.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from formcheck.kinematics import AngleSeries
from formcheck.landmarks import LM, PoseSequence
from formcheck.reps import (
    REPS_FILE,
    Exercise,
    Phase,
    RepConfigError,
    detect_exercise,
    detection_cues,
    exercise_unsure,
    load_rep_config,
    phase_durations_s,
    segment_reps,
)

FPS = 30.0
TOL_S = 0.1  # rep boundary tolerance: 3 frames at 30 fps

# Posture at depth s (0 standing tall, 1 squat bottom / deadlift floor): channel = a + b * s.
SQUAT_POSTURE = {
    "hip_flex_deg": (5.0, 110.0),
    "knee_flex_deg": (3.0, 120.0),
    "trunk_incl_deg": (8.0, 37.0),
    "thigh_above_horizontal_deg": (88.0, -93.0),
    "hip_height_norm": (1.0, -0.55),
}
DEADLIFT_POSTURE = {
    "hip_flex_deg": (5.0, 95.0),
    "knee_flex_deg": (3.0, 62.0),
    "trunk_incl_deg": (3.0, 67.0),
    "thigh_above_horizontal_deg": (88.0, -60.0),
    "hip_height_norm": (1.0, -0.35),
}

Segment = tuple[str, float, float, float]  # (kind, duration_s, from_level, to_level)


def hold(duration_s: float, level: float) -> Segment:
    return ("hold", duration_s, level, level)


def move(duration_s: float, start: float, stop: float) -> Segment:
    return ("move", duration_s, start, stop)


def rep(duration_s: float, depth: float = 1.0, rest: float = 0.0) -> list[Segment]:
    """Down to depth and back (squat), or for a deadlift profile: up from the floor and back."""
    return [move(duration_s / 2, rest, depth), move(duration_s / 2, depth, rest)]


def profile(t: np.ndarray, segments: list[Segment]) -> tuple[np.ndarray, list[float]]:
    """Depth at times t, and the start time of each segment (plus the end time)."""
    s = np.full(len(t), float(segments[-1][3]))
    starts = [0.0]
    for kind, duration, a, b in segments:
        t0 = starts[-1]
        inside = (t >= t0) & (t < t0 + duration)
        if kind == "hold":
            s[inside] = a
        else:
            u = (t[inside] - t0) / duration
            s[inside] = a + (b - a) * (1 - np.cos(np.pi * u)) / 2
        starts.append(t0 + duration)
    return s, starts


def times(duration_s: float, fps: float = FPS) -> np.ndarray:
    return np.arange(0.0, duration_s, 1.0 / fps)


def angles_from(
    t: np.ndarray,
    depth: np.ndarray,
    posture: dict[str, tuple[float, float]],
    noise_deg: float = 0.0,
    seed: int = 0,
) -> AngleSeries:
    rng = np.random.default_rng(seed)
    chans = {}
    for name in ("trunk_incl_deg", "hip_flex_deg", "knee_flex_deg", "thigh_above_horizontal_deg"):
        a, b = posture[name]
        chans[name] = a + b * depth + rng.normal(0.0, noise_deg, len(t))
    a, b = posture["hip_height_norm"]
    chans["hip_height_norm"] = a + b * depth + rng.normal(0.0, noise_deg / 200, len(t))
    nan = np.full(len(t), np.nan)
    return AngleSeries(
        t_s=t, ankle_dorsi_deg=5.0 + 25.0 * depth, neck_flex_deg=np.zeros(len(t)),
        knee_width_ratio=nan, **chans,
    )  # fmt: skip


def with_nan(angles: AngleSeries, t0: float, t1: float) -> AngleSeries:
    """The lifter is missing between t0 and t1 (every channel NaN)."""
    gone = (angles.t_s >= t0) & (angles.t_s < t1)
    out = {}
    for name in AngleSeries.__dataclass_fields__:
        x = np.array(getattr(angles, name), dtype=np.float64)
        if name != "t_s":
            x[gone] = np.nan
        out[name] = x
    return AngleSeries(**out)


def assert_boundaries(
    seg_reps: list, expected: list[tuple[float, float]], tol: float = TOL_S
) -> None:
    assert len(seg_reps) == len(expected), [(r.start_s, r.end_s) for r in seg_reps]
    for r, (start, end) in zip(seg_reps, expected, strict=True):
        assert r.start_s == pytest.approx(start, abs=tol)
        assert r.end_s == pytest.approx(end, abs=tol)


# ---- squat --------------------------------------------------------------------------------------


def walkout_noise(t: np.ndarray, step_starts: list[float], step_s: float = 0.4) -> np.ndarray:
    """Knee bends of stepping back out of the rack (30 degrees each, 0.4 s)."""
    bump = np.zeros(len(t))
    for t0 in step_starts:
        u = (t - t0) / step_s
        inside = (u >= 0) & (u < 1)
        bump[inside] += 30.0 * np.sin(np.pi * u[inside])
    return bump


def squat_clip(n_reps: int = 5, rep_s: float = 2.4, pause_s: float = 0.6, fps: float = FPS):
    """Setup 2 s (with walk-out steps), reps separated by standing pauses, then 1.5 s standing."""
    segments = [hold(2.0, 0.0)]
    for _ in range(n_reps):
        segments += [*rep(rep_s), hold(pause_s, 0.0)]
    segments.append(hold(1.5, 0.0))
    t = times(sum(s[1] for s in segments), fps)
    depth, starts = profile(t, segments)
    expected = [(starts[1 + 3 * k], starts[3 + 3 * k]) for k in range(n_reps)]
    angles = angles_from(t, depth, SQUAT_POSTURE, noise_deg=1.5)
    bump = walkout_noise(t, [0.3, 0.9, 1.4])
    angles = replace(
        angles,
        knee_flex_deg=angles.knee_flex_deg + bump,
        hip_flex_deg=angles.hip_flex_deg + 0.4 * bump,
    )
    return angles, expected


def test_squat_reps_are_counted_with_boundaries_and_walkout_ignored() -> None:
    angles, expected = squat_clip()
    seg = segment_reps(angles, Exercise.SQUAT)
    assert_boundaries(seg.reps, expected)
    assert [r.index for r in seg.reps] == [1, 2, 3, 4, 5]
    assert not any(r.partial for r in seg.reps)
    # the deepest frame is mid-rep
    for r, (start, end) in zip(seg.reps, expected, strict=True):
        assert r.bottom_s == pytest.approx((start + end) / 2, abs=0.2)


def test_squat_phases_run_descent_bottom_ascent_lockout_and_setup_outside() -> None:
    angles, expected = squat_clip(n_reps=2)
    seg = segment_reps(angles, Exercise.SQUAT)
    t = angles.t_s
    first = seg.reps[0]
    assert [ph for ph, _, _ in first.phases] == [
        Phase.DESCENT, Phase.BOTTOM, Phase.ASCENT, Phase.LOCKOUT,
    ]  # fmt: skip
    # phases tile the rep: contiguous, from start_frame to end_frame
    assert first.phases[0][1] == first.start_frame
    assert first.phases[-1][2] == first.end_frame
    for (_, _, a_end), (_, b_start, _) in zip(first.phases, first.phases[1:], strict=False):
        assert b_start == a_end + 1

    def phase_at(ts: float) -> str:
        return str(seg.phase_per_frame[int(np.argmin(np.abs(t - ts)))])

    start, end = expected[0]
    assert phase_at(1.0) == Phase.SETUP  # walk-out
    assert phase_at(start + 0.25 * (end - start)) == Phase.DESCENT
    assert phase_at((start + end) / 2) == Phase.BOTTOM
    assert phase_at(start + 0.75 * (end - start)) == Phase.ASCENT
    assert phase_at(first.end_s) == Phase.LOCKOUT  # standing tall again
    assert phase_at(first.end_s + 0.1) == Phase.SETUP  # the pause before the next rep
    assert phase_at(angles.t_s[-1]) == Phase.SETUP  # after the last rep
    assert seg.phase_per_frame.shape == (len(t),)


def test_tempo_descent_and_ascent_durations_add_up_to_the_rep() -> None:
    angles, _ = squat_clip(n_reps=1, rep_s=3.0)
    (r,) = segment_reps(angles, Exercise.SQUAT).reps
    tempo = phase_durations_s(r, angles.t_s)
    assert sum(tempo.values()) == pytest.approx(r.duration_s)
    down = tempo[Phase.DESCENT] + tempo[Phase.BOTTOM] / 2
    up = tempo[Phase.ASCENT] + tempo[Phase.BOTTOM] / 2 + tempo[Phase.LOCKOUT]
    assert down == pytest.approx(1.5, abs=0.2)
    assert up == pytest.approx(1.5, abs=0.2)


def test_partial_rep_is_counted_and_flagged() -> None:
    segments = [hold(1.5, 0.0)]
    for depth in (1.0, 1.0, 0.5, 1.0):
        segments += [*rep(2.4, depth), hold(0.6, 0.0)]
    t = times(sum(s[1] for s in segments))
    depth, starts = profile(t, segments)
    angles = angles_from(t, depth, SQUAT_POSTURE, noise_deg=1.0)
    seg = segment_reps(angles, Exercise.SQUAT)
    assert_boundaries(seg.reps, [(starts[1 + 3 * k], starts[3 + 3 * k]) for k in range(4)])
    assert [r.partial for r in seg.reps] == [False, False, True, False]


def test_tiny_dips_and_standing_noise_are_not_reps() -> None:
    segments = [hold(2.0, 0.0), *rep(2.0, 0.15), hold(1.0, 0.0), *rep(2.0, 0.2), hold(2.0, 0.0)]
    t = times(sum(s[1] for s in segments))
    depth, _ = profile(t, segments)
    angles = angles_from(t, depth, SQUAT_POSTURE, noise_deg=2.0)
    assert segment_reps(angles, Exercise.SQUAT).reps == []


def test_a_blip_shorter_than_the_minimum_rep_duration_is_not_a_rep() -> None:
    segments = [hold(2.0, 0.0), *rep(0.4, 1.0), hold(2.0, 0.0)]
    t = times(sum(s[1] for s in segments))
    depth, _ = profile(t, segments)
    assert segment_reps(angles_from(t, depth, SQUAT_POSTURE), Exercise.SQUAT).reps == []


def test_min_rep_duration_comes_from_the_config() -> None:
    segments = [hold(2.0, 0.0), *rep(0.9, 1.0), hold(2.0, 0.0)]
    t = times(sum(s[1] for s in segments))
    depth, _ = profile(t, segments)
    angles = angles_from(t, depth, SQUAT_POSTURE)
    cfg = load_rep_config()
    assert len(segment_reps(angles, Exercise.SQUAT, cfg).reps) == 1
    strict = replace(cfg, segmentation=replace(cfg.segmentation, min_rep_s=1.5))
    assert segment_reps(angles, Exercise.SQUAT, strict).reps == []


def test_variable_frame_rate_gives_boundaries_in_seconds() -> None:
    rng = np.random.default_rng(3)
    dt = rng.uniform(1 / 60, 1 / 20, 2000)  # jittery phone timestamps, 20-60 fps
    segments = [hold(2.0, 0.0)]
    for _ in range(4):
        segments += [*rep(2.4), hold(0.6, 0.0)]
    total = sum(s[1] for s in segments)
    t = np.cumsum(dt)
    t = t[t < total]
    depth, starts = profile(t, segments)
    seg = segment_reps(angles_from(t, depth, SQUAT_POSTURE, noise_deg=1.0), Exercise.SQUAT)
    assert_boundaries(seg.reps, [(starts[1 + 3 * k], starts[3 + 3 * k]) for k in range(4)])


def test_nan_gap_between_reps_keeps_every_rep() -> None:
    angles, expected = squat_clip(pause_s=1.6)
    pause_mid = (expected[1][1] + expected[2][0]) / 2
    gappy = with_nan(angles, pause_mid - 0.4, pause_mid + 0.4)  # standing, out of view 0.8 s
    seg = segment_reps(gappy, Exercise.SQUAT)
    assert_boundaries(seg.reps, expected)


def test_rep_first_seen_past_the_enter_line_is_not_counted() -> None:
    angles, expected = squat_clip()
    start = expected[2][0]
    gappy = with_nan(angles, start - 0.5, start + 0.8)  # back in view two thirds of the way down
    seg = segment_reps(gappy, Exercise.SQUAT)
    assert_boundaries(seg.reps, expected[:2] + expected[3:])


def test_rep_seen_from_early_in_the_descent_counts_from_when_it_was_seen() -> None:
    angles, expected = squat_clip()
    start, end = expected[2]
    gappy = with_nan(angles, start - 0.5, start + 0.3)  # back in view a quarter of the way down
    seg = segment_reps(gappy, Exercise.SQUAT)
    assert_boundaries(seg.reps, [*expected[:2], (start + 0.3, end), *expected[3:]])


def test_squat_clip_starting_mid_descent_counts_that_rep() -> None:
    segments = [move(0.8, 0.3, 1.0), move(1.2, 1.0, 0.0), hold(1.0, 0.0), *rep(2.4), hold(1.0, 0.0)]
    t = times(sum(s[1] for s in segments))
    depth, starts = profile(t, segments)
    seg = segment_reps(angles_from(t, depth, SQUAT_POSTURE), Exercise.SQUAT)
    assert_boundaries(seg.reps, [(0.0, starts[2]), (starts[3], starts[5])])


def test_squat_clip_starting_at_the_bottom_skips_that_half_rep() -> None:
    segments = [hold(0.5, 1.0), move(1.2, 1.0, 0.0), hold(1.0, 0.0), *rep(2.4), hold(1.0, 0.0)]
    t = times(sum(s[1] for s in segments))
    depth, starts = profile(t, segments)
    seg = segment_reps(angles_from(t, depth, SQUAT_POSTURE), Exercise.SQUAT)
    assert_boundaries(seg.reps, [(starts[3], starts[5])])


def test_nan_gap_over_a_rep_bottom_does_not_invent_or_merge_reps() -> None:
    angles, expected = squat_clip()
    start, end = expected[2]
    mid = (start + end) / 2
    gappy = with_nan(angles, mid - 0.5, mid + 0.5)  # the third rep's bottom was never seen
    seg = segment_reps(gappy, Exercise.SQUAT)
    assert_boundaries(seg.reps, expected[:2] + expected[3:])
    assert [r.index for r in seg.reps] == [1, 2, 3, 4]


def test_short_nan_gap_inside_a_rep_is_bridged() -> None:
    angles, expected = squat_clip(n_reps=3)
    start = expected[1][0]
    gappy = with_nan(angles, start + 0.5, start + 0.7)
    assert_boundaries(segment_reps(gappy, Exercise.SQUAT).reps, expected)


def test_squat_cut_off_at_the_bottom_is_not_a_rep() -> None:
    segments = [hold(1.5, 0.0), *rep(2.4), hold(0.6, 0.0), move(1.2, 0.0, 1.0), hold(0.5, 1.0)]
    t = times(sum(s[1] for s in segments))
    depth, starts = profile(t, segments)
    seg = segment_reps(angles_from(t, depth, SQUAT_POSTURE), Exercise.SQUAT)
    assert_boundaries(seg.reps, [(starts[1], starts[3])])


def test_all_missing_or_unknown_exercise_gives_no_reps() -> None:
    angles, _ = squat_clip(n_reps=1)
    missing = with_nan(angles, -1.0, 1e9)
    seg = segment_reps(missing, Exercise.SQUAT)
    assert seg.reps == [] and set(seg.phase_per_frame) == {Phase.SETUP.value}
    assert segment_reps(angles, Exercise.UNKNOWN).reps == []


def test_non_increasing_timestamps_are_rejected() -> None:
    angles, _ = squat_clip(n_reps=1)
    t = angles.t_s.copy()
    t[10] = t[9]
    with pytest.raises(ValueError, match="strictly increasing"):
        segment_reps(replace(angles, t_s=t), Exercise.SQUAT)


# ---- deadlift -----------------------------------------------------------------------------------


def deadlift_clip(n_reps: int = 3, end_at_lockout: bool = False, walk_up: bool = True):
    """Optionally stand, then bend down to the bar; each rep: pull 1 s, hold 0.6 s, lower 1 s,
    reset 0.8 s. Depth 1 = at the floor. Returns angles and the expected (start, end) per rep."""
    segments = (
        [hold(1.0, 0.0), move(1.0, 0.0, 1.0), hold(1.0, 1.0)] if walk_up else [hold(1.0, 1.0)]
    )
    expected = []
    for k in range(n_reps):
        t0 = sum(s[1] for s in segments)
        if k == n_reps - 1 and end_at_lockout:
            segments += [move(1.0, 1.0, 0.0), hold(1.2, 0.0)]
            expected.append((t0, t0 + 2.2))
        else:
            segments += [move(1.0, 1.0, 0.0), hold(0.6, 0.0), move(1.0, 0.0, 1.0), hold(0.8, 1.0)]
            expected.append((t0, t0 + 2.6))
    t = times(sum(s[1] for s in segments))
    depth, _ = profile(t, segments)
    return angles_from(t, depth, DEADLIFT_POSTURE, noise_deg=1.5), expected


def test_deadlift_reps_start_on_the_floor_and_ignore_bending_down_to_the_bar() -> None:
    angles, expected = deadlift_clip()
    seg = segment_reps(angles, Exercise.DEADLIFT)
    assert_boundaries(seg.reps, expected)
    r = seg.reps[0]
    assert [ph for ph, _, _ in r.phases] == [
        Phase.ASCENT, Phase.LOCKOUT, Phase.DESCENT, Phase.BOTTOM,
    ]  # fmt: skip
    # the turning point is the lockout hold (1.0..1.6 s after the start)
    assert 0.9 <= r.bottom_s - r.start_s <= 1.7
    t = angles.t_s
    assert seg.phase_per_frame[int(np.argmin(np.abs(t - 1.5)))] == Phase.SETUP  # bending to the bar
    assert seg.phase_per_frame[int(np.argmin(np.abs(t - (r.start_s + 1.3))))] == Phase.LOCKOUT


def test_deadlift_last_rep_may_end_at_lockout() -> None:
    angles, expected = deadlift_clip(end_at_lockout=True)
    seg = segment_reps(angles, Exercise.DEADLIFT)
    assert_boundaries(seg.reps, expected)
    last = seg.reps[-1]
    assert [ph for ph, _, _ in last.phases] == [Phase.ASCENT, Phase.LOCKOUT]
    assert last.end_frame == len(angles) - 1
    assert not last.partial


def test_deadlift_clip_starting_at_the_floor() -> None:
    angles, expected = deadlift_clip(n_reps=2, walk_up=False)
    assert_boundaries(segment_reps(angles, Exercise.DEADLIFT).reps, expected)


def test_deadlift_pull_cut_off_halfway_is_not_a_lockout_rep() -> None:
    segments = [
        hold(1.0, 1.0),
        move(1.0, 1.0, 0.0),
        hold(0.6, 0.0),
        move(1.0, 0.0, 1.0),
        hold(0.8, 1.0),
    ]
    segments += [move(0.6, 1.0, 0.5)]  # the clip stops mid-pull
    t = times(sum(s[1] for s in segments))
    depth, _ = profile(t, segments)
    seg = segment_reps(angles_from(t, depth, DEADLIFT_POSTURE), Exercise.DEADLIFT)
    assert_boundaries(seg.reps, [(1.0, 3.6)])


def test_deadlift_last_rep_cut_off_while_lowering_still_counts() -> None:
    segments = [hold(1.0, 1.0), move(1.0, 1.0, 0.0), hold(0.6, 0.0), move(0.5, 0.0, 0.5)]
    t = times(sum(s[1] for s in segments))
    depth, _ = profile(t, segments)
    (r,) = segment_reps(angles_from(t, depth, DEADLIFT_POSTURE), Exercise.DEADLIFT).reps
    assert r.start_s == pytest.approx(1.0, abs=TOL_S)
    assert r.end_frame == len(t) - 1
    assert [ph for ph, _, _ in r.phases] == [Phase.ASCENT, Phase.LOCKOUT, Phase.DESCENT]


def test_slow_hip_creep_before_the_pull_is_not_part_of_the_rep() -> None:
    segments = [hold(1.0, 1.0), move(2.0, 1.0, 0.93), *rep(2.0, 0.0, 0.93), hold(1.0, 0.93)]
    t = times(sum(s[1] for s in segments))
    depth, starts = profile(t, segments)
    seg = segment_reps(angles_from(t, depth, DEADLIFT_POSTURE, 0.5), Exercise.DEADLIFT)
    assert_boundaries(seg.reps, [(starts[2], starts[4])])


# ---- exercise detection -------------------------------------------------------------------------


def test_detects_squat() -> None:
    angles, _ = squat_clip()
    exercise, confidence = detect_exercise(angles)
    assert exercise is Exercise.SQUAT
    assert confidence >= 0.7


@pytest.mark.parametrize("walk_up", [True, False])
def test_detects_deadlift(walk_up: bool) -> None:
    angles, _ = deadlift_clip(walk_up=walk_up)
    exercise, confidence = detect_exercise(angles)
    assert exercise is Exercise.DEADLIFT
    assert confidence >= 0.6


def test_a_few_glitched_frames_do_not_hide_the_deadlift() -> None:
    """A knee landmark flipping for a few moments (knee flexion read as ~175 degrees) stretches that
    channel's scale, so the mixed depth signal tops out well below 1 (0.75-0.82 on rendered dev-set
    deadlifts); the posture cues are read within the band below the signal's own deepest level,
    not below 1, or there are no 'deep' frames and the lift comes out unknown."""
    angles, _ = deadlift_clip()
    knee = angles.knee_flex_deg.copy()
    for start in (40, 150, 230):  # three 0.2 s bursts while standing
        knee[start : start + 6] = 175.0
    glitched = replace(angles, knee_flex_deg=knee)
    exercise, confidence = detect_exercise(glitched)
    assert exercise is Exercise.DEADLIFT
    assert confidence >= 0.5


def test_standing_still_is_unknown() -> None:
    t = times(5.0)
    angles = angles_from(t, np.zeros(len(t)), SQUAT_POSTURE, noise_deg=2.0)
    assert detect_exercise(angles) == (Exercise.UNKNOWN, 0.0)


def test_posture_halfway_between_squat_and_deadlift_names_a_lift_but_is_unsure() -> None:
    middle = {
        name: ((SQUAT_POSTURE[name][0] + DEADLIFT_POSTURE[name][0]) / 2,
               (SQUAT_POSTURE[name][1] + DEADLIFT_POSTURE[name][1]) / 2)
        for name in SQUAT_POSTURE
    }  # fmt: skip
    segments = [hold(1.0, 0.5), *rep(2.4, 1.0, 0.5), hold(1.0, 0.5)]  # starts half-way down
    t = times(sum(s[1] for s in segments))
    depth, _ = profile(t, segments)
    exercise, confidence = detect_exercise(angles_from(t, depth, middle))
    assert exercise in (Exercise.SQUAT, Exercise.DEADLIFT)
    assert exercise_unsure(confidence)


def test_one_deeper_deadlift_rep_does_not_hide_the_touch_and_go_reps_before_it() -> None:
    """Touch-and-go pulls that stop a little short of the clip's deepest floor (the last rep goes
    lower): every rep reverses by its own range, so all three count."""
    segments = [hold(1.0, 0.0), move(1.0, 0.0, 0.8), hold(0.3, 0.8)]
    for floor in (0.8, 0.8):
        segments += [move(1.0, floor, 0.0), hold(0.4, 0.0), move(1.0, 0.0, floor), hold(0.2, floor)]
    segments += [move(1.0, 0.8, 0.0), hold(0.4, 0.0), move(1.0, 0.0, 1.0), hold(0.5, 1.0)]
    t = times(sum(s[1] for s in segments))
    depth, starts = profile(t, segments)
    seg = segment_reps(angles_from(t, depth, DEADLIFT_POSTURE, noise_deg=1.0), Exercise.DEADLIFT)
    expected = [(starts[3], starts[6]), (starts[7], starts[10]), (starts[11], starts[14])]
    assert_boundaries(seg.reps, expected, tol=0.25)


def test_knee_landmark_flip_at_the_bottom_does_not_split_a_squat() -> None:
    """Hip and knee flexion collapse for 0.2 s at each bottom (a knee landmark snapping to the
    wrong side) while hip height stays low: still one rep per squat."""
    angles, expected = squat_clip(n_reps=3)
    t = angles.t_s
    knee, hip = angles.knee_flex_deg.copy(), angles.hip_flex_deg.copy()
    for start, end in expected:
        flip = np.abs(t - (start + end) / 2) < 0.1
        knee[flip] = -20.0
        hip[flip] = 40.0
    seg = segment_reps(replace(angles, knee_flex_deg=knee, hip_flex_deg=hip), Exercise.SQUAT)
    assert_boundaries(seg.reps, expected)


def landmarks_for(angles: AngleSeries, wrist_below_hip_torso: float) -> PoseSequence:
    """Landmarks with the hips at hip_height_norm, a 100 px torso above them (leaning by
    trunk_incl_deg) and both wrists the given torso lengths below the hips (negative = above)."""
    n = len(angles)
    xy = np.full((n, 33, 2), np.nan)
    hip_y = 500.0 - 200.0 * np.asarray(angles.hip_height_norm)
    lean = np.radians(angles.trunk_incl_deg)
    for side in (0, 1):
        xy[:, LM.LEFT_HIP + side] = np.stack([np.full(n, 300.0), hip_y], axis=1)
        xy[:, LM.LEFT_SHOULDER + side] = np.stack(
            [300.0 + 100.0 * np.sin(lean), hip_y - 100.0 * np.cos(lean)], axis=1
        )
        xy[:, LM.LEFT_WRIST + side] = np.stack(
            [np.full(n, 320.0), hip_y + 100.0 * wrist_below_hip_torso], axis=1
        )
    return PoseSequence(
        t_s=angles.t_s, xy_px=xy, visibility=np.ones((n, 33)), world_m=np.full((n, 33, 3), np.nan),
        n_people=np.ones(n, dtype=np.int64), width_px=640, height_px=640,
    )  # fmt: skip


def squatty_deadlift() -> AngleSeries:
    """A deadlift pulled with squat-like knees and a fairly upright back: the angles alone are
    ambiguous."""
    posture = dict(DEADLIFT_POSTURE)
    posture["knee_flex_deg"] = (3.0, 80.0)
    posture["trunk_incl_deg"] = (3.0, 50.0)
    posture["thigh_above_horizontal_deg"] = (88.0, -73.0)
    segments = [hold(1.0, 0.0), move(1.0, 0.0, 1.0), hold(0.5, 1.0)]
    segments += [move(1.0, 1.0, 0.0), hold(0.5, 0.0), move(1.0, 0.0, 1.0), hold(0.5, 1.0)] * 3
    t = times(sum(s[1] for s in segments))
    depth, _ = profile(t, segments)
    return angles_from(t, depth, posture, noise_deg=1.0)


def test_hands_hanging_below_the_hips_make_an_ambiguous_pull_a_deadlift() -> None:
    angles = squatty_deadlift()
    assert exercise_unsure(detect_exercise(angles)[1])  # the angles alone cannot tell
    assert detect_exercise(angles, pose=landmarks_for(angles, 0.6))[0] is Exercise.DEADLIFT
    assert detect_exercise(angles, pose=landmarks_for(angles, -0.8))[0] is Exercise.SQUAT


@pytest.mark.parametrize("wrist, expected", [(-0.8, Exercise.SQUAT), (0.7, Exercise.DEADLIFT)])
def test_hands_decide_the_lift_from_the_front(wrist: float, expected: Exercise) -> None:
    """Front view: flexion is foreshortened (hips bend < 30 deg on screen) and the trunk reads
    upright; hip height still times the reps, and the hands name the lift."""
    front = {
        "hip_flex_deg": (10.0, 25.0),
        "knee_flex_deg": (2.0, 25.0),
        "trunk_incl_deg": (1.0, 1.0),
        "thigh_above_horizontal_deg": (85.0, -20.0),
        "hip_height_norm": (1.0, -0.4),
    }
    segments = [hold(1.0, 0.0)]
    for _ in range(3):
        segments += [*rep(2.4), hold(0.6, 0.0)]
    t = times(sum(s[1] for s in segments))
    depth, _ = profile(t, segments)
    angles = angles_from(t, depth, front, noise_deg=1.0)
    exercise, _ = detect_exercise(angles, pose=landmarks_for(angles, wrist))
    assert exercise is expected
    if expected is Exercise.SQUAT:
        assert len(segment_reps(angles, exercise).reps) == 3


def test_hands_on_the_hips_leave_the_decision_to_the_posture() -> None:
    angles, _ = squat_clip()
    neutral = detection_cues(angles, pose=landmarks_for(angles, 0.0))
    assert neutral["wrist_below_hip_at_depth"] == pytest.approx(0.0, abs=0.05)
    assert detect_exercise(angles, pose=landmarks_for(angles, 0.0))[0] is Exercise.SQUAT


def test_pose_of_another_length_is_rejected() -> None:
    angles, _ = squat_clip(n_reps=1)
    short = landmarks_for(angles, 0.0)
    short = replace(short, t_s=short.t_s[:-1], xy_px=short.xy_px[:-1],
                    visibility=short.visibility[:-1], world_m=short.world_m[:-1],
                    n_people=short.n_people[:-1])  # fmt: skip
    with pytest.raises(ValueError, match="frames"):
        detect_exercise(angles, pose=short)


# ---- configuration file -------------------------------------------------------------------------


def packaged_yaml() -> dict:
    path = Path(__file__).resolve().parents[1] / "src" / "formcheck" / "data" / REPS_FILE
    return yaml.safe_load(path.read_text())


def test_every_segmentation_key_has_a_unit_and_a_rationale() -> None:
    raw = packaged_yaml()
    for name, entry in raw["segmentation"].items():
        assert entry["unit"] and len(entry["rationale"]) > 20, name


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["segmentation"].pop("min_rep_s"), "missing keys \\['min_rep_s'\\]"),
        (lambda d: d["segmentation"].update(typo_s={"value": 1, "unit": "s", "rationale": "x"}),
         "unknown keys \\['typo_s'\\]"),
        (lambda d: d["segmentation"]["max_gap_s"].update(value="long"), "max_gap_s.value"),
        (lambda d: d["segmentation"]["reversal_frac"].update(value=1.5), "reversal_frac < 1"),
        (lambda d: d["depth_channels"]["squat"].update(wrist_deg=1.0), "depth_channels.squat"),
        (lambda d: d["detection"]["features"].pop("start_depth_frac"), "start_depth_frac"),
        (lambda d: d.update(schema_version=2), "schema_version"),
    ],
)  # fmt: skip
def test_malformed_rep_config_is_rejected_with_the_key(
    tmp_path: Path, mutate, message: str
) -> None:
    raw = packaged_yaml()
    mutate(raw)
    path = tmp_path / "reps.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(RepConfigError, match=message):
        load_rep_config(path)


def test_unreadable_rep_config_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "reps.yaml"
    path.write_text("segmentation: [unclosed")
    with pytest.raises(RepConfigError, match=r"reps\.yaml"):
        load_rep_config(path)


def test_garbled_frames_between_deadlift_reps_do_not_break_the_count() -> None:
    """A rendered deadlift set (benchmarks/synth_dev.yaml, deadlift_t26_neutral5) whose pose is
    garbled at the floor between reps 1 and 2: the first rep's end edge was found inside the second
    rep's rise and segmentation raised (an empty rest window). Now the first rep ends at the rest
    point between the two; the reps do not overlap (a rest frame may be shared) and their phases
    stay inside them."""
    data = np.load(Path(__file__).parent / "data" / "deadlift_garbled_floor_angles.npz")
    angles = AngleSeries(**{k: data[k].astype(np.float64) for k in data.files})
    found = segment_reps(angles, Exercise.DEADLIFT).reps
    assert len(found) >= 2
    for before, after in itertools.pairwise(found):
        assert before.end_frame <= after.start_frame
    for r in found:
        assert all(r.start_frame <= a <= b <= r.end_frame for _, a, b in r.phases)


# ---- detection on real-clip troubles: glitches, flipped facing, hidden hands, short clips ------

DETECTION = load_rep_config().detection


def test_confidence_just_under_the_unsure_line_is_unsure() -> None:
    assert exercise_unsure(DETECTION.unsure_below - 0.01)
    assert not exercise_unsure(DETECTION.unsure_below)


def test_standing_still_with_the_hands_hanging_is_read_from_the_hands() -> None:
    """Nothing moves, so there is no bottom posture; the hands still name the lift (low
    confidence: one cue). Without the landmarks there is no evidence: unknown."""
    t = times(5.0)
    angles = angles_from(t, np.zeros(len(t)), DEADLIFT_POSTURE, noise_deg=2.0)
    assert detect_exercise(angles) == (Exercise.UNKNOWN, 0.0)
    exercise, confidence = detect_exercise(angles, pose=landmarks_for(angles, 0.4))
    assert exercise is Exercise.DEADLIFT
    assert 0.0 < confidence <= 1.0
    assert detect_exercise(angles, pose=landmarks_for(angles, -0.8))[0] is Exercise.SQUAT


def glitch(angles: AngleSeries, t0: float, duration_s: float, **values: float) -> AngleSeries:
    inside = (angles.t_s >= t0) & (angles.t_s < t0 + duration_s)
    out = {}
    for name, value in values.items():
        x = np.array(getattr(angles, name), dtype=np.float64)
        x[inside] = value
        out[name] = x
    return replace(angles, **out)


# far deeper than any squat bottom (hips at the ankles, hips folded), posed like a deadlift floor
DEADLIFT_GLITCH = {
    "hip_height_norm": 0.0, "hip_flex_deg": 170.0, "knee_flex_deg": 123.0,
    "trunk_incl_deg": 75.0, "thigh_above_horizontal_deg": 35.0,
}  # fmt: skip


@pytest.mark.parametrize("held_s, expected", [(0.2, Exercise.SQUAT), (1.0, Exercise.DEADLIFT)])
def test_a_glitch_shorter_than_deepest_min_s_is_not_the_bottom(
    held_s: float, expected: Exercise
) -> None:
    """Posture cues are read at the deepest level the clip holds for deepest_min_s: a burst of
    garbled frames deeper than every squat bottom is not read when shorter (0.2 s), and is
    read when held longer (1 s)."""
    assert 0.2 < DETECTION.deepest_min_s < 1.0
    angles, _ = squat_clip(n_reps=3)
    glitched = glitch(angles, 1.0, held_s, **DEADLIFT_GLITCH)
    assert detect_exercise(glitched)[0] is expected


def test_an_upside_down_skeleton_is_not_read() -> None:
    """Frames whose trunk leans past max_trunk_deg (shoulders below the hips: a flipped skeleton)
    are dropped; a long stretch of them at the deadlift floor leaves the squat squat."""
    angles, _ = squat_clip(n_reps=3)
    over = dict(DEADLIFT_GLITCH, trunk_incl_deg=DETECTION.max_trunk_deg + 5.0)
    under = dict(DEADLIFT_GLITCH, trunk_incl_deg=DETECTION.max_trunk_deg - 5.0)
    assert detect_exercise(glitch(angles, 1.0, 1.0, **over))[0] is Exercise.SQUAT
    assert detect_exercise(glitch(angles, 1.0, 1.0, **under))[0] is Exercise.DEADLIFT


def test_a_facing_guessed_the_wrong_way_gives_the_same_cues() -> None:
    """An oblique view whose facing is guessed wrong reads the trunk lean negative and the thigh
    angle as 180 - it; the cues read them unsigned / folded."""
    angles, _ = deadlift_clip()
    flipped = replace(
        angles,
        trunk_incl_deg=-angles.trunk_incl_deg,
        thigh_above_horizontal_deg=180.0 - angles.thigh_above_horizontal_deg,
    )
    assert detection_cues(flipped) == pytest.approx(detection_cues(angles))
    assert detect_exercise(flipped)[0] is Exercise.DEADLIFT


def test_hands_hidden_at_the_floor_are_read_where_they_were_last_seen_deepest() -> None:
    """Plates hide the hands at the deepest frames: the hands cue is read at the deepest frames
    where the wrists are seen, not left out."""
    angles = squatty_deadlift()
    pose = landmarks_for(angles, 0.6)
    deep = np.asarray(angles.hip_height_norm) < 0.75
    xy = pose.xy_px.copy()
    xy[deep, LM.LEFT_WRIST] = np.nan
    xy[deep, LM.RIGHT_WRIST] = np.nan
    hidden = replace(pose, xy_px=xy)
    assert detection_cues(angles, pose=hidden)["wrist_below_hip_at_depth"] == pytest.approx(
        0.6, abs=0.05
    )
    assert detect_exercise(angles, pose=hidden)[0] is Exercise.DEADLIFT


def test_a_clip_shorter_than_full_evidence_s_is_less_sure() -> None:
    """The same pull seen for half of full_evidence_s gets half the confidence."""
    segments = [hold(0.3, 1.0), move(1.4, 1.0, 0.0), hold(2.0, 0.0)]
    t = times(sum(s[1] for s in segments))
    depth, _ = profile(t, segments)
    angles = angles_from(t, depth, DEADLIFT_POSTURE)
    long_ex, long_conf = detect_exercise(angles)
    half = t < DETECTION.full_evidence_s / 2
    short = AngleSeries(**{f: np.asarray(getattr(angles, f))[half]
                           for f in AngleSeries.__dataclass_fields__})  # fmt: skip
    short_ex, short_conf = detect_exercise(short)
    assert long_ex is short_ex is Exercise.DEADLIFT
    assert short_conf == pytest.approx(long_conf / 2, abs=0.05)


def test_every_detection_value_has_a_unit_and_a_rationale() -> None:
    raw = packaged_yaml()["detection"]
    for name, entry in raw.items():
        if name in ("depth_channels", "features"):
            continue
        assert entry["unit"] and len(entry["rationale"]) > 20, name
