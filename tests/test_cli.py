"""The command line as a user meets it: help, bad inputs, exit codes, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from formcheck.cli import EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE, main


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _write_video(path: Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_help_explains_the_camera_setup(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["analyze", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "SIDE" in out and "hip height" in out and "--exercise" in out


def test_no_arguments_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == EXIT_USAGE


def test_missing_file_gives_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["analyze", str(tmp_path / "nope.mp4"), "--out", str(tmp_path)], capsys)
    assert code == EXIT_UNREADABLE
    assert "nope.mp4" in err and "Traceback" not in err
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.mp4", b""),
        ("notes.mp4", b"this is not a video\n" * 50),
        ("half.mov", b"\x00" * 4096),
    ],
)
def test_unreadable_files_give_a_clear_message_and_leave_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes
) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)
    out_dir = tmp_path / "out"
    code, _, err = _run(["analyze", str(bad), "--out", str(out_dir)], capsys)
    assert code == EXIT_UNREADABLE
    assert name in err and "Traceback" not in err
    assert not list(out_dir.rglob("*.json"))


def _empty_room(path: Path, n: int, seed: int) -> Path:
    """n frames (30 fps) of a grey room with sensor noise and nobody in it."""
    rng = np.random.default_rng(seed)
    frames = [
        np.full((240, 320, 3), 90, np.uint8) + rng.integers(0, 20, (240, 320, 3), np.uint8)
        for _ in range(n)
    ]
    return _write_video(path, frames)


def test_video_without_a_person_is_a_report_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = _empty_room(tmp_path / "empty_room.mp4", 45, seed=0)
    code, out, _ = _run(["analyze", str(clip), "--out", str(tmp_path / "o"), "--json"], capsys)
    assert code == EXIT_OK
    report = json.loads(out)
    assert report["reps"] == []
    assert "no_person" in {w["code"] for w in report["notices"]}
    assert (tmp_path / "o" / "empty_room" / "report.json").is_file()
    assert (tmp_path / "o" / "empty_room" / "empty_room.annotated.mp4").is_file()


def test_the_report_says_the_stride_and_only_fast_sets_one_above_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = _empty_room(tmp_path / "room.mp4", 120, seed=1)  # 4 s at 30 fps
    reports = {}
    for flags in ([], ["--fast"]):
        out_dir = tmp_path / ("strided" if flags else "every")
        args = ["analyze", str(clip), "--out", str(out_dir), "--json", "--no-video", *flags]
        code, out, _ = _run(args, capsys)
        assert code == EXIT_OK
        reports[not flags] = json.loads(out)  # True: every frame (the default)
    assert reports[True]["pose_stride"] == 1
    assert reports[False]["pose_stride"] == 2  # --fast: 30 fps, 4 s
    # nobody to see standing still: the pose model keeps looking at every frame
    assert reports[False]["pose_frames"] == reports[True]["pose_frames"] == 120
    assert reports[False]["pose_fps"] == reports[True]["pose_fps"] == 30.0


def test_batch_goes_on_after_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = [np.full((120, 160, 3), 50, np.uint8) for _ in range(20)]
    good = _write_video(tmp_path / "ok.mp4", frames)
    code, out, err = _run(
        [
            "analyze",
            str(tmp_path / "missing.mp4"),
            str(good),
            "--out",
            str(tmp_path / "o"),
            "--no-video",
        ],
        capsys,
    )
    assert code == EXIT_UNREADABLE
    assert "missing.mp4" in err
    assert (tmp_path / "o" / "ok" / "report.json").is_file()
    assert not (tmp_path / "o" / "ok" / "ok.annotated.mp4").exists()
    assert "ok.mp4" in out


def test_python_dash_m_entry_point_works(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "formcheck", "analyze", str(tmp_path / "x.mp4")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == EXIT_UNREADABLE
    assert "x.mp4" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_the_terminal_shows_formchecks_own_lines_only(tmp_path: Path) -> None:
    """The pose model's C++ log lines (TensorFlow Lite, MediaPipe) are silenced from a terminal run;
    --verbose shows them; formcheck's own messages come through either way."""
    demo = Path(__file__).resolve().parents[1] / "sample_videos" / "squat_good_demo.mp4"
    noise = ("XNNPACK", "W0000", "inference_feedback_manager")
    runs = {}
    for extra in ([], ["--verbose"]):
        command = [sys.executable, "-m", "formcheck", "analyze", str(demo), "--no-video"]
        proc = subprocess.run(
            [*command, "--out", str(tmp_path / "o"), *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == EXIT_OK, proc.stderr
        assert "2 reps found" in proc.stdout and "analysing" in proc.stderr
        runs[bool(extra)] = proc.stderr
    assert not any(word in runs[False] for word in noise), runs[False]
    assert any(word in runs[True] for word in noise), runs[True]


@pytest.mark.clips
@pytest.mark.slow
def test_real_deadlift_end_to_end(
    clips_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = clips_dir / "formfit" / "deadlift.mp4"
    code, out, _ = _run(
        ["analyze", str(clip), "--out", str(tmp_path), "--exercise", "auto"], capsys
    )
    assert code == EXIT_OK
    folder = tmp_path / "deadlift"
    report = json.loads((folder / "report.json").read_text())
    assert report["exercise"] == "deadlift"
    assert len(report["reps"]) == 2  # two full pulls (counted by eye on the frames)
    assert "reps found" in out
    with av.open(str(folder / "deadlift.annotated.mp4")) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
    rows = (folder / "angles.csv").read_text().splitlines()
    assert rows[0].startswith("frame,t_s,")
    assert len(rows) - 1 == report["frames_total"]


@pytest.mark.slow
def test_summary_counts_full_reps_and_partial_ones_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's two full pulls, then the same report with its last rep marked partial (a set
    stopped half-way): "1 rep + 1 partial", and the report's summary counts the partial one."""
    import dataclasses

    from formcheck.cli import summary_text
    from formcheck.report import SessionReport

    clip = Path(__file__).resolve().parents[1] / "sample_videos" / "deadlift_good_demo.mp4"
    code, out, _ = _run(["analyze", str(clip), "--out", str(tmp_path), "--no-video"], capsys)
    assert code == EXIT_OK
    assert "2 reps found" in out
    data = json.loads((tmp_path / clip.stem / "report.json").read_text())
    assert data["summary"]["n_reps"] == 2 and data["summary"]["n_partial_reps"] == 0
    report = SessionReport.from_dict(data)
    cut = dataclasses.replace(
        report, reps=[report.reps[0], dataclasses.replace(report.reps[1], partial=True)]
    )
    assert "1 rep + 1 partial found" in summary_text(cut)
    assert "rep 2 (partial)" in summary_text(cut)
    assert cut.summary["n_partial_reps"] == 1


def test_a_failed_annotated_video_keeps_the_report_and_the_batch_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while the first video's annotated video is written (a fault injected into that
    stage, which runs after the report is written): a clear message, the report and angles.csv stay
    complete (the report does not list a video), no video file is left, and the second video is
    analysed with its video."""
    from formcheck import annotate

    frames = [np.full((120, 160, 3), 50, np.uint8) for _ in range(20)]
    first = _write_video(tmp_path / "first.mp4", frames)
    second = _write_video(tmp_path / "second.mp4", frames)
    real = annotate.write_annotated_video

    def fail_on_first(analysis: object, path: Path, progress: object, source: object) -> None:
        if path.name.startswith("first"):
            raise RuntimeError("encoder gave up")
        real(analysis, path, progress, source)  # type: ignore[arg-type]

    monkeypatch.setattr(annotate, "write_annotated_video", fail_on_first)
    code, out, err = _run(
        ["analyze", str(first), str(second), "--out", str(tmp_path / "o"), "--jobs", "1"], capsys
    )
    assert code == EXIT_UNREADABLE
    assert "first.mp4: the annotated video could not be made (RuntimeError: encoder gave up)" in err
    assert sorted(p.name for p in (tmp_path / "o" / "first").iterdir()) == [
        "angles.csv",
        "report.json",
    ]
    report = json.loads((tmp_path / "o" / "first" / "report.json").read_text())
    assert "annotated_video" not in report["outputs"]
    assert "first.mp4" in out and "second.mp4" in out
    second = json.loads((tmp_path / "o" / "second" / "report.json").read_text())
    assert Path(second["outputs"]["annotated_video"]).is_file()


def test_the_summary_comes_before_the_annotated_video(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the annotated video starts, the summary has been printed and report.json written."""
    from formcheck import annotate

    demo = Path(__file__).resolve().parents[1] / "sample_videos" / "squat_good_demo.mp4"
    real = annotate.write_annotated_video
    seen: dict[str, object] = {}

    def look_first(analysis: object, path: Path, progress: object, source: object) -> None:
        seen["printed"] = capsys.readouterr().out
        seen["report"] = (path.parent / "report.json").is_file()
        real(analysis, path, progress, source)  # type: ignore[arg-type]

    monkeypatch.setattr(annotate, "write_annotated_video", look_first)
    code, out, _ = _run(["analyze", str(demo), "--out", str(tmp_path)], capsys)
    assert code == EXIT_OK
    assert "2 reps found" in str(seen["printed"]) and seen["report"] is True
    assert "video: " in out


@pytest.mark.slow
def test_a_batch_runs_in_parallel_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two demos and a missing file with --jobs 2: a line per video as it finishes, both reports
    written, the missing one reported, and --json lists the reports in the order given."""
    demos = Path(__file__).resolve().parents[1] / "sample_videos"
    videos = [
        demos / "deadlift_good_demo.mp4",
        tmp_path / "missing.mp4",
        demos / "squat_good_demo.mp4",
    ]
    args = ["analyze", *map(str, videos), "--out", str(tmp_path / "o"), "--no-video", "--json"]
    code, out, err = _run([*args, "--jobs", "2"], capsys)
    assert code == EXIT_UNREADABLE
    assert "analysing 3 videos, 2 at a time" in err
    assert "[3/3]" in err and "missing.mp4" in err
    data = json.loads(out)
    assert [d["source"]["name"] for d in data] == ["deadlift_good_demo.mp4", "squat_good_demo.mp4"]
    assert [d["exercise"] for d in data] == ["deadlift", "squat"]
    for name in ("deadlift_good_demo", "squat_good_demo"):
        assert (tmp_path / "o" / name / "report.json").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_one_pixel_video_fails_alone_and_the_good_one_is_analysed(
    tmp_path: Path, jobs: str
) -> None:
    """A 1x1-pixel video in a batch: refused with a clear message naming it, no files for it, the
    demo clip after it analysed, exit status 1."""
    import cv2

    bad = tmp_path / "onepixel.avi"
    writer = cv2.VideoWriter(str(bad), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (1, 1))
    assert writer.isOpened()
    for _ in range(30):
        writer.write(np.full((1, 1, 3), 120, np.uint8))
    writer.release()
    demo = Path(__file__).resolve().parents[1] / "sample_videos" / "squat_good_demo.mp4"
    out = tmp_path / "o"
    proc = subprocess.run(
        [sys.executable, "-m", "formcheck", "analyze", str(bad), str(demo), "--out", str(out),
         "--no-video", "--jobs", jobs],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == EXIT_UNREADABLE, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{bad}: the video is only 1x1 pixels, too small to show a lifter" in proc.stderr
    assert not (out / "onepixel").exists()
    assert "squat_good_demo.mp4: squat" in proc.stdout and "2 reps found" in proc.stdout
    assert (out / "squat_good_demo" / "report.json").is_file()
    assert (out / "squat_good_demo" / "angles.csv").is_file()
