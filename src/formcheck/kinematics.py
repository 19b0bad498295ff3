"""Angles from cleaned landmarks, and which way the camera sees the lifter.

Angle conventions (written once here, pinned by tests/test_kinematics.py). All angles are computed
in image PIXELS of the upright frame (never on normalised coordinates), in degrees, on the body side
nearer the camera, signed relative to the direction the lifter faces so a mirrored clip gives the
same numbers. "Forward" is the image direction the lifter faces, "up" is up in the image.

* trunk_incl_deg: mid-hip -> mid-shoulder against vertical. 0 = upright, 90 = horizontal,
  + = leaning forward (towards where the lifter faces), - = leaning back.
* hip_flex_deg: 180 - angle(shoulder, hip, knee). 0 = standing tall, ~100+ at a deep squat,
  - = hip extended past straight (leaning back over the hips).
* knee_flex_deg: 180 - angle(hip, knee, ankle). 0 = straight leg, - = knee pushed back past it.
* ankle_dorsi_deg: shank (ankle -> knee) against vertical, + = knee ahead of the ankle.
* neck_flex_deg: shoulder -> ear against the hip -> shoulder line, + = head forward/down.
* thigh_above_horizontal_deg: knee -> hip against horizontal, + = hip above knee, 0 = parallel,
  - = below parallel (squat depth), 90 = thigh vertical (standing).
* knee_width_ratio: horizontal knee distance / horizontal ankle distance (front or rear view only,
  NaN otherwise, and NaN when the ankles are closer than min_ankle_width_per_leg of the leg length);
  < 1 = knees inside the ankles.
* hip_height_norm: hip height above the ankles divided by the standing leg length (1 ~ standing).
  Leg length = a high percentile (leg_length_percentile) of hip-knee + knee-ankle pixel length within
  the same view segment. Tunable numbers live in data/kinematics.yaml.

Which side: in side and oblique frames the body side nearer the camera (the other side where the
near one is missing); in front and rear frames the mean of both sides when both are well visible.
Where the facing direction is unknown (front, rear, undecided frames) nothing can be signed: there
the same quantities are computed UNSIGNED on the image projection (trunk and shank lean as absolute
angles, hip and knee as 180 - the three-point angle). They are foreshortened and only good for
timing (reps), not for judging form; faults that need a side view check ViewEstimate.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from formcheck.datafiles import value_file
from formcheck.landmarks import LM, PoseSequence
from formcheck.signals import frame_rate

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class View(StrEnum):
    SIDE = "side"
    OBLIQUE = "oblique"
    FRONT = "front"
    REAR = "rear"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ViewEstimate:
    """view: the clip's dominant view; facing: +1 = lifter faces image right, -1 = image left,
    0 unknown; near_side: 'left' or 'right' body side nearer the camera; confidence 0..1;
    per_frame (T,) View values as strings, for clips with camera cuts or a lifter turning;
    facing_per_frame (T,) +1/-1/0 (0 in front/rear frames) and near_side_per_frame (T,)
    'left'/'right': the same per frame (None = use the clip values for every frame)."""

    view: View
    facing: int
    near_side: str
    confidence: float
    per_frame: NDArray[np.str_]
    facing_per_frame: IntArray | None = None
    near_side_per_frame: NDArray[np.str_] | None = None


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


# --- tunable thresholds (data/kinematics.yaml: value, unit and rationale of each) -----------------
KINEMATICS_FILE = "kinematics.yaml"


@dataclass(frozen=True)
class KinematicsParams:
    """The tunable numbers of this module; see data/kinematics.yaml for units and rationale."""

    front_max_deg: float
    side_min_deg: float
    angle_smooth_s: float
    mode_window_s: float
    min_segment_s: float
    facing_smooth_s: float
    facing_min_score: float
    confident_margin_deg: float
    shoulder_width_per_torso: float
    hip_width_per_torso: float
    well_visible: float
    min_ankle_width_per_leg: float
    leg_length_percentile: float
    standing_max_trunk_deg: float
    standing_max_hip_flex_deg: float
    standing_max_knee_flex_deg: float
    standing_min_hip_height_norm: float
    hinge_band_min_hip_flex_deg: float
    hinge_band_max_hip_flex_deg: float
    folded_min_hip_flex_deg: float
    folded_max_hip_flex_deg: float
    folded_min_knee_flex_deg: float
    folded_max_knee_flex_deg: float


def load_kinematics_params(path: Path | None = None) -> KinematicsParams:
    """The numbers of kinematics.yaml: the file at path, else the packaged one (read once);
    DataFileError when it is malformed."""
    return value_file(KinematicsParams, KINEMATICS_FILE, path)


_VIEW_CODES: tuple[View, ...] = (View.SIDE, View.OBLIQUE, View.FRONT, View.REAR, View.UNKNOWN)
_UNKNOWN_CODE = _VIEW_CODES.index(View.UNKNOWN)


@dataclass(frozen=True)
class _Side:
    shoulder: int
    hip: int
    knee: int
    ankle: int
    heel: int
    foot: int
    ear: int


_LEFT = _Side(
    LM.LEFT_SHOULDER, LM.LEFT_HIP, LM.LEFT_KNEE, LM.LEFT_ANKLE, LM.LEFT_HEEL,
    LM.LEFT_FOOT, LM.LEFT_EAR,
)  # fmt: skip
_RIGHT = _Side(
    LM.RIGHT_SHOULDER, LM.RIGHT_HIP, LM.RIGHT_KNEE, LM.RIGHT_ANKLE, LM.RIGHT_HEEL,
    LM.RIGHT_FOOT, LM.RIGHT_EAR,
)  # fmt: skip
_CHAIN = ("shoulder", "hip", "knee", "ankle")


# --- small numeric helpers -----------------------------------------------------------------------


def _frames(seconds: float, fps: float) -> int:
    """An odd window length of about `seconds` (at least 1 frame)."""
    n = max(1, round(seconds * fps))
    return n if n % 2 else n + 1


def _windows(x: FloatArray, n: int) -> FloatArray:
    """(T, n) centred windows of a 1-D array, NaN-padded at the ends (n odd)."""
    h = n // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), (h, h), constant_values=np.nan)
    return np.lib.stride_tricks.sliding_window_view(padded, n)


def _nan_reduce(x: FloatArray, n: int, how: str) -> FloatArray:
    """Centred running nanmedian / nanmean over n frames; NaN where the whole window is NaN."""
    if len(x) == 0:
        return np.asarray(x, dtype=np.float64)
    w = _windows(x, n)
    finite = np.isfinite(w)
    out = np.full(len(x), np.nan)
    has = finite.any(axis=1)
    if how == "median":
        out[has] = np.nanmedian(w[has], axis=1)
    else:
        out[has] = np.nanmean(w[has], axis=1)
    return out


def _mean_available(*parts: FloatArray) -> FloatArray:
    """Element-wise mean of the finite entries; NaN where none is finite."""
    stack = np.stack(parts)
    finite = np.isfinite(stack)
    count = finite.sum(axis=0)
    total = np.where(finite, stack, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _wrap_deg(a: FloatArray) -> FloatArray:
    """Wrap degrees into [-180, 180)."""
    return (a + 180.0) % 360.0 - 180.0


def _mode_filter(codes: IntArray, n: int, n_classes: int, ignore: int) -> IntArray:
    """Most common code in a centred window of n frames. `ignore` frames do not vote but take the
    window's most common code (they stay `ignore` when nothing in the window votes); ties keep the
    frame's own code when it is among the most common."""
    t = len(codes)
    if t == 0:
        return codes.copy()
    onehot = np.zeros((t, n_classes), dtype=np.int64)
    voting = codes != ignore
    onehot[np.flatnonzero(voting), codes[voting]] = 1
    csum = np.vstack([np.zeros((1, n_classes), dtype=np.int64), np.cumsum(onehot, axis=0)])
    h = n // 2
    idx = np.arange(t)
    counts = csum[np.minimum(idx + h + 1, t)] - csum[np.maximum(idx - h, 0)]
    best = np.where(counts.max(axis=1) > 0, counts.argmax(axis=1), ignore)
    own = np.where(voting, codes, 0)
    keep_own = voting & (counts[idx, own] == counts.max(axis=1))
    return np.where(keep_own, codes, best).astype(np.int64)


