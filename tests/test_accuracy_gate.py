"""Regression gate: the accuracy benchmark's headline figures on the committed synthetic set.

benchmarks/synth holds rendered lifters whose spine angles are known exactly (made by
formcheck.synth.generate; no torch needed here). The pinned figures are what benchmarks/accuracy.py
printed when they were set, with a margin; a change that makes the spine measurement, rep counting or
the back verdicts worse fails CI. When a change makes them better, tighten the pins in the same commit.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SYNTH = REPO / "benchmarks" / "synth"

pytestmark = pytest.mark.slow

# Side view (|yaw| <= 20 deg). Set on 2026-11-22 (session 2) from `python benchmarks/accuracy.py
# --no-real`, which printed spine MAE 5.19 (on the 63 % of frames measured: back squats are withheld),
# p95 16.3, rep exact 0.933 (14/15), back_rounding precision 1.0 / recall 0.18 / F1 0.30, no back fault
# on any neutral clip, 0 confidently wrong back faults. On 2026-12-01, session 3 (plates, hinge-band
# neutral): MAE 5.16, p95 16.2, coverage 0.626. Session 4 (same day: the lifter tracked backwards into
# a missed start, every arm's outline dropped): MAE 5.01, p95 14.1, coverage 0.493 (frames where a
# hanging arm may form the back's outline are no longer measured), rep exact 1.0 (15/15),
# back_rounding P 0.86 / R 0.35 / F1 0.50, back_overarch F1 0.2, still none on a neutral clip and
# none confidently wrong. Against the targets (MAE <= 5, p95 <= 10, F1 >= 0.95) the p95 and
# the recall are short: rounding is under-read (README, Accuracy).
# On 2026-12-02 (session 5) the grouping was corrected: the scorer compared the raw camera azimuth
# with 20 deg, so the ten right-side clips (azimuth 180, exactly side-on) were counted as 'yaw 25';
# the side group is 25 clips now (yaw 25: 4). Same code, corrected groups: MAE 5.14, p95 13.6,
# coverage 0.383 (right-side clips have fewer measured frames), rep exact 1.0 (25/25), back_rounding
# P 0.86 / R 0.30 / F1 0.44, back_overarch F1 0.13, none on a neutral clip, none confidently wrong.
# On 2026-12-06 (session 9: squats read by the learned read-out, models/SPINE_READOUT.md; deadlifts
# still by the outline): MAE 3.56, p95 11.6, coverage 0.79, rep exact 1.0 (25/25), back_rounding
# P 0.80 / R 0.60 / F1 0.69 (12 3 8), back_overarch F1 0.33 (3 0 12), none on a neutral clip, none
# confidently wrong.
# Margins allow one clip more or less and small numeric drift across platforms.
MAX_SPINE_MAE_DEG = 4.5
MAX_SPINE_P95_DEG = 13.5
MIN_SPINE_COVERAGE = 0.7
MIN_REP_EXACT_RATE = 0.93
MIN_BACK_ROUNDING_F1 = 0.6


def _accuracy_module() -> Any:
    """benchmarks/accuracy.py, importable by name so its worker processes can unpickle it."""
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    return importlib.import_module("accuracy")


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    if not (SYNTH / "index.json").is_file():
        pytest.fail(f"the committed benchmark set is missing: {SYNTH}/index.json")
    return dict(_accuracy_module().evaluate_synth(SYNTH, jobs=2))


def test_spine_flexion_error_stays_within_the_pinned_bounds(result: dict[str, Any]) -> None:
    side = result["side"]
    assert side["spine_mae_deg"] <= MAX_SPINE_MAE_DEG, side
    assert side["spine_p95_deg"] <= MAX_SPINE_P95_DEG, side


def test_the_back_is_measured_on_most_side_view_frames(result: dict[str, Any]) -> None:
    """Withholding everything would pass the error pins; this keeps the deadlifts measured."""
    assert result["side"]["spine_coverage"] >= MIN_SPINE_COVERAGE, result["side"]


def test_no_back_fault_on_a_neutral_clip_and_none_confidently_wrong(result: dict[str, Any]) -> None:
    assert result["side"]["no_back_fault_on_neutral"], result["side"]
    for group in ("side", "side_yaw25"):
        assert result[group]["confidently_wrong_back_faults"] == 0, result[group]


def test_rep_counting_stays_exact_on_the_side_view_clips(result: dict[str, Any]) -> None:
    assert result["side"]["rep_exact_rate"] >= MIN_REP_EXACT_RATE, result["side"]


def test_back_rounding_verdicts_stay_right(result: dict[str, Any]) -> None:
    f1 = result["side"]["fault_f1"].get("back_rounding") or 0.0
    assert f1 >= MIN_BACK_ROUNDING_F1, result["side"]["faults"]


def test_oblique_and_front_views_are_never_confidently_wrong(result: dict[str, Any]) -> None:
    for group in ("oblique", "front"):
        assert result[group]["confidently_wrong_back_faults"] == 0, result[group]


def test_right_side_clips_count_as_side_view() -> None:
    """Azimuth 0 and 180 are both side-on; 25 and 155 both 25 degrees off."""
    accuracy = _accuracy_module()
    assert [accuracy.side_yaw_deg(a) for a in (0.0, 180.0, 25.0, 155.0, 195.0)] == [
        0.0,
        0.0,
        25.0,
        -25.0,
        15.0,
    ]
    clip = {"view": "side", "yaw": accuracy.side_yaw_deg(180.0)}
    assert accuracy.group_of(clip) == "side"
    assert accuracy.group_of(clip | {"yaw": accuracy.side_yaw_deg(155.0)}) == "side_yaw25"
