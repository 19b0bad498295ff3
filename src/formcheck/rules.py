"""The fault vocabulary and the rules at a preset, from data/thresholds.yaml (never from code).

FaultCode and Severity name what faults.py reports; Rule holds one rule's threshold, severe limit,
direction and the views that can support it; load_rules() reads and validates thresholds.yaml at one
preset with optional overrides. faults.py re-exports all of these, so `formcheck.faults.load_rules`
and friends keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from formcheck.datafiles import Checks, DataFileError
from formcheck.kinematics import View
from formcheck.reps import Exercise

THRESHOLDS_FILE = "thresholds.yaml"


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


class FaultConfigError(DataFileError):
    """A malformed thresholds.yaml / fault_measures.yaml, or an unknown preset or override."""


_check = Checks(FaultConfigError)


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


def _choices(raw: Any, where: str, allowed: Mapping[str, Any]) -> list[Any]:
    if not isinstance(raw, list) or not raw or any(item not in allowed for item in raw):
        _check.fail(where, f"expected a non-empty list from {sorted(allowed)}, got {raw!r}")
    return [allowed[item] for item in raw]


def _parse_rule(code: FaultCode, raw: Any, where: str, presets: set[str], preset: str) -> Rule:
    entry = _check.mapping(raw, where, _RULE_KEYS, non_empty=True)
    exercises = {e.value: e for e in (Exercise.SQUAT, Exercise.DEADLIFT)}
    views = {v.value: v for v in View if v is not View.UNKNOWN}
    if entry["direction"] not in {d.value for d in Direction}:
        _check.fail(f"{where}.direction", f"'above' or 'below', got {entry['direction']!r}")
    limits: dict[str, dict[str, float]] = {}
    for key in ("threshold", "severe_at"):
        per_preset = _check.mapping(entry[key], f"{where}.{key}", presets, non_empty=True)
        limits[key] = {
            name: _check.number(per_preset[name], f"{where}.{key}.{name}") for name in presets
        }
    for name in presets:
        threshold, severe_at = limits["threshold"][name], limits["severe_at"][name]
        if (
            (severe_at < threshold)
            if entry["direction"] == Direction.ABOVE
            else (severe_at > threshold)
        ):
            _check.fail(
                where,
                f"severe_at {severe_at} must be at or past threshold {threshold} "
                f"({entry['direction']} is a fault) for preset {name!r}",
            )
    return Rule(
        code=code,
        exercises=frozenset(_choices(entry["exercises"], f"{where}.exercises", exercises)),
        metric=_check.text(entry["metric"], f"{where}.metric"),
        unit=_check.text(entry["unit"], f"{where}.unit"),
        direction=Direction(entry["direction"]),
        threshold=limits["threshold"][preset],
        severe_at=limits["severe_at"][preset],
        needs_view=frozenset(_choices(entry["needs_view"], f"{where}.needs_view", views)),
        rationale=_check.text(entry["rationale"], f"{where}.rationale"),
    )


def available_presets(path: Path | None = None) -> dict[str, str]:
    """Preset name -> one-line description, from thresholds.yaml."""
    raw, where = _check.load(THRESHOLDS_FILE, path)
    top = _check.mapping(raw, where, non_empty=True)
    presets = _check.mapping(top.get("presets"), f"{where}:presets", non_empty=True)
    return {
        name: str(
            _check.mapping(v, f"{where}:presets.{name}", non_empty=True).get("description", "")
        )
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
    raw, where = _check.load(THRESHOLDS_FILE, path)
    top = _check.mapping(
        raw, where, {"schema_version", "default_preset", "presets", "rules"}, non_empty=True
    )
    _check.schema_version(top, where)
    presets = set(_check.mapping(top["presets"], f"{where}:presets", non_empty=True))
    if top["default_preset"] not in presets:
        _check.fail(where, f"default_preset {top['default_preset']!r} is not in {sorted(presets)}")
    chosen = top["default_preset"] if preset is None else preset
    if chosen not in presets:
        raise FaultConfigError(
            f"unknown preset {chosen!r}; choose one of {sorted(presets)} ({where})"
        )
    rules_raw = _check.mapping(
        top["rules"], f"{where}:rules", {c.value for c in FaultCode}, non_empty=True
    )
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
        number = _check.number(value, f"override {key}")
        if field_name == "threshold":
            rules[old.code] = replace(old, threshold=number)
        else:
            rules[old.code] = replace(old, severe_at=number)
    for code, rule in rules.items():
        if rule.is_past(rule.threshold, rule.severe_at):
            _check.fail(
                f"{where}:rules.{code}",
                f"severe_at {rule.severe_at} must be at or past threshold "
                f"{rule.threshold} ({rule.direction.value} is a fault); override both together",
            )
    return RuleSet(chosen, rules)
