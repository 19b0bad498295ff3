"""SessionReport / RepReport: the typed, versioned JSON report; the per-frame CSV; atomic writes.

The report's JSON (schema_version "2") is described field by field in data/report.schema.json (a JSON
Schema; docs/report-schema.md is generated from it by tools/report_schema_doc.py). Every reader (CLI,
app, history) reads the same typed fields: a rep's verdict per check (`checks`), the notices' codes,
reps and checks; none parses the English text. Reports of schema "1" are upgraded on reading
(upgrade_v1).

SessionReport.from_analysis builds the report from what the pipeline's stages produced; verdict_line
gives the one-line verdict of a rep that every front end prints.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from formcheck import __version__, guidance
from formcheck.faults import REGISTRY, Evaluation, FaultCode, Severity, load_rules
from formcheck.kinematics import View
from formcheck.notices import Notice, NoticeCode, NotJudged, and_words, reason_words
from formcheck.reps import phase_durations_s
from formcheck.rules import Rule
from formcheck.safefiles import tmp_name

if TYPE_CHECKING:
    from formcheck.pipeline import Analysis

SCHEMA_VERSION = "2"
SCHEMA_FILE = "report.schema.json"

#: A back fault at or above this confidence is stated plainly ("rounded"); below it, "possibly".
SURE_CONFIDENCE = 0.5


class Verdict(StrEnum):
    """One check on one rep: flagged (past its threshold), ok (judged, within it), not_judged."""

    FLAGGED = "flagged"
    OK = "ok"
    NOT_JUDGED = "not_judged"


@dataclass(frozen=True)
class CheckResult:
    """A rule's verdict on one rep. value: the number the rule compared with threshold (unit), the
    same one every reader shows; None when not judged (or in a report upgraded from schema 1, which
    kept only flagged values). reason: why it was not judged (None otherwise)."""

    code: FaultCode
    verdict: Verdict
    value: float | None
    threshold: float
    unit: str
    reason: NotJudged | None = None

    @property
    def label(self) -> str:
        """The check in plain words ('back rounding')."""
        return REGISTRY[self.code].label


@dataclass(frozen=True)
class FaultReport:
    code: FaultCode
    severity: Severity
    confidence: float
    value: float
    threshold: float
    unit: str
    start_s: float
    end_s: float
    message: str
    cue: str


@dataclass(frozen=True)
class PhaseSpan:
    phase: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Tempo:
    descent_s: float | None
    ascent_s: float | None


@dataclass(frozen=True)
class AngleRange:
    """Least and most of one angle over a rep (degrees, or a ratio); None when never seen."""

    min: float | None
    max: float | None


@dataclass(frozen=True)
class SpineSummary:
    """A rep's back: verdict ('rounded', 'possibly rounded', 'arched', 'possibly arched',
    'neutral', 'not judged'); rounding_deg / arching_deg: the values the back checks compared (None
    where not judged); the outline's peak bend against the lifter's own neutral; its mean
    confidence."""

    verdict: str
    rounding_deg: float | None
    arching_deg: float | None
    peak_flexion_rel_deg: float | None
    peak_extension_rel_deg: float | None
    confidence: float | None

    @property
    def judged(self) -> bool:
        return self.verdict != "not judged"


@dataclass(frozen=True)
class SourceInfo:
    path: str
    name: str
    width: int
    height: int
    fps: float
    duration_s: float
    codec: str
    rotation_deg: int


@dataclass(frozen=True)
class RepReport:
    index: int
    start_s: float
    bottom_s: float
    end_s: float
    duration_s: float
    partial: bool
    phases: list[PhaseSpan]
    tempo: Tempo
    angles: dict[str, AngleRange]
    spine: SpineSummary
    checks: list[CheckResult]
    faults: list[FaultReport] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return any(c.verdict is Verdict.FLAGGED for c in self.checks) or bool(self.faults)

    @property
    def verdict(self) -> Verdict:
        """flagged when any check is; ok only when every check was judged and passed."""
        if self.flagged:
            return Verdict.FLAGGED
        if any(c.verdict is Verdict.NOT_JUDGED for c in self.checks):
            return Verdict.NOT_JUDGED
        return Verdict.OK

    def check(self, code: FaultCode | str) -> CheckResult | None:
        return next((c for c in self.checks if c.code == code), None)


def verdict_line(rep: RepReport) -> str:
    """A rep's verdict in one line, the same in the CLI, the app and the live review: 'ok' only when
    every check was judged and passed; else what was flagged and what was not judged, and why:
    'flagged: back rounding', 'no fault seen; not judged: back rounding and back arching (the
    back's outline was unclear)'."""
    flagged = [c.label for c in rep.checks if c.verdict is Verdict.FLAGGED]
    flagged += [REGISTRY[f.code].label for f in rep.faults if rep.check(f.code) is None]
    by_reason: dict[NotJudged, list[str]] = {}
    for c in rep.checks:
        if c.verdict is Verdict.NOT_JUDGED:
            by_reason.setdefault(c.reason or NotJudged.NOT_MEASURED, []).append(c.label)
    if not flagged and not by_reason:
        return "ok"
    parts = [f"flagged: {and_words(flagged)}" if flagged else "no fault seen"]
    if by_reason:
        parts.append(
            "not judged: "
            + "; ".join(
                f"{and_words(labels)} ({reason_words(r)})" for r, labels in by_reason.items()
            )
        )
    return "; ".join(parts)


@dataclass(frozen=True)
class SessionReport:
    source: SourceInfo
    exercise: str
    exercise_source: str
    exercise_confidence: float
    view: str
    view_confidence: float
    facing: int
    preset: str
    fps: float
    duration_s: float
    frames_total: int
    frames_analysed: int
    detection_rate: float
    spine_neutral_deg: float | None
    notices: list[Notice]
    reps: list[RepReport]
    pose_stride: int = 1
    pose_frames: int | None = None
    guidance: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    schema_version: str = SCHEMA_VERSION
    formcheck_version: str = ""
    created_utc: str = ""

    @property
    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for rep in self.reps:
            for fault in rep.faults:
                counts[str(fault.code)] = counts.get(str(fault.code), 0) + 1
        verdicts = [r.verdict for r in self.reps]
        return {
            "n_reps": len(self.reps),
            "n_partial_reps": sum(1 for r in self.reps if r.partial),
            "n_flagged_reps": verdicts.count(Verdict.FLAGGED),
            "n_ok_reps": verdicts.count(Verdict.OK),
            "n_not_judged_reps": verdicts.count(Verdict.NOT_JUDGED),
            "fault_counts": counts,
        }

    def notice(self, code: NoticeCode) -> Notice | None:
        return next((n for n in self.notices if n.code is code), None)

    def peak(self, code: FaultCode | str) -> float | None:
        """The largest value the check `code` compared in any rep (the set's peak, as the review
        and the history show it); None when no rep was judged on it."""
        values = [
            c.value
            for rep in self.reps
            if (c := rep.check(code)) is not None and c.value is not None and c.value == c.value
        ]
        return max(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = _finite(asdict(self))
        data["pose_fps"] = self.pose_fps
        data["summary"] = self.summary
        return data

    @property
    def pose_fps(self) -> float:
        """Frames a second the pose model read, on average over the clip (fps when it read them
        all)."""
        if self.pose_frames is None or self.frames_total <= 0:
            return self.fps
        return round(self.fps * self.pose_frames / self.frames_total, 3)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> SessionReport:
        """A report from its JSON data; schema "1" is upgraded first (upgrade_v1)."""
        version = str(data.get("schema_version"))
        if version == "1":
            data = upgrade_v1(data)
        elif version != SCHEMA_VERSION:
            raise ValueError(
                f"report schema {data.get('schema_version')!r} is not supported "
                f"(this formcheck reads schemas 1 and {SCHEMA_VERSION})"
            )
        reps = [_rep_from_dict(r) for r in data["reps"]]
        fields = {
            k: v
            for k, v in data.items()
            if k not in ("summary", "pose_fps", "reps", "notices", "source")
        }
        return SessionReport(
            **fields,
            source=SourceInfo(**data["source"]),
            reps=reps,
            notices=[Notice.from_dict(n) for n in data["notices"]],
        )

    @staticmethod
    def from_analysis(analysis: Analysis) -> SessionReport:
        """The report of one analysis: per rep, a verdict for every check in scope (in_scope) with
        the value its rule compared; the session's notices, without those about checks out of
        scope."""
        a, ev = analysis, analysis.evaluation
        view = a.view.view
        rules = [r for r in ev.rules if in_scope(r, view)]
        t = a.pose.t_s
        rep_reports = [_rep_report(a, rep, rules) for rep in a.segmentation.reps]
        notices = [
            n
            for n in a.notices
            if n.code is not NoticeCode.VIEW_UNSUITABLE or any(r.code in n.checks for r in rules)
        ]
        chosen = guidance.select_guidance(ev.faults, len(a.segmentation.reps))
        neutral = a.spine.neutral_deg
        info = a.info
        return SessionReport(
            source=SourceInfo(
                path=str(info.path),
                name=info.path.name,
                width=info.width,
                height=info.height,
                fps=round(info.fps, 3),
                duration_s=round(info.duration_s, 3),
                codec=info.codec,
                rotation_deg=info.rotation_deg,
            ),
            exercise=str(a.exercise),
            exercise_source=a.exercise_source,
            exercise_confidence=round(a.exercise_confidence, 2),
            view=str(view),
            view_confidence=round(a.view.confidence, 2),
            facing=a.view.facing,
            preset=a.options.preset,
            fps=round(a.fps, 3),
            duration_s=round(float(t[-1] - t[0]) if len(t) > 1 else 0.0, 3),
            frames_total=len(t),
            frames_analysed=int(a.pose.detected.sum()),
            detection_rate=round(float(a.pose.detected.mean()), 3) if len(t) else 0.0,
            spine_neutral_deg=round(neutral, 1) if np.isfinite(neutral) else None,
            notices=notices,
            reps=rep_reports,
            pose_stride=a.stride,
            pose_frames=a.pose_frames,
            guidance=dataclasses.asdict(chosen),
            formcheck_version=__version__,
            created_utc=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        )


def in_scope(rule: Rule, view: View) -> bool:
    """A check belongs in a clip's report unless the clip is filmed as formcheck asks (from the
    side) and the check cannot be judged from there (knees caving in): that is no gap of the video,
    so it is neither a rep's not-judged check nor a notice."""
    return not (view is View.SIDE and View.SIDE not in rule.needs_view)


