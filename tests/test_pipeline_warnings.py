"""What the input limits, as report notices (pipeline._input_notices): the detected lift is named
'unsure' just under detection.unsure_below (reps.yaml) and not at it, never when the user chose it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formcheck.landmarks import N_LANDMARKS, PoseFrame, PoseSequence
from formcheck.pipeline import _input_notices
from formcheck.reps import Exercise, load_rep_config
from formcheck.video import VideoInfo

FPS = 30.0


def _seen(n: int = 150) -> PoseSequence:
    """n frames with a lifter in every one (5 s: no 'too short' warning)."""
    frame = PoseFrame(
        np.full((N_LANDMARKS, 2), 100.0), np.ones(N_LANDMARKS), np.zeros((N_LANDMARKS, 3)), None, 1
    )
    return PoseSequence.from_frames([i / FPS for i in range(n)], [frame] * n, 640, 480)


def _info(n: int = 150) -> VideoInfo:
    """The file's header as probe() reads it: n frames at FPS, its duration stated."""
    return VideoInfo(Path("clip.mp4"), 640, 480, FPS, n / FPS, n, "h264", 0)


def _codes(exercise: Exercise, confidence: float | None) -> list[str]:
    return [w.code for w in _input_notices(_seen(), _info(), [], 0, exercise, confidence)]


@pytest.mark.parametrize("delta, unsure", [(-0.01, True), (0.0, False), (0.01, False)])
def test_a_detected_lift_below_the_unsure_line_says_so(delta: float, unsure: bool) -> None:
    line = load_rep_config().detection.unsure_below
    codes = _codes(Exercise.DEADLIFT, line + delta)
    assert ("exercise_unsure" in codes) is unsure
    (warning,) = [
        w
        for w in _input_notices(_seen(), _info(), [], 0, Exercise.DEADLIFT, line - 0.01)
        if w.code == "exercise_unsure"
    ]
    assert "looks most like a deadlift" in warning.message and "--exercise" in warning.advice


def test_a_lift_the_user_chose_is_never_unsure() -> None:
    assert "exercise_unsure" not in _codes(Exercise.SQUAT, None)


def test_an_unknown_lift_is_reported_as_unknown_not_unsure() -> None:
    codes = _codes(Exercise.UNKNOWN, 0.0)
    assert "exercise_unknown" in codes and "exercise_unsure" not in codes
