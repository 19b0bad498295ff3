"""Fault rules: thresholds from thresholds.yaml, just-under / just-over every rule for every preset,
severity at severe_at, views that cannot support a rule, unclear back outlines, malformed files.

Every threshold below is read from the loaded rules; none is copied here. Each scene is one rep
(frames 10..70 of a 3 s clip at 30 fps) with hand-built phases, and one angle (or the spine curve)
set so that the rule under test measures exactly the wanted value while every other rule stays
quiet.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from formcheck.faults import (
    MEASURES_FILE,
    REGISTRY,
    THRESHOLDS_FILE,
    Fault,
    FaultCode,
    FaultConfigError,
    Rule,
    Severity,
    available_presets,
    evaluate,
    load_measure_params,
    load_rules,
    signed_back_deg,
)
from formcheck.kinematics import AngleSeries, View, ViewEstimate
from formcheck.notices import Notice, NoticeCode, NotJudged
from formcheck.reps import Exercise, Phase, Rep
from formcheck.spine import SpineSeries

DATA = Path(__file__).resolve().parents[1] / "src" / "formcheck" / "data"
PARAMS = load_measure_params()
FPS = 30.0
N_FRAMES = 90
T = np.arange(N_FRAMES) / FPS
PRESETS = sorted(available_presets())
SPINE_RULES = {code for code, spec in REGISTRY.items() if spec.spine}


def evaluated(*args: object, **kwargs: object) -> tuple[list[Fault], list[Notice]]:
    """evaluate()'s faults and notices."""
    result = evaluate(*args, **kwargs)  # type: ignore[arg-type]
    return result.faults, result.notices


def population_reading(rounding_deg: float, exercise: Exercise = Exercise.DEADLIFT) -> float:
    """The absolute hinge reading (the learned read-out's degrees of flexion) whose rounding
    against the lift's population neutral is rounding_deg."""
    if exercise is Exercise.SQUAT:
        return PARAMS.spine_squat_population_neutral_deg + rounding_deg
    return PARAMS.spine_deadlift_population_neutral_deg + rounding_deg


def make_rep(exercise: Exercise, index: int = 1, offset: int = 0) -> Rep:
    first, turn, second, close = (
        (Phase.DESCENT, Phase.BOTTOM, Phase.ASCENT, Phase.LOCKOUT)
        if exercise is Exercise.SQUAT
        else (Phase.ASCENT, Phase.LOCKOUT, Phase.DESCENT, Phase.BOTTOM)
    )
    o = offset
    phases = [
        (first, o + 10, o + 34),
        (turn, o + 35, o + 45),
        (second, o + 46, o + 64),
        (close, o + 65, o + 70),
    ]
    start_s, bottom_s, end_s = (o + 10) / FPS, (o + 40) / FPS, (o + 70) / FPS
    return Rep(index, o + 10, o + 40, o + 70, start_s, bottom_s, end_s, False, phases)


def quiet_angles(n: int = N_FRAMES) -> AngleSeries:
    """A posture that breaks no rule at any preset."""
    const = np.ones(n)
    return AngleSeries(
        t_s=np.arange(n) / FPS, trunk_incl_deg=20.0 * const, hip_flex_deg=2.0 * const,
        knee_flex_deg=30.0 * const, ankle_dorsi_deg=10.0 * const, neck_flex_deg=0.0 * const,
        thigh_above_horizontal_deg=-10.0 * const, knee_width_ratio=1.0 * const,
        hip_height_norm=0.8 * const,
    )  # fmt: skip


def quiet_spine(n: int = N_FRAMES, confidence: float = 0.9) -> SpineSeries:
    """A back at its own (steady) neutral and at the population's neutral hinge reading."""
    return SpineSeries(
        t_s=np.arange(n) / FPS, flexion_abs_deg=np.full(n, 5.0),
        flexion_deg=np.full(n, population_reading(0.0)), confidence=np.full(n, confidence),
        neutral_deg=5.0, flexion_rel_deg=np.zeros(n), neutral_spread_deg=0.5,
        neutral_from_standing=True,
    )  # fmt: skip