def _absorb_short_runs(codes: IntArray, min_len: int, ignore: int) -> IntArray:
    """Runs of one code shorter than min_len frames take the code of the longer neighbouring run
    (`ignore` runs neither change nor count as neighbours). The mode filter cannot do this at the
    clip's ends, where its window is cut short."""
    out = codes.copy()
    bounds = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist(), len(codes)]
    runs = [(a, b, int(codes[a])) for a, b in itertools.pairwise(bounds)]
    known = [r for r in runs if r[2] != ignore]
    for i, (a, b, _code) in enumerate(known):
        if b - a >= min_len:
            continue
        neighbours = [
            r
            for r in (known[i - 1] if i else None, known[i + 1] if i + 1 < len(known) else None)
            if r
        ]
        longer = [r for r in neighbours if r[1] - r[0] >= min_len]
        if longer:
            best = max(longer, key=lambda r: r[1] - r[0])
            out[a:b] = best[2]
    return out


# --- view detection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ViewCues:
    """Per-frame cues (T,). off_axis_deg: 0 = body faces or turns its back to the camera,
    90 = profile; front_score > 0 = faces the camera, < 0 = back to the camera; facing_score > 0 =
    faces image right; near_score > 0 = right side nearer the camera. Scores -1..1, NaN = no cue."""

    off_axis_deg: FloatArray
    front_score: FloatArray
    facing_score: FloatArray
    near_score: FloatArray


