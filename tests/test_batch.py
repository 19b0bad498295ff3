"""`formcheck batch`: sources, bad input, failures, resume, the overview files, both engines.

The tests without the slow mark use tiny synthetic videos with nobody in them (a report with a
notice, analysed in well under a second); the slow ones run the demo and rendered clips.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from formcheck.batch import SIDECAR, BatchItem, read_source, summary_header
from formcheck.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE, main

REPO = Path(__file__).resolve().parents[1]
#: The batch of real clips: two demos, two rendered clips, and a file that is no video.
CLIPS = [
    REPO / "sample_videos" / "squat_rounded_demo.mp4",
    REPO / "sample_videos" / "deadlift_good_demo.mp4",
    REPO / "benchmarks" / "synth" / "squat_round25_front.mp4",
    REPO / "benchmarks" / "synth" / "deadlift_neutral_side_l1.mp4",
]


def _grey_video(path: Path, n: int = 20, level: int = 50) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(30))
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for _ in range(n):
            image = np.full((120, 160, 3), level, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def _summary(out: Path) -> dict[str, dict[str, object]]:
    data = json.loads((out / "summary.json").read_text())
    return {Path(str(v["video"])).name: v for v in data["videos"]}


def _real_batch(folder: Path) -> Path:
    """The clips of CLIPS (symlinked) and a broken file in one folder."""
    folder.mkdir()
    for clip in CLIPS:
        (folder / clip.name).symlink_to(clip)
    (folder / "broken.mp4").write_bytes(b"this is not a video\n" * 40)
    return folder


# --- sources --------------------------------------------------------------------------------------


def test_a_folder_is_searched_recursively_for_videos_only(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for p in ("a/one.mp4", "a/b/two.MOV", "notes.txt", ".hidden/x.mp4", "three.mkv"):
        (tmp_path / p).write_bytes(b"x")
    items = read_source(str(tmp_path))
    assert [i.video.relative_to(tmp_path).as_posix() for i in items] == [
        "a/b/two.MOV",
        "a/one.mp4",
        "three.mkv",
    ]


def test_a_glob_matches_files_in_order(tmp_path: Path) -> None:
    for name in ("b.mp4", "a.mp4", "c.mov"):
        (tmp_path / name).write_bytes(b"x")
    assert [i.video.name for i in read_source(str(tmp_path / "*.mp4"))] == ["a.mp4", "b.mp4"]


def test_a_text_list_is_one_path_a_line_relative_to_the_list(tmp_path: Path) -> None:
    listing = tmp_path / "lists" / "videos.txt"
    listing.parent.mkdir()
    listing.write_text("# the team's squats\n\n../a.mp4\n/abs/b.mp4\n")
    items = read_source(str(listing))
    assert [i.video for i in items] == [tmp_path / "lists" / ".." / "a.mp4", Path("/abs/b.mp4")]
    assert all(i.exercise == "auto" and i.lifter == "" for i in items)


def test_a_csv_list_carries_exercise_lifter_and_date(tmp_path: Path) -> None:
    listing = tmp_path / "videos.csv"
    listing.write_text("Video,Lifter,Exercise,Date\na.mp4,Ana,squat,2024-05-01\nb.mp4,Ben,,\n")
    assert read_source(str(listing)) == [
        BatchItem(tmp_path / "a.mp4", "squat", "Ana", "2024-05-01"),
        BatchItem(tmp_path / "b.mp4", "auto", "Ben", ""),
    ]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("v.csv", "lifter,exercise\nAna,squat\n", "needs a header row with a column named video"),
        ("v.csv", "video,exercise\na.mp4,bench\n", "line 2: exercise 'bench' is not one of"),
        ("v.txt", "# nothing\n\n", "the list names no videos"),
        ("v.txt", b"\xff\xfe\x00bad", "cannot be read as a text list"),
    ],
)
def test_a_bad_list_is_a_usage_error_with_a_clear_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str | bytes,
    says: str,
) -> None:
    listing = tmp_path / name
    if isinstance(content, bytes):
        listing.write_bytes(content)
    else:
        listing.write_text(content)
    code, err = _run(["batch", str(listing), "--out", str(tmp_path / "o")], capsys)
    assert code == EXIT_USAGE
    assert says in err and str(listing) in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("empty", "no video files in this folder or below it"),
        ("nowhere", "no such folder or file"),
        ("*.nothing", "the pattern matches no files"),
    ],
)
def test_a_source_without_videos_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, says: str
) -> None:
    (tmp_path / "empty").mkdir()
    code, err = _run(["batch", str(tmp_path / source), "--out", str(tmp_path / "o")], capsys)
    assert code == EXIT_USAGE
    assert says in err and "Traceback" not in err


def test_the_ray_engine_without_ray_says_how_to_install_it(tmp_path: Path) -> None:
    """Run where `import ray` fails (sys.modules['ray'] = None makes it fail even where Ray is
    installed, as it is in a core install)."""
    video = _grey_video(tmp_path / "v.mp4")
    code = (
        "import sys; sys.modules['ray'] = None; from formcheck.cli import main; "
        f"sys.exit(main(['batch', {str(video)!r}, '--out', {str(tmp_path / 'o')!r}, "
        "'--engine', 'ray']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == EXIT_USAGE
    assert "pip install 'formcheck[ray]'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o" / "v").exists()


def test_ray_options_with_the_local_engine_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = _grey_video(tmp_path / "v.mp4")
    code, err = _run(["batch", str(video), "--out", str(tmp_path / "o"), "--address", "x"], capsys)
    assert code == EXIT_USAGE and "--engine ray" in err


# --- runs on tiny videos --------------------------------------------------------------------------


def test_a_broken_file_is_a_failure_row_and_the_batch_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _grey_video(src / "a.mp4")
    (src / "b.mp4").write_bytes(b"\x00" * 4096)
    _grey_video(src / "c.mp4", level=90)
    out = tmp_path / "o"
    code, err = _run(["batch", str(src), "--out", str(out), "--jobs", "2"], capsys)
    assert code == EXIT_UNREADABLE and "Traceback" not in err
    with (out / "failures.csv").open() as fh:
        failures = list(csv.DictReader(fh))
    assert [(Path(f["video"]).name, f["name"]) for f in failures] == [("b.mp4", "b")]
    assert "b.mp4" in failures[0]["error"]
    summary = _summary(out)
    assert {k: v["status"] for k, v in summary.items()} == {
        "a.mp4": "done",
        "b.mp4": "failed",
        "c.mp4": "done",
    }
    notices = json.loads((out / "a" / "report.json").read_text())["notices"]
    assert summary["a.mp4"]["warnings"] == [n["code"] for n in notices]
    assert "no_person" in summary["a.mp4"]["warnings"]  # type: ignore[operator]
    for name in ("a", "c"):
        assert {p.name for p in (out / name).iterdir()} == {"report.json", "angles.csv", SIDECAR}
    assert not (out / "b").exists()
    assert "[done 2, failed 1, remaining 0;" in err and "videos/min]" in err


def test_resume_skips_finished_videos_and_redoes_a_changed_or_failed_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    a, b = _grey_video(src / "a.mp4"), _grey_video(src / "b.mp4", level=90)
    broken = src / "c.mp4"
    broken.write_bytes(b"not yet a video")
    out = tmp_path / "o"
    args = ["batch", str(src), "--out", str(out), "--jobs", "1"]
    assert _run(args, capsys)[0] == EXIT_UNREADABLE
    first = {p: (out / p / "report.json").stat().st_mtime_ns for p in ("a", "b")}

    _grey_video(b, n=25, level=90)  # b changes (size and time); c is fixed
    _grey_video(broken, level=120)
    time.sleep(0.01)
    code, err = _run([*args, "--resume"], capsys)
    assert code == EXIT_OK, err
    assert "3 videos in the batch, 1 already done (--resume); analysing 2" in err
    assert (out / "a" / "report.json").stat().st_mtime_ns == first["a"]
    assert (out / "b" / "report.json").stat().st_mtime_ns != first["b"]
    assert json.loads((out / "b" / "report.json").read_text())["frames_total"] == 25
    summary = _summary(out)
    assert [summary[n]["from_earlier_run"] for n in ("a.mp4", "b.mp4", "c.mp4")] == [
        True,
        False,
        False,
    ]
    assert all(v["status"] == "done" for v in summary.values())
    assert (out / "failures.csv").read_text() == "video,name,error\n"
    assert a.exists()


def test_resume_redoes_a_video_analysed_with_other_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = _grey_video(tmp_path / "a.mp4")
    out = tmp_path / "o"
    assert _run(["batch", str(video), "--out", str(out)], capsys)[0] == EXIT_OK
    code, err = _run(
        ["batch", str(video), "--out", str(out), "--resume", "--preset", "strict"], capsys
    )
    assert code == EXIT_OK and "already done" not in err
    assert json.loads((out / "a" / "report.json").read_text())["preset"] == "strict"


def test_fast_reaches_a_batchs_analyses_and_resume_redoes_a_video_analysed_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = _grey_video(tmp_path / "a.mp4", n=120)  # 4 s at 30 fps: stride 2 with --fast
    out = tmp_path / "o"
    assert _run(["batch", str(video), "--out", str(out)], capsys)[0] == EXIT_OK
    assert json.loads((out / "a" / "report.json").read_text())["pose_stride"] == 1
    code, err = _run(["batch", str(video), "--out", str(out), "--resume", "--fast"], capsys)
    assert code == EXIT_OK and "already done" not in err
    assert json.loads((out / "a" / "report.json").read_text())["pose_stride"] == 2


# --- the real clips -------------------------------------------------------------------------------


def _batch_cmd(src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "formcheck", "batch", str(src), "--out", str(out), *extra]


def _reports(out: Path) -> dict[str, dict[str, object]]:
    """Each video's report without what differs from run to run (its time, its folder)."""
    found = {}
    for path in sorted(out.glob("*/report.json")):
        data = json.loads(path.read_text())
        data.pop("created_utc")
        data.pop("outputs")
        found[path.parent.name] = data
    return found