def _rep_report(a: Analysis, rep: Any, rules: list[Rule]) -> RepReport:
    t, ev = a.pose.t_s, a.evaluation
    lo, hi = rep.start_frame, rep.end_frame
    durations = {str(phase): secs for phase, secs in phase_durations_s(rep, t).items()}
    rep_faults = [f for f in ev.faults if f.rep_index == rep.index]
    flagged = {f.code for f in rep_faults}
    checks = []
    for rule in rules:
        key = (rule.code, rep.index)
        value = _rounded(ev.measured.get(key), 2)
        if value is None:
            reason = ev.not_judged.get(key, NotJudged.NOT_MEASURED)
            checks.append(
                CheckResult(rule.code, Verdict.NOT_JUDGED, None, rule.threshold, rule.unit, reason)
            )
        else:
            verdict = Verdict.FLAGGED if rule.code in flagged else Verdict.OK
            checks.append(CheckResult(rule.code, verdict, value, rule.threshold, rule.unit))
    rel = a.spine.flexion_rel_deg[lo : hi + 1]
    conf = a.spine.confidence[lo : hi + 1]
    finite = rel[np.isfinite(rel)]
    angles = a.angles
    return RepReport(
        index=rep.index,
        start_s=round(rep.start_s, 3),
        bottom_s=round(rep.bottom_s, 3),
        end_s=round(rep.end_s, 3),
        duration_s=round(rep.duration_s, 3),
        partial=bool(rep.partial),
        phases=[
            PhaseSpan(str(p), round(float(t[f0]), 3), round(float(t[f1]), 3))
            for p, f0, f1 in rep.phases
        ],
        tempo=Tempo(durations.get("descent"), durations.get("ascent")),
        angles={
            name: _range(getattr(angles, name), lo, hi)
            for name in (
                "trunk_incl_deg",
                "hip_flex_deg",
                "knee_flex_deg",
                "thigh_above_horizontal_deg",
            )
        },
        spine=SpineSummary(
            verdict=back_verdict(ev, rep.index),
            rounding_deg=_rounded(ev.measured.get((FaultCode.BACK_ROUNDING, rep.index)), 1),
            arching_deg=_rounded(ev.measured.get((FaultCode.BACK_OVERARCH, rep.index)), 1),
            peak_flexion_rel_deg=round(float(finite.max()), 1) if len(finite) else None,
            peak_extension_rel_deg=round(float(-finite.min()), 1) if len(finite) else None,
            confidence=round(float(np.nanmean(conf)), 2) if np.isfinite(conf).any() else None,
        ),
        checks=checks,
        faults=[
            FaultReport(
                code=f.code,
                severity=f.severity,
                confidence=round(f.confidence, 2),
                value=round(f.value, 2),
                threshold=f.threshold,
                unit=f.unit,
                start_s=round(f.start_s, 3),
                end_s=round(f.end_s, 3),
                message=f.message,
                cue=guidance.cue_for(f.code),
            )
            for f in rep_faults
        ],
    )


