"""Reps and phases from the angle series; squat vs deadlift detection.

A squat rep goes standing -> down -> standing (descent first); a deadlift rep goes floor ->
lockout -> floor (ascent first; the clip's last rep may end held at lockout). Segmentation uses
hysteresis on a depth signal, a minimum range of motion and a minimum duration, ignores the
setup/walk-out, and marks reps that do not reach the full range as partial. Missing frames (NaN)
are never bridged for longer than max_gap_s, so no rep is counted across a stretch where the lifter
was not seen. All times come from angles.t_s (variable frame rates work). Every tunable lives in
data/reps.yaml.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from formcheck import signals
from formcheck.datafiles import Checks, DataFileError
from formcheck.kinematics import AngleSeries, standing_mask
from formcheck.landmarks import LM, PoseSequence

FloatArray = NDArray[np.float64]
REPS_FILE = "reps.yaml"


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

    bottom_frame / bottom_s: the rep's turning point (squat: deepest frame; deadlift: lockout,
    the top). phases: list of (phase, start_frame, end_frame) in time order.
    partial: did not reach full range.
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


# --- configuration (data/reps.yaml) --------------------------------------------------------------


class RepConfigError(DataFileError):
    """reps.yaml is missing a key, has an unknown one, or holds a bad value."""


_check = Checks(RepConfigError)


@dataclass(frozen=True)
class SegmentationParams:
    smoothing_window_s: float
    turn_smoothing_s: float
    max_gap_s: float
    normalize_low_pct: float
    normalize_high_pct: float
    reversal_frac: float
    exit_frac: float
    onset_frac: float
    onset_speed_frac: float
    turn_band_frac: float
    settle_band_frac: float
    min_rom_deg: float
    min_rom_height_norm: float
    min_rep_s: float
    partial_frac: float
    typical_rom_pct: float


@dataclass(frozen=True)
class DetectionFeature:
    """A posture cue: votes +1 (squat) at squat_at, -1 (deadlift) at deadlift_at, linear between."""

    squat_at: float
    deadlift_at: float
    weight: float


@dataclass(frozen=True)
class DetectionParams:
    unsure_below: float
    deepest_min_s: float
    max_trunk_deg: float
    full_evidence_s: float
    depth_band_frac: float
    start_window_s: float
    depth_channels: dict[str, float]  # AngleSeries field -> signed weight
    features: dict[str, DetectionFeature]


@dataclass(frozen=True)
class RepConfig:
    segmentation: SegmentationParams
    channels: dict[Exercise, dict[str, float]]  # AngleSeries field -> signed weight
    detection: DetectionParams


_FEATURES = (
    "knee_flex_at_depth_deg",
    "knee_hip_ratio_at_depth",
    "trunk_incl_at_depth_deg",
    "thigh_above_horizontal_at_depth_deg",
    "start_depth_frac",
    "wrist_below_hip_at_depth",
)
_DETECTION_VALUES = (
    "unsure_below",
    "deepest_min_s",
    "max_trunk_deg",
    "full_evidence_s",
    "depth_band_frac",
    "start_window_s",
)
_CHANNELS = ("hip_flex_deg", "knee_flex_deg", "trunk_incl_deg", "hip_height_norm")


def _params(raw: Any, where: str, names: tuple[str, ...]) -> dict[str, float]:
    return _check.values(_check.mapping(raw, where, names), where, names)


def _channel_weights(raw: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, dict) or not raw or not set(raw) <= set(_CHANNELS):
        _check.fail(where, f"a non-empty mapping of {_CHANNELS}")
    return {k: _check.number(v, f"{where}.{k}") for k, v in raw.items()}


def load_rep_config(path: Path | None = None) -> RepConfig:
    """Read and validate reps.yaml (the packaged one unless path is given); RepConfigError."""
    raw, where = _check.load(REPS_FILE, path)
    top = _check.mapping(
        raw, where, {"schema_version", "segmentation", "depth_channels", "detection"}
    )
    _check.schema_version(top, where)
    seg_names = tuple(f.name for f in fields(SegmentationParams))
    seg = SegmentationParams(**_params(top["segmentation"], f"{where}:segmentation", seg_names))
    if not 0 < seg.reversal_frac < 1 or not 0 < seg.exit_frac < 1:
        _check.fail(where, "need 0 < reversal_frac < 1 and 0 < exit_frac < 1")
    chan_raw = _check.mapping(
        top["depth_channels"], f"{where}:depth_channels", {"rationale", "squat", "deadlift"}
    )
    channels: dict[Exercise, dict[str, float]] = {}
    for ex in (Exercise.SQUAT, Exercise.DEADLIFT):
        channels[ex] = _channel_weights(chan_raw[ex.value], f"{where}:depth_channels.{ex}")
    det_raw = _check.mapping(
        top["detection"],
        f"{where}:detection",
        {*_DETECTION_VALUES, "depth_channels", "features"},
    )
    det_names = _DETECTION_VALUES
    det_params = {k: v for k, v in det_raw.items() if k not in ("features", "depth_channels")}
    det_channels = _channel_weights(det_raw["depth_channels"], f"{where}:detection.depth_channels")
    det = _params(det_params, f"{where}:detection", det_names)
    feat_raw = _check.mapping(det_raw["features"], f"{where}:detection.features", set(_FEATURES))
    features = {}
    for name in _FEATURES:
        keys = {"squat_at", "deadlift_at", "weight", "rationale"}
        entry = _check.mapping(feat_raw[name], f"{where}:detection.features.{name}", keys)
        nums = {
            k: _check.number(entry[k], f"{where}:detection.features.{name}.{k}")
            for k in keys - {"rationale"}
        }
        if nums["squat_at"] == nums["deadlift_at"]:
            _check.fail(f"{where}:detection.features.{name}", "squat_at equals deadlift_at")
        features[name] = DetectionFeature(**nums)
    detection = DetectionParams(**det, depth_channels=det_channels, features=features)
    return RepConfig(seg, channels, detection)


@cache
def _default_config() -> RepConfig:
    return load_rep_config()


# --- signals -------------------------------------------------------------------------------------


def _check_angles(angles: AngleSeries) -> FloatArray:
    t = np.asarray(angles.t_s, dtype=np.float64)
    if t.ndim != 1 or (len(t) > 1 and not np.all(np.diff(t) > 0)):
        raise ValueError("angles.t_s must be a 1-D strictly increasing array of seconds")
    return t


def _median_smooth(t: FloatArray, x: FloatArray, window_s: float) -> FloatArray:
    """Centred moving median over +-window_s/2 in TIME; NaN frames stay NaN."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(len(x), np.nan)
    lo = np.searchsorted(t, t - window_s / 2, "left")
    hi = np.searchsorted(t, t + window_s / 2, "right")
    for i in np.flatnonzero(np.isfinite(x)):
        seg = x[lo[i] : hi[i]]
        out[i] = np.median(seg[np.isfinite(seg)])
    return out