def view_of(kind: View, confidence: float = 0.9) -> ViewEstimate:
    return ViewEstimate(kind, 1, "left", confidence, np.full(N_FRAMES, kind.value))


def scene(
    code: FaultCode, value: float, exercise: Exercise
) -> tuple[AngleSeries, SpineSeries, Rep]:
    """Angles/spine/rep where rule `code` measures exactly `value`."""
    angles, spine, rep = quiet_angles(), quiet_spine(), make_rep(exercise)
    rep_frames = slice(rep.start_frame, rep.end_frame + 1)
    if code is FaultCode.BACK_ROUNDING:  # both references read the same rounding
        flex, hinge = spine.flexion_rel_deg.copy(), spine.flexion_deg.copy()
        flex[rep_frames] = value
        hinge[rep_frames] = population_reading(value, exercise)
        spine = replace(spine, flexion_rel_deg=flex, flexion_deg=hinge)
    elif code is FaultCode.BACK_OVERARCH:
        flex = spine.flexion_rel_deg.copy()
        flex[rep_frames] = -value
        spine = replace(spine, flexion_rel_deg=flex)
    elif code is FaultCode.HIPS_RISE_EARLY:
        trunk = angles.trunk_incl_deg.copy()
        trunk[10:15] = 0.0  # the pull starts from 0 deg (exact arithmetic) ...
        trunk[15:35] = value  # ... and the back flattens by `value` early in the ascent
        angles = replace(angles, trunk_incl_deg=trunk)
    else:
        channel = {
            FaultCode.FORWARD_LEAN: "trunk_incl_deg",
            FaultCode.SHALLOW_DEPTH: "thigh_above_horizontal_deg",
            FaultCode.INCOMPLETE_LOCKOUT: "hip_flex_deg",
            FaultCode.KNEE_VALGUS: "knee_width_ratio",
        }[code]
        angles = replace(angles, **{channel: np.full(N_FRAMES, value)})
    return angles, spine, rep


def a_good_view(rule: Rule) -> View:
    return sorted(rule.needs_view)[0]


def step(rule: Rule) -> float:
    """A small step (5% of the threshold-to-severe gap), signed towards 'worse'."""
    gap = rule.severe_at - rule.threshold
    return 0.05 * gap if gap else (0.5 if rule.direction == "above" else -0.005)


def run(code: FaultCode, value: float, preset: str, exercise: Exercise, view: View | None = None):
    rules = load_rules(preset)
    rule = rules.rules[code]
    angles, spine, rep = scene(code, value, exercise)
    return evaluated(exercise, view_of(view or a_good_view(rule)), [rep], angles, spine, rules)


def own_notices(code: FaultCode, notices: list) -> list[str]:
    """Notices about this rule (other rules' view notices are not its business)."""
    return [n.code for n in notices if str(code) in n.checks]


def cases() -> list[tuple[FaultCode, str]]:
    return [(code, preset) for code in FaultCode for preset in PRESETS]


# ---- every rule, every preset -------------------------------------------------------------------


@pytest.mark.parametrize("code, preset", cases())
def test_just_under_the_threshold_is_not_a_fault(code: FaultCode, preset: str) -> None:
    rule = load_rules(preset).rules[code]
    for exercise in rule.exercises:
        faults, notices = run(code, rule.threshold - step(rule), preset, exercise)
        assert faults == [] and own_notices(code, notices) == []
        faults, _ = run(code, rule.threshold, preset, exercise)  # AT the threshold: not beyond it
        assert faults == []


@pytest.mark.parametrize("code, preset", cases())
def test_just_over_the_threshold_is_a_minor_fault(code: FaultCode, preset: str) -> None:
    rule = load_rules(preset).rules[code]
    for exercise in rule.exercises:
        value = rule.threshold + step(rule)
        faults, notices = run(code, value, preset, exercise)
        assert own_notices(code, notices) == []
        assert [f.code for f in faults] == [code]
        (fault,) = faults
        assert fault.value == pytest.approx(value, abs=1e-9)
        assert fault.threshold == rule.threshold and fault.unit == rule.unit
        assert fault.severity is Severity.MINOR
        assert fault.rep_index == 1
        assert 0.0 < fault.confidence <= 1.0
        assert fault.message.endswith(".") and len(fault.message) < 100


