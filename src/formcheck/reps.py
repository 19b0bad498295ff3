"""Reps and phases from the angle series; squat vs deadlift detection.

A squat rep goes standing -> down -> standing (descent first); a deadlift rep goes floor -> lockout ->
floor (ascent first). Segmentation uses hysteresis on a depth signal, a minimum range of motion and a
minimum duration, ignores the setup/walk-out, and marks reps that do not reach the full range as partial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from formcheck.kinematics import AngleSeries


class Exercise(StrEnum):
    SQUAT = "squat"
    DEADLIFT = "deadlift"
    UNKNOWN = "unknown"


class Phase(StrEnum):
    SETUP = "setup"
    DESCENT = "descent"
    BOTTOM = "bottom"
    ASCENT = "ascent"
    LOCKOUT = "lockout"


@dataclass(frozen=True)
class Rep:
    """One rep: frame indices are inclusive positions in the clip's frame arrays.

    phases: list of (phase, start_frame, end_frame) in time order. partial: did not reach full range.
    """

    index: int  # 1-based
    start_frame: int
    bottom_frame: int
    end_frame: int
    start_s: float
    bottom_s: float
    end_s: float
    partial: bool
    phases: list[tuple[Phase, int, int]] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class RepSegmentation:
    reps: list[Rep]
    phase_per_frame: NDArray[np.str_]  # (T,) Phase values; "setup" outside reps


def detect_exercise(angles: AngleSeries) -> tuple[Exercise, float]:
    raise NotImplementedError


def segment_reps(angles: AngleSeries, exercise: Exercise) -> RepSegmentation:
    raise NotImplementedError
