"""Notices: what a report says besides the faults, typed. Texts live in data/notices.yaml.

A Notice has a stable code (NoticeCode), the reps it concerns (empty: the whole session) and the
checks (fault codes) it concerns, plus a message and advice in plain words. Readers act on the code,
reps and checks; they show the message and advice and never parse them.

NotJudged names why a check gave no verdict on a rep (a rep's check verdict carries it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from formcheck.datafiles import Checks, DataFileError

NOTICES_FILE = "notices.yaml"


class NoticeCode(StrEnum):
    NO_PERSON = "no_person"
    PERSON_PARTLY_MISSING = "person_partly_missing"
    MULTIPLE_PEOPLE = "multiple_people"
    CAMERA_CUT = "camera_cut"
    CLIP_TOO_SHORT = "clip_too_short"
    VIDEO_TRUNCATED = "video_truncated"
    RECORDING_INCOMPLETE = "recording_incomplete"
    EXERCISE_UNKNOWN = "exercise_unknown"
    EXERCISE_UNSURE = "exercise_unsure"
    VIEW_UNSUITABLE = "view_unsuitable"
    SPINE_LOW_CONFIDENCE = "spine_low_confidence"
    ARCHING_NOT_JUDGED = "arching_not_judged"


class NotJudged(StrEnum):
    """Why a check gave no verdict on a rep; the first three are explained by a notice of that code."""

    VIEW_UNSUITABLE = "view_unsuitable"
    SPINE_LOW_CONFIDENCE = "spine_low_confidence"
    ARCHING_NOT_JUDGED = "arching_not_judged"
    NOT_MEASURED = "not_measured"


@dataclass(frozen=True)
class Notice:
    """code (stable, machine-readable), message (plain words), advice (what to do), reps (1-based
    rep indices it concerns; empty: the whole session), checks (fault codes it concerns)."""

    code: NoticeCode
    message: str
    advice: str = ""
    reps: tuple[int, ...] = ()
    checks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", NoticeCode(self.code))
        object.__setattr__(self, "reps", tuple(int(r) for r in self.reps))
        object.__setattr__(self, "checks", tuple(str(c) for c in self.checks))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "message": self.message,
            "advice": self.advice,
            "reps": list(self.reps),
            "checks": list(self.checks),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Notice:
        return Notice(
            NoticeCode(data["code"]),
            str(data["message"]),
            str(data.get("advice", "")),
            tuple(data.get("reps", ())),
            tuple(data.get("checks", ())),
        )


class NoticeTextError(DataFileError):
    """A malformed notices.yaml."""


_check = Checks(NoticeTextError)


@dataclass(frozen=True)
class NoticeTexts:
    messages: Mapping[str, str]
    advice: Mapping[str, str]
    reasons: Mapping[NotJudged, str]


def load_texts(path: Path | None = None) -> NoticeTexts:
    """Read and check notices.yaml (the packaged one unless path is given)."""
    raw, where = _check.load(NOTICES_FILE, path)
    top = _check.mapping(raw, where, {"schema_version", "messages", "advice", "reasons"})
    _check.schema_version(top, where)
    out: dict[str, dict[str, str]] = {}
    for section in ("messages", "advice", "reasons"):
        table = _check.mapping(top[section], f"{where}:{section}", non_empty=True)
        out[section] = {k: _check.text(v, f"{where}:{section}.{k}") for k, v in table.items()}
    wanted = {str(r) for r in NotJudged}
    if set(out["reasons"]) != wanted:
        _check.fail(f"{where}:reasons", f"expected exactly {sorted(wanted)}")
    return NoticeTexts(
        out["messages"], out["advice"], {NotJudged(k): v for k, v in out["reasons"].items()}
    )


@cache
def texts() -> NoticeTexts:
    return load_texts()


def make(
    code: NoticeCode,
    advice: str,
    *,
    message: str | None = None,
    reps: Iterable[int] = (),
    checks: Iterable[str] = (),
    **fields: Any,
) -> Notice:
    """The notice `code` with its message (messages[message or code], filled with fields) and the
    advice named `advice` (empty name: no advice)."""
    t = texts()
    words = t.messages[message or str(code)].format(**fields)
    return Notice(code, words, t.advice[advice] if advice else "", tuple(reps), tuple(checks))


def reason_words(reason: NotJudged) -> str:
    return texts().reasons[reason]


def count_words(n: int, word: str) -> str:
    """'1 rep', '2 reps', '0 reps'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def reps_words(reps: Iterable[int]) -> str:
    """'rep 2', 'reps 1 and 3', 'reps 1, 2 and 4'."""
    items = [str(r) for r in sorted(set(reps))]
    if len(items) <= 1:
        return "rep " + "".join(items)
    return "reps " + ", ".join(items[:-1]) + " and " + items[-1]


def and_words(items: Iterable[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    parts = list(items)
    if not parts:
        return ""
    return parts[0] if len(parts) <= 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