@pytest.mark.parametrize("code, preset", cases())
def test_severity_switches_to_major_at_severe_at(code: FaultCode, preset: str) -> None:
    rule = load_rules(preset).rules[code]
    for exercise in rule.exercises:
        (before,) = run(code, rule.severe_at - step(rule), preset, exercise)[0]
        (at,) = run(code, rule.severe_at, preset, exercise)[0]
        (past,) = run(code, rule.severe_at + step(rule), preset, exercise)[0]
        assert (before.severity, at.severity, past.severity) == (
            Severity.MINOR, Severity.MAJOR, Severity.MAJOR,
        )  # fmt: skip
        assert before.confidence < at.confidence  # further past the threshold -> surer


@pytest.mark.parametrize("code", list(FaultCode))
def test_unsuitable_view_withholds_the_verdict_with_a_notice(code: FaultCode) -> None:
    rule = load_rules().rules[code]
    bad_view = next(v for v in (View.FRONT, View.SIDE, View.UNKNOWN) if v not in rule.needs_view)
    for exercise in rule.exercises:
        faults, notices = run(code, rule.severe_at + step(rule), PRESETS[0], exercise, bad_view)
        assert code not in {f.code for f in faults}
        (notice,) = [n for n in notices if str(code) in n.checks]
        assert notice.code is NoticeCode.VIEW_UNSUITABLE and notice.reps == ()
        assert "3-4 m away" in notice.advice and "whole body in frame" in notice.advice
        angles, spine, rep = scene(code, rule.severe_at + step(rule), exercise)
        result = evaluate(exercise, view_of(bad_view), [rep], angles, spine, load_rules())
        assert result.not_judged[(code, rep.index)] is NotJudged.VIEW_UNSUITABLE


def test_spine_rules_share_one_notice_and_other_rules_get_one_each() -> None:
    rules = load_rules()
    angles, spine, rep = scene(FaultCode.BACK_ROUNDING, 40.0, Exercise.SQUAT)
    _, notices = evaluated(Exercise.SQUAT, view_of(View.FRONT), [rep], angles, spine, rules)
    withheld = {r.code for r in rules.for_exercise(Exercise.SQUAT)} - {
        r.code for r in rules.for_exercise(Exercise.SQUAT) if View.FRONT in r.needs_view
    }
    expected = {frozenset(str(c) for c in SPINE_RULES)} | {
        frozenset({str(c)}) for c in withheld - SPINE_RULES
    }
    assert {frozenset(n.checks) for n in notices} == expected
    assert {n.code for n in notices} == {NoticeCode.VIEW_UNSUITABLE}
    spine_notice = next(n for n in notices if str(FaultCode.BACK_ROUNDING) in n.checks)
    assert "film from the side" in spine_notice.advice.lower()
    assert "front" in spine_notice.message


def test_rules_apply_only_to_their_exercise() -> None:
    rules = load_rules()
    squat_only = [r for r in rules.rules.values() if r.exercises == {Exercise.SQUAT}]
    assert squat_only
    for rule in squat_only:
        angles, spine, _ = scene(rule.code, rule.severe_at + step(rule), Exercise.SQUAT)
        rep = make_rep(Exercise.DEADLIFT)
        view = view_of(a_good_view(rule))
        faults, _ = evaluated(Exercise.DEADLIFT, view, [rep], angles, spine, rules)
        assert rule.code not in {f.code for f in faults}


def test_unknown_exercise_runs_no_rule() -> None:
    angles, spine, rep = scene(FaultCode.BACK_ROUNDING, 40.0, Exercise.SQUAT)
    view = view_of(View.SIDE)
    assert evaluated(Exercise.UNKNOWN, view, [rep], angles, spine, load_rules()) == ([], [])


# ---- spine confidence ---------------------------------------------------------------------------


def rounded(value: float, confidence: float) -> tuple[AngleSeries, SpineSeries, Rep]:
    angles, spine, rep = scene(FaultCode.BACK_ROUNDING, value, Exercise.DEADLIFT)
    return angles, replace(spine, confidence=np.full(N_FRAMES, confidence)), rep


