"""Tracking the lifter backwards (pipeline.backfill): which gaps are tried, and a clip whose first
2.9 s the pose detector misses (the near plate of a back squat hides the lifter's head) recovered.

The clip is one of the committed rendered lifters (benchmarks/synth), so this runs everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from formcheck import pipeline
from formcheck.landmarks import N_LANDMARKS, PoseFrame
from formcheck.pose import PoseEstimator, default_model_path, empty_pose_frame
from formcheck.video import VideoInfo, iter_frames

REPO = Path(__file__).resolve().parents[1]
HIDDEN_HEAD = REPO / "benchmarks" / "synth" / "squat_round20_bottom_side.mp4"
FPS = 30.0


def _info(width: int = 640, height: int = 480) -> VideoInfo:
    return VideoInfo(
        path=Path("x.mp4"),
        width=width,
        height=height,
        fps=FPS,
        duration_s=10.0,
        n_frames_estimate=300,
        codec="h264",
        rotation_deg=0,
    )


def _found() -> PoseFrame:
    return PoseFrame(
        np.zeros((N_LANDMARKS, 2)), np.ones(N_LANDMARKS), np.zeros((N_LANDMARKS, 3)), None, 1
    )


def _frames(pattern: str) -> tuple[list[float], list[PoseFrame]]:
    """One frame per character: '.' lifter missing, 'x' found; 30 fps."""
    t_s = [i / FPS for i in range(len(pattern))]
    return t_s, [_found() if c == "x" else empty_pose_frame() for c in pattern]


def test_only_gaps_followed_by_the_lifter_and_long_enough_are_tracked_back() -> None:
    min_frames = round(pipeline.BACKFILL_MIN_S * FPS)
    pattern = (
        "." * 20  # leading gap: tried
        + "x" * 5
        + "." * (min_frames - 1)  # just too short: the signals' interpolation bridges it
        + "x" * 5
        + "." * min_frames  # just long enough
        + "x" * 5
        + "." * 30  # trailing gap: nobody to track back from
    )
    t_s, frames = _frames(pattern)
    spans = pipeline._backfill_spans(_info(), t_s, frames, [])
    second = 20 + 5 + min_frames - 1 + 5
    assert spans == [(0, 20), (second, second + min_frames)]


def test_a_long_gap_is_tracked_back_at_most_the_time_and_memory_limits() -> None:
    t_s, frames = _frames("." * 300 + "x")
    ((lo, found),) = pipeline._backfill_spans(_info(), t_s, frames, [])
    assert found == 300
    assert (found - lo) / FPS == pytest.approx(pipeline.BACKFILL_MAX_S, abs=1.5 / FPS)
    # 4K frames: the memory cap binds before the time cap
    ((lo4k, _),) = pipeline._backfill_spans(_info(3840, 2160), t_s, frames, [])
    frame_mb = 3840 * 2160 * 3 / 1e6
    assert found - lo4k == int(pipeline.BACKFILL_MAX_MB / frame_mb)


def test_tracking_back_never_crosses_a_camera_cut() -> None:
    t_s, frames = _frames("." * 60 + "x" * 3)
    cut_at = 40
    ((lo, found),) = pipeline._backfill_spans(_info(), t_s, frames, [t_s[cut_at]])
    assert (lo, found) == (cut_at, 60)
    # a cut after the re-found frame changes nothing
    assert pipeline._backfill_spans(_info(), t_s, frames, [t_s[62]]) == [(0, 60)]


needs_model = pytest.mark.skipif(
    not default_model_path().is_file(), reason=f"pose model not found at {default_model_path()}"
)


@needs_model
def test_backwards_tracking_stops_where_the_lifter_is_lost() -> None:
    # frame 87 is the first in which the detector finds the lifter (forward, from the start)
    images = [f.image_bgr for f in iter_frames(HIDDEN_HEAD)][76:88]
    blank = np.full_like(images[0], 128)
    held = [blank, blank, blank, *images]  # frames 0-2 show nobody, 3-14 the lifter
    got = dict(pipeline._track_backwards(0, held, [i / FPS for i in range(len(held))]))
    assert sorted(got) == list(range(3, len(held) - 1))  # not the found frame itself
    assert all(p.detected and p.mask is not None for p in got.values())


@needs_model
@pytest.mark.slow
def test_lifter_hidden_at_the_start_is_recovered_and_every_rep_found() -> None:
    truth = json.loads(HIDDEN_HEAD.with_suffix(".json").read_text())
    # what the pose model alone finds: nobody in the first 2 s
    with PoseEstimator(people_check_s=0) as estimator:
        forward = [estimator.detect(f.image_bgr, f.t_s).detected for f in iter_frames(HIDDEN_HEAD)]
    first_found = forward.index(True)
    assert first_found / FPS > 1.5, "the clip no longer tests a missed start"

    result = pipeline.analyze(HIDDEN_HEAD, pipeline.AnalysisOptions(write_video=False))
    assert bool(result.pose.detected[:first_found].all())
    measured = [np.isfinite(b.flexion_deg) for b in result.back[:first_found]]
    assert np.mean(measured) > 0.5  # the recovered frames' backs are measured too
    assert len(result.report.reps) == truth["n_reps"] == 3
    for rep, true_rep in zip(result.report.reps, truth["reps"], strict=True):
        assert abs(rep.start_s - true_rep["start_s"]) < 0.5
        assert true_rep["start_s"] < (rep.start_s + rep.end_s) / 2 < true_rep["end_s"]