def back_verdict(evaluation: Evaluation, rep_index: int) -> str:
    """'rounded', 'possibly rounded', 'arched', 'possibly arched' (a back fault, plainly when its
    confidence reaches SURE_CONFIDENCE), 'neutral' (judged, no back fault) or 'not judged'."""
    codes = (FaultCode.BACK_ROUNDING, FaultCode.BACK_OVERARCH)
    rep_faults = [f for f in evaluation.faults if f.rep_index == rep_index and f.code in codes]
    if rep_faults:
        worst = max(rep_faults, key=lambda f: f.confidence)
        word = "rounded" if worst.code is FaultCode.BACK_ROUNDING else "arched"
        return word if worst.confidence >= SURE_CONFIDENCE else f"possibly {word}"
    judged = any((code, rep_index) in evaluation.measured for code in codes)
    return "neutral" if judged else "not judged"


def _range(values: Any, lo: int, hi: int) -> AngleRange:
    part = np.asarray(values[lo : hi + 1], dtype=np.float64)
    part = part[np.isfinite(part)]
    if not len(part):
        return AngleRange(None, None)
    return AngleRange(round(float(part.min()), 1), round(float(part.max()), 1))


def _rounded(value: float | None, digits: int) -> float | None:
    return round(float(value), digits) if value is not None and np.isfinite(value) else None


