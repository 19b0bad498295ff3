"""Guidance: fault -> cue, explanation, what to change, drills; prevention, recovery, red flags.

Every word the lifter reads lives in data/guidance.yaml, written in our own words from the five seed
articles, with the seed file named on each entry. This module validates that file once (unknown or
missing keys, unknown seeds, fault codes without guidance and bad templates are errors that name the
entry), caches it, and chooses what to show for a session:

* one GuidanceSet per fault code present, most important first (a rep past the severe limit, then
  how many reps showed it), with a context note from the rep pattern (last reps only -> fatigue);
* drills and prevention tips are never repeated within a session;
* the red-flags block and the disclaimer always come along. formcheck coaches technique; it does not
  diagnose.

Rep indices are 1-based, as in reps.Rep and faults.Fault.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from formcheck.datafiles import Checks, DataFileError
from formcheck.faults import Fault, FaultCode, Severity

SCHEMA_VERSION = 1
# Rep patterns (see rep_pattern); each has a template in session.patterns, and late and early also
# have a *_one variant for a single rep. They double as prevention-tip topics.
PATTERNS = ("every", "late", "early", "once", "most", "some")
_TEMPLATE_KEYS = (*PATTERNS, "late_one", "early_one")
_TEMPLATE_FIELDS: dict[str, object] = {
    "fault": "Lower back rounding",
    "count": 2,
    "n_reps": 6,
    "reps": "5 and 6",
    "worst_rep": 6,
}
SELECTION_TAGS = frozenset(
    {*(code.value for code in FaultCode), *PATTERNS, "major", "clean", "general"}
)
GUIDANCE_FILE = "guidance.yaml"


class GuidanceDataError(DataFileError):
    """The guidance data file is malformed; the message names the file and the entry to fix."""


_check = Checks(GuidanceDataError)


@dataclass(frozen=True)
class Drill:
    """An exercise that builds the missing capacity: name, how to do it, and its seed file."""

    name: str
    how: str
    source: str


@dataclass(frozen=True)
class FaultGuidance:
    """All formcheck says about one fault code. Lists are shared with the cache: read-only."""

    code: FaultCode
    cue: str  # a few words to say during the set (live overlay, video banner)
    what_we_saw: str
    why_it_matters: str
    change_now: list[str]  # load, setup, bracing, tempo
    drills: list[Drill]
    sources: list[str]  # seed file names
    title: str  # short heading, e.g. "Lower back rounding"


@dataclass(frozen=True)
class Tip:
    """A prevention, soreness or recovery point. topics: selection tags (see SELECTION_TAGS)."""

    id: str
    title: str
    text: str
    source: str
    topics: list[str]


@dataclass(frozen=True)
class RedFlag:
    """A sign that needs a doctor or physiotherapist, not a form cue."""

    text: str
    source: str


@dataclass(frozen=True)
class Note:
    """A session text (template or message) with its seed."""

    text: str
    source: str


@dataclass(frozen=True)
class SessionTexts:
    """The texts and numbers select_guidance() works with."""

    clean: Note
    patterns: dict[str, Note]  # keyed by _TEMPLATE_KEYS
    severe: Note
    low_confidence_below: (
        float  # a fault code whose faults all have confidence below this gets the note
    )
    low_confidence: str
    no_reps: str  # shown instead of the clean message when the set has no reps
    min_tips: int
    max_tips: int


@dataclass(frozen=True)
class GuidanceLibrary:
    """The validated contents of the guidance data file."""

    sources: dict[str, str]  # seed file name -> what it is
    faults: dict[FaultCode, FaultGuidance]
    prevention: list[Tip]
    soreness_vs_injury: list[Tip]
    recovery: list[Tip]
    red_flags_heading: str
    red_flags: list[RedFlag]
    disclaimer: str
    session: SessionTexts

    def for_fault(self, code: FaultCode | str) -> FaultGuidance:
        """Guidance for a fault code (a FaultCode or its string value; ValueError if unknown)."""
        return self.faults[FaultCode(code)]


@dataclass(frozen=True)
class GuidanceSet:
    """The guidance chosen for one fault code in one session.

    reps: the 1-based reps that showed it (sorted, unique). severity: the worst one. worst_rep: the
    rep furthest past its threshold at that severity. pattern: one of PATTERNS. context: what the
    pattern means and what to do about it. drills: guidance.drills minus those already shown for an
    earlier fault in the same session.
    """

    code: FaultCode
    guidance: FaultGuidance
    reps: list[int]
    severity: Severity
    worst_rep: int
    pattern: str
    context: str
    drills: list[Drill]

    @property
    def cue(self) -> str:
        return self.guidance.cue


@dataclass(frozen=True)
class SessionGuidance:
    """What to show after a set.

    clean: reps were found and none was flagged. message: the positive note for a clean set, a plain
    "no reps found" note when n_reps is 0, otherwise "".
    """

    n_reps: int
    clean: bool
    message: str
    faults: list[GuidanceSet]  # most important first, one per fault code
    prevention: list[Tip]
    red_flags_heading: str
    red_flags: list[RedFlag]
    disclaimer: str


# --- loading --------------------------------------------------------------------------------------


def load_guidance(path: Path | None = None) -> GuidanceLibrary:
    """The packaged guidance (validated once, then cached), or the file at `path` (not cached)."""
    if path is None:
        return _load_packaged()
    return _library(*_check.load(GUIDANCE_FILE, path))


@functools.cache
def _load_packaged() -> GuidanceLibrary:
    return _library(*_check.load(GUIDANCE_FILE))


def cue_for(code: FaultCode | str) -> str:
    """The short in-set cue for a fault code (live overlay, annotated video banners)."""
    return load_guidance().for_fault(code).cue


def _library(data: object, name: str) -> GuidanceLibrary:
    """Validate the parsed guidance file (`name` is used in error messages)."""
    top = _Entry(data, "top level", name)
    top.keys(
        "schema_version sources drills faults prevention soreness_vs_injury recovery red_flags "
        "disclaimer session"
    )
    if top.data["schema_version"] != SCHEMA_VERSION:
        top.fail(
            f"schema_version is {top.data['schema_version']!r}; formcheck reads {SCHEMA_VERSION}"
        )

    sources_entry = top.entry("sources")
    sources = {key: sources_entry.text(key) for key in sources_entry.data}
    if not sources:
        sources_entry.fail("list at least one seed file")
    top = _Entry(
        data, "top level", name, frozenset(sources)
    )  # children check sources against these

    drills_entry = top.entry("drills")
    drills = {key: _drill(drills_entry.entry(key)) for key in drills_entry.data}

    faults_entry = top.entry("faults")
    expected = {code.value for code in FaultCode}
    missing, unknown = expected - set(faults_entry.data), set(faults_entry.data) - expected
    if missing or unknown:
        faults_entry.fail(
            f"needs one entry per FaultCode; missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    faults = {code: _fault(code, faults_entry.entry(code.value), drills) for code in FaultCode}

    sections = {
        key: [_tip(e) for e in top.entries(key)]
        for key in ("prevention", "soreness_vs_injury", "recovery")
    }
    ids = [tip.id for tips in sections.values() for tip in tips]
    if len(ids) != len(set(ids)):
        top.fail(
            f"tip ids must be unique; repeated: {sorted({i for i in ids if ids.count(i) > 1})}"
        )
    for i, tip in enumerate(sections["prevention"]):
        if bad := set(tip.topics) - SELECTION_TAGS:
            top.fail(
                f"prevention[{i}] ({tip.id}): unknown topics {sorted(bad)}; "
                f"use {sorted(SELECTION_TAGS)}"
            )

    flags = top.entry("red_flags")
    flags.keys("heading items")
    red_flags = [RedFlag(e.text("text"), e.source("source")) for e in flags.entries("items")]
    disclaimer = top.entry("disclaimer")
    disclaimer.keys("text source")
    disclaimer.source("source")

    session = _session(top.entry("session"))
    n_general = sum("general" in tip.topics for tip in sections["prevention"])
    if n_general < session.min_tips:
        top.fail(
            f"prevention needs at least {session.min_tips} tips tagged 'general' (has {n_general})"
        )
    return GuidanceLibrary(
        sources=sources,
        faults=faults,
        prevention=sections["prevention"],
        soreness_vs_injury=sections["soreness_vs_injury"],
        recovery=sections["recovery"],
        red_flags_heading=flags.text("heading"),
        red_flags=red_flags,
        disclaimer=disclaimer.text("text"),
        session=session,
    )


class _Entry:
    """One mapping of the data file, with its location (for errors) and the known seed names."""

    def __init__(
        self, data: object, where: str, file: str, sources: frozenset[str] = frozenset()
    ) -> None:
        self.where, self.file, self.sources = where, file, sources
        self.data: Mapping[str, object] = _check.mapping(data, self._at())

    def _at(self, key: str | None = None) -> str:
        """This entry's (or its key's) location for error messages: "file: entry: key"."""
        return f"{self.file}: {self.where}" + ("" if key is None else f": {key}")

    def fail(self, message: str) -> NoReturn:
        _check.fail(self._at(), message)

    def keys(self, names: str) -> None:
        _check.mapping(self.data, self._at(), names.split())

    def _child(self, key: str) -> str:
        if key not in self.data:
            self.fail(f"missing key {key!r}")
        return f"{self.where}.{key}" if self.where != "top level" else key

    def entry(self, key: str) -> _Entry:
        return _Entry(self.data.get(key), self._child(key), self.file, self.sources)

    def entries(self, key: str) -> list[_Entry]:
        where, items = self._child(key), _check.items(self.data[key], self._at(key))
        return [
            _Entry(item, f"{where}[{i}]", self.file, self.sources) for i, item in enumerate(items)
        ]

    def text(self, key: str) -> str:
        self._child(key)
        return " ".join(_check.text(self.data[key], self._at(key)).split())

    def texts(self, key: str) -> list[str]:
        self._child(key)
        values = _check.items(self.data[key], self._at(key))
        return [_Entry({key: v}, self.where, self.file).text(key) for v in values]

    def source(self, key: str) -> str:
        name = self.text(key)
        if name not in self.sources:
            self.fail(
                f"{key}: {name!r} is not one of the seed files listed under sources: "
                f"{sorted(self.sources)}"
            )
        return name

    def sources_list(self, key: str) -> list[str]:
        return [
            _Entry({key: name}, self.where, self.file, self.sources).source(key)
            for name in self.texts(key)
        ]

    def integer(self, key: str) -> int:
        self._child(key)
        return _check.integer(self.data[key], self._at(key), low=0)

    def fraction(self, key: str) -> float:
        self._child(key)
        return _check.number(self.data[key], self._at(key), low=0, high=1)


def _drill(e: _Entry) -> Drill:
    e.keys("name how source")
    return Drill(e.text("name"), e.text("how"), e.source("source"))


def _fault(code: FaultCode, e: _Entry, drills: Mapping[str, Drill]) -> FaultGuidance:
    e.keys("title cue what_we_saw why_it_matters change_now drills sources")
    drill_ids = e.texts("drills")
    if unknown := [d for d in drill_ids if d not in drills]:
        e.fail(f"drills: unknown drill ids {unknown}; defined: {sorted(drills)}")
    return FaultGuidance(
        code=code,
        cue=e.text("cue"),
        what_we_saw=e.text("what_we_saw"),
        why_it_matters=e.text("why_it_matters"),
        change_now=e.texts("change_now"),
        drills=[drills[d] for d in drill_ids],
        sources=e.sources_list("sources"),
        title=e.text("title"),
    )


def _tip(e: _Entry) -> Tip:
    e.keys("id title text source topics")
    return Tip(e.text("id"), e.text("title"), e.text("text"), e.source("source"), e.texts("topics"))


def _note(e: _Entry) -> Note:
    e.keys("text source")
    note = Note(e.text("text"), e.source("source"))
    try:
        note.text.format(**_TEMPLATE_FIELDS)
    except (KeyError, IndexError, ValueError) as err:
        e.fail(
            f"text: bad placeholder ({err!r}); "
            f"allowed: {sorted('{' + k + '}' for k in _TEMPLATE_FIELDS)}"
        )
    return note


def _session(e: _Entry) -> SessionTexts:
    e.keys("clean patterns severe low_confidence no_reps prevention_tips")
    patterns = e.entry("patterns")
    patterns.keys(" ".join(_TEMPLATE_KEYS))
    low, tips = e.entry("low_confidence"), e.entry("prevention_tips")
    low.keys("below text")
    no_reps = e.entry("no_reps")
    no_reps.keys("text")
    tips.keys("min max")
    if not 1 <= tips.integer("min") <= tips.integer("max"):
        tips.fail("need 1 <= min <= max")
    return SessionTexts(
        clean=_note(e.entry("clean")),
        patterns={key: _note(patterns.entry(key)) for key in _TEMPLATE_KEYS},
        severe=_note(e.entry("severe")),
        low_confidence_below=low.fraction("below"),
        low_confidence=low.text("text"),
        no_reps=no_reps.text("text"),
        min_tips=tips.integer("min"),
        max_tips=tips.integer("max"),
    )


# --- selection ------------------------------------------------------------------------------------


def select_guidance(
    faults: Sequence[Fault], n_reps: int, library: GuidanceLibrary | None = None
) -> SessionGuidance:
    """Choose the guidance for a set of `n_reps` reps from its per-rep faults (rep_index 1..n_reps).

    Uses only the faults' code, rep_index, severity, value, threshold and confidence.
    """
    lib = library if library is not None else load_guidance()
    if n_reps < 0:
        raise ValueError(f"n_reps must be >= 0, got {n_reps}")
    by_code: dict[FaultCode, list[Fault]] = {}
    for fault in faults:
        if not 1 <= fault.rep_index <= n_reps:
            raise ValueError(
                f"a {fault.code} fault is on rep {fault.rep_index}, but the set has {n_reps} reps "
                "(rep indices are 1-based)"
            )
        by_code.setdefault(FaultCode(fault.code), []).append(fault)

    ranked = sorted(by_code.items(), key=lambda item: _importance(*item))
    shown: set[str] = set()
    sets: list[GuidanceSet] = []
    for code, group in ranked:
        chosen = _guidance_set(lib, code, group, n_reps, shown)
        shown.update(drill.name for drill in chosen.drills)
        sets.append(chosen)

    if sets:
        tags = {s.code.value for s in sets} | {s.pattern for s in sets}
        tags |= {"major"} if any(s.severity is Severity.MAJOR for s in sets) else set()
    else:
        tags = {"clean"}
    return SessionGuidance(
        n_reps=n_reps,
        clean=n_reps > 0 and not sets,
        message="" if sets else lib.session.clean.text if n_reps else lib.session.no_reps,
        faults=sets,
        prevention=_pick_tips(lib.prevention, tags, lib.session.min_tips, lib.session.max_tips),
        red_flags_heading=lib.red_flags_heading,
        red_flags=list(lib.red_flags),
        disclaimer=lib.disclaimer,
    )


def _importance(code: FaultCode, group: list[Fault]) -> tuple[int, int, int]:
    """Sort key: any rep past the severe limit first, then more reps, then FaultCode order."""
    major = any(f.severity is Severity.MAJOR for f in group)
    return (0 if major else 1, -len({f.rep_index for f in group}), list(FaultCode).index(code))


def rep_pattern(reps: Sequence[int], n_reps: int) -> str:
    """Where in the set the flagged 1-based `reps` fall: one of PATTERNS.

    late/early: only a run at the end/start of a set of 3 or more, covering at most half of it.
    """
    flagged, count = sorted(set(reps)), len(set(reps))
    if count == n_reps:
        return "every"
    short_run = n_reps >= 3 and 2 * count <= n_reps
    if short_run and flagged == list(range(n_reps - count + 1, n_reps + 1)):
        return "late"
    if short_run and flagged == list(range(1, count + 1)):
        return "early"
    if count == 1:
        return "once"
    return "most" if 2 * count > n_reps else "some"


def _guidance_set(
    lib: GuidanceLibrary, code: FaultCode, group: list[Fault], n_reps: int, shown: set[str]
) -> GuidanceSet:
    guidance = lib.for_fault(code)
    reps = sorted({f.rep_index for f in group})
    severity = (
        Severity.MAJOR if any(f.severity is Severity.MAJOR for f in group) else Severity.MINOR
    )
    worst = max(
        (f for f in group if f.severity is severity),
        key=lambda f: (_excess(f), -f.rep_index),
    )
    pattern = rep_pattern(reps, n_reps)
    key = f"{pattern}_one" if pattern in ("late", "early") and len(reps) == 1 else pattern
    fields = {
        "fault": guidance.title,
        "count": len(reps),
        "n_reps": n_reps,
        "reps": _join(reps),
        "worst_rep": worst.rep_index,
    }
    parts = [lib.session.patterns[key].text.format(**fields)]
    if severity is Severity.MAJOR:
        parts.append(lib.session.severe.text.format(**fields))
    low = lib.session.low_confidence_below
    if not any(f.confidence >= low for f in group):  # a NaN confidence counts as low
        parts.append(lib.session.low_confidence)
    return GuidanceSet(
        code=code,
        guidance=guidance,
        reps=reps,
        severity=severity,
        worst_rep=worst.rep_index,
        pattern=pattern,
        context=" ".join(parts),
        drills=[d for d in guidance.drills if d.name not in shown],
    )


def _excess(fault: Fault) -> float:
    """How far past its threshold a fault was (either direction); NaN sorts last."""
    excess = abs(fault.value - fault.threshold)
    return excess if math.isfinite(excess) else -math.inf


def _join(numbers: Sequence[int]) -> str:
    """[5, 6] -> "5 and 6"; [2, 4, 5] -> "2, 4 and 5"."""
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _pick_tips(tips: Sequence[Tip], tags: set[str], lowest: int, highest: int) -> list[Tip]:
    """The tips sharing most topics with the session's tags (data order breaks ties), topped up with
    'general' tips to at least `lowest`; at most `highest`, none twice."""
    scored = sorted(
        enumerate(tips), key=lambda item: (-len(tags.intersection(item[1].topics)), item[0])
    )
    chosen = [tip for _, tip in scored if tags.intersection(tip.topics)][:highest]
    for tip in tips:
        if len(chosen) >= lowest:
            break
        if "general" in tip.topics and all(tip.id != c.id for c in chosen):
            chosen.append(tip)
    return chosen
