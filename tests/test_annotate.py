"""The annotated video's panel tells each rep's back in the report's numbers (annotate.back_line,
annotate.rep_at); the back gauge can leave its number out (render.draw_spine_gauge)."""

from __future__ import annotations

import numpy as np
import pytest
import reportkit

from formcheck.annotate import BANNER_HOLD_S, angle_line, back_line, rep_at
from formcheck.render import draw_spine_gauge


def test_the_back_line_shows_the_values_the_checks_compared() -> None:
    """Rep 2's outline peaked at 27°, its rounding check compared 21° (flagged): the video says 21°,
    as the review's table, headline and flag do."""
    rep = reportkit.rep(2, 21.4, [reportkit.fault(value=21.4)], peak_flexion=27.0)
    assert back_line(rep) == "Rep 2 back: rounding 21° (flagged), arching 2°"
    assert back_line(reportkit.rep(1, 4.0)) == "Rep 1 back: rounding 4°, arching 2°"


def test_a_back_not_judged_reads_so_on_the_video() -> None:
    assert back_line(reportkit.rep(3, None)) == (
        "Rep 3 back: rounding not judged, arching not judged"
    )


def test_a_rep_without_back_checks_has_no_back_line() -> None:
    rep = reportkit.rep(1, 4.0)
    bare = type(rep)(**{**rep.__dict__, "checks": [c for c in rep.checks if "back" not in c.code]})
    assert back_line(bare) is None


@pytest.mark.parametrize(
    ("t_s", "shown"),
    [
        (1.9, None),  # before the first rep
        (2.0, 1), (3.9, 1),  # rep 1 (2-4 s)
        (4.0, 2), (5.9, 2),  # rep 2 (4-6 s), starting as rep 1 ends
        (7.0, 2), (7.9, 2),  # between reps: the last rep stays
        (8.0, 3), (10.0 + BANNER_HOLD_S - 0.01, 3),  # rep 3 (8-10 s) and its hold
        (10.0 + BANNER_HOLD_S + 0.01, None),  # after the set
    ],
)  # fmt: skip
def test_the_video_shows_a_rep_from_its_start_until_the_next_one(
    t_s: float, shown: int | None
) -> None:
    reps = [reportkit.rep(1, 4.0), reportkit.rep(2, 4.0), reportkit.rep(3, 4.0, start_s=8.0)]
    rep = rep_at(reps, t_s)
    assert (rep.index if rep is not None else None) == shown


def test_rep_at_without_reps_is_none() -> None:
    assert rep_at([], 1.0) is None


def test_the_gauge_without_its_number_keeps_the_dial_and_needle() -> None:
    with_number = np.zeros((720, 1280, 3), np.uint8)
    draw_spine_gauge(with_number, 18.0, 10.0, 20.0)
    needle_only = np.zeros((720, 1280, 3), np.uint8)
    draw_spine_gauge(needle_only, 18.0, 10.0, 20.0, show_value=False)
    drawn, kept = with_number.any(axis=2), needle_only.any(axis=2)
    assert kept.sum() > 0.8 * drawn.sum()  # panel, dial and needle
    assert (with_number != needle_only).any(axis=2).sum() > 50  # the number is missing
    assert not (kept & ~drawn).any()  # nothing drawn that the full gauge does not draw


@pytest.mark.parametrize(("view", "shown"), [("side", True), ("oblique", True), ("front", False),
                                             ("rear", False), ("unknown", False)])  # fmt: skip
def test_joint_angles_are_on_the_video_only_where_the_camera_sees_them_bend(
    view: str, shown: bool
) -> None:
    line = angle_line(view, 3.2, 38.0, 29.0)
    assert (line is not None) is shown
    if shown:
        assert line == "Trunk 3°   Hip 38°   Knee 29°"
