"""Angles from cleaned landmarks, and which way the camera sees the lifter.

Angle conventions (written once here, pinned by tests/test_kinematics.py). All angles are computed in
image PIXELS of the upright frame (never on normalised coordinates), in degrees, on the body side nearer
the camera, signed relative to the direction the lifter faces so a mirrored clip gives the same numbers:

* trunk_incl_deg: mid-hip -> mid-shoulder against vertical. 0 = upright, 90 = horizontal,
  + = leaning forward (towards where the lifter faces), - = leaning back.
* hip_flex_deg: 180 - angle(shoulder, hip, knee). 0 = standing tall, ~100+ at a deep squat.
* knee_flex_deg: 180 - angle(hip, knee, ankle). 0 = straight leg.
* ankle_dorsi_deg: shank (ankle -> knee) against vertical, + = knee ahead of the ankle.
* neck_flex_deg: shoulder -> ear against the hip -> shoulder line, + = head forward/down.
* thigh_above_horizontal_deg: knee -> hip against horizontal, + = hip above knee, 0 = parallel,
  - = below parallel (squat depth).
* knee_width_ratio: horizontal knee distance / horizontal ankle distance (front or rear view only,
  NaN otherwise); < 1 = knees inside the ankles.
* hip_height_norm: hip height above the ankles divided by the standing leg length (1 ~ standing).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from formcheck.landmarks import PoseSequence

FloatArray = NDArray[np.float64]


class View(StrEnum):
    SIDE = "side"
    OBLIQUE = "oblique"
    FRONT = "front"
    REAR = "rear"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ViewEstimate:
    """view: the clip's dominant view; facing: +1 = lifter faces image right, -1 = image left, 0 unknown;
    near_side: 'left' or 'right' body side nearer the camera; confidence 0..1;
    per_frame (T,) View values as strings, for clips with camera cuts or a lifter turning."""

    view: View
    facing: int
    near_side: str
    confidence: float
    per_frame: NDArray[np.str_]


@dataclass(frozen=True)
class AngleSeries:
    """Per-frame angles (T,), degrees unless named otherwise; NaN where the lifter is missing."""

    t_s: FloatArray
    trunk_incl_deg: FloatArray
    hip_flex_deg: FloatArray
    knee_flex_deg: FloatArray
    ankle_dorsi_deg: FloatArray
    neck_flex_deg: FloatArray
    thigh_above_horizontal_deg: FloatArray
    knee_width_ratio: FloatArray
    hip_height_norm: FloatArray

    def __len__(self) -> int:
        return len(self.t_s)


def detect_view(seq: PoseSequence) -> ViewEstimate:
    raise NotImplementedError


def compute_angles(seq: PoseSequence, view: ViewEstimate) -> AngleSeries:
    raise NotImplementedError