def _rep_from_dict(r: Mapping[str, Any]) -> RepReport:
    return RepReport(
        index=r["index"],
        start_s=r["start_s"],
        bottom_s=r["bottom_s"],
        end_s=r["end_s"],
        duration_s=r["duration_s"],
        partial=r["partial"],
        phases=[PhaseSpan(**p) for p in r["phases"]],
        tempo=Tempo(**r["tempo"]),
        angles={k: AngleRange(**v) for k, v in r["angles"].items()},
        spine=SpineSummary(**r["spine"]),
        checks=[
            CheckResult(
                FaultCode(c["code"]),
                Verdict(c["verdict"]),
                c["value"],
                c["threshold"],
                c["unit"],
                NotJudged(c["reason"]) if c.get("reason") else None,
            )
            for c in r["checks"]
        ],
        faults=[
            FaultReport(**{**f, "code": FaultCode(f["code"]), "severity": Severity(f["severity"])})
            for f in r["faults"]
        ],
    )


# --- schema 1 -> 2 --------------------------------------------------------------------------------

_V1_SPINE_KEYS = ("rounding_deg", "arching_deg", "peak_flexion_rel_deg", "peak_extension_rel_deg")
_SPINE_CODES = (str(FaultCode.BACK_ROUNDING), str(FaultCode.BACK_OVERARCH))


def upgrade_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """A schema-1 report's data as schema 2: warnings become notices with their codes, reps and
    checks; each rep gets its checks (flagged from its faults; the back's ok / not judged from its
    spine values and the notices; other checks ok, their values not having been kept)."""
    notices = [_v1_notice(w, [r["index"] for r in data["reps"]]) for w in data["warnings"]]
    try:
        rules = load_rules(str(data.get("preset", ""))).rules
    except ValueError:
        rules = load_rules().rules
    exercise, view = str(data["exercise"]), View(str(data.get("view", "unknown")))
    scoped = [r for r in rules.values() if str(exercise) in r.exercises and in_scope(r, view)]
    in_view = {str(r.code) for r in scoped}
    notices = [n for n in notices if n["code"] != "view_unsuitable" or in_view & set(n["checks"])]
    out = {k: v for k, v in data.items() if k not in ("warnings", "summary")}
    out.update(schema_version=SCHEMA_VERSION, notices=notices)
    out["source"] = _v1_source(data.get("source", {}))
    out["reps"] = [_v1_rep(r, scoped, notices) for r in data["reps"]]
    return out


