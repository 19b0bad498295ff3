"""history.py: the SQLite session store (rows, files, filters, migrations, export, settings)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest
import reportkit

from formcheck import history as history_module
from formcheck import safefiles
from formcheck.history import (
    DB_FILE,
    MIGRATIONS,
    SCHEMA_VERSION,
    SESSIONS_DIR,
    History,
    HistoryError,
    default_data_dir,
    migrate,
)
from formcheck.notices import Notice, NoticeCode, NotJudged
from formcheck.report import SessionReport, Verdict, json_schema, verdict_line


def _report(
    folder: Path, exercise: str = "squat", created: str = "2026-03-01T10:00:00+00:00"
) -> SessionReport:
    """A report whose files exist in `folder`/clip/ (as the pipeline writes them): rep 2 flagged at
    21°, rep 3's back not judged."""
    out = folder / "clip"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text("{}")
    (out / "angles.csv").write_text("t_s\n")
    (out / "clip.annotated.mp4").write_bytes(b"\0" * 10)
    cut = Notice(NoticeCode.CAMERA_CUT, "a cut", "film in one go")
    return reportkit.report(
        [reportkit.rep(1, 4.0), reportkit.rep(2, 21.0, [reportkit.fault()]), reportkit.rep(3, None)],
        [cut], exercise=exercise, created_utc=created,
        outputs={"report_json": str(out / "report.json"), "angles_csv": str(out / "angles.csv"),
                 "annotated_video": str(out / "clip.annotated.mp4")},
    )  # fmt: skip


def _store(history: History, **kwargs: str) -> int:
    folder = history.new_session_dir("clip.mp4")
    raw = folder / "clip.mp4"
    raw.write_bytes(b"raw")
    return history.add_session(_report(folder, **kwargs), folder, raw_video=raw)


def test_a_stored_session_has_its_summary_reps_and_faults(tmp_path: Path) -> None:
    history = History(tmp_path)
    sid = _store(history)
    (row,) = history.sessions()
    assert row.id == sid
    assert (row.exercise, row.n_reps, row.n_flagged) == ("squat", 3, 1)
    assert row.flag_rate == pytest.approx(1 / 3)
    assert row.peak_flexion_rel_deg == 21.0  # the largest rep peak; the rep without one is skipped
    assert row.video_path is not None and row.video_path.is_file()
    assert history.count_rows("reps") == 3
    (fault,) = history.faults(sid)
    assert (fault.rep_index, fault.code, fault.value, fault.threshold) == (
        2, "back_rounding", 21.0, 15.0,
    )  # fmt: skip


def test_the_stored_report_round_trips_with_outputs_pointing_at_the_files(tmp_path: Path) -> None:
    history = History(tmp_path)
    sid = _store(history)
    report = history.report(sid)
    assert [r.index for r in report.reps] == [1, 2, 3]
    assert report.reps[1].faults[0].cue == "Chest up, brace"
    assert Path(report.outputs["annotated_video"]).is_file()
    assert report.notices[0].code is NoticeCode.CAMERA_CUT


def test_paths_are_stored_relative_so_the_data_folder_can_move(tmp_path: Path) -> None:
    history = History(tmp_path / "a")
    sid = _store(history)
    (tmp_path / "a").rename(tmp_path / "b")
    moved = History(tmp_path / "b")
    row = moved.session(sid)
    assert row is not None and row.video_path is not None
    assert row.video_path.is_file()
    assert str(tmp_path / "b") in str(row.video_path)


def test_history_persists_across_restarts(tmp_path: Path) -> None:
    sid = _store(History(tmp_path))
    again = History(tmp_path)
    assert [s.id for s in again.sessions()] == [sid]
    assert again.latest_session_id() == sid


def test_filters_by_lift_and_date(tmp_path: Path) -> None:
    history = History(tmp_path)
    a = _store(history, exercise="squat", created="2026-03-01T10:00:00+00:00")
    b = _store(history, exercise="deadlift", created="2026-03-05T23:59:00+00:00")
    c = _store(history, exercise="squat", created="2026-03-09T08:00:00+00:00")
    assert [s.id for s in history.sessions()] == [c, b, a]  # newest first
    assert [s.id for s in history.sessions(exercises=["squat"])] == [c, a]
    day = dt.date(2026, 3, 5)
    assert [s.id for s in history.sessions(since=day, until=day)] == [b]  # until is inclusive
    assert [s.id for s in history.sessions(since=dt.date(2026, 3, 6))] == [c]
    assert history.sessions(exercises=["deadlift"], until=dt.date(2026, 3, 4)) == []