def test_low_spine_confidence_gives_a_notice_not_a_verdict() -> None:
    angles, spine, rep = rounded(40.0, PARAMS.spine_frame_min_confidence / 2)
    faults, notices = evaluated(
        Exercise.DEADLIFT, view_of(View.SIDE), [rep], angles, spine, load_rules()
    )
    assert faults == []
    assert [n.code for n in notices] == ["spine_low_confidence"]
    _, notices = evaluated(Exercise.DEADLIFT, view_of(View.SIDE), [rep], angles, None, load_rules())
    assert [n.code for n in notices] == ["spine_low_confidence"]


def test_one_unclear_rep_is_skipped_and_named_while_the_others_are_judged() -> None:
    n = 2 * N_FRAMES
    angles = quiet_angles(n)
    spine = quiet_spine(n)
    reps = [make_rep(Exercise.DEADLIFT, 1, 0), make_rep(Exercise.DEADLIFT, 2, N_FRAMES)]
    conf = spine.confidence.copy()
    conf[N_FRAMES:] = 0.0
    conf[N_FRAMES + 40 : N_FRAMES + 40 + int(PARAMS.spine_hinge_min_frames) - 1] = 0.9  # too few
    spine = replace(
        spine,
        flexion_rel_deg=np.full(n, 40.0),
        flexion_deg=np.full(n, population_reading(40.0)),
        confidence=conf,
    )
    view = ViewEstimate(View.SIDE, 1, "left", 0.9, np.full(n, "side"))
    result = evaluate(Exercise.DEADLIFT, view, reps, angles, spine, load_rules())
    assert {(f.code, f.rep_index) for f in result.faults} == {(FaultCode.BACK_ROUNDING, 1)}
    (notice,) = result.notices
    assert notice.code == "spine_low_confidence" and "rep 2" in notice.message
    assert result.judged(FaultCode.BACK_ROUNDING, 1) and not result.judged(
        FaultCode.BACK_ROUNDING, 2
    )


def test_fault_confidence_follows_spine_and_view_confidence() -> None:
    rules = load_rules()
    rule = rules.rules[FaultCode.BACK_ROUNDING]
    value = rule.severe_at
    confs = []
    for spine_conf, view_conf in ((0.95, 0.95), (0.6, 0.95), (0.95, 0.5)):
        angles, spine, rep = rounded(value, spine_conf)
        view = view_of(View.SIDE, view_conf)
        (fault,) = evaluated(Exercise.DEADLIFT, view, [rep], angles, spine, rules)[0]
        confs.append(fault.confidence)
    assert confs[0] > confs[1] and confs[0] > confs[2]


def test_a_single_glitch_frame_does_not_make_a_fault() -> None:
    angles, spine, rep = scene(FaultCode.BACK_ROUNDING, 0.0, Exercise.SQUAT)
    hinge = spine.flexion_deg.copy()
    hinge[30] = population_reading(80.0, Exercise.SQUAT)
    spine = replace(spine, flexion_deg=hinge)
    faults, _ = evaluated(Exercise.SQUAT, view_of(View.SIDE), [rep], angles, spine, load_rules())
    assert faults == []


def test_fault_is_located_where_the_back_rounded_and_says_how_much() -> None:
    angles, spine, rep = scene(FaultCode.BACK_ROUNDING, 0.0, Exercise.DEADLIFT)
    hinge = spine.flexion_deg.copy()
    hinge[20:31] = population_reading(24.0)  # rounded for 11 frames off the floor
    spine = replace(spine, flexion_deg=hinge)
    (fault,) = evaluated(Exercise.DEADLIFT, view_of(View.SIDE), [rep], angles, spine, load_rules())[
        0
    ]
    assert (fault.start_frame, fault.end_frame) == (20, 30)
    assert fault.start_s == pytest.approx(20 / FPS) and fault.end_s == pytest.approx(30 / FPS)
    assert fault.message == "Back rounded about 24° beyond a neutral back."


