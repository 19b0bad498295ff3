"""Nothing lost, nothing left behind: staged outputs, the sweep after a crash, and real processes
killed with SIGKILL in the middle of an analysis (CLI and the app's job), then restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from formcheck import safefiles
from formcheck.history import SESSIONS_DIR, History

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "sample_videos" / "squat_good_demo.mp4"


def _dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _leftovers(folder: Path) -> list[Path]:
    """Unfinished work anywhere under folder: staging or old folders, temporary files."""
    return [p for p in folder.rglob(".*") if safefiles.is_staging(p) or safefiles.is_tmp(p)]


# --- safefiles ----------------------------------------------------------------------------------


def test_publish_replaces_the_set_and_keeps_the_users_own_files(tmp_path: Path) -> None:
    target = tmp_path / "clip"
    target.mkdir()
    (target / "report.json").write_text("old")
    (target / "clip.annotated.mp4").write_text("old video")
    (target / "my notes.txt").write_text("mine")
    staging = safefiles.staging_path(target)
    staging.mkdir()
    (staging / "report.json").write_text("new")
    safefiles.publish_dir(staging, target, frozenset({"report.json", "clip.annotated.mp4"}))
    assert sorted(p.name for p in target.iterdir()) == ["my notes.txt", "report.json"]
    assert (target / "report.json").read_text() == "new"
    assert (target / "my notes.txt").read_text() == "mine"
    assert _leftovers(tmp_path) == []


def test_the_sweep_removes_dead_processes_work_and_leaves_running_work(tmp_path: Path) -> None:
    dead = _dead_pid()
    (tmp_path / "clip").mkdir()
    stale_tmp = tmp_path / "clip" / f".clip.annotated.mp4.{dead}-0a1b2c.tmp"
    stale_tmp.write_bytes(b"\0" * 1000)
    live_tmp = tmp_path / "clip" / f".report.json.{os.getpid()}-abc.part"
    live_tmp.write_text("being written")
    stale_staging = tmp_path / f".other.staging-{dead}-0123abcd"
    stale_staging.mkdir()
    (stale_staging / "angles.csv").write_text("t_s\n")
    live_staging = safefiles.staging_path(tmp_path / "third")
    live_staging.mkdir()
    swept = safefiles.sweep_folder(tmp_path)
    assert sorted(swept.removed) == sorted([stale_tmp, stale_staging])
    assert swept.freed_bytes == 1000 + len("t_s\n")
    assert live_tmp.exists() and live_staging.exists()
    assert "removed 2 unfinished items" in swept.message()


def test_an_interrupted_swap_is_put_back(tmp_path: Path) -> None:
    """Killed between the two renames of publish_dir: the old set is restored, not deleted."""
    old = tmp_path / f".clip.old-{_dead_pid()}-0123abcd"
    old.mkdir()
    (old / "report.json").write_text("old")
    swept = safefiles.sweep_folder(tmp_path)
    assert swept.restored == [tmp_path / "clip"]
    assert (tmp_path / "clip" / "report.json").read_text() == "old"
    assert "put back the previous results of clip" in swept.message()


def test_a_legacy_tmp_file_goes_only_once_untouched_for_a_while(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    fresh = tmp_path / "s" / ".clip.annotated.mp4.0a1b2c3d4e5f.tmp"
    old = tmp_path / "s" / ".clip2.annotated.mp4.0a1b2c3d4e5f.tmp"
    fresh.write_text("x")
    old.write_text("x")
    past = time.time() - safefiles.LEGACY_TMP_AGE_S - 60
    os.utime(old, (past, past))
    assert safefiles.sweep_folder(tmp_path).removed == [old]
    assert fresh.exists()


# --- real processes killed with SIGKILL --------------------------------------------------------


def _kill_when(proc: subprocess.Popen[bytes], ready: object, timeout_s: float = 120.0) -> None:
    """SIGKILL proc as soon as ready() is true; fails if the process ends first."""
    assert callable(ready)
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert proc.poll() is None, "the process finished before the kill point"
        assert time.monotonic() < deadline, "the kill point was never reached"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _annotating(folder: Path) -> bool:
    """A hidden .tmp (the annotated video being drawn) somewhere below folder; False while the
    walk meets a staging folder that the analysis renames away under it (the next poll sees it)."""
    try:
        return any(p.suffix == ".tmp" for p in folder.rglob(".*.tmp"))
    except FileNotFoundError:
        return False


def _cli(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "formcheck", "analyze", str(DEMO), "--out", str(out), *extra]


@pytest.mark.slow
@pytest.mark.parametrize("kill_point", ["drawing", "after 1.5 s", "after 3 s"])
def test_a_killed_cli_run_leaves_the_old_set_or_the_new_one(
    tmp_path: Path, kill_point: str
) -> None:
    out = tmp_path / "out"
    folder = out / DEMO.stem
    first = subprocess.run(_cli(out, "--no-video"), capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    # mark the first run's set, so that a mix of old and new files would show
    report = json.loads((folder / "report.json").read_text())
    report["created_utc"] = "old"
    (folder / "report.json").write_text(json.dumps(report))
    with (folder / "angles.csv").open("a") as fh:
        fh.write("old\n")

    proc = subprocess.Popen(_cli(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    if kill_point == "drawing":
        _kill_when(proc, lambda: _annotating(out))
    else:
        delay = float(kill_point.split()[1])
        _kill_when(proc, lambda: time.monotonic() > started + delay)

    restart = subprocess.run(
        [sys.executable, "-m", "formcheck", "analyze", str(tmp_path / "absent.mp4"), "--out",
         str(out)], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "Traceback" not in restart.stderr
    assert _leftovers(out) == []
    report = json.loads((folder / "report.json").read_text())
    old_report = report["created_utc"] == "old"
    old_csv = (folder / "angles.csv").read_text().endswith("old\n")
    assert old_report == old_csv, "report.json and angles.csv come from different runs"
    if "annotated_video" in report["outputs"]:
        assert Path(report["outputs"]["annotated_video"]).is_file()
    if kill_point == "drawing":
        assert "removed 1 unfinished item " in restart.stderr
        assert not old_report  # the new set was in place before the video was drawn


_APP_JOB = """
import sys, shutil
from pathlib import Path
from formcheck.history import History
from formcheck.pipeline import AnalysisOptions
from formcheck.ui.jobs import analyse_and_store

