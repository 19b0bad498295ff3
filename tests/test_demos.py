"""The shipped demo videos (sample_videos/) are the first clips a new user runs: each must get the
lift, the rep count and the back verdict its truth file states.

Lift and reps are right on all four, and so is the good-form deadlift's back (its reps read 14.9 and
15.0 against its own standing neutral: right at the 15 degree limit, so a small change to the
measurement can flip it). The other three back verdicts are marked as known misses (strict: the suite
says when one is fixed; docs/accuracy.md has the figures): the back squats have no steady standing
outline to judge against (hands on the bar cover the upper back), and the rounded deadlift's 30
degrees of rendered bend read ~12 degrees against its own neutral and below a real neutral back's
hinge reading against the population's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from formcheck.pipeline import AnalysisOptions, analyze

pytestmark = pytest.mark.slow

DEMOS = Path(__file__).resolve().parents[1] / "sample_videos"


def _truth(name: str) -> dict[str, Any]:
    return dict(json.loads((DEMOS / f"{name}.json").read_text()))


@pytest.fixture(scope="module")
def reports() -> dict[str, Any]:
    index = json.loads((DEMOS / "index.json").read_text())
    return {
        clip["name"]: analyze(DEMOS / clip["video"], AnalysisOptions(write_video=False)).report
        for clip in index["clips"]
    }


DEMO_NAMES = [
    "squat_good_demo",
    "squat_rounded_demo",
    "deadlift_good_demo",
    "deadlift_rounded_demo",
]


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_demo_lift_and_reps_are_found(reports: dict[str, Any], name: str) -> None:
    truth, report = _truth(name), reports[name]
    assert report.exercise == truth["lift"] and report.view == truth["view"]
    assert len([r for r in report.reps if not r.partial]) == truth["n_reps"]


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_demo_back_verdict_matches_its_truth(reports: dict[str, Any], name: str) -> None:
    """Every rep the truth file marks rounded is flagged rounded; every other rep is judged and clear."""
    truth, report = _truth(name), reports[name]
    rounded = set(truth["reps_with_fault"]["back_rounding"])
    got = {rep.index: rep.spine.verdict for rep in report.reps}
    want = {i: ("rounded" if i in rounded else "neutral") for i in got}
    assert got == want
