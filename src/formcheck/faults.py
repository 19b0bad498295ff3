"""Per-rep fault rules. Thresholds come from data/thresholds.yaml (never from code).

Each rule turns a rep's measurements into at most one Fault with a measured value, the threshold it
was judged against, a severity and a confidence. Rules whose view cannot support them are not
guessed: they produce a Notice (notices.py: a code such as view_unsuitable, the checks and reps it concerns)
instead, and the Evaluation says per rule and rep why it was not judged (NotJudged).

How a rule measures (percentiles, windows, confidence model) lives in data/fault_measures.yaml; the
registry below maps each FaultCode to one small measuring function. The rules themselves (FaultCode,
Severity, Rule, RuleSet, load_rules) live in rules.py and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from formcheck.datafiles import value_file
from formcheck.kinematics import AngleSeries, View, ViewEstimate
from formcheck.notices import Notice, NoticeCode, NotJudged, and_words, make, reps_words
from formcheck.reps import Exercise, Phase, Rep, RepSegmentation
from formcheck.rules import THRESHOLDS_FILE as THRESHOLDS_FILE
from formcheck.rules import Direction as Direction
from formcheck.rules import FaultCode as FaultCode
from formcheck.rules import FaultConfigError as FaultConfigError
from formcheck.rules import Rule as Rule
from formcheck.rules import RuleSet as RuleSet
from formcheck.rules import Severity as Severity
from formcheck.rules import available_presets as available_presets
from formcheck.rules import load_rules as load_rules
from formcheck.spine import SpineSeries

FloatArray = NDArray[np.float64]
MEASURES_FILE = "fault_measures.yaml"


@dataclass(frozen=True)
class Fault:
    code: FaultCode
    rep_index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    value: float
    threshold: float
    unit: str
    severity: Severity
    confidence: float
    message: str


# --- how rules measure (data/fault_measures.yaml) -------------------------------------------------


@dataclass(frozen=True)
class MeasureParams:
    peak_percentile: float
    spine_frame_min_confidence: float
    spine_min_valid_fraction: float
    spine_neutral_max_spread_share: float
    bottom_margin_s: float
    ascent_fraction: float
    start_level_window_s: float
    margin_confidence_floor: float
    spine_hinge_min_lean_deg: float
    spine_hinge_percentile: float
    spine_hinge_min_frames: float
    spine_deadlift_population_neutral_deg: float
    spine_squat_population_neutral_deg: float
    spine_population_confidence: float
    spine_readout_error_deg: float


def load_measure_params(path: Path | None = None) -> MeasureParams:
    """The numbers of fault_measures.yaml: the file at path, else the packaged one (read once);
    FaultConfigError when it is malformed."""
    return value_file(MeasureParams, MEASURES_FILE, path, FaultConfigError)


# --- the registry: one small measuring function per rule ------------------------------------------


@dataclass(frozen=True)
class RepData:
    """What a rule sees of one rep."""

    rep: Rep
    angles: AngleSeries
    spine: SpineSeries | None
    params: MeasureParams
    own_neutral_steady: bool = False
    exercise: Exercise = Exercise.DEADLIFT

    @property
    def own_standing_neutral(self) -> bool:
        """A steady own neutral that came from standing frames, not the early-hinge fallback (a set
        that starts with a rounded setup would make rounding its reference: arching needs this)."""
        return (
            self.own_neutral_steady and self.spine is not None and self.spine.neutral_from_standing
        )


@dataclass(frozen=True)
class Measurement:
    """A rep's measured value; frames first..last set it; data_confidence 0..1 in those frames."""

    value: float
    first_frame: int
    last_frame: int
    data_confidence: float


MeasureFn = Callable[[RepData], Measurement | None]


@dataclass(frozen=True)
class RuleSpec:
    measure: MeasureFn
    label: str  # plain words for notices: "squat depth"
    message: Callable[[float], str]  # value -> one short sentence for the lifter
    spine: bool  # measured on the back (withheld together as the "spine" group)


REGISTRY: dict[FaultCode, RuleSpec] = {}


def _rule(
    code: FaultCode, label: str, message: Callable[[float], str], spine: bool = False
) -> Callable[[MeasureFn], MeasureFn]:
    def register(fn: MeasureFn) -> MeasureFn:
        REGISTRY[code] = RuleSpec(fn, label, message, spine)
        return fn

    return register