store = History(Path(sys.argv[1]))
folder = store.new_session_dir("squat.mp4")
video = folder / "squat.mp4"
shutil.copyfile(sys.argv[2], video)
outcome = analyse_and_store(store, video, folder, AnalysisOptions(), origin="upload",
                            keep_raw_video=True)
if outcome.video is not None:
    outcome.video.wait()
print(outcome.session_id)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kill_point", ["staged", "staged + 2 s", "drawing"])
def test_a_killed_app_analysis_leaves_nothing_the_history_does_not_know(
    tmp_path: Path, kill_point: str
) -> None:
    """The app's job (the code path of the Analyse page) killed mid-analysis; the next start's
    sweep leaves only stored sessions' folders and no temporary file. Killed while drawing the
    annotated video, the session is already stored with its report (without the video)."""
    data = tmp_path / "data"
    History(data)
    done = subprocess.run(
        [sys.executable, "-c", _APP_JOB, str(data), str(DEMO)], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    proc = subprocess.Popen(
        [sys.executable, "-c", _APP_JOB, str(data), str(DEMO)], stdout=subprocess.DEVNULL
    )
    sessions = data / SESSIONS_DIR
    staged: list[float] = []

    def staged_for(seconds: float) -> bool:
        if not staged and any(safefiles.is_staging(p) for p in sessions.iterdir()):
            staged.append(time.monotonic())
        return bool(staged) and time.monotonic() >= staged[0] + seconds

    if kill_point == "drawing":
        _kill_when(proc, lambda: _annotating(sessions))
    else:
        _kill_when(proc, lambda: staged_for(2.0 if "+" in kill_point else 0.0))
    assert _leftovers(data) != []  # the kill left unfinished work

    history = History(data)
    swept = history.sweep()
    assert swept and "unfinished item" in swept.message()
    drawing = kill_point == "drawing"
    assert swept.interrupted == ([] if drawing else ["squat"])
    assert _leftovers(data) == []
    rows = history.sessions()
    known = {s.session_dir for s in rows}
    assert set(sessions.iterdir()) == known and len(known) == (2 if drawing else 1)
    for row in rows:
        assert row.report_path.is_file() and row.csv_path is not None and row.csv_path.is_file()
        assert len(history.report(row.id).reps) == 2
    assert [r.video_path is not None and r.video_path.is_file() for r in rows[::-1]] == (
        [True, False] if drawing else [True]
    )


@pytest.mark.slow
def test_ctrl_c_while_drawing_says_what_was_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(_cli(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _annotating(out):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "while drawing the annotated video of squat_good_demo.mp4" in err
    assert "report.json and angles.csv are complete" in err and "Traceback" not in err
    folder = out / DEMO.stem
    assert sorted(p.name for p in folder.iterdir()) == ["angles.csv", "report.json"]
    assert "annotated_video" not in json.loads((folder / "report.json").read_text())["outputs"]
