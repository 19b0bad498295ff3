"""stride.py: how many frames the pose model skips (known answers per frame rate, the short-clip
and unknown-rate cases) and the interpolation of the frames between (exact on linear motion, in
time not in frame count, gaps stay gaps)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from formcheck.datafiles import DataFileError
from formcheck.landmarks import LM, N_LANDMARKS, PoseFrame
from formcheck.pose import empty_pose_frame
from formcheck.spine import BackSample, empty_back_sample
from formcheck.stride import (
    NTSC_SLACK,
    StrideParams,
    choose_stride,
    densify,
    is_still,
    load_stride_params,
)

FLOOR_12 = StrideParams(min_analysed_fps=12.0, every_frame_below_s=3.0, still_torso_per_s=0.25)
FLOOR_15 = StrideParams(min_analysed_fps=15.0, every_frame_below_s=3.0, still_torso_per_s=0.25)


@pytest.mark.parametrize(
    ("fps", "floor_12", "floor_15"),
    [
        (60.0, 5, 4),
        (59.94, 5, 4),
        (50.0, 4, 3),
        (30.0, 2, 2),
        (29.97, 2, 2),
        (25.0, 2, 1),
        (24.0, 2, 1),
        (23.976, 2, 1),
        (15.0, 1, 1),
        (10.0, 1, 1),
    ],
)
def test_the_stride_keeps_at_least_the_floor_of_analysed_frames_a_second(
    fps: float, floor_12: int, floor_15: int
) -> None:
    assert choose_stride(fps, 60.0, FLOOR_12) == floor_12
    assert choose_stride(fps, 60.0, FLOOR_15) == floor_15
    # never below the floor, but for the NTSC rates (x 1000/1001)
    assert fps / floor_12 >= 12.0 / NTSC_SLACK or floor_12 == 1


def test_a_clip_just_shorter_than_every_frame_below_s_is_analysed_at_every_frame() -> None:
    assert choose_stride(60.0, 2.99, FLOOR_12) == 1
    assert choose_stride(60.0, 3.0, FLOOR_12) == 5


@pytest.mark.parametrize(("fps", "duration_s"), [(math.nan, 10.0), (0.0, 10.0), (30.0, math.nan)])
def test_an_unknown_rate_or_length_is_analysed_at_every_frame(
    fps: float, duration_s: float
) -> None:
    assert choose_stride(fps, duration_s, FLOOR_12) == 1


def test_the_packaged_policy_loads_and_a_broken_one_is_refused_by_name(tmp_path: Path) -> None:
    params = load_stride_params()
    assert params.min_analysed_fps > 0 and params.every_frame_below_s >= 0
    broken = tmp_path / "stride.yaml"
    broken.write_text("schema_version: 1\nmin_analysed_fps: {value: fast, unit: x, rationale: y}\n")
    with pytest.raises(DataFileError, match=r"stride\.yaml"):
        load_stride_params(broken)


# --- is_still -------------------------------------------------------------------------------------

TORSO_PX = 5.0 * 12 * math.sqrt(2)  # _pose: hips' centre 12 landmarks (x 5 px) from the shoulders'


def _moving_at(torso_per_s: float) -> tuple[PoseFrame, PoseFrame]:
    v = np.array([torso_per_s * TORSO_PX, 0.0])
    return _pose(0.0, v), _pose(0.1, v)


def test_a_lifter_just_slower_than_the_limit_is_still_and_just_faster_is_not() -> None:
    a, b = _moving_at(0.24)
    assert is_still(a, 0.0, b, 0.1, FLOOR_12)
    a, b = _moving_at(0.26)
    assert not is_still(a, 0.0, b, 0.1, FLOOR_12)


def test_a_landmark_seen_too_unsurely_does_not_count_as_motion() -> None:
    a, b = _moving_at(0.0)
    xy = b.xy_px.copy()
    xy[LM.LEFT_WRIST] += 200.0  # a far, hidden wrist jumping about
    vis = b.visibility.copy()
    vis[LM.LEFT_WRIST] = 0.1
    assert is_still(a, 0.0, PoseFrame(xy, vis, b.world_m, None, 1), 0.1, FLOOR_12)
    vis[LM.LEFT_WRIST] = 0.9
    assert not is_still(a, 0.0, PoseFrame(xy, vis, b.world_m, None, 1), 0.1, FLOOR_12)


def test_a_lost_lifter_or_no_time_between_is_never_still() -> None:
    a, b = _moving_at(0.0)
    assert not is_still(a, 0.0, empty_pose_frame(0), 0.1, FLOOR_12)
    assert not is_still(empty_pose_frame(0), 0.0, b, 0.1, FLOOR_12)
    assert not is_still(a, 0.1, b, 0.1, FLOOR_12)


# --- densify ------------------------------------------------------------------------------------


def _pose(t: float, velocity: np.ndarray, n_people: int = 1) -> PoseFrame:
    """Every landmark moving in a straight line: xy = 100 + velocity * t + 5 px x its index (the
    shoulders 55-60 px, the hips 115-120 px down and right: a torso 85 px long)."""
    xy = 100.0 + np.tile(velocity * t, (N_LANDMARKS, 1)) + 5.0 * np.arange(N_LANDMARKS)[:, None]
    vis = np.full(N_LANDMARKS, 0.5 + 0.1 * t)
    world = np.concatenate([xy / 1000.0, np.full((N_LANDMARKS, 1), t)], axis=1)
    return PoseFrame(xy_px=xy, visibility=vis, world_m=world, mask=None, n_people=n_people)


def _back(flexion: float, contour_points: int = 5) -> BackSample:
    contour = np.column_stack([np.full(contour_points, flexion), np.arange(contour_points)])
    return BackSample(
        contour_px=contour.astype(np.float64),
        flexion_deg=flexion,
        upper_tangent_px=np.full((2, 2), flexion),
        lower_tangent_px=np.full((2, 2), -flexion),
        confidence=0.5 + flexion / 100.0,
        lumbar_deg=flexion / 2,
        thoracic_deg=flexion / 2,
        sigma_deg=3.0,
    )


# uneven frame times (a variable frame rate clip): interpolation must go by time, not by count
T = [0.0, 0.03, 0.1, 0.12, 0.2, 0.26, 0.31]
ANALYSED = [0, 3, 6]
V = np.array([50.0, -20.0])


def test_linear_motion_is_interpolated_exactly_by_time() -> None:
    frames, back = densify(
        T, ANALYSED, [_pose(T[i], V) for i in ANALYSED], [_back(10 * T[i]) for i in ANALYSED]
    )
    assert len(frames) == len(back) == len(T)
    for t, got, b in zip(T, frames, back, strict=True):
        want = _pose(t, V)
        np.testing.assert_allclose(got.xy_px, want.xy_px, atol=1e-9)
        np.testing.assert_allclose(got.visibility, want.visibility, atol=1e-9)
        np.testing.assert_allclose(got.world_m, want.world_m, atol=1e-9)
        assert b.flexion_deg == pytest.approx(10 * t)
        assert b.confidence == pytest.approx(0.5 + t / 10)
        np.testing.assert_allclose(b.contour_px, _back(10 * t).contour_px, atol=1e-9)
        np.testing.assert_allclose(b.upper_tangent_px, _back(10 * t).upper_tangent_px, atol=1e-9)


def test_analysed_frames_are_passed_through_unchanged() -> None:
    poses = [_pose(T[i], V, n_people=2) for i in ANALYSED]
    backs = [_back(1.0), _back(2.0), _back(3.0)]
    frames, back = densify(T, ANALYSED, poses, backs)
    assert [frames[i] for i in ANALYSED] == poses
    assert [back[i] for i in ANALYSED] == backs


def test_a_gap_stays_a_gap_next_to_a_frame_without_the_lifter() -> None:
    poses = [_pose(0.0, V), empty_pose_frame(0), _pose(T[6], V)]
    frames, _ = densify(T, ANALYSED, poses, [_back(1.0)] * 3)
    assert [f.detected for f in frames] == [True, False, False, False, False, False, True]
    assert all(np.isnan(f.xy_px).all() and not f.visibility.any() for f in frames[1:6])


def test_a_back_reading_missing_on_either_side_leaves_the_frames_between_unread() -> None:
    backs = [_back(1.0), empty_back_sample(), _back(3.0)]
    _, back = densify(T, ANALYSED, [_pose(T[i], V) for i in ANALYSED], backs)
    assert [math.isfinite(b.flexion_deg) for b in back] == [
        True,
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    assert all(b.confidence == 0.0 for b in back[1:6])


def test_an_outline_found_on_one_side_only_is_not_drawn_between_but_the_reading_is() -> None:
    backs = [_back(1.0, contour_points=5), _back(2.0, contour_points=0), _back(3.0)]
    _, back = densify(T, ANALYSED, [_pose(T[i], V) for i in ANALYSED], backs)
    assert back[1].contour_px.shape == (0, 2)
    assert back[1].flexion_deg == pytest.approx(1.0 + 0.03 / 0.12)


def test_interpolated_frames_count_the_people_of_the_nearer_analysed_frame() -> None:
    poses = [_pose(0.0, V, n_people=1), _pose(T[3], V, n_people=2), _pose(T[6], V, n_people=1)]
    frames, _ = densify(T, ANALYSED, poses, [_back(1.0)] * 3)
    assert [f.n_people for f in frames] == [1, 1, 2, 2, 2, 1, 1]


@pytest.mark.parametrize(
    ("analysed", "n_results", "match"),
    [
        ([0, 3], 2, "first and the last"),
        ([1, 6], 2, "first and the last"),
        ([0, 3, 6], 2, "one result per analysed frame"),
        ([0, 3, 3, 6], 4, "must increase"),
    ],
)
def test_bad_analysed_indices_are_refused(analysed: list[int], n_results: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        densify(T, analysed, [_pose(0.0, V)] * n_results, [_back(1.0)] * n_results)


# --- the pipeline at a stride ---------------------------------------------------------------------

DEMOS = Path(__file__).resolve().parents[1] / "sample_videos"


@pytest.mark.slow
def test_skipped_frames_are_time_blends_of_their_analysed_neighbours() -> None:
    from formcheck.pipeline import measure_frames
    from formcheck.video import probe

    clip = DEMOS / "squat_good_demo.mp4"  # 30 fps: every 2nd frame while still
    info = probe(clip)
    strided = measure_frames(clip, info, lambda *a: None, stride=2)
    every = measure_frames(clip, info, lambda *a: None, stride=1)
    assert (strided.stride, every.stride) == (2, 1)
    assert strided.t_s == every.t_s
    assert every.pose_frames == len(every.t_s)
    assert strided.pose_frames is not None and strided.pose_frames < len(strided.t_s)

    def off_the_blend(frames: list[PoseFrame], i: int) -> float:
        """How far frame i's landmarks lie from the time-weighted blend of its two neighbours."""
        t = strided.t_s
        w = (t[i] - t[i - 1]) / (t[i + 1] - t[i - 1])
        blend = (1 - w) * frames[i - 1].xy_px + w * frames[i + 1].xy_px
        return float(np.nanmax(np.abs(frames[i].xy_px - blend)))

    inner = [
        i
        for i in range(1, len(strided.t_s) - 1)
        if all(run.frames[j].detected for run in (strided, every) for j in (i - 1, i, i + 1))
    ]
    blends = [i for i in inner if off_the_blend(strided.frames, i) < 1e-6]
    # every skipped frame is the time-weighted blend of its two analysed neighbours ...
    assert len(blends) >= len(strided.t_s) - strided.pose_frames > 0
    # ... and every-frame mode showed those frames to the model
    assert max(off_the_blend(every.frames, i) for i in blends) > 0.1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["squat_rounded_demo", "deadlift_good_demo"])
def test_a_demo_gets_the_same_reps_and_verdicts_with_fast_as_at_every_frame(name: str) -> None:
    import json

    from formcheck.pipeline import AnalysisOptions, analyze

    clip, truth = DEMOS / f"{name}.mp4", json.loads((DEMOS / f"{name}.json").read_text())
    strided = analyze(clip, AnalysisOptions(write_video=False, fast=True)).report
    every = analyze(clip, AnalysisOptions(write_video=False)).report
    assert (strided.pose_stride, every.pose_stride) == (2, 1)
    assert strided.pose_frames is not None and every.pose_frames == every.frames_total
    assert strided.pose_frames < every.frames_total
    assert len([r for r in strided.reps if not r.partial]) == truth["n_reps"]
    assert [r.verdict for r in strided.reps] == [r.verdict for r in every.reps]
    assert [[f.code for f in r.faults] for r in strided.reps] == [
        [f.code for f in r.faults] for r in every.reps
    ]
    # a rep starts and ends where the lifter stands still: its edge moves a frame or two
    for a, b in zip(strided.reps, every.reps, strict=True):
        assert a.start_s == pytest.approx(b.start_s, abs=0.25)
        assert a.end_s == pytest.approx(b.end_s, abs=0.25)