def _robust_extreme(x: FloatArray, i0: int, i1: int, percentile: float) -> Measurement | None:
    """percentile (95 = robust max, 5 = robust min) of x[i0..i1]; the frames at/past it set it."""
    seg = np.asarray(x[i0 : i1 + 1], dtype=np.float64)
    seen = np.isfinite(seg)
    if not seen.any():
        return None
    value = float(np.percentile(seg[seen], percentile))
    setting = np.flatnonzero(seen & ((seg >= value) if percentile >= 50 else (seg <= value)))
    return Measurement(value, i0 + int(setting[0]), i0 + int(setting[-1]), float(seen.mean()))


def _phase_span(rep: Rep, phase: Phase) -> tuple[int, int] | None:
    return next(((f0, f1) for ph, f0, f1 in rep.phases if ph is phase), None)


def _turn_window(d: RepData, phase: Phase, margin_s: float) -> tuple[int, int]:
    """The turning phase (squat bottom / deadlift lockout) widened by margin_s, within the rep."""
    rep, t = d.rep, d.angles.t_s
    f0, f1 = _phase_span(rep, phase) or (rep.bottom_frame, rep.bottom_frame)
    i0 = int(np.searchsorted(t, t[f0] - margin_s, "left"))
    i1 = int(np.searchsorted(t, t[f1] + margin_s, "right")) - 1
    return max(i0, rep.start_frame), min(i1, rep.end_frame)