def _view_cues(seq: PoseSequence, p: KinematicsParams) -> _ViewCues:
    xy, world, vis = seq.xy_px, seq.world_m, seq.visibility
    ls, rs, lh, rh = LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER, LM.LEFT_HIP, LM.RIGHT_HIP
    with np.errstate(invalid="ignore", divide="ignore"):
        torso_px = np.linalg.norm((xy[:, ls] + xy[:, rs]) / 2 - (xy[:, lh] + xy[:, rh]) / 2, axis=1)
        torso_m = np.linalg.norm(
            (world[:, ls] + world[:, rs]) / 2 - (world[:, lh] + world[:, rh]) / 2, axis=1
        )
        off_axis: list[FloatArray] = []
        front: list[FloatArray] = []
        facing: list[FloatArray] = []
        near: list[FloatArray] = []
        for left, right, fallback in (
            (lh, rh, p.hip_width_per_torso),
            (ls, rs, p.shoulder_width_per_torso),
        ):
            # 1. Apparent width: a body seen in profile shows (almost) no shoulder or hip width. The
            #    lifter's own width/torso proportion comes from the metric world landmarks.
            width_m = np.linalg.norm(world[:, left] - world[:, right], axis=1) / torso_m
            ratio_3d = float(np.nanmedian(width_m)) if np.isfinite(width_m).any() else fallback
            ratio_2d = np.abs(xy[:, left, 0] - xy[:, right, 0]) / torso_px
            off_axis.append(np.degrees(np.arccos(np.clip(ratio_2d / ratio_3d, 0.0, 1.0))))
            # 2. Direction of the body's left->right axis in world coordinates (x right, y down,
            #    z away from the camera): along x = front/rear, along z = profile.
            #    forward = up x right, so forward.x = -right.z and forward.z = right.x.
            r = world[:, right] - world[:, left]
            r_h = np.hypot(r[:, 0], r[:, 2])
            off_axis.append(np.degrees(np.arctan2(np.abs(r[:, 2]), np.abs(r[:, 0]))))
            front.append(-r[:, 0] / r_h)
            facing.append(-r[:, 2] / r_h)
            near.append(np.clip((world[:, left, 2] - world[:, right, 2]) / 0.1, -1.0, 1.0))
        # 3. Nose nearer the camera than the ears = faces the camera (independent of L/R labels).
        ears_z = (world[:, LM.LEFT_EAR, 2] + world[:, LM.RIGHT_EAR, 2]) / 2
        front.append(np.clip((ears_z - world[:, LM.NOSE, 2]) / 0.08, -1.0, 1.0))
        # 4. Image cues for the facing direction: toes ahead of the heels, nose ahead of the ears.
        for side in (_LEFT, _RIGHT):
            foot_dx = xy[:, side.foot, 0] - xy[:, side.heel, 0]
            facing.append(np.clip(foot_dx / (0.3 * torso_px), -1.0, 1.0))
        ears_x = (xy[:, LM.LEFT_EAR, 0] + xy[:, LM.RIGHT_EAR, 0]) / 2
        facing.append(np.clip((xy[:, LM.NOSE, 0] - ears_x) / (0.15 * torso_px), -1.0, 1.0))
        # 5. The side nearer the camera is the one the model is surer about (knees, ankles).
        vis_l = vis[:, [_LEFT.shoulder, _LEFT.hip, _LEFT.knee, _LEFT.ankle]].mean(axis=1)
        vis_r = vis[:, [_RIGHT.shoulder, _RIGHT.hip, _RIGHT.knee, _RIGHT.ankle]].mean(axis=1)
        near.append(np.clip((vis_r - vis_l) / 0.15, -1.0, 1.0))
    return _ViewCues(
        off_axis_deg=_mean_available(*off_axis),
        front_score=_mean_available(*front),
        facing_score=_mean_available(*facing),
        near_score=_mean_available(*near),
    )


