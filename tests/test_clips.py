"""The whole pipeline on the real clips in ../shared/clips (skipped where that folder is absent).

Every clip is analysed once (no annotated video; two worker processes) and the reports are shared
by the tests below. Labels are ../shared/clips/labels.csv (weak labels), scored by
benchmarks/accuracy.py: the back verdicts on the labelled side-view clips, good-form clips without a
back fault, exercise and rep counts.
"""

from __future__ import annotations

import csv
import importlib
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from formcheck.report import SessionReport

pytestmark = [pytest.mark.clips, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
VIDEO_SUFFIXES = {".mp4", ".mov"}
BACK_FAULTS = {"back_rounding", "back_overarch"}


def _analyse(path: str) -> dict[str, Any]:
    from formcheck.pipeline import AnalysisOptions, analyze

    return analyze(Path(path), AnalysisOptions(write_video=False)).report.to_dict()


@pytest.fixture(scope="module")
def reports(clips_dir: Path) -> dict[str, SessionReport]:
    videos = sorted(p for p in clips_dir.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    assert videos, f"no videos under {clips_dir}"
    # spawned, not forked: this process may hold a pose model whose threads a fork would copy
    with ProcessPoolExecutor(
        max_workers=2, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        results = list(pool.map(_analyse, [str(v) for v in videos]))
    return {
        str(v.relative_to(clips_dir)): SessionReport.from_dict(r)
        for v, r in zip(videos, results, strict=True)
    }


def _codes(report: SessionReport) -> set[str]:
    return {f.code for rep in report.reps for f in rep.faults}


def test_every_clip_is_analysed_into_a_contract_report(reports: dict[str, SessionReport]) -> None:
    for name, report in reports.items():
        data = report.to_dict()
        for key in ("schema_version", "exercise", "view", "notices", "reps"):
            assert key in data, f"{name}: {key} missing"
        for rep in data["reps"]:
            assert {"index", "start_s", "end_s", "faults"} <= set(rep), name
            for fault in rep["faults"]:
                assert {"code", "severity", "confidence", "value", "threshold"} <= set(fault), name


def test_av1_clip_is_decoded(reports: dict[str, SessionReport]) -> None:
    report = reports["form-guard/squat_bad.mp4"]
    assert report.frames_total > 50
    assert report.detection_rate > 0.8


def test_two_people_in_view_are_reported(reports: dict[str, SessionReport]) -> None:
    codes = {w.code for w in reports["form-guard/squat_bad__h264_transcode.mp4"].notices}
    assert "multiple_people" in codes


def _accuracy() -> Any:
    """benchmarks/accuracy.py (the real-clip scorer), importable by name."""
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    return importlib.import_module("accuracy")


@pytest.fixture(scope="module")
def scored(reports: dict[str, SessionReport], clips_dir: Path) -> dict[str, Any]:
    """benchmarks/accuracy.py's score of these reports against ../shared/clips/labels.csv."""
    accuracy = _accuracy()
    labels = accuracy.real_labels(clips_dir)
    return dict(accuracy.score_real(labels, [reports[row["file"]].to_dict() for row in labels]))


# Pinned from `python benchmarks/accuracy.py --real` on 2026-12-04: back_rounding balanced accuracy
# 1.0 (4/4 rounded flagged, 0/12 good-form flagged), 15 of 16 scored clips judged (formfit/squat: the
# squat's back had no reference). On 2026-12-06 (squats judged on the learned read-out): the same,
# and 16 of 16 judged. The pins allow one clip more or less.
MIN_ROUNDING_BALANCED_ACCURACY = 0.85
MIN_ROUNDING_JUDGED_SHARE = 0.93
MAX_GOOD_FORM_WITH_BACK_FAULT = 1


def test_back_rounding_verdicts_on_labelled_side_view_clips(scored: dict[str, Any]) -> None:
    rounding = scored["back_rounding"]
    rows = [
        (r["clip"], r["rounding"], r["verdicts"]["back_rounding"], r["back_readings"])
        for r in scored["clips"]
        if r["in_rounding_metric"]
    ]
    assert rounding["balanced_accuracy"] >= MIN_ROUNDING_BALANCED_ACCURACY, (rounding, rows)
    assert rounding["judged_share"] >= MIN_ROUNDING_JUDGED_SHARE, (rounding, rows)


def test_good_form_side_view_clips_raise_no_back_fault(scored: dict[str, Any]) -> None:
    good = [r for r in scored["clips"] if r["in_rounding_metric"] and r["rounding"] == "no"]
    faulted = [(r["clip"], r["back_faults"]) for r in good if r["back_faults"]]
    assert good and len(faulted) <= MAX_GOOD_FORM_WITH_BACK_FAULT, faulted


def _marker_times(labels: Path) -> list[float]:
    with labels.open() as fh:
        return [float(r["time"]) for r in csv.DictReader(fh) if float(r["label"]) >= 0.999]


def test_rep_counts_match_workouttracker_labels(
    reports: dict[str, SessionReport], clips_dir: Path
) -> None:
    """The MANIFEST reads each label marker as a rep bottom. In squat_11 and squat_17 the two
    markers fall on standing frames before and after ONE rep (checked by eye and by the hip height
    in angles.csv), so they delimit a rep rather than count two. Every marker must lie inside a
    found rep (0.5 s tolerance), and the count must equal the number of markers except for those
    two clips, where it must be one."""
    delimiting = {"squat_11.mp4", "squat_17.mp4"}
    results = {}
    for labels in sorted((clips_dir / "workouttracker-squat").glob("*.labels.csv")):
        name = labels.name.replace(".labels.csv", ".mp4")
        reps = reports[f"workouttracker-squat/{name}"].reps
        markers = _marker_times(labels)
        expected = 1 if name in delimiting else len(markers)
        inside = all(any(r.start_s - 0.5 <= t <= r.end_s + 0.5 for r in reps) for t in markers)
        results[name] = (expected, len(reps), inside)
    assert results
    wrong = {k: v for k, v in results.items() if v[0] != v[1] or not v[2]}
    assert not wrong, f"(expected, found, every marker inside a rep): {results}"