def test_spine_and_angles_of_different_lengths_are_rejected() -> None:
    angles, _, rep = scene(FaultCode.BACK_ROUNDING, 0.0, Exercise.SQUAT)
    with pytest.raises(ValueError, match="frames"):
        evaluated(Exercise.SQUAT, view_of(View.SIDE), [rep], angles, quiet_spine(50), load_rules())


# ---- loading the rules --------------------------------------------------------------------------


def packaged(name: str = THRESHOLDS_FILE) -> dict:
    return yaml.safe_load((DATA / name).read_text())


def test_every_fault_code_has_a_rule_and_a_measuring_function() -> None:
    assert set(REGISTRY) == set(FaultCode)
    for preset in PRESETS:
        assert set(load_rules(preset).rules) == set(FaultCode)


def test_rules_carry_the_file_values_for_the_chosen_preset() -> None:
    raw = packaged()
    for preset in PRESETS:
        rules = load_rules(preset)
        assert rules.preset == preset
        for code, rule in rules.rules.items():
            assert (
                rule.threshold == rules.threshold(code) == raw["rules"][code]["threshold"][preset]
            )
            assert rule.severe_at == raw["rules"][code]["severe_at"][preset]
            assert {v.value for v in rule.needs_view} == set(raw["rules"][code]["needs_view"])


def test_default_preset_comes_from_the_file() -> None:
    assert load_rules().preset == packaged()["default_preset"]


def test_unknown_preset_is_a_clear_error() -> None:
    with pytest.raises(FaultConfigError, match=r"unknown preset 'olympic'.*beginner"):
        load_rules("olympic")


def test_overrides_replace_one_number_and_keep_the_rest() -> None:
    base = load_rules().rules[FaultCode.BACK_ROUNDING]
    new_threshold = (base.threshold + base.severe_at) / 2
    rules = load_rules(overrides={"back_rounding": new_threshold})
    assert rules.rules[FaultCode.BACK_ROUNDING].threshold == new_threshold
    assert rules.rules[FaultCode.BACK_ROUNDING].severe_at == base.severe_at
    rules = load_rules(overrides={"back_rounding.severe_at": base.severe_at + 5})
    assert rules.rules[FaultCode.BACK_ROUNDING].severe_at == base.severe_at + 5


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"back_roundness": 10.0}, "unknown threshold override 'back_roundness'"),
        ({"back_rounding.rationale": 10.0}, "unknown threshold override"),
        ({"back_rounding": "ten"}, "expected a number"),
        ({"back_rounding": 1000.0}, "severe_at .* must be at or past threshold"),
    ],
)
def test_bad_overrides_are_rejected(overrides: dict, message: str) -> None:
    with pytest.raises(FaultConfigError, match=message):
        load_rules(overrides=overrides)


def _drop(keys: list[str]):
    def mutate(d: dict) -> None:
        node = d
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]

    return mutate


def _set(keys: list[str], value: object):
    def mutate(d: dict) -> None:
        node = d
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value

    return mutate


@pytest.mark.parametrize(
    "mutate, message",
    [
        (_drop(["rules", "back_rounding", "threshold", "strict"]), "missing keys \\['strict'\\]"),
        (_set(["rules", "back_overarch", "severe_at", "strict"], 1.0), "for preset 'strict'"),
        (_set(["rules", "knee_valgus", "direction"], "sideways"), "knee_valgus.direction"),
        (_set(["rules", "forward_lean", "needs_view"], ["top"]), "forward_lean.needs_view"),
        (_set(["rules", "forward_lean", "exercises"], ["bench"]), "forward_lean.exercises"),
        (_set(["rules", "back_overarch", "severe_at", "beginner"], 1.0), "overarch: severe_at"),
        (_set(["rules", "back_overarch", "threshold", "beginner"], "15 deg"), "expected a number"),
        (_set(["rules", "bar_path"], {}), "unknown keys \\['bar_path'\\]"),
        (_drop(["rules", "hips_rise_early"]), "missing keys \\['hips_rise_early'\\]"),
        (_drop(["rules", "shallow_depth", "rationale"]), "depth: missing keys \\['rationale'\\]"),
        (_set(["default_preset"], "expert"), "default_preset 'expert'"),
        (_set(["schema_version"], 7), "schema_version"),
        (_set(["rules"], []), "rules: expected a non-empty mapping"),
    ],
)  # fmt: skip
def test_malformed_thresholds_file_is_rejected(tmp_path: Path, mutate, message: str) -> None:
    raw = packaged()
    mutate(raw)
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(FaultConfigError, match=message):
        load_rules("beginner", path=path)