def _sign(score: FloatArray, floor: float) -> IntArray:
    out = np.zeros(len(score), dtype=np.int64)
    out[score > floor] = 1
    out[score < -floor] = -1
    return out


def detect_view(seq: PoseSequence, params: KinematicsParams | None = None) -> ViewEstimate:
    """Which way the camera sees the lifter, per frame and for the clip.

    Per frame: the off-axis angle of the body (0 = facing the camera or turned away, 90 = profile)
    is the mean of four estimates: apparent hip and shoulder width against the lifter's own
    width/torso proportion (pixels), and the direction of the hip and shoulder left-right axis in
    the world landmarks. It is median-smoothed over ~2 s and labelled front/rear up to front_max_deg,
    side from side_min_deg, oblique between (params: data/kinematics.yaml, the packaged ones when
    None); front vs rear from the world left-right axis and the nose being
    nearer the camera than the ears. Labels are mode-filtered over ~0.5 s and shorter runs join
    their longer neighbour, so camera cuts and turning lifters give segments. Facing (toes ahead
    of the heels, nose ahead of the ears, world axis) and near side (visibility, world depth) are
    smoothed over ~1 s. Frames without a lifter are 'unknown'.

    Clip values: view = most common label among detected frames; facing and near side = majority
    over side/oblique frames; confidence = share of all frames that carry that label x their mean
    label confidence (0.5 on a class boundary, 1 from 15 deg inside it; front/rear also scaled by
    how clear the front-vs-rear cue is).
    """
    t = len(seq)
    if t == 0:
        empty = np.zeros(0, dtype="<U7")
        return ViewEstimate(View.UNKNOWN, 0, "left", 0.0, empty, np.zeros(0, np.int64), empty)
    p = params or load_kinematics_params()
    fps = frame_rate(seq.t_s)
    cues = _view_cues(seq, p)
    present = seq.detected
    # Running medians/means over frames with cues also cover lifter frames that lack one.
    long_n = _frames(p.angle_smooth_s, fps)
    off_axis = _nan_reduce(np.where(present, cues.off_axis_deg, np.nan), long_n, "median")
    front = _nan_reduce(np.where(present, cues.front_score, np.nan), long_n, "mean")
    codes = np.full(t, _UNKNOWN_CODE, dtype=np.int64)
    codes[off_axis >= p.side_min_deg] = _VIEW_CODES.index(View.SIDE)
    codes[(off_axis > p.front_max_deg) & (off_axis < p.side_min_deg)] = _VIEW_CODES.index(
        View.OBLIQUE
    )
    frontal = off_axis <= p.front_max_deg
    codes[frontal & ~(front < 0)] = _VIEW_CODES.index(View.FRONT)
    codes[frontal & (front < 0)] = _VIEW_CODES.index(View.REAR)
    codes[~present] = _UNKNOWN_CODE
    codes = _mode_filter(codes, _frames(p.mode_window_s, fps), len(_VIEW_CODES), _UNKNOWN_CODE)
    codes[~present] = _UNKNOWN_CODE
    codes = _absorb_short_runs(codes, round(p.min_segment_s * fps), _UNKNOWN_CODE)
    labels = np.array([_VIEW_CODES[c].value for c in codes], dtype="<U7")
    detected = codes != _UNKNOWN_CODE

    # Per-frame confidence: margin from the nearest class boundary; front/rear need a clear cue too.
    margin = np.minimum(np.abs(off_axis - p.front_max_deg), np.abs(off_axis - p.side_min_deg))
    conf = 0.5 + 0.5 * np.clip(margin / p.confident_margin_deg, 0.0, 1.0)
    conf = np.where(frontal, conf * (0.5 + 0.5 * np.clip(np.abs(front), 0.0, 1.0)), conf)
    conf = np.where(detected, np.nan_to_num(conf), 0.0)

    labelled_frontal = (labels == View.FRONT) | (labels == View.REAR)
    profile = (labels == View.SIDE) | (labels == View.OBLIQUE)
    smooth_n = _frames(p.facing_smooth_s, fps)
    facing_score = _nan_reduce(np.where(present, cues.facing_score, np.nan), smooth_n, "mean")
    near_score = _nan_reduce(np.where(present, cues.near_score, np.nan), smooth_n, "mean")
    clip_facing = (
        int(np.sign(np.nansum(np.where(profile, facing_score, np.nan)))) if profile.any() else 0
    )
    facing_pf = _sign(facing_score, p.facing_min_score)
    facing_pf = np.where(facing_pf == 0, clip_facing, facing_pf)
    facing_pf = np.where(labelled_frontal | ~detected, 0, facing_pf).astype(np.int64)

    near_clip_score = float(
        np.nansum(np.where(profile if profile.any() else detected, near_score, np.nan))
    )
    if near_clip_score != 0:
        clip_near = "right" if near_clip_score > 0 else "left"
    else:  # geometry: a lifter facing image right shows the camera their right side
        clip_near = "right" if clip_facing > 0 else "left"
    near_pf = np.where(near_score > 0, "right", np.where(near_score < 0, "left", clip_near)).astype(
        "<U5"
    )

    if not detected.any():
        return ViewEstimate(View.UNKNOWN, 0, clip_near, 0.0, labels, facing_pf, near_pf)
    counts = np.bincount(codes[detected], minlength=len(_VIEW_CODES))
    best = int(counts.argmax())
    agree = codes == best
    confidence = float(agree.sum() / t * conf[agree].mean())
    return ViewEstimate(
        view=_VIEW_CODES[best],
        facing=clip_facing,
        near_side=clip_near,
        confidence=round(confidence, 3),
        per_frame=labels,
        facing_per_frame=facing_pf,
        near_side_per_frame=near_pf,
    )


