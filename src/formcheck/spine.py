"""The measured spine: back contour from the segmentation mask -> spinal flexion, relative to neutral.

MediaPipe has no spine landmarks and trunk lean is not rounding. Per frame, measure_back() takes the person
mask and the landmarks, finds the DORSAL (back-side) outline between shoulder and hip, and derives a flexion
angle from it. build_spine_series() turns the per-frame samples into a curve relative to the lifter's own
neutral (median of the standing frames of the same clip).

Sign: + = flexion (back rounds, convex towards the back), - = extension (arching).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class BackSample:
    """One frame's back measurement.

    contour_px (N, 2): dorsal outline from shoulder level (first) to hip level (last), pixels; empty (0, 2)
    when not measurable. flexion_deg: absolute bend of that outline (not yet relative to neutral), NaN when
    not measurable. upper_tangent_px / lower_tangent_px (2, 2): the two line segments the angle is taken
    between (for drawing). confidence 0..1.
    """

    contour_px: FloatArray
    flexion_deg: float
    upper_tangent_px: FloatArray
    lower_tangent_px: FloatArray
    confidence: float


@dataclass(frozen=True)
class SpineSeries:
    """t_s (T,); flexion_abs_deg (T,) raw per-frame bend; confidence (T,);
    neutral_deg: the lifter's own neutral (NaN when no standing frames were found);
    flexion_rel_deg (T,) = filtered flexion_abs_deg - neutral_deg (+ rounding, - arching)."""

    t_s: FloatArray
    flexion_abs_deg: FloatArray
    confidence: FloatArray
    neutral_deg: float
    flexion_rel_deg: FloatArray


def measure_back(
    mask: NDArray[np.float32] | None, xy_px: FloatArray, visibility: FloatArray
) -> BackSample:
    raise NotImplementedError


def build_spine_series(
    t_s: FloatArray, samples: list[BackSample], standing: NDArray[np.bool_]
) -> SpineSeries:
    raise NotImplementedError