def test_thresholds_file_that_is_not_yaml_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("rules: {back_rounding: [1, 2")
    with pytest.raises(FaultConfigError, match=r"thresholds\.yaml: not valid YAML"):
        load_rules(path=path)
    with pytest.raises(FaultConfigError, match="cannot read"):
        load_rules(path=tmp_path / "absent.yaml")


def test_malformed_measure_params_are_rejected(tmp_path: Path) -> None:
    raw = packaged(MEASURES_FILE)
    del raw["peak_percentile"]["rationale"]
    path = tmp_path / MEASURES_FILE
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(FaultConfigError, match="peak_percentile"):
        load_measure_params(path)


def _unsteady(
    preset: str, delta: float, exercise: Exercise
) -> tuple[float, list[Fault], list[str], list[Notice]]:
    """A clearly rounded rep whose own neutral scatters by spine_neutral_max_spread_share x the back
    threshold + delta: (that scatter, faults, notice codes, notices)."""
    rules = load_rules(preset)
    spread = delta + PARAMS.spine_neutral_max_spread_share * min(
        rules.rules[c].threshold for c in SPINE_RULES
    )
    angles, spine, rep = scene(FaultCode.BACK_ROUNDING, 40.0, exercise)
    spine = replace(spine, neutral_spread_deg=spread)
    faults, notices = evaluated(exercise, view_of(View.SIDE), [rep], angles, spine, rules)
    return spread, faults, [n.code for n in notices], notices


@pytest.mark.parametrize("exercise", [Exercise.DEADLIFT, Exercise.SQUAT])
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("delta", [-0.01, 0.01])
def test_an_unsteady_neutral_leaves_arching_unjudged(
    preset: str, delta: float, exercise: Exercise
) -> None:
    """Just under the scatter limit the own neutral counts; just over, arching is not judged (a
    notice says why) while rounding is still judged against the population's neutral."""
    spread, faults, codes, notices = _unsteady(preset, delta, exercise)
    assert FaultCode.BACK_ROUNDING in {f.code for f in faults}
    if delta < 0:
        assert "arching_not_judged" not in codes
    else:
        assert codes.count("arching_not_judged") == 1 and "spine_low_confidence" not in codes
        notice = next(n for n in notices if n.code == "arching_not_judged")
        assert f"±{spread:.0f}°" in notice.message and notice.advice


@pytest.mark.parametrize("exercise", [Exercise.DEADLIFT, Exercise.SQUAT])
def test_a_lift_without_any_own_neutral_is_judged_against_the_population(
    exercise: Exercise,
) -> None:
    """No standing frame at all (a clip that starts at the bar): rounding just over the limit is
    flagged, just under it is not, and arching is reported as not judged."""
    rules = load_rules()
    limit = rules.rules[FaultCode.BACK_ROUNDING].threshold
    for value, flagged in ((limit - 0.1, False), (limit + 0.1, True)):
        angles, spine, rep = scene(FaultCode.BACK_ROUNDING, value, exercise)
        spine = replace(
            spine,
            neutral_deg=float("nan"),
            neutral_spread_deg=float("nan"),
            flexion_rel_deg=np.full(N_FRAMES, np.nan),
        )
        result = evaluate(exercise, view_of(View.SIDE), [rep], angles, spine, rules)
        assert (FaultCode.BACK_ROUNDING in {f.code for f in result.faults}) is flagged
        assert result.measured[(FaultCode.BACK_ROUNDING, 1)] == pytest.approx(value, abs=1e-6)
        assert not result.judged(FaultCode.BACK_OVERARCH, 1)
        notice = next(n for n in result.notices if n.code == "arching_not_judged")
        assert "no frame showed you standing still" in notice.message


