"""The torso's own frame in one image, shared by the outline (spine.py) and the learned read-out
(readout.py): origin mid-hip, axis hip -> shoulder, normal towards the back (the side away from where
the lifter faces)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from formcheck.landmarks import LM

FloatArray = NDArray[np.float64]

_EARS = (LM.LEFT_EAR, LM.RIGHT_EAR)
_SHOULDERS = (LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER)
_HIPS = (LM.LEFT_HIP, LM.RIGHT_HIP)
_HEELS = (LM.LEFT_HEEL, LM.RIGHT_HEEL)
_TOES = (LM.LEFT_FOOT, LM.RIGHT_FOOT)
MIN_TORSO_PX_ABSOLUTE = 20.0  # below this nothing is measured at all
FACING_SCORE_RAMP = (0.0, 0.1)  # |toe-heel + nose-ear offset| / L


def ramp(x: float, bounds: tuple[float, float]) -> float:
    """0 at bounds[0], 1 at bounds[1], linear between (a falling ramp has bounds[0] > bounds[1]); 0
    for NaN."""
    lo, hi = bounds
    if not math.isfinite(x):
        return 0.0
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def weighted_point(xy_px: FloatArray, visibility: FloatArray, idx: tuple[int, ...]) -> FloatArray:
    """Visibility-weighted (visibility finite, 0..1) mean of the finite landmarks in idx; NaN (2,) when
    none is finite."""
    pts = xy_px[list(idx)]
    ok = np.all(np.isfinite(pts), axis=1)
    if not np.any(ok):
        return np.full(2, np.nan)
    w = visibility[list(idx)][ok] + 1e-3
    return np.asarray((pts[ok] * w[:, None]).sum(axis=0) / w.sum(), dtype=np.float64)


def _facing_score(xy_px: FloatArray, visibility: FloatArray, torso_px: float) -> float:
    """Signed facing evidence in torso lengths: > 0 faces image right, < 0 image left, 0 = no evidence.

    Visibility-weighted mean of the (toe - heel) x offset of each foot and the (nose - mid-ear) x offset.
    """
    votes: list[float] = []
    weights: list[float] = []
    for toe, heel in zip(_TOES, _HEELS, strict=True):
        dx = xy_px[toe, 0] - xy_px[heel, 0]
        if np.isfinite(dx):
            votes.append(float(dx))
            weights.append(float(min(visibility[toe], visibility[heel])))
    ears_x = xy_px[list(_EARS), 0]
    ears_ok = np.isfinite(ears_x)
    if np.isfinite(xy_px[LM.NOSE, 0]) and np.any(ears_ok):
        votes.append(float(xy_px[LM.NOSE, 0] - ears_x[ears_ok].mean()))
        weights.append(float(min(visibility[LM.NOSE], np.max(visibility[list(_EARS)][ears_ok]))))
    w = np.asarray(weights, dtype=np.float64)
    if not votes or w.sum() <= 0:
        return 0.0
    return float((np.asarray(votes) * w).sum() / w.sum() / torso_px)


@dataclass(frozen=True)
class TorsoFrame:
    """The torso's own frame in one image: origin hip_px (mid-hip), unit axis (hip -> shoulder, length
    torso_px), unit dorsal normal (towards the back), facing (+1 image right, -1 left) and how clearly
    the facing read (1 when the caller gave it)."""

    hip_px: FloatArray
    axis: FloatArray
    dorsal: FloatArray
    torso_px: float
    facing: int
    facing_confidence: float


def torso_frame(xy: FloatArray, vis: FloatArray, facing: int = 0) -> TorsoFrame | None:
    """The torso frame of measure_back's step 1-2 (vis finite, 0..1); None when the hips or shoulders
    are missing, the torso is shorter than MIN_TORSO_PX_ABSOLUTE or the facing cannot be read."""
    hip = weighted_point(xy, vis, _HIPS)
    shoulder = weighted_point(xy, vis, _SHOULDERS)
    if not (np.all(np.isfinite(hip)) and np.all(np.isfinite(shoulder))):
        return None
    axis = shoulder - hip
    torso_px = float(np.hypot(axis[0], axis[1]))
    if torso_px < MIN_TORSO_PX_ABSOLUTE:
        return None
    a = axis / torso_px
    if facing == 0:
        score = _facing_score(xy, vis, torso_px)
        facing = int(np.sign(score))
        facing_conf = ramp(abs(score), FACING_SCORE_RAMP)
        if facing == 0:
            return None
    else:
        facing = 1 if facing > 0 else -1
        facing_conf = 1.0
    dorsal = facing * np.array([a[1], -a[0]])
    return TorsoFrame(hip, a, dorsal, torso_px, facing, facing_conf)