def test_delete_removes_rows_and_files(tmp_path: Path) -> None:
    history = History(tmp_path)
    keep = _store(history)
    gone = _store(history)
    row = history.session(gone)
    assert row is not None
    assert history.delete_session(gone) is True
    assert history.session(gone) is None
    assert not row.session_dir.exists()
    assert history.count_rows("reps") == 3 and len(history.faults()) == 1  # only `keep` is left
    kept = history.session(keep)
    assert kept is not None and kept.session_dir.is_dir()
    assert history.delete_session(gone) is False


def test_delete_never_touches_files_outside_the_data_folder(tmp_path: Path) -> None:
    history = History(tmp_path / "data")
    outside = tmp_path / "elsewhere"
    report = _report(outside)
    sid = history.add_session(report, outside)
    history.delete_session(sid)
    assert (outside / "clip" / "report.json").is_file()
    assert history.sessions() == []


def test_discard_raw_video_keeps_the_analysis(tmp_path: Path) -> None:
    history = History(tmp_path)
    sid = _store(history)
    row = history.session(sid)
    assert row is not None and row.raw_video_path is not None
    history.discard_raw_video(sid)
    after = history.session(sid)
    assert after is not None and after.raw_video_path is None
    assert not row.raw_video_path.exists()
    assert after.video_path is not None and after.video_path.is_file()


def test_the_database_uses_wal_and_the_current_schema(tmp_path: Path) -> None:
    History(tmp_path)
    con = sqlite3.connect(tmp_path / DB_FILE)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_an_older_database_is_migrated_keeping_its_sessions(tmp_path: Path) -> None:
    history = History(tmp_path / "new")
    sid = _store(history)
    report_json = history.report(sid).to_json()
    old = sqlite3.connect(tmp_path / DB_FILE)
    migrate(old, target=1)  # a version-1 database, as the first release wrote it
    old.execute(
        "INSERT INTO sessions (created_utc, origin, source_name, exercise, view, preset,"
        " duration_s, detection_rate, n_reps, n_flagged, session_dir, report_path, report_json)"
        " VALUES ('2026-01-01T00:00:00+00:00', 'upload', 'old.mp4', 'deadlift', 'side', 'strict',"
        " 5.0, 1.0, 0, 0, 'sessions/x', 'sessions/x/r.json', ?)",
        (report_json,),
    )
    old.commit()
    old.close()
    upgraded = History(tmp_path)
    (row,) = upgraded.sessions()
    assert (row.source_name, row.note) == ("old.mp4", "")
    upgraded.set_note(row.id, "  140 kg x 3 ")
    assert upgraded.sessions()[0].note == "140 kg x 3"
    assert len(MIGRATIONS) == SCHEMA_VERSION == 4


def _outline_apart(folder: Path) -> SessionReport:
    """A report whose back outline peaked further than its checks compared (rep 2: outline 27°,
    rounding judged at 21° and flagged; rep 1 ok at 4° with an outline peak of 9°)."""
    base = _report(folder)
    reps = [
        reportkit.rep(1, 4.0, peak_flexion=9.0),
        reportkit.rep(2, 21.0, [reportkit.fault()], peak_flexion=27.0),
        reportkit.rep(3, None),
    ]
    return dataclasses.replace(base, reps=reps)


def test_a_session_row_holds_the_peaks_its_review_shows(tmp_path: Path) -> None:
    """The history lists the largest value each back check compared (the review's headline and
    table), not the outline's own peak."""
    history = History(tmp_path)
    folder = history.new_session_dir("clip.mp4")
    sid = history.add_session(_outline_apart(folder), folder)
    row = history.session(sid)
    assert row is not None
    assert row.peak_rounding_deg == 21.0 == history.report(sid).peak("back_rounding")
    assert row.peak_arching_deg == 2.0  # reportkit's arching check value
    assert row.peak_flexion_rel_deg == 27.0  # the outline's peak stays available
    header, line = history.export_csv([row]).splitlines()
    cells = dict(zip(header.split(","), line.split(","), strict=True))
    assert (cells["peak_rounding_deg"], cells["peak_arching_deg"]) == ("21.0", "2.0")


