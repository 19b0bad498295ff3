"""Guidance data (complete, sourced, not copied from the seeds) and per-session selection."""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from formcheck import guidance
from formcheck.faults import Fault, FaultCode, Severity
from formcheck.guidance import GuidanceDataError, load_guidance, rep_pattern, select_guidance

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
DATA = REPO / "src" / "formcheck" / "data" / "guidance.yaml"
SEED_NAMES = {
    "000_927fa5b268ada4f9.txt",
    "001_a9f58eaea3b536e1.txt",
    "002_514b82d7465fd25e.txt",
    "003_3ba6c58c3a89f00e.txt",
    "004_f46d922f41716590.txt",
}
SHARED_RUN = 8  # words in a row shared with a seed that count as copying


def make_fault(
    code: FaultCode | str,
    rep: int,
    severity: Severity = Severity.MINOR,
    value: float = 20.0,
    threshold: float = 15.0,
    confidence: float = 0.9,
) -> Fault:
    return Fault(
        code=FaultCode(code), rep_index=rep, start_s=float(rep), end_s=rep + 0.8,
        start_frame=30 * rep, end_frame=30 * rep + 24, value=value, threshold=threshold, unit="deg",
        severity=severity, confidence=confidence, message=f"{code} on rep {rep}",
    )  # fmt: skip


@functools.cache
def _parsed_data() -> dict[str, Any]:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def raw_data() -> dict[str, Any]:
    """A fresh copy of the parsed data file, free to mutate."""
    return copy.deepcopy(_parsed_data())