def _v1_notice(w: Mapping[str, Any], every: list[int]) -> dict[str, Any]:
    code, message = str(w["code"]), str(w["message"])
    reps: list[int] = []
    checks: list[str] = []
    if code.startswith("view_unsuitable_for_"):
        group = code.removeprefix("view_unsuitable_for_")
        code, checks = "view_unsuitable", list(_SPINE_CODES) if group == "spine" else [group]
    elif code == "spine_neutral_unsteady":
        code, checks, reps = "arching_not_judged", [str(FaultCode.BACK_OVERARCH)], every
    elif code == "arching_not_judged":
        checks, reps = [str(FaultCode.BACK_OVERARCH)], every
    elif code == "spine_low_confidence":
        # schema 1 wrote the reps into the sentence ("unclear in reps 1 and 3"); none: every rep
        found = re.search(r"\breps? (\d+(?:(?:, | and )\d+)*)", message)
        reps = [int(n) for n in re.findall(r"\d+", found.group(1))] if found else every
        checks = list(_SPINE_CODES)
    NoticeCode(code)  # an unknown code is an error, not a guess
    return {
        "code": code,
        "message": message,
        "advice": str(w.get("advice", "")),
        "reps": reps,
        "checks": checks,
    }


def _v1_source(source: Mapping[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "path": "", "name": "", "width": 0, "height": 0, "fps": 0.0, "duration_s": 0.0,
        "codec": "", "rotation_deg": 0,
    }  # fmt: skip
    return {k: source.get(k, v) for k, v in defaults.items()}


def _v1_rep(
    r: Mapping[str, Any], rules: list[Rule], notices: list[dict[str, Any]]
) -> dict[str, Any]:
    faults = {str(f["code"]): f for f in r["faults"]}
    spine = dict(r.get("spine") or {})
    values = {
        str(FaultCode.BACK_ROUNDING): spine.get("rounding_deg"),
        str(FaultCode.BACK_OVERARCH): spine.get("arching_deg"),
    }

    def reason_for(code: str) -> str | None:
        for n in notices:
            if code in n["checks"] and (not n["reps"] or r["index"] in n["reps"]):
                return str(n["code"])
        return None

    checks = []
    for rule in rules:
        code = str(rule.code)
        check: dict[str, Any] = {
            "code": code, "verdict": "ok", "value": None, "threshold": rule.threshold,
            "unit": rule.unit, "reason": None,
        }  # fmt: skip
        if code in faults:
            f = faults[code]
            check.update(verdict="flagged", value=f["value"], threshold=f["threshold"])
        elif (why := reason_for(code)) is not None:
            check.update(verdict="not_judged", reason=why)
        elif code in values:
            if values[code] is None:
                check.update(verdict="not_judged", reason=str(NotJudged.NOT_MEASURED))
            else:
                check["value"] = values[code]
        checks.append(check)
    verdict = spine.get("verdict") or ("neutral" if spine.get("judged") else "not judged")
    return {
        **{k: v for k, v in r.items() if k != "spine"},
        "spine": {
            "verdict": verdict,
            **{k: spine.get(k) for k in _V1_SPINE_KEYS},
            "confidence": spine.get("confidence"),
        },
        "checks": checks,
    }


# --- the schema -----------------------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """data/report.schema.json, the JSON Schema of a report's JSON."""
    text = resources.files("formcheck.data").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --- files ----------------------------------------------------------------------------------------


def _finite(value: Any) -> Any:
    """JSON has no NaN: NaN/inf become null, numpy scalars plain Python and enum members their
    value, recursively."""
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The process's umask, read once at import (reading it means setting it, which threads would race).
UMASK = _read_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves a half file. The
    file gets the user's usual permissions (0666 less the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=tmp_name(path.name), suffix=".part")
    try:
        os.fchmod(fd, 0o666 & ~UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    """CSV text with NaN written as empty cells and floats rounded to 3 decimals."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                ""
                if isinstance(v, float) and v != v
                else (round(v, 3) if isinstance(v, float) else v)
                for v in row
            ]
        )
    return buf.getvalue()