def test_a_database_of_version_3_gets_its_sessions_peaks_from_their_reports(
    tmp_path: Path,
) -> None:
    history = History(tmp_path / "new")
    folder = history.new_session_dir("clip.mp4")
    report_json = _outline_apart(folder).to_json()
    old = sqlite3.connect(tmp_path / DB_FILE)
    migrate(old, target=3)  # as formcheck wrote it before the peaks were stored
    old.execute(
        "INSERT INTO sessions (created_utc, origin, source_name, exercise, view, preset,"
        " duration_s, detection_rate, n_reps, n_flagged, peak_flexion_rel_deg, session_dir,"
        " report_path, report_json)"
        " VALUES ('2026-01-01T00:00:00+00:00', 'upload', 'old.mp4', 'squat', 'side', 'beginner',"
        " 8.0, 1.0, 3, 1, 27.0, 'sessions/x', 'sessions/x/r.json', ?)",
        (report_json,),
    )
    old.commit()
    old.close()
    (row,) = History(tmp_path).sessions()
    assert (row.peak_rounding_deg, row.peak_arching_deg) == (21.0, 2.0)
    assert row.peak_flexion_rel_deg == 27.0


def test_a_database_from_a_newer_formcheck_is_refused(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / DB_FILE)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(HistoryError, match="newer than this formcheck"):
        History(tmp_path)


def test_export_csv_has_one_line_per_session_and_blank_missing_numbers(tmp_path: Path) -> None:
    history = History(tmp_path)
    _store(history)
    folder = history.new_session_dir("empty")
    empty = _report(folder, exercise="deadlift")
    empty = SessionReport(**{**empty.__dict__, "reps": []})
    history.add_session(empty, folder)
    rows = list(csv.DictReader(io.StringIO(history.export_csv(history.sessions()))))
    assert len(rows) == 2
    by_lift = {r["exercise"]: r for r in rows}
    assert by_lift["squat"]["n_flagged"] == "1"
    assert float(by_lift["squat"]["flag_rate"]) == pytest.approx(1 / 3)
    assert (
        by_lift["deadlift"]["flag_rate"] == "" and by_lift["deadlift"]["peak_flexion_rel_deg"] == ""
    )


def test_export_json_holds_the_full_reports(tmp_path: Path) -> None:
    history = History(tmp_path)
    sid = _store(history)
    data = json.loads(history.export_json(history.sessions()))
    assert data["formcheck_history"] == 1
    (entry,) = data["sessions"]
    assert entry["id"] == sid
    assert entry["report"]["summary"]["n_flagged_reps"] == 1


def test_settings_round_trip_with_defaults(tmp_path: Path) -> None:
    history = History(tmp_path)
    assert history.get_setting("preset", "beginner") == "beginner"
    history.set_setting("preset", "strict")
    history.set_setting("preset", "strict")  # upsert, not a duplicate key error
    assert History(tmp_path).get_setting("preset", "beginner") == "strict"


def test_data_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORMCHECK_DATA_DIR", str(tmp_path / "fc"))
    assert default_data_dir() == tmp_path / "fc"
    monkeypatch.delenv("FORMCHECK_DATA_DIR")
    assert default_data_dir() == Path.home() / ".formcheck"


def test_parallel_writers_each_get_their_session(tmp_path: Path) -> None:
    History(tmp_path)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(5):
                _store(History(tmp_path))
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=write) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({s.id for s in History(tmp_path).sessions()}) == 15


def _open_history(folder: str) -> str:
    try:
        History(Path(folder))
    except Exception as exc:  # the failure is the result: reported back to the test
        return repr(exc)
    return "ok"


def _open_history_at(folder: str, start_at: float) -> str:
    """_open_history once the wall clock reaches start_at (so threads and processes collide)."""
    while time.time() < start_at:
        time.sleep(0.001)
    return _open_history(folder)


def _collect_open_at(results: list[str], folder: str, start_at: float) -> None:
    results.append(_open_history_at(folder, start_at))