# --- angles --------------------------------------------------------------------------------------


def _to_body(v: FloatArray, facing: IntArray) -> tuple[FloatArray, FloatArray]:
    """Image vectors (T, 2) -> (forward, up) components for a lifter facing +1/-1 (0: image x)."""
    f = np.where(facing == 0, 1, facing)
    return v[:, 0] * f, -v[:, 1]


def _lean_deg(v: FloatArray, facing: IntArray) -> FloatArray:
    """Angle of v from straight UP, + = towards forward; unsigned where facing is 0."""
    fwd, up = _to_body(v, facing)
    a = np.degrees(np.arctan2(fwd, up))
    return np.where(facing == 0, np.abs(a), a)


def _swing_deg(v: FloatArray, facing: IntArray) -> FloatArray:
    """Angle of v from straight DOWN, + = towards forward; unsigned where facing is 0."""
    fwd, up = _to_body(v, facing)
    a = np.degrees(np.arctan2(fwd, -up))
    return np.where(facing == 0, np.abs(a), a)


def _three_point_flex(a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """180 - the unsigned angle a-b-c (degrees)."""
    u, v = a - b, c - b
    cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    dot = (u * v).sum(axis=1)
    flex: FloatArray = 180.0 - np.degrees(np.abs(np.arctan2(cross, dot)))
    return flex


def _side_angles(
    seq: PoseSequence, side: _Side, facing: IntArray, mid_trunk: FloatArray
) -> dict[str, FloatArray]:
    xy = seq.xy_px
    sh, hip, knee, ankle, ear = (
        xy[:, side.shoulder],
        xy[:, side.hip],
        xy[:, side.knee],
        xy[:, side.ankle],
        xy[:, side.ear],
    )
    signed = facing != 0
    trunk_side = _lean_deg(sh - hip, facing)
    thigh = _swing_deg(knee - hip, facing)
    shank = _swing_deg(ankle - knee, facing)
    hip_flex = np.where(signed, _wrap_deg(trunk_side + thigh), _three_point_flex(sh, hip, knee))
    knee_flex = np.where(signed, _wrap_deg(thigh - shank), _three_point_flex(hip, knee, ankle))
    neck = np.where(
        signed, _wrap_deg(_lean_deg(ear - sh, facing) - trunk_side), _three_point_flex(hip, sh, ear)
    )
    knee_to_hip = hip - knee
    thigh_above = np.where(
        signed,
        _wrap_deg(90.0 - thigh),
        np.degrees(np.arctan2(-knee_to_hip[:, 1], np.abs(knee_to_hip[:, 0]))),
    )
    return {
        "trunk_incl_deg": mid_trunk,
        "hip_flex_deg": hip_flex,
        "knee_flex_deg": knee_flex,
        "ankle_dorsi_deg": _lean_deg(knee - ankle, facing),
        "neck_flex_deg": neck,
        "thigh_above_horizontal_deg": thigh_above,
    }


def _segments(labels: NDArray[np.str_]) -> list[tuple[int, int]]:
    """[(start, stop)) runs of one view label; frames without a lifter ('unknown') do not split a
    run (they join the run before them, or the first run when the clip starts without a lifter)."""
    if len(labels) == 0:
        return []
    known = np.flatnonzero(labels != View.UNKNOWN)
    if len(known) == 0:
        return [(0, len(labels))]
    filled = labels[
        known[np.clip(np.searchsorted(known, np.arange(len(labels)), "right") - 1, 0, None)]
    ]
    change = np.flatnonzero(filled[1:] != filled[:-1]) + 1
    bounds = [0, *change.tolist(), len(labels)]
    return list(itertools.pairwise(bounds))


def compute_angles(
    seq: PoseSequence, view: ViewEstimate, params: KinematicsParams | None = None
) -> AngleSeries:
    """The angle table (module docstring conventions), vectorised over frames, in pixels. Frames
    whose hip or knee flexion is outside the folded_* limits of params (data/kinematics.yaml, the
    packaged ones when None; no joint bends so far) are a skeleton the pose model folded up: every
    angle of theirs is NaN (missing)."""
    p = params or load_kinematics_params()
    t = len(seq)
    xy, vis = seq.xy_px, seq.visibility
    per_frame = view.per_frame if len(view.per_frame) == t else np.full(t, view.view.value)
    facing = (
        view.facing_per_frame.astype(np.int64)
        if view.facing_per_frame is not None and len(view.facing_per_frame) == t
        else np.full(t, view.facing, dtype=np.int64)
    )
    near = (
        view.near_side_per_frame
        if view.near_side_per_frame is not None and len(view.near_side_per_frame) == t
        else np.full(t, view.near_side)
    )
    frontal = (per_frame == View.FRONT) | (per_frame == View.REAR)
    facing = np.where(frontal, 0, facing)

    with np.errstate(invalid="ignore", divide="ignore"):
        mid_sh = _mean_available(xy[:, LM.LEFT_SHOULDER], xy[:, LM.RIGHT_SHOULDER])
        mid_hip = _mean_available(xy[:, LM.LEFT_HIP], xy[:, LM.RIGHT_HIP])
        trunk = _lean_deg(mid_sh - mid_hip, facing)
        left = _side_angles(seq, _LEFT, facing, trunk)
        right = _side_angles(seq, _RIGHT, facing, trunk)

        def chain_vis(side: _Side) -> FloatArray:
            mean_vis: FloatArray = vis[:, [getattr(side, j) for j in _CHAIN]].mean(axis=1)
            return mean_vis

        vis_l, vis_r = chain_vis(_LEFT), chain_vis(_RIGHT)
        both = frontal & (vis_l >= p.well_visible) & (vis_r >= p.well_visible)
        # Primary side: the near one in profile views, the better-seen one in frontal views.
        use_right = np.where(frontal, vis_r > vis_l, near == "right")
        out: dict[str, FloatArray] = {}
        for name in left:
            primary = np.where(use_right, right[name], left[name])
            secondary = np.where(use_right, left[name], right[name])
            chosen = np.where(np.isfinite(primary), primary, secondary)
            out[name] = np.where(both, _mean_available(left[name], right[name]), chosen)

        # Knee width (frontal frames only).
        knee_w = np.abs(xy[:, LM.LEFT_KNEE, 0] - xy[:, LM.RIGHT_KNEE, 0])
        ankle_w = np.abs(xy[:, LM.LEFT_ANKLE, 0] - xy[:, LM.RIGHT_ANKLE, 0])

        # Hip height over the standing leg length, per camera-view segment.
        def leg(side: _Side) -> FloatArray:
            thigh = np.linalg.norm(xy[:, side.hip] - xy[:, side.knee], axis=1)
            shank = np.linalg.norm(xy[:, side.knee] - xy[:, side.ankle], axis=1)
            length: FloatArray = thigh + shank
            return length

        leg_px = np.fmax(leg(_LEFT), leg(_RIGHT))
        leg_ref = np.full(t, np.nan)
        for start, stop in _segments(per_frame):
            seg = leg_px[start:stop]
            if np.isfinite(seg).any():
                leg_ref[start:stop] = np.nanpercentile(seg, p.leg_length_percentile)
        hip_y = _mean_available(xy[:, LM.LEFT_HIP, 1], xy[:, LM.RIGHT_HIP, 1])
        ankle_y = _mean_available(xy[:, LM.LEFT_ANKLE, 1], xy[:, LM.RIGHT_ANKLE, 1])
        hip_height = (ankle_y - hip_y) / leg_ref
        knee_ratio = np.where(
            frontal & (ankle_w >= p.min_ankle_width_per_leg * leg_ref), knee_w / ankle_w, np.nan
        )

    # A skeleton folded up by the pose model (hips or knees bent beyond any joint's range: a lifter
    # at the floor behind a plate) says nothing about the lifter: the frame is missing.
    with np.errstate(invalid="ignore"):
        hip, knee = out["hip_flex_deg"], out["knee_flex_deg"]
        folded = (hip < p.folded_min_hip_flex_deg) | (hip > p.folded_max_hip_flex_deg)
        folded |= (knee < p.folded_min_knee_flex_deg) | (knee > p.folded_max_knee_flex_deg)
    for name in out:
        out[name] = np.where(folded, np.nan, out[name])
    hip_height = np.where(folded, np.nan, hip_height)
    knee_ratio = np.where(folded, np.nan, knee_ratio)
    return AngleSeries(
        t_s=seq.t_s.copy(),
        trunk_incl_deg=out["trunk_incl_deg"],
        hip_flex_deg=out["hip_flex_deg"],
        knee_flex_deg=out["knee_flex_deg"],
        ankle_dorsi_deg=out["ankle_dorsi_deg"],
        neck_flex_deg=out["neck_flex_deg"],
        thigh_above_horizontal_deg=out["thigh_above_horizontal_deg"],
        knee_width_ratio=knee_ratio.astype(np.float64),
        hip_height_norm=hip_height.astype(np.float64),
    )


def standing_mask(angles: AngleSeries, params: KinematicsParams | None = None) -> BoolArray:
    """(T,) True where the lifter stands tall: trunk near vertical, hip and knee near straight and,
    where known, the hips high above the ankles (the standing_* limits in data/kinematics.yaml).
    Used to pick the lifter's own spine neutral. A NaN trunk angle counts as not standing; a NaN hip
    or knee angle does not: a deadlift bar's plates often hide the knees and shins while the lifter
    stands behind it before the set, and those frames are the best neutral the clip has."""
    p = params or load_kinematics_params()
    with np.errstate(invalid="ignore"):
        upright = (
            (np.abs(angles.trunk_incl_deg) <= p.standing_max_trunk_deg)
            & ~(np.abs(angles.hip_flex_deg) > p.standing_max_hip_flex_deg)
            & ~(np.abs(angles.knee_flex_deg) > p.standing_max_knee_flex_deg)
        )
        tall = ~(angles.hip_height_norm < p.standing_min_hip_height_norm)
    return np.asarray(upright & tall, dtype=np.bool_)


def hinge_band_mask(angles: AngleSeries, params: KinematicsParams | None = None) -> BoolArray:
    """(T,) True where the hip flexion lies within the hinge_band_* limits of params
    (data/kinematics.yaml, the packaged ones when None); NaN counts as outside.

    The second source of the lifter's spine neutral (spine.build_spine_series takes its earliest
    usable frames), for clips whose standing frames show no usable back outline: in a side view the
    hanging arm covers the upper back, a held bar's plates the hips. Within the band the arms hang
    clear of the back and the load is not at depth, where backs round. The cost: rounding already
    present there, early in the set, is read as neutral."""
    hip = np.asarray(angles.hip_flex_deg, dtype=np.float64)
    p = params or load_kinematics_params()
    lo, hi = p.hinge_band_min_hip_flex_deg, p.hinge_band_max_hip_flex_deg
    with np.errstate(invalid="ignore"):
        return np.asarray((hip >= lo) & (hip <= hi), dtype=np.bool_)
