"""Typed reports built by hand for tests of their readers (history, app, CLI summary): the same
dataclasses the pipeline fills, with the values a test names."""

from __future__ import annotations

from formcheck.faults import FaultCode, Severity, load_rules
from formcheck.notices import Notice, NotJudged
from formcheck.report import (
    AngleRange,
    CheckResult,
    FaultReport,
    RepReport,
    SessionReport,
    SourceInfo,
    SpineSummary,
    Tempo,
    Verdict,
)

SQUAT_CHECKS = ("back_rounding", "back_overarch", "forward_lean", "shallow_depth")
RULES = load_rules("beginner").rules


def _check(
    code: str, verdict: Verdict, value: float | None, reason: NotJudged | None = None
) -> CheckResult:
    rule = RULES[FaultCode(code)]
    return CheckResult(FaultCode(code), verdict, value, rule.threshold, rule.unit, reason)


def fault(code: str = "back_rounding", value: float = 21.0, start_s: float = 1.0) -> FaultReport:
    return FaultReport(
        code=FaultCode(code), severity=Severity.MINOR, confidence=0.8, value=value,
        threshold=15.0, unit="deg", start_s=start_s, end_s=start_s + 0.5,
        message=f"Back rounded about {value:.0f}° beyond a neutral back.", cue="Chest up, brace",
    )  # fmt: skip


def rep(
    index: int,
    rounding: float | None = 4.0,
    faults: list[FaultReport] | None = None,
    *,
    start_s: float | None = None,
    partial: bool = False,
    back_reason: NotJudged = NotJudged.SPINE_LOW_CONFIDENCE,
    peak_flexion: float | None = None,
) -> RepReport:
    """A 2-s rep: its back rounding check flagged (a fault given for it), ok at `rounding`, or not
    judged for back_reason (rounding None); the other squat checks ok."""
    faults = faults or []
    start = 2.0 * index if start_s is None else start_s
    flagged = {str(f.code): f for f in faults}
    checks = []
    for code in SQUAT_CHECKS:
        if code in flagged:
            checks.append(_check(code, Verdict.FLAGGED, flagged[code].value))
        elif code in ("back_rounding", "back_overarch") and rounding is None:
            checks.append(_check(code, Verdict.NOT_JUDGED, None, back_reason))
        else:
            value = rounding if code == "back_rounding" else 2.0
            checks.append(_check(code, Verdict.OK, value))
    back = next((c for c in checks if c.code == "back_rounding"), None)
    verdict = "rounded" if "back_rounding" in flagged else "neutral" if rounding else "not judged"
    return RepReport(
        index=index, start_s=start, bottom_s=start + 1.0, end_s=start + 2.0, duration_s=2.0,
        partial=partial, phases=[], tempo=Tempo(1.0, 1.0),
        angles={"trunk_incl_deg": AngleRange(0.0, 45.0),
                "thigh_above_horizontal_deg": AngleRange(2.0, 90.0)},
        spine=SpineSummary(
            verdict, back.value if back else None, 2.0 if rounding is not None else None,
            peak_flexion if peak_flexion is not None else (back.value if back else None), 1.0,
            0.9,
        ),
        checks=checks, faults=faults,
    )  # fmt: skip


def report(
    reps: list[RepReport],
    notices: list[Notice] | None = None,
    *,
    exercise: str = "squat",
    name: str = "clip.mp4",
    outputs: dict[str, str] | None = None,
    created_utc: str = "2026-03-01T10:00:00+00:00",
) -> SessionReport:
    return SessionReport(
        source=SourceInfo("/videos/" + name, name, 640, 480, 30.0, 8.0, "h264", 0),
        exercise=exercise, exercise_source="auto", exercise_confidence=0.9, view="side",
        view_confidence=0.9, facing=1, preset="beginner", fps=30.0, duration_s=8.0,
        frames_total=240, frames_analysed=240, detection_rate=1.0, spine_neutral_deg=12.0,
        notices=list(notices or []), reps=reps, outputs=dict(outputs or {}),
        created_utc=created_utc,
    )  # fmt: skip