def test_concurrent_first_opens_of_a_new_folder_all_succeed(tmp_path: Path) -> None:
    """8 tabs (threads) and 3 processes opening a new data folder at the same instant, 20 times:
    every open succeeds and the schema is created once (without the locked setup transaction most
    rounds fail with 'table sessions already exists')."""
    from concurrent.futures import ProcessPoolExecutor

    failures: list[str] = []
    with ProcessPoolExecutor(max_workers=3) as pool:
        list(pool.map(abs, range(3)))  # the workers are up before the first round
        for k in range(20):
            folder = str(tmp_path / f"new{k}")
            start_at = time.time() + 0.1
            in_processes = [pool.submit(_open_history_at, folder, start_at) for _ in range(3)]
            in_threads: list[str] = []
            threads = [
                threading.Thread(target=_collect_open_at, args=(in_threads, folder, start_at))
                for _ in range(8)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            results = in_threads + [f.result() for f in in_processes]
            assert len(results) == 11
            failures += [r for r in results if r != "ok"]
            con = sqlite3.connect(Path(folder) / DB_FILE)
            assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            con.close()
    assert failures == []


def test_a_database_that_stays_locked_is_a_clear_error_after_bounded_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program holding the database: opening retries SETUP_ATTEMPTS times, then says so."""
    monkeypatch.setattr(history_module, "SETUP_ATTEMPTS", 3)
    monkeypatch.setattr(history_module, "SETUP_BUSY_TIMEOUT_S", 0.05)
    holder = sqlite3.connect(tmp_path / DB_FILE, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    with pytest.raises(HistoryError, match="stayed locked by another program"):
        History(tmp_path)
    assert time.monotonic() - started < 5.0
    holder.execute("ROLLBACK")
    holder.close()
    assert History(tmp_path).count_rows("sessions") == 0


def test_a_failed_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    """Every step runs in one transaction: a step that fails rolls the whole setup back."""
    con = sqlite3.connect(tmp_path / DB_FILE)
    con.execute("CREATE TABLE reps (x)")  # in the way of the first migration's own 'reps'
    con.commit()
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        migrate(con)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 0
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"reps"}  # 'sessions', created before the failing step, is rolled back
    con.close()


def _dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_history_sweep_keeps_stored_sessions_and_removes_unknown_folders(
    tmp_path: Path,
) -> None:
    history = History(tmp_path)
    sid = _store(history)
    stored = history.session(sid)
    assert stored is not None and not safefiles.is_staging(stored.session_dir)
    unknown = tmp_path / SESSIONS_DIR / "20260301-100000-clip-abcdef"  # renamed, row never written
    unknown.mkdir()
    (unknown / "clip.mp4").write_bytes(b"raw")
    running = history.new_session_dir("running.mp4")  # this process is still working on it
    stale = stored.session_dir / "clip" / f".clip.annotated.mp4.{_dead_pid()}-00ff.tmp"
    stale.write_bytes(b"x")
    swept = history.sweep()
    assert sorted(swept.removed) == sorted([unknown, stale])
    assert stored.session_dir.is_dir() and running.is_dir()
    assert history.report(sid).outputs["report_json"] == str(stored.report_path)
    assert stored.report_path.is_file()


# --- report schema 1 -> 2 -------------------------------------------------------------------------

V1_DATA = Path(__file__).parent / "data" / "history_v1"


def test_a_database_of_schema_1_reports_is_upgraded_to_typed_verdicts(tmp_path: Path) -> None:
    """tests/data/history_v1: made by formcheck at report schema 1 (history version 2) from the
    squat demo with rep 1's back outline blanked (its back was not judged; the sentence named the
    rep) and the deadlift demo."""
    shutil.copytree(V1_DATA, tmp_path / "data")
    con = sqlite3.connect(tmp_path / "data" / DB_FILE)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    stored = [json.loads(t) for (t,) in con.execute("SELECT report_json FROM sessions")]
    con.close()
    assert {d["schema_version"] for d in stored} == {"1"}

    history = History(tmp_path / "data")
    squat, deadlift = sorted(history.sessions(), key=lambda s: s.id)
    report = history.report(squat.id)
    assert report.schema_version == "2"
    rep1, rep2 = report.reps
    assert rep1.check("back_rounding").verdict is Verdict.NOT_JUDGED  # type: ignore[union-attr]
    assert rep1.check("back_rounding").reason is NotJudged.SPINE_LOW_CONFIDENCE  # type: ignore[union-attr]
    assert rep1.verdict is Verdict.NOT_JUDGED and verdict_line(rep1) != "ok"
    assert rep2.verdict is Verdict.FLAGGED
    assert rep2.check("back_rounding").value == rep2.faults[0].value  # type: ignore[union-attr]
    unclear = report.notice(NoticeCode.SPINE_LOW_CONFIDENCE)
    assert unclear is not None and unclear.reps == (1,)
    assert report.notice(NoticeCode.VIEW_UNSUITABLE) is None  # knees: out of scope from the side
    assert [r.verdict for r in history.report(deadlift.id).reps] == [Verdict.OK, Verdict.OK]
    assert (squat.n_flagged, deadlift.n_flagged) == (1, 0)
    # the database itself now holds schema 2, valid against the packaged JSON Schema
    con = sqlite3.connect(tmp_path / "data" / DB_FILE)
    rows = [json.loads(t) for (t,) in con.execute("SELECT report_json FROM sessions")]
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()
    for data in rows:
        jsonschema.validate(data, json_schema())
