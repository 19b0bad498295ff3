"""SessionReport / RepReport: the documented, versioned JSON report, the per-frame CSV, atomic writes.

JSON report, schema_version "1" (docs/report-schema.md describes every field):
  top level: schema_version, formcheck_version, created_utc, source{...}, exercise, exercise_source
  (auto|user), exercise_confidence, view, view_confidence, facing, preset, fps, duration_s,
  frames_total, frames_analysed, detection_rate, spine_neutral_deg, warnings[{code, message, advice}],
  reps[...], summary{n_reps, n_partial_reps, n_flagged_reps, fault_counts}, guidance{...}, outputs{...}.
  rep: index, start_s, bottom_s, end_s, duration_s, partial, phases[{phase, start_s, end_s}],
  tempo{descent_s, ascent_s}, angles{<name>: {min, max}}, spine{verdict, judged, rounding_deg,
  arching_deg, peak_flexion_rel_deg, peak_extension_rel_deg, confidence}, faults[{code, severity,
  confidence, value, threshold, unit, start_s, end_s, message, cue}].
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.safefiles import tmp_name

SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class WarningItem:
    code: str
    message: str
    advice: str = ""


@dataclass(frozen=True)
class FaultReport:
    code: str
    severity: str
    confidence: float
    value: float
    threshold: float
    unit: str
    start_s: float
    end_s: float
    message: str
    cue: str


@dataclass(frozen=True)
class RepReport:
    index: int
    start_s: float
    bottom_s: float
    end_s: float
    duration_s: float
    partial: bool
    phases: list[dict[str, Any]]
    tempo: dict[str, float | None]
    angles: dict[str, dict[str, float | None]]
    spine: dict[str, Any]
    faults: list[FaultReport] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.faults)


@dataclass(frozen=True)
class SessionReport:
    source: dict[str, Any]
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
    warnings: list[WarningItem]
    reps: list[RepReport]
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
                counts[fault.code] = counts.get(fault.code, 0) + 1
        return {
            "n_reps": len(self.reps),
            "n_partial_reps": sum(1 for r in self.reps if r.partial),
            "n_flagged_reps": sum(1 for r in self.reps if r.flagged),
            "fault_counts": counts,
        }

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = _finite(asdict(self))
        data["summary"] = self.summary
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> SessionReport:
        if str(data.get("schema_version")) != SCHEMA_VERSION:
            raise ValueError(
                f"report schema {data.get('schema_version')!r} is not supported "
                f"(this formcheck reads schema {SCHEMA_VERSION})"
            )
        reps = [
            RepReport(**{**r, "faults": [FaultReport(**f) for f in r["faults"]]})
            for r in data["reps"]
        ]
        fields = {k: v for k, v in data.items() if k not in ("summary", "reps", "warnings")}
        return SessionReport(
            **fields, reps=reps, warnings=[WarningItem(**w) for w in data["warnings"]]
        )


def _finite(value: Any) -> Any:
    """JSON has no NaN: NaN/inf become null and numpy scalars plain Python, recursively."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=tmp_name(path.name), suffix=".part")
    try:
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