def test_rounding_is_read_only_where_the_trunk_leans_forward() -> None:
    """A rounded reading in frames leaning back (a lockout) or upright is not the hinge: it is not
    read; the same reading at a forward lean is."""
    rules = load_rules()
    limit = PARAMS.spine_hinge_min_lean_deg
    for lean, flagged in ((-30.0, False), (limit - 1.0, False), (limit + 1.0, True)):
        angles, spine, rep = scene(FaultCode.BACK_ROUNDING, 0.0, Exercise.DEADLIFT)
        spine = replace(spine, neutral_spread_deg=float("nan"))  # population reference only
        hinge = spine.flexion_deg.copy()
        hinge[20:40] = population_reading(40.0)
        trunk = angles.trunk_incl_deg.copy()
        trunk[20:40] = lean
        angles = replace(angles, trunk_incl_deg=trunk)
        faults, _ = evaluated(
            Exercise.DEADLIFT,
            view_of(View.SIDE),
            [rep],
            angles,
            replace(spine, flexion_deg=hinge),
            rules,
        )
        assert (FaultCode.BACK_ROUNDING in {f.code for f in faults}) is flagged, lean


def test_back_curves_use_the_verdicts_terms() -> None:
    """Per frame: rounding on a deadlift's hinge frames against the population's neutral (a frame
    reading more against the own neutral changes nothing), nothing on standing frames; arching
    against the steady own neutral on every frame; a front view reads nothing."""
    rules = load_rules()
    angles, spine, rep = scene(FaultCode.BACK_ROUNDING, 12.0, Exercise.DEADLIFT)
    trunk = angles.trunk_incl_deg.copy()
    trunk[:10] = 0.0  # standing before the rep: not a hinge frame
    angles = replace(angles, trunk_incl_deg=trunk)
    own = spine.flexion_rel_deg.copy()
    own[30] = 20.0  # one frame reads more against the own neutral
    spine = replace(spine, flexion_rel_deg=own)
    result = evaluate(Exercise.DEADLIFT, view_of(View.SIDE), [rep], angles, spine, rules)
    r = result.rounding_deg
    assert r[20] == pytest.approx(12.0) and r[30] == pytest.approx(12.0)
    assert np.isnan(r[5])  # standing: rounding is read only at the hinge ...
    assert result.arching_deg[5] == pytest.approx(0.0)  # ... arching on every frame
    assert result.arching_deg[20] == pytest.approx(-12.0)
    assert result.arching_deg[30] == pytest.approx(-20.0)
    unsteady = replace(spine, neutral_spread_deg=float("nan"))
    result = evaluate(Exercise.DEADLIFT, view_of(View.SIDE), [rep], angles, unsteady, rules)
    assert np.isnan(result.rounding_deg[5]) and result.rounding_deg[30] == pytest.approx(12.0)
    assert np.isnan(result.arching_deg).all()
    front = evaluate(Exercise.DEADLIFT, view_of(View.FRONT), [rep], angles, spine, rules)
    assert np.isnan(front.rounding_deg).all() and np.isnan(front.arching_deg).all()


def test_signed_back_takes_the_larger_of_rounding_and_arching() -> None:
    nan = float("nan")
    got = signed_back_deg(
        np.array([10.0, 2.0, nan, nan, -3.0]), np.array([4.0, 6.0, 5.0, nan, nan])
    )
    np.testing.assert_allclose(got, [10.0, -6.0, -5.0, nan, -3.0])


def test_a_neutral_from_the_early_hinge_is_not_the_lifters_own() -> None:
    """A neutral taken from the hinge band (no standing frame) could be a rounded setup: however
    steady, it never judges arching (a rounded reference would make a neutral back read arched);
    rounding is still judged."""
    angles, spine, rep = scene(FaultCode.BACK_OVERARCH, 40.0, Exercise.DEADLIFT)
    hinge_neutral = replace(spine, neutral_from_standing=False)
    result = evaluate(
        Exercise.DEADLIFT, view_of(View.SIDE), [rep], angles, hinge_neutral, load_rules()
    )
    assert not result.faults and not result.judged(FaultCode.BACK_OVERARCH, 1)
    assert result.judged(FaultCode.BACK_ROUNDING, 1)
    assert "arching_not_judged" in [n.code for n in result.notices]
