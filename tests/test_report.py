"""report.py: schema 2 (checks per rep, typed notices), the verdict line every front end prints, the
JSON Schema and its generated doc, file permissions; bad input of each kind (still image, truncated
file, colliding output names)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest
import reportkit

from formcheck.cli import folder_note, main, summary_text
from formcheck.notices import Notice, NoticeCode, NotJudged
from formcheck.pipeline import (
    AnalysisOptions,
    analyze_measured,
    measure_frames,
    output_names,
    truncated_s,
)
from formcheck.report import (
    SessionReport,
    Verdict,
    atomic_write_text,
    json_schema,
    verdict_line,
)
from formcheck.video import VideoError, iter_frames, probe

REPO = Path(__file__).resolve().parents[1]
DEMOS = REPO / "sample_videos"


# --- the verdict line -----------------------------------------------------------------------------


def test_a_rep_reads_ok_only_when_every_check_was_judged_and_passed() -> None:
    ok = reportkit.rep(1, 4.0)
    unclear = reportkit.rep(2, None)
    flagged = reportkit.rep(3, 21.0, [reportkit.fault()])
    assert (ok.verdict, verdict_line(ok)) == (Verdict.OK, "ok")
    assert unclear.verdict is Verdict.NOT_JUDGED
    assert verdict_line(unclear) == (
        "no fault seen; not judged: back rounding and back arching (the back's outline was unclear)"
    )
    assert flagged.verdict is Verdict.FLAGGED
    assert verdict_line(flagged) == "flagged: back rounding"


def test_a_flagged_rep_also_names_what_was_not_judged() -> None:
    rep = reportkit.rep(1, 21.0, [reportkit.fault()])
    checks = [
        dataclasses.replace(
            c, verdict=Verdict.NOT_JUDGED, value=None, reason=NotJudged.ARCHING_NOT_JUDGED
        )
        if c.code == "back_overarch"
        else c
        for c in rep.checks
    ]
    line = verdict_line(dataclasses.replace(rep, checks=checks))
    assert line == (
        "flagged: back rounding; not judged: back arching (no steady standing back to compare with)"
    )


def test_the_cli_summary_prints_the_verdict_line_and_counts_reps_in_words() -> None:
    report = reportkit.report([reportkit.rep(1, 4.0), reportkit.rep(2, None)])
    text = summary_text(report)
    assert "2 reps found" in text and "rep(s)" not in text
    assert "rep 1   2.0-  4.0s  ok" in text
    assert "rep 2   4.0-  6.0s  no fault seen; not judged: back rounding" in text
    one = reportkit.report([reportkit.rep(1, 4.0)])
    assert "1 rep found" in summary_text(one)


@pytest.mark.slow
def test_the_squat_demo_with_an_unclear_back_never_prints_ok_for_that_rep(tmp_path: Path) -> None:
    """The squat demo through the real pipeline, its first rep's back outline blanked (no demo has
    an unjudged rep): that rep is not judged in the report, the CLI and the review table."""
    from formcheck.ui.components import rep_table_rows

    clip = DEMOS / "squat_rounded_demo.mp4"
    info = probe(clip)
    measured = measure_frames(clip, info, lambda *a: None)
    options = AnalysisOptions(write_video=False)
    first = analyze_measured(info, options, measured).segmentation.reps[0]
    back = list(measured.back)
    for i in range(first.start_frame, first.end_frame + 1):
        back[i] = dataclasses.replace(
            back[i], flexion_deg=math.nan, confidence=0.0, outline_bend_deg=math.nan,
            outline_confidence=0.0,
        )  # fmt: skip
    report = analyze_measured(info, options, dataclasses.replace(measured, back=back)).report
    rep1 = report.reps[0]
    assert rep1.check("back_rounding").verdict is Verdict.NOT_JUDGED  # type: ignore[union-attr]
    assert rep1.verdict is Verdict.NOT_JUDGED and verdict_line(rep1) != "ok"
    unclear = report.notice(NoticeCode.SPINE_LOW_CONFIDENCE)
    assert unclear is not None and unclear.reps == (1,)
    assert "rep 1" in unclear.message
    line = next(s for s in summary_text(report).splitlines() if s.startswith("  rep 1"))
    assert line.endswith(
        "not judged: back rounding and back arching (the back's outline was unclear)"
    )
    row = rep_table_rows(report, {})[0]
    assert row["Result"].startswith("? no fault seen; not judged")
    assert not report.notice(NoticeCode.VIEW_UNSUITABLE)  # knees: not a gap of a side view
    data = report.to_dict()
    jsonschema.validate(data, json_schema())
    assert SessionReport.from_dict(data).to_dict() == data


# --- the schema -----------------------------------------------------------------------------------


def test_a_report_round_trips_and_validates_against_the_packaged_schema() -> None:
    notice = Notice(NoticeCode.SPINE_LOW_CONFIDENCE, "unclear", "film", (2,), ("back_rounding",))
    report = reportkit.report(
        [
            reportkit.rep(1, 4.0),
            reportkit.rep(2, None),
            reportkit.rep(3, 21.0, [reportkit.fault()]),
        ],
        [notice],
    )
    data = report.to_dict()
    jsonschema.validate(data, json_schema())
    assert data["schema_version"] == "2"
    assert data["summary"] == {
        "n_reps": 3, "n_partial_reps": 0, "n_flagged_reps": 1, "n_ok_reps": 1,
        "n_not_judged_reps": 1, "fault_counts": {"back_rounding": 1},
    }  # fmt: skip
    back = SessionReport.from_dict(data)
    assert back.notices[0].reps == (2,) and back.notices[0].code is NoticeCode.SPINE_LOW_CONFIDENCE
    assert back.to_dict() == data


def test_the_schema_rejects_a_check_without_a_verdict() -> None:
    data = reportkit.report([reportkit.rep(1, 4.0)]).to_dict()
    data["reps"][0]["checks"][0]["verdict"] = "fine"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json_schema())


def test_docs_report_schema_is_generated_from_the_schema() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "report_schema_doc.py"), "--check"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_unknown_report_schema_is_refused_by_name() -> None:
    data = reportkit.report([]).to_dict()
    data["schema_version"] = "9"
    with pytest.raises(ValueError, match="report schema '9' is not supported"):
        SessionReport.from_dict(data)


# --- files ----------------------------------------------------------------------------------------


def test_written_files_get_the_users_usual_permissions(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    atomic_write_text(path, "{}")
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert path.stat().st_mode & 0o044  # readable by others under the usual umask 022


# --- bad input, one test per kind -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["still.png", "still.jpg", "still_png.mp4", "still_jpg.mp4"])
def test_a_still_image_is_refused_with_a_clear_message(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    image = np.full((480, 640, 3), 120, np.uint8)
    ok, encoded = cv2.imencode(".png" if "png" in name else ".jpg", image)
    assert ok
    path = tmp_path / name
    path.write_bytes(encoded.tobytes())
    with pytest.raises(VideoError, match="still image, not a video"):
        probe(path)
    status = main(["analyze", str(path), "--out", str(tmp_path / "out"), "--no-video"])
    err = capsys.readouterr().err
    assert status == 1 and "still image, not a video" in err and "Traceback" not in err
    assert not (tmp_path / "out" / path.stem).exists()


def _cut(src: Path, dst: Path, share: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * share)])
    return dst


def test_a_file_cut_short_with_its_index_at_the_front_is_noticed(tmp_path: Path) -> None:
    """The demo keeps its index (moov) at the front, so its first 30 % opens and decodes about 30 %
    of the frames its header promises."""
    whole = DEMOS / "squat_good_demo.mp4"
    head = whole.read_bytes()[:64]
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head
    cut = _cut(whole, tmp_path / "cut.mp4", 0.3)
    info = probe(cut)
    t = np.array([f.t_s for f in iter_frames(cut)])
    missing = truncated_s(info, t)
    assert missing is not None and missing > 0.5 * info.duration_s
    full_t = np.array([f.t_s for f in iter_frames(whole)])
    assert truncated_s(probe(whole), full_t) is None


@pytest.mark.slow
def test_strict_fails_a_truncated_file_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = _cut(DEMOS / "squat_good_demo.mp4", tmp_path / "cut.mp4", 0.5)
    args = ["analyze", str(cut), "--out", str(tmp_path / "out"), "--no-video"]
    assert main(args) == 0
    assert "could be decoded" in capsys.readouterr().out
    assert main([*args, "--strict"]) == 1
    err = capsys.readouterr().err
    assert "could be decoded" in err and "(--strict)" in err
    assert (tmp_path / "out" / "cut" / "report.json").is_file()


def test_videos_of_the_same_name_get_their_own_folders() -> None:
    videos = [Path("a/squat.mp4"), Path("b/squat.mp4"), Path("c/Squat.mov"), Path("squat-2.mp4")]
    names = output_names(videos)
    assert names == ["squat", "squat-2", "Squat-3", "squat-2-2"]
    assert len({n.casefold() for n in names}) == len(names)
    assert folder_note(videos[0], names[0]) == ""
    assert "saved in squat-2/" in folder_note(videos[1], names[1])


@pytest.mark.slow
def test_two_videos_of_one_name_in_one_run_both_keep_their_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        shutil.copy(DEMOS / "squat_good_demo.mp4", tmp_path / folder / "squat.mp4")
    shutil.copy(DEMOS / "deadlift_good_demo.mp4", tmp_path / "y" / "squat.mp4")
    out = tmp_path / "out"
    videos = [str(tmp_path / "x" / "squat.mp4"), str(tmp_path / "y" / "squat.mp4")]
    assert main(["analyze", *videos, "--out", str(out), "--no-video", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "saved in squat-2/" in printed
    first = SessionReport.from_dict(json.loads((out / "squat" / "report.json").read_text()))
    second = SessionReport.from_dict(json.loads((out / "squat-2" / "report.json").read_text()))
    assert (first.exercise, second.exercise) == ("squat", "deadlift")
