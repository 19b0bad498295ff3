"""Time courses of a synthetic set: reps and phases, joint-angle keys, spine profiles, fault labels.

Pure numpy (no torch, no anny): everything here is the *intended* motion and its ground truth;
rig.py turns it into a posed body and raster.py into pixels.

Conventions (the ground truth written next to every clip):
* depth (T,) 0..1: 0 = standing tall (squat top, deadlift lockout), 1 = the bottom (squat hole,
  deadlift bar on the floor).
* spine flexion, degrees, relative to the neutral standing pose of the rig (0 = the body model's
  neutral spine), + = flexion (rounding), - = extension (arching). total = lumbar + thoracic.
  Lumbar flexion is the angle between the sacrum and the thorax at T12 (what a clinical T12-S2
  sensor pair measures); thoracic flexion the angle from T12 to T1. The rig's lowest spine joint
  (spine05) sits at the hip-joint centre and moves with the pelvis; the lumbar bend goes into the
  three joints above it (spine04 ~ L4-S1, spine03 ~ L2-L4, spine02 ~ T12-L2) with a per-clip
  distribution between the typical one and one concentrated at L4-S1; the thoracic bend into spine01.
* Squat rep: descent -> bottom -> ascent -> lockout (standing pause). Deadlift rep: ascent (off the
  floor) -> lockout -> descent -> bottom (bar set on the floor). Everything before the first rep is
  setup; a deadlift setup is a neutral stand, the hinge down to the bar and a short set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from formcheck.reps import Exercise, Phase

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

LUMBAR_BONES = ("spine04", "spine03", "spine02")
THORACIC_BONES = ("spine01",)
# shares of the lumbar bend per LUMBAR_BONES joint: the typical in-vivo distribution of lumbar
# flexion (L4-S1 about 45 %, L2-L4 40 %, T12-L2 15 %) and one concentrated at L4-S1, where loaded
# flexion is greatest; SpineProfile.lumbar_low moves between them
LUMBAR_WEIGHTS_TYPICAL = (0.45, 0.40, 0.15)
LUMBAR_WEIGHTS_LOW = (0.75, 0.20, 0.05)
BORDERLINE_MARGIN_DEG = 2.5  # a rep whose peak lies this close to a threshold is flagged borderline


class SpineKind(StrEnum):
    NEUTRAL = "neutral"
    ROUND = "round"
    ARCH = "arch"


class Onset(StrEnum):
    """When a spine fault shows.

    every_rep: rounding grows with depth in every rep (peak at the bottom / off the floor).
    bottom: squat: only near the bottom (a 'butt wink'); deadlift: only just off the floor (the bar
        breaks from the floor with a rounding back that straightens again before lockout).
    last_reps: like every_rep, but only in the last rep(s) of the set (fatigue).
    progressive: grows rep by rep, 0 in the first rep, the full peak in the last.
        (last_reps / progressive change their factor at the top, where the bend is 0; in a deadlift
        the lowering after a lockout therefore already carries the next pull's rounding.)
    lockout: (arch) leaning back into extension at the top of each rep, never in the first stand.
    setup: (arch, deadlift) an over-arched back in the set position at the floor.
    """

    EVERY_REP = "every_rep"
    BOTTOM = "bottom"
    LAST_REPS = "last_reps"
    PROGRESSIVE = "progressive"
    LOCKOUT = "lockout"
    SETUP = "setup"


_ALLOWED_ONSETS: dict[SpineKind, tuple[Onset, ...]] = {
    SpineKind.NEUTRAL: (Onset.EVERY_REP,),
    SpineKind.ROUND: (Onset.EVERY_REP, Onset.BOTTOM, Onset.LAST_REPS, Onset.PROGRESSIVE),
    SpineKind.ARCH: (Onset.LOCKOUT, Onset.SETUP),
}


@dataclass(frozen=True)
class SpineProfile:
    """kind + peak_deg (>= 0, size of the bend at its worst; for neutral the small natural flexion
    at depth) + onset. lumbar_share 0..1: the part of the bend put into the lumbar bones;
    lumbar_low 0..1: how much of the lumbar bend is concentrated at L4-S1 (0 = the typical
    distribution LUMBAR_WEIGHTS_TYPICAL, 1 = LUMBAR_WEIGHTS_LOW)."""

    kind: SpineKind
    peak_deg: float
    onset: Onset = Onset.EVERY_REP
    lumbar_share: float = 0.6
    last_reps: int = 1
    lumbar_low: float = 0.0

    @property
    def lumbar_weights(self) -> tuple[float, ...]:
        return tuple(
            (1.0 - self.lumbar_low) * a + self.lumbar_low * b
            for a, b in zip(LUMBAR_WEIGHTS_TYPICAL, LUMBAR_WEIGHTS_LOW, strict=True)
        )

    def __post_init__(self) -> None:
        if self.onset not in _ALLOWED_ONSETS[self.kind]:
            raise ValueError(f"spine {self.kind.value!r} cannot have onset {self.onset.value!r}")
        if not (math.isfinite(self.peak_deg) and 0.0 <= self.peak_deg <= 60.0):
            raise ValueError(f"peak_deg must be within 0..60, got {self.peak_deg}")
        if not 0.0 <= self.lumbar_share <= 1.0:
            raise ValueError(f"lumbar_share must be within 0..1, got {self.lumbar_share}")
        if self.last_reps < 1:
            raise ValueError(f"last_reps must be >= 1, got {self.last_reps}")
        if not 0.0 <= self.lumbar_low <= 1.0:
            raise ValueError(f"lumbar_low must be within 0..1, got {self.lumbar_low}")


@dataclass(frozen=True)
class Timing:
    """Durations in seconds. stand_s: neutral standing at the start (the baseline every clip has).
    hinge_s / set_s: deadlift only, bending down to the bar and holding the set position."""

    n_reps: int = 3
    stand_s: float = 1.0
    hinge_s: float = 1.0
    set_s: float = 0.3
    descent_s: float = 1.1
    bottom_s: float = 0.25
    ascent_s: float = 0.9
    lockout_s: float = 0.5
    end_s: float = 0.4

    def __post_init__(self) -> None:
        if self.n_reps < 1:
            raise ValueError(f"n_reps must be >= 1, got {self.n_reps}")
        durations = (self.stand_s, self.hinge_s, self.descent_s, self.ascent_s)
        if min(durations) <= 0 or min(self.set_s, self.bottom_s, self.lockout_s, self.end_s) < 0:
            raise ValueError("phase durations must be positive (pauses may be 0)")


@dataclass(frozen=True)
class _Segment:
    phase: Phase
    duration_s: float
    depth_from: float
    depth_to: float
    rep: int  # 0 = not in a rep
    cycle: int  # increments after each pass through the top (see spine_profile)


@dataclass(frozen=True)
class Timeline:
    """Per-frame (T,) motion: t_s, depth 0..1, phase (Phase values), rep (0 = none, else 1-based),
    progress 0..1 within the current segment, cycle (1-based, see spine_curve)."""

    exercise: Exercise
    fps: float
    n_reps: int
    t_s: FloatArray
    depth: FloatArray
    phase: NDArray[np.str_]
    rep: IntArray
    progress: FloatArray
    cycle: IntArray

    def __len__(self) -> int:
        return len(self.t_s)


def _segments(exercise: Exercise, timing: Timing) -> list[_Segment]:
    seg: list[_Segment] = []
    n = timing.n_reps
    if exercise is Exercise.SQUAT:
        seg.append(_Segment(Phase.SETUP, timing.stand_s, 0.0, 0.0, 0, 1))
        for r in range(1, n + 1):
            seg.append(_Segment(Phase.DESCENT, timing.descent_s, 0.0, 1.0, r, r))
            seg.append(_Segment(Phase.BOTTOM, timing.bottom_s, 1.0, 1.0, r, r))
            seg.append(_Segment(Phase.ASCENT, timing.ascent_s, 1.0, 0.0, r, r))
            lock = timing.lockout_s if r < n else timing.lockout_s + timing.end_s
            seg.append(_Segment(Phase.LOCKOUT, lock, 0.0, 0.0, r, r + 1))
    elif exercise is Exercise.DEADLIFT:
        seg.append(_Segment(Phase.SETUP, timing.stand_s, 0.0, 0.0, 0, 0))
        seg.append(_Segment(Phase.SETUP, timing.hinge_s, 0.0, 1.0, 0, 1))
        seg.append(_Segment(Phase.SETUP, timing.set_s, 1.0, 1.0, 0, 1))
        for r in range(1, n + 1):
            seg.append(_Segment(Phase.ASCENT, timing.ascent_s, 1.0, 0.0, r, r))
            seg.append(_Segment(Phase.LOCKOUT, timing.lockout_s, 0.0, 0.0, r, r + 1))
            seg.append(_Segment(Phase.DESCENT, timing.descent_s, 0.0, 1.0, r, r + 1))
            bottom = timing.bottom_s if r < n else timing.bottom_s + timing.end_s
            seg.append(_Segment(Phase.BOTTOM, bottom, 1.0, 1.0, r, r + 1))
    else:
        raise ValueError(f"unsupported exercise {exercise!r}")
    return [s for s in seg if s.duration_s > 0]


def build_timeline(exercise: Exercise, timing: Timing, fps: float) -> Timeline:
    """Sample the set at fps. Depth moves with a cosine ease between its segment end values."""
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps}")
    segs = _segments(exercise, timing)
    ends = np.cumsum([s.duration_s for s in segs])
    n_frames = math.floor(ends[-1] * fps + 1e-9)
    t = np.arange(n_frames, dtype=np.float64) / fps
    idx = np.minimum(np.searchsorted(ends, t, side="right"), len(segs) - 1)
    starts = ends - np.array([s.duration_s for s in segs])
    dur = np.array([s.duration_s for s in segs])[idx]
    progress = np.clip((t - starts[idx]) / dur, 0.0, 1.0)
    d0 = np.array([s.depth_from for s in segs])[idx]
    d1 = np.array([s.depth_to for s in segs])[idx]
    depth = d0 + (d1 - d0) * (1.0 - np.cos(np.pi * progress)) / 2.0
    phase = np.array([s.phase.value for s in segs])[idx]
    rep = np.array([s.rep for s in segs], dtype=np.int64)[idx]
    cycle = np.array([s.cycle for s in segs], dtype=np.int64)[idx]
    return Timeline(exercise, float(fps), timing.n_reps, t, depth, phase, rep, progress, cycle)


@dataclass(frozen=True)
class SpineCurve:
    """Per-frame (T,) true spine flexion in degrees relative to neutral (+ flexion, - extension);
    lumbar_weights: the lumbar bend's share per LUMBAR_BONES joint."""

    lumbar_deg: FloatArray
    thoracic_deg: FloatArray
    lumbar_weights: tuple[float, ...] = LUMBAR_WEIGHTS_TYPICAL

    @property
    def total_deg(self) -> FloatArray:
        return self.lumbar_deg + self.thoracic_deg


def _smoothstep(x: FloatArray) -> FloatArray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def spine_curve(tl: Timeline, profile: SpineProfile) -> SpineCurve:
    """The spine flexion over the set for a profile (see Onset). Continuous in time: fault factors
    change only where the shape is 0 (at the top), and the first stand is always neutral."""
    d = tl.depth
    n = tl.n_reps
    shape: FloatArray
    is_dl = tl.exercise is Exercise.DEADLIFT
    in_setup_or_later = np.ones(len(tl), dtype=bool)
    if profile.kind is SpineKind.NEUTRAL:
        shape = d**1.5
    elif profile.kind is SpineKind.ROUND:
        if profile.onset is Onset.BOTTOM:
            if is_dl:  # only off the floor: 0 at the floor, peak at 30 % of the ascent, 0 by 60 %
                ascending = tl.phase == Phase.ASCENT.value
                bump = np.sin(np.pi * np.clip(tl.progress / 0.6, 0.0, 1.0))
                shape = np.where(ascending, bump, 0.0)
            else:
                shape = _smoothstep((d - 0.6) / 0.4)
        else:
            shape = d**1.5
            cyc = tl.cycle.astype(np.float64)
            if profile.onset is Onset.LAST_REPS:
                shape = shape * (cyc > n - profile.last_reps)
            elif profile.onset is Onset.PROGRESSIVE:
                factor = np.clip((cyc - 1.0) / (n - 1), 0.0, 1.0) if n > 1 else np.ones_like(cyc)
                shape = shape * factor
    else:  # arch
        if profile.onset is Onset.LOCKOUT:
            shape = -((1.0 - d) ** 3)
            first_top = Phase.ASCENT.value
            started = np.cumsum(tl.phase == first_top) > 0
            in_setup_or_later = started
        else:
            if not is_dl:
                raise ValueError("an over-arched setup is only modelled for the deadlift")
            shape = -(d**2)
    total = profile.peak_deg * shape * in_setup_or_later
    total = np.asarray(total, dtype=np.float64)
    return SpineCurve(
        total * profile.lumbar_share, total * (1.0 - profile.lumbar_share), profile.lumbar_weights
    )


# --------------------------------------------------------------------------------------------------
# Joint-angle keys (sagittal plane, degrees)


@dataclass(frozen=True)
class LegKeys:
    """Bottom-position angles; standing is all zero. thigh_pitch_deg: hip->knee against straight
    down, + = knee forward (90 = thigh horizontal, > 90 below parallel); knee_deg: knee flexion;
    pelvis_deg: forward pitch of the pelvis (the trunk's lean before any spine bend);
    toe_out_deg: each foot turned out about the vertical."""

    thigh_pitch_deg: float
    knee_deg: float
    pelvis_deg: float
    toe_out_deg: float = 12.0


@dataclass(frozen=True)
class SagittalAngles:
    """Per-frame (T,) pose angles in degrees; see LegKeys for the meaning."""

    thigh_pitch_deg: FloatArray
    knee_deg: FloatArray
    pelvis_deg: FloatArray


def sagittal_angles(depth: FloatArray, keys: LegKeys) -> SagittalAngles:
    """Standing (0) to bottom (keys) by depth; the knee leads a little in the first half (as real
    lifters' knees break with the hips), the pelvis follows depth."""
    d = np.clip(depth, 0.0, 1.0)
    knee_share = np.sin(d * np.pi / 2.0)
    return SagittalAngles(keys.thigh_pitch_deg * d, keys.knee_deg * knee_share, keys.pelvis_deg * d)


# --------------------------------------------------------------------------------------------------
# Ground truth: reps and fault labels


@dataclass(frozen=True)
class RepTruth:
    """A true rep: inclusive frame indices; bottom_frame = deepest frame (squat hole, deadlift floor
    start), top_frame = middle of the lockout; phases = (phase, first, last) in time order."""

    index: int
    start_frame: int
    end_frame: int
    bottom_frame: int
    top_frame: int
    start_s: float
    end_s: float
    phases: list[tuple[str, int, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "bottom_frame": self.bottom_frame,
            "top_frame": self.top_frame,
            "start_s": round(self.start_s, 4),
            "end_s": round(self.end_s, 4),
            "phases": [list(p) for p in self.phases],
        }


def _runs(values: NDArray[Any]) -> list[tuple[Any, int, int]]:
    out: list[tuple[Any, int, int]] = []
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            out.append((values[start], start, i - 1))
            start = i
    return out


def true_reps(tl: Timeline) -> list[RepTruth]:
    reps: list[RepTruth] = []
    for r in range(1, tl.n_reps + 1):
        frames = np.flatnonzero(tl.rep == r)
        if len(frames) == 0:
            continue
        a, b = int(frames[0]), int(frames[-1])
        phases = [(str(p), int(s), int(e)) for p, s, e in _runs(tl.phase[a : b + 1])]
        phases = [(p, s + a, e + a) for p, s, e in phases]
        seg_depth = tl.depth[a : b + 1]
        bottom = a + int(np.argmax(seg_depth))
        lock = [(s, e) for p, s, e in phases if p == Phase.LOCKOUT.value]
        top = (lock[0][0] + lock[0][1]) // 2 if lock else a + int(np.argmin(seg_depth))
        if tl.exercise is Exercise.SQUAT:
            bottoms = [(s, e) for p, s, e in phases if p == Phase.BOTTOM.value]
            if bottoms:
                bottom = (bottoms[0][0] + bottoms[0][1]) // 2
        reps.append(
            RepTruth(r, a, b, bottom, top, float(tl.t_s[a]), float(tl.t_s[b]), phases=phases)
        )
    return reps


@dataclass(frozen=True)
class RuleThreshold:
    threshold: float
    severe_at: float
    unit: str
    direction: str  # "above" or "below"


def load_thresholds(preset: str = "beginner") -> dict[str, RuleThreshold]:
    """The fault thresholds of a preset, read from formcheck/data/thresholds.yaml (the only
    copy)."""
    text = (resources.files("formcheck") / "data" / "thresholds.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    if preset not in doc["presets"]:
        raise ValueError(f"unknown preset {preset!r}; known: {sorted(doc['presets'])}")
    return {
        code: RuleThreshold(
            float(rule["threshold"][preset]),
            float(rule["severe_at"][preset]),
            str(rule["unit"]),
            str(rule["direction"]),
        )
        for code, rule in doc["rules"].items()
    }


@dataclass(frozen=True)
class FaultLabel:
    """What a perfect analyzer should say about one rep and one rule: value (the rule's metric on
    the true motion), present (value beyond threshold), severity ('major' past severe_at, 'minor',
    or ''), borderline (within BORDERLINE_MARGIN of the threshold: scoring may skip it)."""

    code: str
    rep_index: int
    value: float
    threshold: float
    present: bool
    severity: str
    borderline: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rep_index": self.rep_index,
            "value": round(self.value, 2),
            "threshold": self.threshold,
            "present": self.present,
            "severity": self.severity,
            "borderline": self.borderline,
        }


def _judge(
    code: str, rep: int, value: float, rule: RuleThreshold, margin: float = BORDERLINE_MARGIN_DEG
) -> FaultLabel:
    if rule.direction == "above":
        present, major = value > rule.threshold, value >= rule.severe_at
    else:
        present, major = value < rule.threshold, value <= rule.severe_at
    severity = ("major" if major else "minor") if present else ""
    borderline = abs(value - rule.threshold) < margin
    return FaultLabel(code, rep, float(value), rule.threshold, bool(present), severity, borderline)


def label_faults(
    exercise: Exercise,
    reps: list[RepTruth],
    spine_total_deg: FloatArray,
    trunk_incl_deg: FloatArray,
    thigh_above_horizontal_deg: FloatArray,
    hip_flex_deg: FloatArray,
    thresholds: dict[str, RuleThreshold],
) -> list[FaultLabel]:
    """Per rep: back_rounding (peak flexion in the rep) and back_overarch (peak extension), plus the
    squat's forward_lean / shallow_depth at the bottom frame and the deadlift's incomplete_lockout
    at the top frame. All values from the true (rig) motion; angles are (T,) degrees."""
    labels: list[FaultLabel] = []
    for rep in reps:
        sl = slice(rep.start_frame, rep.end_frame + 1)
        labels.append(
            _judge(
                "back_rounding",
                rep.index,
                float(np.max(spine_total_deg[sl])),
                thresholds["back_rounding"],
            )
        )
        labels.append(
            _judge(
                "back_overarch",
                rep.index,
                float(np.max(-spine_total_deg[sl])),
                thresholds["back_overarch"],
            )
        )
        if exercise is Exercise.SQUAT:
            b = rep.bottom_frame
            labels.append(
                _judge(
                    "forward_lean", rep.index, float(trunk_incl_deg[b]), thresholds["forward_lean"]
                )
            )
            labels.append(
                _judge(
                    "shallow_depth",
                    rep.index,
                    float(thigh_above_horizontal_deg[b]),
                    thresholds["shallow_depth"],
                )
            )
        else:
            labels.append(
                _judge(
                    "incomplete_lockout",
                    rep.index,
                    float(hip_flex_deg[rep.top_frame]),
                    thresholds["incomplete_lockout"],
                )
            )
    return labels
