"""Per-rep fault rules. Thresholds come from data/thresholds.yaml (never from code).

Each rule turns a rep's measurements into at most one Fault with a measured value, the threshold it was
judged against, a severity and a confidence. Rules whose view cannot support them are not guessed: they
produce a Notice (a warning with a code such as view_unsuitable_for_spine) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
    """A session-level warning: code (stable, machine-readable), message (plain words), advice (what to do)."""

    code: str
    message: str
    advice: str = ""
