"""Per-rep fault rules. Thresholds come from data/thresholds.yaml (never from code).

Each rule turns a rep's measurements into at most one Fault with a measured value, the threshold it
was judged against, a severity and a confidence. Rules whose view cannot support them are not
guessed: they produce a Notice (a warning with a code such as view_unsuitable_for_spine) instead.

How a rule measures (percentiles, windows, confidence model) lives in data/fault_measures.yaml; the
registry below maps each FaultCode to one small measuring function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from formcheck.kinematics import AngleSeries, View, ViewEstimate
from formcheck.reps import Exercise, Phase, Rep, RepSegmentation
from formcheck.spine import SpineSeries

FloatArray = NDArray[np.float64]
THRESHOLDS_FILE = "thresholds.yaml"
MEASURES_FILE = "fault_measures.yaml"


class FaultCode(StrEnum):
    BACK_ROUNDING = "back_rounding"
    BACK_OVERARCH = "back_overarch"
    FORWARD_LEAN = "forward_lean"
    SHALLOW_DEPTH = "shallow_depth"
    HIPS_RISE_EARLY = "hips_rise_early"
    INCOMPLETE_LOCKOUT = "incomplete_lockout"
    KNEE_VALGUS = "knee_valgus"


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"


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


@dataclass(frozen=True)
class Notice:
    """A session-level warning: code (stable, machine-readable), message (plain words),
    advice (what to do)."""

    code: str
    message: str
    advice: str = ""


# --- rules and their thresholds (data/thresholds.yaml) --------------------------------------------


class FaultConfigError(ValueError):
    """A malformed thresholds.yaml / fault_measures.yaml, or an unknown preset or override."""


class Direction(StrEnum):
    ABOVE = "above"  # a fault when the value is above the threshold
    BELOW = "below"


@dataclass(frozen=True)
class Rule:
    """One rule at the chosen preset: a fault beyond threshold, MAJOR at or beyond severe_at."""

    code: FaultCode
    exercises: frozenset[Exercise]
    metric: str
    unit: str
    direction: Direction
    threshold: float
    severe_at: float
    needs_view: frozenset[View]
    rationale: str

    def is_past(self, value: float, limit: float) -> bool:
        """value lies beyond limit on the fault side."""
        return value > limit if self.direction is Direction.ABOVE else value < limit

    def is_fault(self, value: float) -> bool:
        return self.is_past(value, self.threshold)

    def severity(self, value: float) -> Severity:
        major = value == self.severe_at or self.is_past(value, self.severe_at)
        return Severity.MAJOR if major else Severity.MINOR

    def margin(self, value: float) -> float:
        """0 at the threshold, 1 at severe_at (either direction)."""
        span = self.severe_at - self.threshold
        return 1.0 if span == 0 else (value - self.threshold) / span


@dataclass(frozen=True)
class RuleSet:
    preset: str
    rules: Mapping[FaultCode, Rule]

    def threshold(self, code: FaultCode) -> float:
        return self.rules[code].threshold

    def for_exercise(self, exercise: Exercise) -> list[Rule]:
        return [rule for rule in self.rules.values() if exercise in rule.exercises]


_RULE_KEYS = {
    "exercises", "metric", "unit", "direction", "threshold", "severe_at", "needs_view", "rationale",
}  # fmt: skip


def _parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def _packaged_yaml(name: str) -> Any:
    return _parse_yaml(resources.files("formcheck.data").joinpath(name).read_text())


def _read_yaml(path: Path | None, name: str) -> tuple[Any, str]:
    """Parsed file (callers never mutate it: the packaged one is cached) and its name for errors."""
    where = str(path) if path else f"formcheck/data/{name}"
    try:
        return (_parse_yaml(path.read_text()) if path else _packaged_yaml(name)), where
    except (OSError, yaml.YAMLError) as exc:
        raise FaultConfigError(f"{where}: cannot read it ({exc})") from exc


def _mapping(raw: Any, where: str, keys: set[str] | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        raise FaultConfigError(f"{where}: expected a non-empty mapping, got {raw!r:.60}")
    if keys is not None and set(raw) != keys:
        missing, extra = sorted(keys - set(raw)), sorted(set(raw) - keys)
        raise FaultConfigError(f"{where}: missing keys {missing}, unknown keys {extra}")
    return raw


def _number(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not np.isfinite(raw):
        raise FaultConfigError(f"{where}: expected a number, got {raw!r}")
    return float(raw)


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise FaultConfigError(f"{where}: expected non-empty text, got {raw!r}")
    return raw


def _choices(raw: Any, where: str, allowed: Mapping[str, Any]) -> list[Any]:
    if not isinstance(raw, list) or not raw or any(item not in allowed for item in raw):
        raise FaultConfigError(
            f"{where}: expected a non-empty list from {sorted(allowed)}, got {raw!r}"
        )
    return [allowed[item] for item in raw]


def _parse_rule(code: FaultCode, raw: Any, where: str, presets: set[str], preset: str) -> Rule:
    entry = _mapping(raw, where, _RULE_KEYS)
    exercises = {e.value: e for e in (Exercise.SQUAT, Exercise.DEADLIFT)}
    views = {v.value: v for v in View if v is not View.UNKNOWN}
    if entry["direction"] not in {d.value for d in Direction}:
        raise FaultConfigError(f"{where}.direction: 'above' or 'below', got {entry['direction']!r}")
    limits: dict[str, dict[str, float]] = {}
    for key in ("threshold", "severe_at"):
        per_preset = _mapping(entry[key], f"{where}.{key}", presets)
        limits[key] = {name: _number(per_preset[name], f"{where}.{key}.{name}") for name in presets}
    for name in presets:
        threshold, severe_at = limits["threshold"][name], limits["severe_at"][name]
        if (
            (severe_at < threshold)
            if entry["direction"] == Direction.ABOVE
            else (severe_at > threshold)
        ):
            raise FaultConfigError(
                f"{where}: severe_at {severe_at} must be at or past threshold {threshold} "
                f"({entry['direction']} is a fault) for preset {name!r}"
            )
    return Rule(
        code=code,
        exercises=frozenset(_choices(entry["exercises"], f"{where}.exercises", exercises)),
        metric=_text(entry["metric"], f"{where}.metric"),
        unit=_text(entry["unit"], f"{where}.unit"),
        direction=Direction(entry["direction"]),
        threshold=limits["threshold"][preset],
        severe_at=limits["severe_at"][preset],
        needs_view=frozenset(_choices(entry["needs_view"], f"{where}.needs_view", views)),
        rationale=_text(entry["rationale"], f"{where}.rationale"),
    )


def available_presets(path: Path | None = None) -> dict[str, str]:
    """Preset name -> one-line description, from thresholds.yaml."""
    raw, where = _read_yaml(path, THRESHOLDS_FILE)
    presets = _mapping(_mapping(raw, where).get("presets"), f"{where}:presets")
    return {
        name: str(_mapping(v, f"{where}:presets.{name}").get("description", ""))
        for name, v in presets.items()
    }


def load_rules(
    preset: str | None = None,
    overrides: Mapping[str, float] | None = None,
    path: Path | None = None,
) -> RuleSet:
    """Rules at one preset (None = the file's default_preset), from thresholds.yaml.

    overrides: {"<rule>": threshold} or {"<rule>.threshold": x, "<rule>.severe_at": y}.
    Raises FaultConfigError for an unknown preset, rule or key, or a malformed file."""
    raw, where = _read_yaml(path, THRESHOLDS_FILE)
    top = _mapping(raw, where, {"schema_version", "default_preset", "presets", "rules"})
    if top["schema_version"] != 1:
        raise FaultConfigError(f"{where}: schema_version {top['schema_version']!r} is not 1")
    presets = set(_mapping(top["presets"], f"{where}:presets"))
    if top["default_preset"] not in presets:
        raise FaultConfigError(
            f"{where}: default_preset {top['default_preset']!r} is not in {sorted(presets)}"
        )
    chosen = top["default_preset"] if preset is None else preset
    if chosen not in presets:
        raise FaultConfigError(
            f"unknown preset {chosen!r}; choose one of {sorted(presets)} ({where})"
        )
    rules_raw = _mapping(top["rules"], f"{where}:rules", {c.value for c in FaultCode})
    rules = {
        c: _parse_rule(c, rules_raw[c.value], f"{where}:rules.{c}", presets, chosen)
        for c in FaultCode
    }
    for key, value in (overrides or {}).items():
        code_name, _, field_name = key.partition(".")
        field_name = field_name or "threshold"
        if code_name not in rules_raw or field_name not in {"threshold", "severe_at"}:
            raise FaultConfigError(
                f"unknown threshold override {key!r}; use '<rule>', '<rule>.threshold' or "
                f"'<rule>.severe_at' with a rule from {sorted(rules_raw)}"
            )
        old = rules[FaultCode(code_name)]
        number = _number(value, f"override {key}")
        if field_name == "threshold":
            rules[old.code] = replace(old, threshold=number)
        else:
            rules[old.code] = replace(old, severe_at=number)
    for code, rule in rules.items():
        if rule.is_past(rule.threshold, rule.severe_at):
            raise FaultConfigError(
                f"{where}:rules.{code}: severe_at {rule.severe_at} must be at or past threshold "
                f"{rule.threshold} ({rule.direction.value} is a fault); override both together"
            )
    return RuleSet(chosen, rules)


# --- how rules measure (data/fault_measures.yaml) -------------------------------------------------


@dataclass(frozen=True)
class MeasureParams:
    peak_percentile: float
    spine_frame_min_confidence: float
    spine_min_valid_fraction: float
    spine_overall_min_confidence: float
    bottom_margin_s: float
    ascent_fraction: float
    start_level_window_s: float
    margin_confidence_floor: float


def load_measure_params(path: Path | None = None) -> MeasureParams:
    """Read and validate fault_measures.yaml (the packaged one unless path is given)."""
    raw, where = _read_yaml(path, MEASURES_FILE)
    names = [f.name for f in fields(MeasureParams)]
    top = _mapping(raw, where, {"schema_version", *names})
    if top["schema_version"] != 1:
        raise FaultConfigError(f"{where}: schema_version {top['schema_version']!r} is not 1")
    values = {}
    for name in names:
        entry = _mapping(top[name], f"{where}:{name}", {"value", "unit", "rationale"})
        values[name] = _number(entry["value"], f"{where}:{name}.value")
    return MeasureParams(**values)


@cache
def _default_params() -> MeasureParams:
    return load_measure_params()


# --- the registry: one small measuring function per rule ------------------------------------------


@dataclass(frozen=True)
class RepData:
    """What a rule sees of one rep."""

    rep: Rep
    angles: AngleSeries
    spine: SpineSeries | None
    params: MeasureParams


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
    spine: bool  # measured on the back outline (withheld together as the "spine" group)


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
    x, c, usable = _spine_window(d.rep, d.spine, d.params)
    if not usable.any():
        return None
    x = sign * x
    value = float(np.percentile(x[usable], d.params.peak_percentile))
    setting = usable & (x >= value)
    idx = np.flatnonzero(setting)
    first = d.rep.start_frame
    return Measurement(value, first + int(idx[0]), first + int(idx[-1]), float(c[setting].mean()))


@_rule(
    FaultCode.BACK_ROUNDING,
    "back rounding",
    lambda v: f"Lower back rounded {v:.0f}° beyond your neutral.",
    spine=True,
)
def back_rounding(d: RepData) -> Measurement | None:
    """Peak spinal flexion relative to the lifter's neutral over the rep."""
    return _spine_peak(d, +1.0)


@_rule(
    FaultCode.BACK_OVERARCH,
    "back arching",
    lambda v: f"Lower back arched {v:.0f}° past your neutral.",
    spine=True,
)
def back_overarch(d: RepData) -> Measurement | None:
    """Peak spinal extension (-flexion_rel) relative to neutral over the rep."""
    return _spine_peak(d, -1.0)


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

SIDE_ADVICE = "Film from the side, camera at hip height, whole body in frame, 3-4 m away."
FRONT_ADVICE = (
    "Film from the front or from behind, camera at hip height, whole body in frame, 3-4 m away."
)
SPINE_ADVICE = (
    "Film from the side in good light against a plain background, in fitted clothing, whole "
    "body in frame, 3-4 m away, so the outline of the back is clear."
)
_VIEW_WORDS = {
    View.SIDE: "the side",
    View.OBLIQUE: "an angle",
    View.FRONT: "the front",
    View.REAR: "behind",
}


def _view_notice(group: str, rules: list[Rule], view: View) -> Notice:
    needs = rules[0].needs_view
    where = " or ".join(_VIEW_WORDS[v] for v in View if v in needs)
    seen = (
        "the camera angle is unclear"
        if view is View.UNKNOWN
        else f"this clip is filmed from {_VIEW_WORDS[view]}"
    )
    what = " and ".join(REGISTRY[r.code].label for r in rules)
    verb = "they were" if len(rules) > 1 else "it was"
    message = f"{what.capitalize()} can only be judged from {where}; {seen}, so {verb} not checked."
    advice = SIDE_ADVICE if View.SIDE in needs else FRONT_ADVICE
    return Notice(f"view_unsuitable_for_{group}", message, advice)


def _low_spine_reps(reps: Sequence[Rep], spine: SpineSeries | None, p: MeasureParams) -> list[int]:
    """Indices of reps whose back outline is too unclear to judge (all of them if the clip's is)."""
    if spine is None or not reps:
        return [r.index for r in reps]
    frames = np.concatenate([np.arange(r.start_frame, r.end_frame + 1) for r in reps])
    conf = np.asarray(spine.confidence, dtype=np.float64)[frames]
    conf = conf[np.isfinite(conf)]
    if len(conf) == 0 or float(np.median(conf)) < p.spine_overall_min_confidence:
        return [r.index for r in reps]
    low = []
    for r in reps:
        _, _, usable = _spine_window(r, spine, p)
        if usable.sum() < max(1.0, p.spine_min_valid_fraction * len(usable)):
            low.append(r.index)
    return low


def _spine_notice(low: list[int], n_reps: int) -> Notice:
    if len(low) == n_reps:
        message = (
            "The back's outline was too unclear to judge rounding or arching, so no back verdict "
            "was given."
        )
    else:
        which = ("rep " if len(low) == 1 else "reps ") + ", ".join(str(i) for i in low)
        message = f"The back's outline was unclear in {which}, so the back was not judged there."
    return Notice("spine_low_confidence", message, SPINE_ADVICE)


def _make_fault(
    rule: Rule, rep: Rep, m: Measurement, t: FloatArray, view_conf: float, p: MeasureParams
) -> Fault:
    floor = p.margin_confidence_floor
    margin_conf = floor + (1.0 - floor) * float(np.clip(rule.margin(m.value), 0.0, 1.0))
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


def evaluate(
    exercise: Exercise,
    view: ViewEstimate,
    reps: RepSegmentation | Sequence[Rep],
    angles: AngleSeries,
    spine: SpineSeries | None,
    rules: RuleSet,
    params: MeasureParams | None = None,
) -> tuple[list[Fault], list[Notice]]:
    """Apply the exercise's rules to every rep (none for Exercise.UNKNOWN).

    Rules the view cannot support give one Notice per group (never a guess); an unclear back outline
    gives a spine_low_confidence Notice instead of a verdict."""
    p = params or _default_params()
    rep_list = list(reps.reps if isinstance(reps, RepSegmentation) else reps)
    if spine is not None and len(spine.t_s) != len(angles):
        raise ValueError(f"spine has {len(spine.t_s)} frames but angles have {len(angles)}")
    if exercise is Exercise.UNKNOWN:
        return [], []  # no rule applies; the caller reports the unknown exercise
    applicable = rules.for_exercise(exercise)
    usable = [r for r in applicable if view.view in r.needs_view]
    withheld: dict[str, list[Rule]] = {}
    for rule in applicable:
        if rule not in usable:
            group = "spine" if REGISTRY[rule.code].spine else rule.code.value
            withheld.setdefault(group, []).append(rule)
    notices = [
        _view_notice(group, group_rules, view.view) for group, group_rules in withheld.items()
    ]
    low_spine = (
        _low_spine_reps(rep_list, spine, p) if any(REGISTRY[r.code].spine for r in usable) else []
    )
    faults = []
    for rep in rep_list:
        data = RepData(rep, angles, spine, p)
        for rule in usable:
            spec = REGISTRY[rule.code]
            if spec.spine and rep.index in low_spine:
                continue
            m = spec.measure(data)
            if m is not None and rule.is_fault(m.value):
                faults.append(_make_fault(rule, rep, m, angles.t_s, view.confidence, p))
    if low_spine:
        notices.append(_spine_notice(low_spine, len(rep_list)))
    return faults, notices