def _interrupt_after_first(cmd: list[str], out: Path, env: dict[str, str] | None = None) -> str:
    """Run cmd; once a video is finished, send SIGINT to its process group (as a terminal's
    Ctrl-C does); its stderr. Fails unless it stops with status 130 within a minute."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env)
    deadline = time.monotonic() + 180
    while not list(out.glob(f"*/{SIDECAR}")) and proc.poll() is None:
        assert time.monotonic() < deadline, "no video finished in 3 minutes"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Run the same command with --resume" in err and "Traceback" not in err
    return err


@pytest.mark.slow
def test_an_interrupted_local_batch_finishes_on_resume_repeating_nothing(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) once the first video is
    finished: exit 130 and the advice to resume; the rerun with --resume analyses only what was
    not finished, and the overview covers every video."""
    src, out = _real_batch(tmp_path / "src"), tmp_path / "o"
    _interrupt_after_first(_batch_cmd(src, out, "--jobs", "2"), out)
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"*/{SIDECAR}")}
    reports = {n: (out / n / "report.json").stat().st_mtime_ns for n in finished}
    assert 1 <= len(finished) < len(CLIPS)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # nothing half-written left

    rerun = subprocess.run(
        _batch_cmd(src, out, "--jobs", "2", "--resume"), capture_output=True, text=True, check=False
    )
    assert rerun.returncode == EXIT_UNREADABLE, rerun.stderr  # the broken file
    assert f"{len(finished)} already done (--resume)" in rerun.stderr
    for name, mtime in reports.items():
        assert (out / name / "report.json").stat().st_mtime_ns == mtime, f"{name} was repeated"
    summary = _summary(out)
    assert summary.pop("broken.mp4")["status"] == "failed"
    assert {k: v["status"] for k, v in summary.items()} == {c.name: "done" for c in CLIPS}
    assert sum(bool(v["from_earlier_run"]) for v in summary.values()) == len(finished)
    with (out / "summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == summary_header()
    for clip in CLIPS:
        report = json.loads((out / clip.stem / "report.json").read_text())
        mine = [r for r in rows if r["name"] == clip.stem]
        assert [int(r["rep"]) for r in mine] == [rep["index"] for rep in report["reps"]]
        assert [r["verdict"] for r in mine] == [
            "flagged"
            if any(c["verdict"] == "flagged" for c in rep["checks"]) or rep["faults"]
            else "not_judged"
            if any(c["verdict"] == "not_judged" for c in rep["checks"])
            else "ok"
            for rep in report["reps"]
        ]
        assert summary[clip.name]["reps"] == len(report["reps"]) > 0
    rounded = [r for r in rows if r["name"] == "squat_rounded_demo"]
    assert any(r["back_rounding"] == "flagged" and r["back_rounding_severity"] for r in rounded)
    with (out / "failures.csv").open() as fh:
        assert [Path(f["video"]).name for f in csv.DictReader(fh)] == ["broken.mp4"]


@pytest.mark.slow
def test_the_ray_engine_gives_the_local_engines_reports(tmp_path: Path) -> None:
    """A real Ray started in the process with 2 CPUs on the same batch, interrupted after its first
    video and resumed: the same reports and angle tables as the local engine, the same failure."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'formcheck[ray]')")
    src = _real_batch(tmp_path / "src")
    local, ray_out = tmp_path / "local", tmp_path / "ray"
    first = subprocess.run(
        _batch_cmd(src, local, "--jobs", "2"), capture_output=True, text=True, check=False
    )
    assert first.returncode == EXIT_UNREADABLE, first.stderr
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    ray_cmd = _batch_cmd(src, ray_out, "--engine", "ray", "--jobs", "2")
    err = _interrupt_after_first(ray_cmd, ray_out, env)
    assert "Ray tasks (1 CPU" in err
    finished = len(list(ray_out.glob(f"*/{SIDECAR}")))
    assert not [p for p in ray_out.iterdir() if p.name.startswith(".")]
    run = subprocess.run(
        [*ray_cmd, "--resume"], capture_output=True, text=True, check=False, env=env
    )
    assert run.returncode == EXIT_UNREADABLE, run.stderr
    assert f"{finished} already done (--resume)" in run.stderr and "Traceback" not in run.stderr
    assert _reports(ray_out) == _reports(local)
    assert len(_reports(ray_out)) == len(CLIPS)
    for clip in CLIPS:  # the same frames and phases (values: test_an_analysis_does_not_depend_...)
        ray_rows = (ray_out / clip.stem / "angles.csv").read_text().splitlines()
        local_rows = (local / clip.stem / "angles.csv").read_text().splitlines()
        assert [r.split(",")[:6] for r in ray_rows] == [r.split(",")[:6] for r in local_rows]
    with (ray_out / "failures.csv").open() as fh:
        assert [Path(f["video"]).name for f in csv.DictReader(fh)] == ["broken.mp4"]


@pytest.mark.slow
def test_an_analysis_does_not_depend_on_the_videos_analysed_before_it() -> None:
    """The CLI and batch analyse every video with a fresh pose model: a worker that analysed another
    video first gives the same per-frame angles as a fresh process (the app's reused model,
    AnalysisOptions.reuse_pose_model, does not promise this)."""
    from formcheck.pipeline import AnalysisOptions, analyze

    options = AnalysisOptions(write_video=False)
    fresh = subprocess.run(
        [sys.executable, "-c", (
            "from formcheck.pipeline import AnalysisOptions, analyze; import sys; "
            f"a = analyze({str(CLIPS[0])!r}, AnalysisOptions(write_video=False)); "
            "sys.stdout.write(','.join(map(repr, a.angles.knee_flex_deg.tolist())))"
        )],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    analyze(CLIPS[3], options)  # this process analyses another video first
    after = analyze(CLIPS[0], options).angles.knee_flex_deg
    np.testing.assert_array_equal(after, np.array([float(v) for v in fresh.split(",")]))