def _spine_window(
    rep: Rep, spine: SpineSeries | None, p: MeasureParams
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """(flexion_rel, confidence, usable) over the rep's frames."""
    if spine is None:
        empty = np.zeros(0)
        return empty, empty, np.zeros(0, dtype=bool)
    sl = slice(rep.start_frame, rep.end_frame + 1)
    x = np.asarray(spine.flexion_rel_deg[sl], dtype=np.float64)
    c = np.asarray(spine.confidence[sl], dtype=np.float64)
    return x, c, np.isfinite(x) & (c >= p.spine_frame_min_confidence)


def _spine_peak(d: RepData, sign: float) -> Measurement | None:
    """Robust peak of sign x the bend relative to the lifter's own neutral over the rep; None when
    fewer than spine_min_valid_fraction of the rep's frames have a usable outline."""
    x, c, usable = _spine_window(d.rep, d.spine, d.params)
    if not usable.any() or usable.sum() < d.params.spine_min_valid_fraction * len(usable):
        return None
    x = sign * x
    value = float(np.percentile(x[usable], d.params.peak_percentile))
    setting = usable & (x >= value)
    idx = np.flatnonzero(setting)
    first = d.rep.start_frame
    return Measurement(value, first + int(idx[0]), first + int(idx[-1]), float(c[setting].mean()))


def own_neutral_is_steady(
    spine: SpineSeries | None, threshold_deg: float, p: MeasureParams
) -> bool:
    """True when the lifter's own neutral exists and the frames it came from scatter by at most
    spine_neutral_max_spread_share of threshold_deg (the back rules' lowest threshold)."""
    return (
        spine is not None
        and bool(np.isfinite(spine.neutral_deg))
        and bool(np.isfinite(spine.neutral_spread_deg))
        and spine.neutral_spread_deg <= p.spine_neutral_max_spread_share * threshold_deg
    )


def hinge_frames(spine: SpineSeries, angles: AngleSeries, p: MeasureParams) -> NDArray[np.bool_]:
    """(T,) frames whose outline reading is usable (spine_frame_min_confidence) while the trunk
    leans forward at least spine_hinge_min_lean_deg: where a back's rounding is read."""
    lean = np.asarray(angles.trunk_incl_deg, dtype=np.float64)  # + = leaning forward
    with np.errstate(invalid="ignore"):
        return np.asarray(
            np.isfinite(spine.flexion_deg)
            & (spine.confidence >= p.spine_frame_min_confidence)
            & (lean >= p.spine_hinge_min_lean_deg),
            dtype=np.bool_,
        )


def population_rounding(
    reading_deg: FloatArray | float, p: MeasureParams, exercise: Exercise
) -> FloatArray:
    """A hinge reading of the learned read-out (degrees of flexion) as degrees of rounding beyond
    what a neutral back of the population reads at the hinge of the lift
    (spine_deadlift_population_neutral_deg, spine_squat_population_neutral_deg), to a micro-degree
    (so that a reading exactly at a limit is not pushed past it by float error)."""
    reading = np.asarray(reading_deg, dtype=np.float64)
    neutral = (
        p.spine_deadlift_population_neutral_deg
        if exercise is Exercise.DEADLIFT
        else p.spine_squat_population_neutral_deg
    )
    return np.asarray(np.round(reading - neutral, 6), dtype=np.float64)


def _hinge_peak(d: RepData, series: FloatArray) -> Measurement | None:
    """The spine_hinge_percentile of series (T,) over the rep's hinge_frames, the frames at or past
    it, and their confidence; None with fewer than spine_hinge_min_frames usable hinge frames."""
    if d.spine is None:
        return None
    p, rep = d.params, d.rep
    sl = slice(rep.start_frame, rep.end_frame + 1)
    x = np.asarray(series[sl], dtype=np.float64)
    usable = hinge_frames(d.spine, d.angles, p)[sl] & np.isfinite(x)
    if usable.sum() < p.spine_hinge_min_frames:
        return None
    value = float(np.percentile(x[usable], p.spine_hinge_percentile))
    idx = np.flatnonzero(usable & (x >= value))
    confidence = float(d.spine.confidence[sl][usable].mean())
    return Measurement(
        value, rep.start_frame + int(idx[0]), rep.start_frame + int(idx[-1]), confidence
    )


def hinge_rounding(d: RepData) -> Measurement | None:
    """Rounding estimated against the population's neutral back: population_rounding of the rep's
    hinge reading (_hinge_peak of the absolute bend). Its confidence carries
    spine_population_confidence."""
    if d.spine is None or d.exercise not in (Exercise.DEADLIFT, Exercise.SQUAT):
        return None
    m = _hinge_peak(d, d.spine.flexion_deg)
    if m is None:
        return None
    value = float(population_rounding(m.value, d.params, d.exercise))
    confidence = d.params.spine_population_confidence * m.data_confidence
    return Measurement(value, m.first_frame, m.last_frame, confidence)


def back_curves(
    exercise: Exercise,
    angles: AngleSeries,
    spine: SpineSeries | None,
    steady: bool,
    p: MeasureParams,
) -> tuple[FloatArray, FloatArray]:
    """Per frame (T,), in the terms the back verdicts use (NaN where a frame says nothing):
    rounding_deg, population_rounding on the hinge frames; arching_deg, the extension relative to a
    steady own neutral from standing frames, on every frame. For plots and overlays; the verdicts
    read robust percentiles of the same values."""
    n = len(angles)
    rounding, arching = np.full(n, np.nan), np.full(n, np.nan)
    if spine is None:
        return rounding, arching
    hinge = hinge_frames(spine, angles, p)
    if exercise in (Exercise.DEADLIFT, Exercise.SQUAT):
        rounding = np.where(hinge, population_rounding(spine.flexion_deg, p, exercise), np.nan)
    if steady and spine.neutral_from_standing:
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(spine.flexion_rel_deg) & (
                spine.confidence >= p.spine_frame_min_confidence
            )
        arching = np.where(ok, -spine.flexion_rel_deg, np.nan)
    return rounding, arching


def signed_back_deg(rounding_deg: FloatArray, arching_deg: FloatArray) -> FloatArray:
    """(T,) one signed value per frame for the overlay: + rounding, - arching (the larger of the
    two where both are read), NaN where neither is."""
    r = np.where(np.isfinite(rounding_deg), rounding_deg, -np.inf)
    a = np.where(np.isfinite(arching_deg), arching_deg, -np.inf)
    out = np.where(r >= a, r, -a)
    return np.asarray(np.where(np.isfinite(out), out, np.nan), dtype=np.float64)


@_rule(
    FaultCode.BACK_ROUNDING,
    "back rounding",
    lambda v: f"Back rounded about {v:.0f}° beyond a neutral back.",
    spine=True,
)
def back_rounding(d: RepData) -> Measurement | None:
    """Spinal flexion over the rep's hinge frames against what a neutral back of the population
    reads there (hinge_rounding): the learned read-out answers flexion against the anatomical
    neutral, so every rep whose back can be read has a reference, with or without a stand before
    the set."""
    return hinge_rounding(d)


@_rule(
    FaultCode.BACK_OVERARCH,
    "back arching",
    lambda v: f"Lower back arched {v:.0f}° past your neutral.",
    spine=True,
)
def back_overarch(d: RepData) -> Measurement | None:
    """Peak spinal extension (-flexion_rel) relative to the lifter's own neutral over the rep; only
    with a steady own neutral from standing frames (arching is a lifter's curve deepening past
    their own)."""
    return _spine_peak(d, -1.0) if d.own_standing_neutral else None


@_rule(
    FaultCode.FORWARD_LEAN,
    "forward lean",
    lambda v: f"Chest dropped: your trunk leaned {v:.0f}° from vertical at the bottom.",
)
def forward_lean(d: RepData) -> Measurement | None:
    """Trunk inclination around the squat bottom (robust max)."""
    i0, i1 = _turn_window(d, Phase.BOTTOM, d.params.bottom_margin_s)
    return _robust_extreme(d.angles.trunk_incl_deg, i0, i1, d.params.peak_percentile)


def _depth_words(v: float) -> str:
    if v >= 0:
        return f"Squat stopped {v:.0f}° above parallel: thighs did not get level with the knees."
    return f"Squat stopped {-v:.0f}° below parallel, short of the depth you set."


@_rule(FaultCode.SHALLOW_DEPTH, "squat depth", _depth_words)
def shallow_depth(d: RepData) -> Measurement | None:
    """Lowest thigh angle above horizontal around the bottom (robust min)."""
    i0, i1 = _turn_window(d, Phase.BOTTOM, d.params.bottom_margin_s)
    return _robust_extreme(
        d.angles.thigh_above_horizontal_deg, i0, i1, 100 - d.params.peak_percentile
    )


@_rule(
    FaultCode.HIPS_RISE_EARLY,
    "hips rising early",
    lambda v: f"Hips shot up first: your back got {v:.0f}° flatter off the floor.",
)
def hips_rise_early(d: RepData) -> Measurement | None:
    """Rise of trunk inclination over the first part of the deadlift ascent (chest should lead)."""
    span = _phase_span(d.rep, Phase.ASCENT)
    if span is None:
        return None
    t, trunk, p = d.angles.t_s, d.angles.trunk_incl_deg, d.params
    f0, f1 = span
    t_top = t[min(f1 + 1, d.rep.end_frame)]
    i1 = max(f0, int(np.searchsorted(t, t[f0] + p.ascent_fraction * (t_top - t[f0]), "right")) - 1)
    b1 = max(f0, int(np.searchsorted(t, t[f0] + p.start_level_window_s, "right")) - 1)
    base = trunk[f0 : b1 + 1]
    base = base[np.isfinite(base)]
    peak = _robust_extreme(trunk, f0, i1, p.peak_percentile)
    if peak is None or len(base) == 0:
        return None
    return Measurement(
        peak.value - float(np.median(base)), f0, peak.last_frame, peak.data_confidence
    )


@_rule(
    FaultCode.INCOMPLETE_LOCKOUT,
    "lockout",
    lambda v: f"Hips stayed {v:.0f}° short of standing tall at the top.",
)
def incomplete_lockout(d: RepData) -> Measurement | None:
    """Least hip flexion reached in the deadlift lockout (robust min)."""
    i0, i1 = _turn_window(d, Phase.LOCKOUT, 0.0)
    return _robust_extreme(d.angles.hip_flex_deg, i0, i1, 100 - d.params.peak_percentile)


@_rule(
    FaultCode.KNEE_VALGUS,
    "knees caving in",
    lambda v: f"Knees caved in to {100 * v:.0f}% of your ankle width at the bottom.",
)
def knee_valgus(d: RepData) -> Measurement | None:
    """Narrowest knee-to-ankle width ratio around the squat bottom (robust min)."""
    i0, i1 = _turn_window(d, Phase.BOTTOM, d.params.bottom_margin_s)
    return _robust_extreme(d.angles.knee_width_ratio, i0, i1, 100 - d.params.peak_percentile)


# --- evaluation -----------------------------------------------------------------------------------

_VIEW_WORDS = {
    View.SIDE: "the side",
    View.OBLIQUE: "an angle",
    View.FRONT: "the front",
    View.REAR: "behind",
}


def _view_notice(rules: list[Rule], view: View) -> Notice:
    needs = rules[0].needs_view
    seen = (
        "the camera angle is unclear"
        if view is View.UNKNOWN
        else f"this clip is filmed from {_VIEW_WORDS[view]}"
    )
    return make(
        NoticeCode.VIEW_UNSUITABLE,
        "film_side" if View.SIDE in needs else "film_front",
        checks=[str(r.code) for r in rules],
        what=and_words(REGISTRY[r.code].label for r in rules).capitalize(),
        where=" or ".join(_VIEW_WORDS[v] for v in View if v in needs),
        seen=seen,
        verb="they were" if len(rules) > 1 else "it was",
    )


def _neutral_notice(spine: SpineSeries | None, reps: list[int]) -> Notice:
    """Why arching, which needs the lifter's own standing neutral, was not judged on `reps`."""
    if spine is not None and spine.neutral_from_standing and np.isfinite(spine.neutral_spread_deg):
        why = make(
            NoticeCode.ARCHING_NOT_JUDGED,
            "",
            message="arching_neutral_unsteady",
            spread_deg=spine.neutral_spread_deg,
        ).message
    else:
        why = make(NoticeCode.ARCHING_NOT_JUDGED, "", message="arching_no_standing").message
    return make(
        NoticeCode.ARCHING_NOT_JUDGED,
        "stand_neutral",
        reps=reps,
        checks=[str(FaultCode.BACK_OVERARCH)],
        why=why,
    )


def _spine_notice(low: list[int], n_reps: int, checks: list[str]) -> Notice:
    every = len(low) == n_reps
    return make(
        NoticeCode.SPINE_LOW_CONFIDENCE,
        "film_back",
        message="spine_low_confidence_all" if every else None,
        reps=low,
        checks=checks,
        which=reps_words(low),
    )


def _margin_confidence(
    rule: Rule, value: float, p: MeasureParams, error_deg: float | None
) -> float:
    """How sure a value past the threshold is to be past it. With a measured error (error_deg, the
    SD of the rule's value): how much more likely than a coin toss the true value is past the
    threshold under Gaussian error, 2 P(past) - 1 (0 at the threshold; 0.5 when P(past) = 0.75, about
    0.67 error SDs past it); otherwise margin_confidence_floor at the threshold, growing linearly to 1
    at severe_at."""
    if error_deg is not None and error_deg > 0:
        z = abs(value - rule.threshold) / error_deg
        return math.erf(z / math.sqrt(2.0))
    floor = p.margin_confidence_floor
    return floor + (1.0 - floor) * float(np.clip(rule.margin(value), 0.0, 1.0))


def _make_fault(
    rule: Rule,
    rep: Rep,
    m: Measurement,
    t: FloatArray,
    view_conf: float,
    p: MeasureParams,
    error_deg: float | None = None,
) -> Fault:
    margin_conf = _margin_confidence(rule, m.value, p, error_deg)
    confidence = float(np.clip(view_conf * m.data_confidence * margin_conf, 0.0, 1.0))
    return Fault(
        code=rule.code,
        rep_index=rep.index,
        start_s=float(t[m.first_frame]),
        end_s=float(t[m.last_frame]),
        start_frame=m.first_frame,
        end_frame=m.last_frame,
        value=m.value,
        threshold=rule.threshold,
        unit=rule.unit,
        severity=rule.severity(m.value),
        confidence=confidence,
        message=REGISTRY[rule.code].message(m.value),
    )


@dataclass(frozen=True)
class Evaluation:
    """faults: the rules' findings; notices: why something was not judged; measured:
    (code, rep index) -> the rep's measured value for every rule that could judge that rep (a rule
    and rep missing here were not judged); rounding_deg / arching_deg: the back per frame, in the
    verdicts' terms (back_curves); rules: the exercise's rules, in the order they were applied;
    not_judged: (code, rep index) -> why, for every rule of `rules` that did not judge that rep."""

    faults: list[Fault]
    notices: list[Notice]
    measured: dict[tuple[FaultCode, int], float]
    rounding_deg: FloatArray  # (T,) back_curves
    arching_deg: FloatArray  # (T,)
    rules: tuple[Rule, ...] = ()
    not_judged: dict[tuple[FaultCode, int], NotJudged] = field(default_factory=dict)

    def judged(self, code: FaultCode, rep_index: int) -> bool:
        return (code, rep_index) in self.measured


def evaluate(
    exercise: Exercise,
    view: ViewEstimate,
    reps: RepSegmentation | Sequence[Rep],
    angles: AngleSeries,
    spine: SpineSeries | None,
    rules: RuleSet,
    params: MeasureParams | None = None,
) -> Evaluation:
    """Apply the exercise's rules to every rep (none for Exercise.UNKNOWN).

    Rules the view cannot support give one Notice per group (never a guess). Rounding is judged on
    every rep whose back can be read at the hinge; arching only where the lifter's own
    neutral is steady; reps whose back cannot be read get a spine_low_confidence Notice."""
    p = params or load_measure_params()
    rep_list = list(reps.reps if isinstance(reps, RepSegmentation) else reps)
    if spine is not None and len(spine.t_s) != len(angles):
        raise ValueError(f"spine has {len(spine.t_s)} frames but angles have {len(angles)}")
    if exercise is Exercise.UNKNOWN:
        nothing = np.full(len(angles), np.nan)  # no rule applies; the caller reports it
        return Evaluation([], [], {}, nothing, nothing.copy())
    applicable = rules.for_exercise(exercise)
    usable = [r for r in applicable if view.view in r.needs_view]
    withheld: dict[str, list[Rule]] = {}
    for rule in applicable:
        if rule not in usable:
            group = "spine" if REGISTRY[rule.code].spine else rule.code.value
            withheld.setdefault(group, []).append(rule)
    notices = [_view_notice(group_rules, view.view) for group_rules in withheld.values()]
    spine_rules = [r for r in usable if REGISTRY[r.code].spine]
    steady = bool(spine_rules) and own_neutral_is_steady(
        spine, min(r.threshold for r in spine_rules), p
    )
    faults = []
    measured: dict[tuple[FaultCode, int], float] = {}
    for rep in rep_list:
        data = RepData(rep, angles, spine, p, steady, exercise)
        for rule in usable:
            m = REGISTRY[rule.code].measure(data)
            if m is None:
                continue
            measured[(rule.code, rep.index)] = m.value
            if rule.is_fault(m.value):
                error = p.spine_readout_error_deg if REGISTRY[rule.code].spine else None
                faults.append(_make_fault(rule, rep, m, angles.t_s, view.confidence, p, error))
    not_judged = {
        (rule.code, rep.index): NotJudged.VIEW_UNSUITABLE
        for rule in applicable
        if rule not in usable
        for rep in rep_list
    }
    for rep in rep_list:
        for rule in usable:
            if (rule.code, rep.index) not in measured:
                not_judged[(rule.code, rep.index)] = NotJudged.NOT_MEASURED
    if spine_rules and rep_list:
        unjudged = [
            r.index
            for r in rep_list
            if not any((rule.code, r.index) in measured for rule in spine_rules)
        ]
        if unjudged:
            codes = [str(r.code) for r in spine_rules]
            notices.append(_spine_notice(unjudged, len(rep_list), codes))
            for index in unjudged:
                for rule in spine_rules:
                    not_judged[(rule.code, index)] = NotJudged.SPINE_LOW_CONFIDENCE
        arching = any(r.code is FaultCode.BACK_OVERARCH for r in spine_rules)
        standing = steady and spine is not None and spine.neutral_from_standing
        if arching and not standing and len(unjudged) < len(rep_list):
            judged_reps = [r.index for r in rep_list if r.index not in unjudged]
            notices.append(_neutral_notice(spine, judged_reps))
            for index in judged_reps:
                not_judged[(FaultCode.BACK_OVERARCH, index)] = NotJudged.ARCHING_NOT_JUDGED
    curves = back_curves(exercise, angles, spine if spine_rules else None, steady, p)
    return Evaluation(faults, notices, measured, *curves, tuple(applicable), not_judged)