def _min_rom(channel: str, p: SegmentationParams) -> float:
    return p.min_rom_height_norm if channel == "hip_height_norm" else p.min_rom_deg


def _depth_signal(
    angles: AngleSeries, t: FloatArray, weights: dict[str, float], p: SegmentationParams
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """(T,) depth 0 (standing tall) .. 1 (deepest), NaN where unseen; and the channels that move."""
    num, den = np.zeros(len(t)), np.zeros(len(t))
    moving: dict[str, FloatArray] = {}
    for name, weight in weights.items():
        x = _median_smooth(t, getattr(angles, name), p.smoothing_window_s)
        if not np.isfinite(x).any():
            continue
        lo, hi = np.nanpercentile(x, [p.normalize_low_pct, p.normalize_high_pct])
        if hi - lo < _min_rom(name, p):  # a channel that does not move would only add noise
            continue
        moving[name] = x
        z = (x - lo) / (hi - lo) if weight > 0 else (hi - x) / (hi - lo)
        seen = np.isfinite(z)
        num[seen] += abs(weight) * z[seen]
        den[seen] += abs(weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan), moving


def _turning_points(w: FloatArray, a: int, b: int, reversal: float) -> list[int]:
    """Frames of alternating rest / turning-point extremes of w over the run a..b (zigzag).

    An extreme is confirmed once w has come back from it by at least `reversal`, measured from
    that extreme itself, not from a clip-wide line: a rep whose floor or standing level drifts
    (touch-and-go reps, one deeper rep) still reverses by its own range. The list starts with a
    rest frame (the run's lowest frame before the first turning point) and alternates rest, turn,
    rest, ...; its last entry is the unconfirmed extreme the run ends on. [] if w never reverses."""
    lo_i = hi_i = a
    for i in range(a, b + 1):  # until the first reversal, both directions are open
        if w[i] > w[hi_i]:
            hi_i = i
        if w[i] < w[lo_i]:
            lo_i = i
        if w[i] <= w[hi_i] - reversal:  # came down from a turning point first
            first_rest = a + int(np.argmin(w[a : hi_i + 1]))
            points, seek_rest, cand = [first_rest, hi_i], True, i
            break
        if w[i] >= w[lo_i] + reversal:  # left rest first
            points, seek_rest, cand = [lo_i], False, i
            break
    else:
        return []
    for i in range(cand, b + 1):
        if (w[i] < w[cand]) if seek_rest else (w[i] > w[cand]):
            cand = i
        elif abs(w[i] - w[cand]) >= reversal:
            points.append(cand)
            seek_rest, cand = not seek_rest, i
    points.append(cand)
    return points


def _crossing(w: FloatArray, frm: int, to: int, level: float, rising: bool) -> int:
    """First frame in frm..to where w has crossed level (going up if rising); to if none."""
    seg = w[frm : to + 1]
    hit = np.flatnonzero(seg >= level if rising else seg <= level)
    return frm + int(hit[0]) if len(hit) else to


# --- segmentation --------------------------------------------------------------------------------

_PHASE_NAMES = {
    # (first half, turning band, second half, closing band)
    Exercise.SQUAT: (Phase.DESCENT, Phase.BOTTOM, Phase.ASCENT, Phase.LOCKOUT),
    Exercise.DEADLIFT: (Phase.ASCENT, Phase.LOCKOUT, Phase.DESCENT, Phase.BOTTOM),
}


@dataclass(frozen=True)
class _Candidate:
    start: int
    turn: int
    end: int
    rom: float  # in depth-scale units, rest level before the rep -> turning point
    phases: list[tuple[Phase, int, int]]


def _ended_at(c: _Candidate, end: int) -> _Candidate:
    """c cut back to end at frame end (>= its turning point), its phases clipped to match."""
    phases = [(name, a, min(b, end)) for name, a, b in c.phases if a <= end]
    return _Candidate(c.start, c.turn, end, c.rom, phases)


def _rest_edge(
    w: FloatArray, v: FloatArray, frm: int, to: int, rest: float, rom: float, v_peak: float,
    p: SegmentationParams,
) -> int:  # fmt: skip
    """Walking from frm towards to, the first frame at rest: within settle_band_frac of the rest
    level and slower than onset_speed_frac of the rep's peak speed (the movement onset); failing
    that (a steady drift), the first frame within onset_frac of the rest level."""
    step = 1 if to >= frm else -1
    idx = np.arange(frm, to + step, step)
    slow = (w[idx] <= rest + p.settle_band_frac * rom) & (
        np.abs(v[idx]) <= p.onset_speed_frac * v_peak
    )
    for hit in (np.flatnonzero(slow), np.flatnonzero(w[idx] <= rest + p.onset_frac * rom)):
        if len(hit):
            return int(idx[hit[0]])
    return to


def _candidate(
    w: FloatArray,
    v: FloatArray,
    left: int,
    entry: int,
    exit_: int | None,
    right: int,
    names: tuple[Phase, ...],
    p: SegmentationParams,
) -> _Candidate | None:
    """Refine one excursion into start/turn/end and phases; left/right bound the search for rest.

    w: 0 at rest .. 1 at the turning point; v its rate (1/s)."""
    last = exit_ if exit_ is not None else right
    turn = entry + int(np.argmax(w[entry : last + 1]))
    peak = w[turn]
    rest = float(w[left : entry + 1].min())
    start = _rest_edge(w, v, entry, left, rest, peak - rest, float(v[left : turn + 1].max()), p)
    band = peak - p.turn_band_frac * (peak - rest)
    turn_a, turn_b = turn, turn
    while turn_a > start and w[turn_a - 1] >= band:
        turn_a -= 1
    while turn_b < last and w[turn_b + 1] >= band:
        turn_b += 1
    if exit_ is None:  # still out when the clip (or the visible run) ends
        if turn == right and v[right] > p.onset_speed_frac * float(v[start : right + 1].max()):
            return None  # still on the way up: the turning point (lockout) was never reached
        phases = [
            (names[0], start, turn_a - 1),
            (names[1], turn_a, turn_b),
            (names[2], turn_b + 1, right),
        ]
        return _Candidate(start, turn, right, peak - rest, [ph for ph in phases if ph[1] <= ph[2]])
    rest_after = float(w[exit_ : right + 1].min())
    fall = peak - rest_after
    end = _rest_edge(w, v, exit_, right, rest_after, fall, float(-v[turn : right + 1].min()), p)
    settle = rest_after + p.settle_band_frac * fall
    settle_a = turn_b + 1 + int(np.flatnonzero(w[turn_b + 1 : end + 1] <= settle)[0])
    phases = [
        (names[0], start, turn_a - 1),
        (names[1], turn_a, turn_b),
        (names[2], turn_b + 1, settle_a - 1),
        (names[3], settle_a, end),
    ]
    rom = peak - min(rest, rest_after)
    return _Candidate(start, turn, end, rom, [ph for ph in phases if ph[1] <= ph[2]])


def _moves_enough(moving: dict[str, FloatArray], c: _Candidate, p: SegmentationParams) -> bool:
    for name, x in moving.items():
        seg = x[c.start : c.end + 1]
        seg = seg[np.isfinite(seg)]
        if len(seg) and seg.max() - seg.min() >= _min_rom(name, p):
            return True
    return False


def _run_candidates(
    t: FloatArray, w: FloatArray, v: FloatArray, a: int, b: int,
    moving: dict[str, FloatArray], exercise: Exercise, p: SegmentationParams,
) -> list[_Candidate]:  # fmt: skip
    """The reps of one visible run: each rest -> turning point -> rest of the zigzag.

    The first half must span at least reversal_frac (a rep first seen deep in its first half is
    not counted). A squat must come back up (the clip's last rep within exit_frac of where it
    started); a deadlift's last rep may end held at lockout or cut off while lowering."""
    names = _PHASE_NAMES[exercise]
    w_turn = np.full(len(w), np.nan)
    w_turn[a : b + 1] = _median_smooth(t[a : b + 1], w[a : b + 1], p.turn_smoothing_s)
    points = _turning_points(w_turn, a, b, p.reversal_frac)
    out: list[_Candidate] = []
    prev_end = a
    for k in range(1, len(points), 2):
        rest_a, turn = points[k - 1], points[k]
        rom = w[turn] - w[rest_a]
        if rom < p.reversal_frac:
            continue
        left = max(prev_end, points[k - 2] if k >= 2 else a)
        entry = _crossing(w, rest_a, turn, w[rest_a] + rom / 2, rising=True)
        if left > entry:
            # jittery frames between two reps (a garbled pose at the floor): the previous rep's end
            # was found inside this rep's rise. It ends at the rest point between the two instead.
            if not out or rest_a <= out[-1].turn:
                continue
            out[-1] = _ended_at(out[-1], rest_a)
            prev_end = out[-1].end
            left = max(prev_end, points[k - 2] if k >= 2 else a)
        exit_: int | None = None
        right = b
        if k + 1 < len(points):  # came back down from the turning point
            rest_b = points[k + 1]
            right = points[k + 2] if k + 2 < len(points) else b
            back = k + 2 < len(points) or w[rest_b] <= w[rest_a] + p.exit_frac * rom
            if back:
                fall = w[turn] - w[rest_b]
                exit_ = _crossing(w, turn, rest_b, w[rest_b] + fall / 2, rising=False)
            elif exercise is not Exercise.DEADLIFT:
                continue  # a squat cut off before standing up again is not a rep
        elif exercise is not Exercise.DEADLIFT:
            continue  # the clip ends at a squat's bottom
        c = _candidate(w, v, left, entry, exit_, right, names, p)
        if c is None or t[c.end] - t[c.start] < p.min_rep_s or not _moves_enough(moving, c, p):
            continue
        out.append(c)
        prev_end = c.end
    return out


def segment_reps(
    angles: AngleSeries, exercise: Exercise, config: RepConfig | None = None
) -> RepSegmentation:
    """Count reps and label phases. UNKNOWN exercise -> no reps (nothing to segment against)."""
    cfg = config or _default_config()
    p = cfg.segmentation
    t = _check_angles(angles)
    phase_per_frame = np.full(len(t), Phase.SETUP.value, dtype="<U8")
    if exercise is Exercise.UNKNOWN or len(t) < 2:
        return RepSegmentation([], phase_per_frame)
    depth, moving = _depth_signal(angles, t, cfg.channels[exercise], p)
    # w: 0 at the rest position a rep starts from, 1 at its turning point
    w_raw = depth if exercise is Exercise.SQUAT else 1.0 - depth
    found: list[_Candidate] = []
    # runs of seen data, the short gaps bridged, split where the lifter is missing longer
    bridged = signals.fill_gaps(w_raw, t, p.max_gap_s)
    for a, stop in signals.finite_runs(np.isfinite(bridged)):
        b = stop - 1
        w, v = np.full(len(t), np.nan), np.zeros(len(t))
        run_t = t[a : b + 1]
        w[a : b + 1] = bridged[a : b + 1]
        if b > a:  # rate over +-half a smoothing window: a median-filtered signal has flat steps
            h = p.smoothing_window_s / 2
            lo, hi = np.maximum(run_t - h, run_t[0]), np.minimum(run_t + h, run_t[-1])
            rise = np.interp(hi, run_t, w[a : b + 1]) - np.interp(lo, run_t, w[a : b + 1])
            v[a : b + 1] = rise / np.maximum(hi - lo, 1e-9)
        found += _run_candidates(t, w, v, a, b, moving, exercise, p)
    if not found:
        return RepSegmentation([], phase_per_frame)
    typical = float(np.percentile([c.rom for c in found], p.typical_rom_pct, method="higher"))
    reps = []
    for i, c in enumerate(found, start=1):
        partial = c.rom < p.partial_frac * typical
        times = float(t[c.start]), float(t[c.turn]), float(t[c.end])
        reps.append(Rep(i, c.start, c.turn, c.end, *times, partial, c.phases))
        for phase, f0, f1 in c.phases:
            phase_per_frame[f0 : f1 + 1] = phase.value
    return RepSegmentation(reps, phase_per_frame)


def phase_durations_s(rep: Rep, t_s: FloatArray) -> dict[Phase, float]:
    """Seconds spent in each phase of the rep (tempo); phases that did not occur are absent.

    A phase lasts from its first frame to the next phase's first frame, so the durations add up to
    rep.duration_s."""
    out: dict[Phase, float] = {}
    for phase, f0, f1 in rep.phases:
        stop = f1 + 1 if f1 < rep.end_frame else f1
        out[phase] = out.get(phase, 0.0) + float(t_s[stop] - t_s[f0])
    return out


# --- exercise detection --------------------------------------------------------------------------


def _median_finite(x: FloatArray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else float("nan")


def _wrist_below_hip(pose: PoseSequence) -> FloatArray:
    """(T,) how far the hands hang below the hips, in torso lengths (y down; NaN where unseen).

    Both wrists, hips and shoulders are averaged (the hands hold one bar); the torso length is the
    clip's median mid-shoulder to mid-hip pixel distance, so the cue does not depend on zoom."""
    xy = pose.xy_px

    def mid(left: LM, right: LM) -> FloatArray:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames stay NaN
            return np.asarray(np.nanmean(xy[:, [left, right]], axis=1), dtype=np.float64)

    shoulder, hip = mid(LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER), mid(LM.LEFT_HIP, LM.RIGHT_HIP)
    wrist = mid(LM.LEFT_WRIST, LM.RIGHT_WRIST)
    torso = np.hypot(*(shoulder - hip).T)
    torso_px = _median_finite(torso)
    if not np.isfinite(torso_px) or torso_px <= 0:
        return np.full(len(xy), np.nan)
    return (wrist[:, 1] - hip[:, 1]) / torso_px


def _fold_thigh(x: FloatArray) -> FloatArray:
    """thigh_above_horizontal_deg folded into -90..90: a facing guessed the wrong way round reads
    180 - the angle; whether the hip is above the knee does not depend on the facing."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 90.0, 180.0 - x, np.where(x < -90.0, -180.0 - x, x))


def _frame_s(t: FloatArray) -> FloatArray:
    """(T,) seconds each frame stands for (half the gaps to its neighbours; 1 s for one frame)."""
    if len(t) < 2:
        return np.ones(len(t))
    gaps = np.diff(t)
    return np.concatenate([[gaps[0]], (gaps[:-1] + gaps[1:]) / 2, [gaps[-1]]])


def _at_depth(x: FloatArray, depth: FloatArray, frame_s: FloatArray, d: DetectionParams) -> float:
    """Median of x at the deepest frames where x is measured: within depth_band_frac below the
    deepest level those frames hold for deepest_min_s in all (a glitch shorter than that cannot
    set it). Where nothing moves (depth NaN throughout), over every frame x is measured."""
    seen = np.isfinite(x)
    if not np.isfinite(depth).any():
        return _median_finite(x[seen])
    seen &= np.isfinite(depth)
    if not seen.any():
        return float("nan")
    order = np.argsort(-depth[seen])
    held = np.cumsum(frame_s[seen][order])
    last = min(int(np.searchsorted(held, d.deepest_min_s)), len(held) - 1)
    deepest = float(depth[seen][order][last])
    return _median_finite(x[seen & (depth >= deepest - d.depth_band_frac)])


def _upside_down(angles: AngleSeries, d: DetectionParams) -> NDArray[np.bool_]:
    """(T,) frames whose trunk leans further than max_trunk_deg from vertical (shoulders well below
    the hips): a skeleton the pose model flipped, not a posture of either lift."""
    with np.errstate(invalid="ignore"):
        return np.asarray(np.abs(angles.trunk_incl_deg) > d.max_trunk_deg, dtype=np.bool_)


def _seen(angles: AngleSeries) -> NDArray[np.bool_]:
    """(T,) frames where any angle was measured (the lifter was seen)."""
    return np.asarray(
        np.any([np.isfinite(getattr(angles, f.name)) for f in fields(AngleSeries)
                if f.name != "t_s"], axis=0),
        dtype=np.bool_,
    )  # fmt: skip


def _masked(x: Any, drop: NDArray[np.bool_]) -> FloatArray:
    return np.where(drop, np.nan, np.asarray(x, dtype=np.float64))


def detection_cues(
    angles: AngleSeries, config: RepConfig | None = None, pose: PoseSequence | None = None
) -> dict[str, float]:
    """The cues detect_exercise votes with (NaN where not measurable); {} if there is nothing to
    read (no moving channel and no hands).

    Each cue is read at the deepest frames where it is measured (squat bottom / deadlift floor) of
    a view-independent depth signal (hip height first, hip and knee flexion as support); the start
    cue at the clip's first frames. Trunk lean is read unsigned and the thigh angle folded (a
    facing guessed wrong in an oblique view flips them; neither lift leans back). Where nothing
    moves, the posture is that of standing and only the hands are read. The hands cue needs the
    clip's landmarks (pose, same frames as angles); without them it is left out."""
    cfg = config or _default_config()
    p, d = cfg.segmentation, cfg.detection
    t = _check_angles(angles)
    if pose is not None and len(pose) != len(t):
        raise ValueError(f"pose has {len(pose)} frames, angles {len(t)}")
    flipped = _upside_down(angles, d)
    angles = replace(
        angles, **{f.name: _masked(getattr(angles, f.name), flipped)
                   for f in fields(AngleSeries) if f.name != "t_s"},
    )  # fmt: skip
    depth, moving = _depth_signal(angles, t, d.depth_channels, p)
    frame_s = _frame_s(t)
    cues: dict[str, float] = {}
    if moving and np.isfinite(depth).sum() >= 2:
        # the bottom posture is read where the lifter is not standing tall (a clip that only
        # stands, or dips briefly, has no bottom posture to read)
        standing = standing_mask(angles)
        hip = _masked(_median_smooth(t, angles.hip_flex_deg, p.smoothing_window_s), standing)
        knee = _masked(_median_smooth(t, angles.knee_flex_deg, p.smoothing_window_s), standing)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = knee / hip
        trunk = _masked(np.abs(angles.trunk_incl_deg), standing)
        thigh = _masked(_fold_thigh(angles.thigh_above_horizontal_deg), standing)
        seen = np.isfinite(depth)
        start_frames = seen & (t <= t[seen][0] + d.start_window_s)
        cues = {
            "knee_flex_at_depth_deg": _at_depth(knee, depth, frame_s, d),
            "knee_hip_ratio_at_depth": _at_depth(ratio, depth, frame_s, d),
            "trunk_incl_at_depth_deg": _at_depth(trunk, depth, frame_s, d),
            "thigh_above_horizontal_at_depth_deg": _at_depth(thigh, depth, frame_s, d),
            "start_depth_frac": _median_finite(depth[start_frames]),
        }
    else:
        depth = np.full(len(t), np.nan)  # standing still: no depth, no posture to read
    if pose is not None:
        hands = _at_depth(_masked(_wrist_below_hip(pose), flipped), depth, frame_s, d)
        if cues or np.isfinite(hands):
            cues["wrist_below_hip_at_depth"] = hands
    return cues


def detect_exercise(
    angles: AngleSeries, config: RepConfig | None = None, pose: PoseSequence | None = None
) -> tuple[Exercise, float]:
    """Squat vs deadlift from posture at the deepest frames, where the hands are, and how the clip
    starts.

    Each cue votes between -1 (deadlift) and +1 (squat); the score is the weighted mean vote, cues
    measured as NaN counting as 0 (the hands cue is left out without pose). The hands are the
    strongest cue (a squat holds the bar on the shoulders or the arms up front, a deadlift hangs it
    from straight arms below the hips), so pass pose when the landmarks are at hand.

    Returns (the likelier lift, confidence = the score's size 0..1). The likelier lift is named
    whenever any cue was measured, however weak: below detection.unsure_below (reps.yaml) the
    caller should say it is unsure ("looks like a deadlift"). A score of exactly 0 names the
    deadlift, whose rules raise no depth fault, so a squat is never told it was shallow on no
    evidence. UNKNOWN (confidence 0) only when nothing could be measured: no lifter, no usable
    frames, or a lifter who never moves and whose hands are not seen."""
    cfg = config or _default_config()
    cues = detection_cues(angles, cfg, pose)
    score, total, measured = 0.0, 0.0, False
    for name, feature in cfg.detection.features.items():
        if name not in cues:  # not measurable without the landmarks: no vote, no weight
            continue
        total += feature.weight
        value = cues[name]
        if np.isfinite(value):
            measured = True
            frac = (value - feature.deadlift_at) / (feature.squat_at - feature.deadlift_at)
            score += feature.weight * (2.0 * float(np.clip(frac, 0.0, 1.0)) - 1.0)
    if not measured:
        return Exercise.UNKNOWN, 0.0
    score /= total
    seen_s = float(_frame_s(angles.t_s)[_seen(angles)].sum())
    confidence = abs(score) * min(1.0, seen_s / cfg.detection.full_evidence_s)
    return (Exercise.SQUAT if score > 0 else Exercise.DEADLIFT), confidence


def exercise_unsure(confidence: float, config: RepConfig | None = None) -> bool:
    """Is detect_exercise's confidence too low to name the lift without saying 'unsure'?"""
    return confidence < (config or _default_config()).detection.unsure_below