def strings(node: object) -> Iterator[str]:
    """Every string value (not key) in a parsed YAML tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def words(text: str) -> list[str]:
    """Lowercase words with punctuation stripped (apostrophes joined: "don't" -> "dont")."""
    return re.findall(r"[a-z0-9]+", re.sub(r"['\u2019]", "", text.lower()))


def shared_runs(text: str, seed_runs: set[tuple[str, ...]]) -> list[str]:
    w = words(text)
    return [
        " ".join(w[i : i + SHARED_RUN])
        for i in range(len(w) - SHARED_RUN + 1)
        if tuple(w[i : i + SHARED_RUN]) in seed_runs
    ]


def runs_of(text: str) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i : i + SHARED_RUN]) for i in range(len(w) - SHARED_RUN + 1)}


# --- the data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(FaultCode))
def test_every_fault_code_has_complete_guidance(code: FaultCode) -> None:
    g = load_guidance().for_fault(code)
    assert g.code is code
    assert g.title and g.what_we_saw and g.why_it_matters
    assert 1 <= len(g.cue.split()) <= 6, g.cue
    assert len(g.change_now) >= 2
    assert len(g.drills) >= 2
    for drill in g.drills:
        assert drill.name and len(drill.how.split()) >= 15, drill  # a real how-to, not a label
    assert g.sources and set(g.sources) <= SEED_NAMES


def test_cue_for_accepts_codes_and_their_strings_and_rejects_unknown() -> None:
    assert guidance.cue_for(FaultCode.BACK_ROUNDING) == guidance.cue_for("back_rounding")
    assert guidance.cue_for("back_rounding") == load_guidance().faults[FaultCode.BACK_ROUNDING].cue
    assert len({guidance.cue_for(code) for code in FaultCode}) == len(FaultCode)  # no shared cue
    with pytest.raises(ValueError, match="spine_twist"):
        guidance.cue_for("spine_twist")


def test_every_entry_cites_a_seed_file() -> None:
    """Every text entry (anything with text/how) carries a seed file name as its source."""
    lib = load_guidance()
    assert set(lib.sources) == SEED_NAMES
    if SEEDS.is_dir():
        assert {p.name for p in SEEDS.glob("*.txt")} == SEED_NAMES

    def entries(node: object, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            if "text" in node or "how" in node or "cue" in node:
                yield where, node
            for key, value in node.items():
                yield from entries(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield from entries(item, f"{where}[{i}]")

    # low_confidence and no_reps are product notes about the measurement, not facts from the seeds.
    notes = {".session.low_confidence", ".session.no_reps"}
    found = [(w, e) for w, e in entries(raw_data(), "") if w not in notes]
    assert len(found) > 40  # the walk really reaches the entries
    for where, entry in found:
        cited = entry.get("sources", [entry.get("source")])
        assert cited and all(name in SEED_NAMES for name in cited), where


def test_shared_run_check_catches_eight_words_and_passes_seven() -> None:
    seed = runs_of("Keep a neutral spine during squats and deadlifts, always.")
    assert shared_runs("Coaches say: keep a NEUTRAL spine, during squats and deadlifts!", seed)
    assert not shared_runs("Keep a neutral spine during squats and lunges, always.", seed)
    assert not shared_runs("so keep a neutral spine during squats and", seed)  # 7 in a row


def test_no_text_is_copied_from_the_seeds() -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"seed articles not found at {SEEDS}; the verbatim check needs ../shared/seeds")
    seed_runs: set[tuple[str, ...]] = set()
    for path in sorted(SEEDS.glob("*.txt")):
        seed_runs |= runs_of(path.read_text(encoding="utf-8"))
    assert seed_runs
    copied = {
        text[:60]: runs for text in strings(raw_data()) if (runs := shared_runs(text, seed_runs))
    }
    assert not copied, f"text shares {SHARED_RUN}+ words in a row with a seed: {copied}"


def test_red_flags_cover_the_seed_warning_signs_and_disclaimer_says_no_diagnosis() -> None:
    lib = load_guidance()
    flags = " ".join(flag.text for flag in lib.red_flags).lower()
    for sign in ("legs", "numbness", "bladder", "bowel", "fever", "severe", "worse", "improve"):
        assert sign in flags, sign
    assert "does not diagnose" in lib.disclaimer
    assert "doctor or physiotherapist" in lib.disclaimer
    assert lib.red_flags_heading


def test_soreness_recovery_and_prevention_sections_say_what_the_issue_asks() -> None:
    lib = load_guidance()
    soreness = " ".join(t.text for t in lib.soreness_vs_injury)
    assert "6-8 hours" in soreness and "sharp pain" in soreness.lower()
    recovery = " ".join(t.text for t in lib.recovery).lower()
    assert "15-20 minutes" in recovery and "walking" in recovery
    prevention = {t.id for t in lib.prevention}
    assert {"warm_up", "gradual_load", "form_first", "core_strength", "cool_down"} <= prevention
    assert {"rest_and_variety", "hydration"} <= prevention
    warm_up = next(t for t in lib.prevention if t.id == "warm_up").text.lower()
    assert "static" in warm_up and "after" in warm_up


def test_fault_texts_are_not_alarmist() -> None:
    lib = load_guidance()
    for g in lib.faults.values():
        text = " ".join([g.what_we_saw, g.why_it_matters, *g.change_now]).lower()
        for word in ("fracture", "herniat", "surgery", "permanent", "nerve damage", "diagnos"):
            assert word not in text, (g.code, word)


def test_load_is_cached() -> None:
    assert load_guidance() is load_guidance()


# --- bad data files ------------------------------------------------------------------------------


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "guidance.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_unmodified_copy_loads(tmp_path: Path) -> None:
    assert load_guidance(write(tmp_path, raw_data())) == load_guidance()


def test_missing_fault_code_is_an_error_naming_it(tmp_path: Path) -> None:
    data = raw_data()
    del data["faults"]["knee_valgus"]
    with pytest.raises(GuidanceDataError, match=r"faults: .*knee_valgus"):
        load_guidance(write(tmp_path, data))


def test_unknown_source_is_an_error_naming_the_entry(tmp_path: Path) -> None:
    data = raw_data()
    data["drills"]["plank"]["source"] = "some_blog.txt"
    with pytest.raises(GuidanceDataError, match=r"drills\.plank: source: 'some_blog.txt'"):
        load_guidance(write(tmp_path, data))


def test_missing_source_is_an_error(tmp_path: Path) -> None:
    data = raw_data()
    del data["prevention"][0]["source"]
    with pytest.raises(GuidanceDataError, match=r"prevention\[0\]: missing keys \['source'\]"):
        load_guidance(write(tmp_path, data))


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    data = raw_data()
    data["faults"]["back_rounding"]["cues"] = "typo"
    with pytest.raises(
        GuidanceDataError, match=r"faults\.back_rounding: .*unknown keys \['cues'\]"
    ):
        load_guidance(write(tmp_path, data))


def test_empty_text_is_an_error(tmp_path: Path) -> None:
    data = raw_data()
    data["faults"]["back_rounding"]["cue"] = "  "
    with pytest.raises(
        GuidanceDataError, match=r"faults\.back_rounding: cue: expected non-empty text"
    ):
        load_guidance(write(tmp_path, data))


def test_unknown_drill_id_is_an_error(tmp_path: Path) -> None:
    data = raw_data()
    data["faults"]["forward_lean"]["drills"].append("handstand")
    with pytest.raises(GuidanceDataError, match=r"unknown drill ids \['handstand'\]"):
        load_guidance(write(tmp_path, data))


def test_unknown_prevention_topic_is_an_error(tmp_path: Path) -> None:
    data = raw_data()
    data["prevention"][0]["topics"].append("back_roundng")
    with pytest.raises(GuidanceDataError, match=r"unknown topics \['back_roundng'\]"):
        load_guidance(write(tmp_path, data))


def test_bad_template_placeholder_is_an_error(tmp_path: Path) -> None:
    data = raw_data()
    data["session"]["patterns"]["late"]["text"] = "{fault} on the last {cnt} reps"
    with pytest.raises(GuidanceDataError, match=r"session\.patterns\.late: text: bad placeholder"):
        load_guidance(write(tmp_path, data))


def test_wrong_schema_version_is_an_error(tmp_path: Path) -> None:
    data = raw_data()
    data["schema_version"] = 2
    with pytest.raises(GuidanceDataError, match="schema_version is 2"):
        load_guidance(write(tmp_path, data))


def test_missing_file_and_broken_yaml_are_errors_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(GuidanceDataError, match=r"nowhere\.yaml: cannot read"):
        load_guidance(tmp_path / "nowhere.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("faults: [unclosed\n", encoding="utf-8")
    with pytest.raises(GuidanceDataError, match=r"broken\.yaml: not valid YAML"):
        load_guidance(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(GuidanceDataError, match=r"list\.yaml: top level: expected a mapping"):
        load_guidance(listed)


# --- selection -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reps", "n_reps", "pattern"),
    [
        ([1, 2, 3, 4, 5, 6], 6, "every"),
        ([1], 1, "every"),
        ([5, 6], 6, "late"),
        ([4, 5, 6], 6, "late"),  # half the set: still late
        ([3, 4, 5, 6], 6, "most"),  # more than half: not just fatigue
        ([3], 3, "late"),
        ([2], 2, "once"),  # too short a set to call it fatigue
        ([1, 2], 6, "early"),
        ([1], 5, "early"),
        ([3], 6, "once"),
        ([2, 4], 6, "some"),
        ([1, 3], 3, "most"),
        ([2, 3, 5, 6], 6, "most"),
    ],
)
def test_rep_pattern_known_answers(reps: list[int], n_reps: int, pattern: str) -> None:
    assert rep_pattern(reps, n_reps) == pattern


def test_rounding_on_the_last_reps_gets_the_fatigue_note() -> None:
    session = select_guidance([make_fault("back_rounding", 5), make_fault("back_rounding", 6)], 6)
    (only,) = session.faults
    assert only.code is FaultCode.BACK_ROUNDING and only.pattern == "late"
    assert "last 2 of 6 reps" in only.context and "fatigue" in only.context
    assert "Lower the load or end the set earlier" in only.context
    assert only.cue == guidance.cue_for("back_rounding")
    assert "end_set_early" in {tip.id for tip in session.prevention}


def test_rounding_on_the_final_rep_only_gets_the_single_rep_fatigue_note() -> None:
    (only,) = select_guidance([make_fault("back_rounding", 6)], 6).faults
    assert "final rep (rep 6 of 6)" in only.context and "fatigue" in only.context


def test_rounding_on_every_rep_is_not_called_fatigue() -> None:
    (only,) = select_guidance([make_fault("back_rounding", r) for r in range(1, 6)], 5).faults
    assert only.pattern == "every"
    assert "every rep" in only.context and "fatigue" not in only.context


def test_repeated_codes_give_one_entry_with_each_rep_once() -> None:
    faults = [make_fault("back_rounding", r) for r in (2, 4, 2, 4)] + [
        make_fault("forward_lean", 3)
    ]
    session = select_guidance(faults, 6)
    assert [s.code for s in session.faults] == [FaultCode.BACK_ROUNDING, FaultCode.FORWARD_LEAN]
    assert session.faults[0].reps == [2, 4]
    assert "2 of 6 reps (reps 2 and 4)" in session.faults[0].context


def test_drills_and_tips_are_not_repeated_across_faults() -> None:
    faults = [
        make_fault("back_rounding", 3),
        make_fault("back_rounding", 4),
        make_fault("hips_rise_early", 3),  # on fewer reps: ranked after rounding
    ]
    session = select_guidance(faults, 5)
    shown = [d.name for s in session.faults for d in s.drills]
    assert len(shown) == len(set(shown))
    hips = next(s for s in session.faults if s.code is FaultCode.HIPS_RISE_EARLY)
    # The stick hinge belongs to both faults' guidance but is shown once, under rounding.
    assert "Hip hinge with a stick" in [d.name for d in hips.guidance.drills]
    assert "Hip hinge with a stick" not in [d.name for d in hips.drills]
    assert "Hip hinge with a stick" in [d.name for d in session.faults[0].drills]
    ids = [tip.id for tip in session.prevention]
    assert len(ids) == len(set(ids)) and 2 <= len(ids) <= 4


def test_severity_ranks_before_frequency_and_frequency_before_code_order() -> None:
    faults = [
        make_fault("back_rounding", 1),
        make_fault("knee_valgus", 1),
        make_fault("knee_valgus", 2),
        make_fault("shallow_depth", 3, Severity.MAJOR, value=40.0, threshold=20.0),
    ]
    order = [s.code for s in select_guidance(faults, 4).faults]
    assert order == [FaultCode.SHALLOW_DEPTH, FaultCode.KNEE_VALGUS, FaultCode.BACK_ROUNDING]


def test_major_fault_names_the_worst_rep() -> None:
    faults = [
        make_fault("back_rounding", 2, Severity.MAJOR, value=27.0, threshold=15.0),
        make_fault("back_rounding", 3, Severity.MAJOR, value=33.0, threshold=15.0),
        make_fault(
            "back_rounding", 4, Severity.MINOR, value=50.0, threshold=15.0
        ),  # minor never worst
        make_fault("back_overarch", 1),
    ]
    session = select_guidance(faults, 4)
    rounding = session.faults[0]
    assert rounding.severity is Severity.MAJOR and rounding.worst_rep == 3
    assert "Rep 3 went well past the limit" in rounding.context
    assert (
        "went well past" not in session.faults[1].context
    )  # the minor overarch gets no severe note
    assert "gradual_load" in {tip.id for tip in session.prevention}


def test_worst_rep_for_a_below_threshold_rule_uses_distance_from_threshold() -> None:
    faults = [
        make_fault("knee_valgus", 1, Severity.MAJOR, value=0.60, threshold=0.80),
        make_fault("knee_valgus", 2, Severity.MAJOR, value=0.40, threshold=0.80),
    ]
    assert select_guidance(faults, 2).faults[0].worst_rep == 2


def test_low_confidence_note_just_under_and_at_the_limit() -> None:
    limit = load_guidance().session.low_confidence_below
    note = load_guidance().session.low_confidence
    under = select_guidance([make_fault("back_rounding", 1, confidence=limit - 0.01)], 3).faults[0]
    at = select_guidance([make_fault("back_rounding", 1, confidence=limit)], 3).faults[0]
    missing = select_guidance([make_fault("back_rounding", 1, confidence=float("nan"))], 3).faults[
        0
    ]
    assert note in under.context and note in missing.context
    assert note not in at.context


def test_clean_session_gets_the_positive_message_and_general_tips() -> None:
    lib = load_guidance()
    session = select_guidance([], 5)
    assert session.clean and session.faults == []
    assert session.message == lib.session.clean.text and "Nice work" in session.message
    assert 2 <= len(session.prevention) <= 4
    assert all("clean" in tip.topics for tip in session.prevention)
    assert session.red_flags == lib.red_flags and session.disclaimer == lib.disclaimer


def test_set_with_no_reps_is_not_praised() -> None:
    lib = load_guidance()
    session = select_guidance([], 0)
    assert not session.clean and session.faults == []
    assert session.message == lib.session.no_reps and "Nice work" not in session.message
    assert 2 <= len(session.prevention) <= 4 and session.red_flags == lib.red_flags


def test_flagged_session_always_carries_red_flags_and_disclaimer_but_no_positive_message() -> None:
    lib = load_guidance()
    session = select_guidance([make_fault("incomplete_lockout", 2)], 3)
    assert not session.clean and session.message == ""
    assert session.red_flags == lib.red_flags and session.red_flags_heading == lib.red_flags_heading
    assert session.disclaimer == lib.disclaimer
    assert 2 <= len(session.prevention) <= 4


def test_selection_uses_only_the_documented_fault_fields() -> None:
    base = [make_fault("back_rounding", 4), make_fault("forward_lean", 2)]
    moved = [
        dataclasses.replace(
            f, start_s=99.0, end_s=100.0, start_frame=1, end_frame=2, unit="x", message="?"
        )
        for f in base
    ]
    assert select_guidance(base, 4) == select_guidance(moved, 4)


def test_session_guidance_serialises_with_asdict() -> None:
    data = dataclasses.asdict(select_guidance([make_fault("back_rounding", 3)], 3))
    assert data["faults"][0]["guidance"]["cue"] == guidance.cue_for("back_rounding")
    assert data["faults"][0]["code"] == "back_rounding"


@pytest.mark.parametrize(
    ("faults", "n_reps", "message"),
    [
        ([make_fault("back_rounding", 0)], 3, "rep 0"),
        ([make_fault("back_rounding", 4)], 3, "rep 4, but the set has 3 reps"),
        ([make_fault("back_rounding", 1)], 0, "rep 1, but the set has 0 reps"),
        ([], -1, "n_reps must be >= 0"),
    ],
)
def test_bad_selection_inputs_are_rejected(faults: list[Fault], n_reps: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        select_guidance(faults, n_reps)
