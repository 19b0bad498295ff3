"""formcheck command line: thin shell over formcheck.pipeline.

    formcheck analyze VIDEO... [--exercise auto|squat|deadlift] [--out DIR] [--no-video]
                               [--fast] [--preset beginner|strict] [--json] [--jobs N]
                               [--strict] [--verbose]
    formcheck batch SOURCE --out DIR [--engine local|ray] [--address ADDR] [--jobs N] [--fast]
                               [--resume] [--store]  (formcheck.batch; docs/batch.md)

Per video, the summary is printed and report.json / angles.csv written as soon as the analysis ends;
the annotated video is made after that (--no-video skips it).

Each video's report.json and angles.csv are written as one set (staged beside OUT/<video name>/,
then moved into place), so an interrupted run leaves a video's previous set or its new one. At
start, what an interrupted run left in OUT (staging folders, temporary files) is removed, and said.

Videos of the same name in one run get their own folders (OUT/squat/, then OUT/squat-2/), said in
their summaries.

Exit codes: 0 every video analysed; 1 at least one video could not be read or analysed, or its
annotated video could not be made, or (with --strict) decoded short of its stated length (its
report is still written; the others in a batch still are); 2 wrong usage; 130 interrupted.
`formcheck analyze --jobs N` runs on batch.LocalEngine, the same worker pool as `formcheck batch`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from formcheck import __version__
from formcheck.batch import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNREADABLE,
    EXIT_USAGE,
    analyze_one,
)
from formcheck.notices import count_words

if TYPE_CHECKING:
    from formcheck.pipeline import AnalysisOptions
    from formcheck.report import SessionReport

CAMERA_HELP = """\
How to film (it matters more than anything else):
  * From the SIDE, perpendicular to the lifter (within about 20 degrees), so the back's outline is visible.
  * Camera at hip height, level, 3-4 m away; the whole body, feet to head, in frame for the whole set.
  * Good light, a plain background if you can, no one walking between camera and lifter.
  * Front or rear views can judge knees caving in but not the back: spine verdicts are withheld there.

Outputs, per video, in OUT/<video name>/ (OUT/<video name>-2/ for a second video of that name
in one run): report.json (documented, versioned), angles.csv (per frame) and
<video name>.annotated.mp4 (skeleton, back outline, angles, rep counter, fault banners).
"""


class ProgressBar:
    """A one-line progress bar on stderr (only when it is a terminal, else a few plain lines)."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label, self.stream = label, stream
        self.tty = stream.isatty()
        self.start = time.perf_counter()
        self.last_stage = ""

    def __call__(self, done: int, total: int, stage: str) -> None:
        total = max(total, done, 1)
        if not self.tty:
            if stage != self.last_stage:
                self.stream.write(f"{self.label}: {stage}...\n")
                self.last_stage = stage
            return
        width = 30
        filled = int(width * done / total)
        rate = done / max(time.perf_counter() - self.start, 1e-6)
        self.stream.write(
            f"\r{self.label[:28]:<28} {stage:<10} [{'#' * filled}{'.' * (width - filled)}] "
            f"{done * 100 // total:3d}% {rate:5.1f} fps"
        )
        self.stream.flush()
        if stage != self.last_stage:
            self.start, self.last_stage = time.perf_counter(), stage

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _add_lift_options(parser: argparse.ArgumentParser, exercise_help: str) -> None:
    """--exercise, --preset and --fast, the same for `analyze` and `batch`."""
    parser.add_argument(
        "--exercise", choices=["auto", "squat", "deadlift"], default="auto", help=exercise_help
    )
    parser.add_argument(
        "--preset",
        choices=["beginner", "strict"],
        default="beginner",
        help="threshold preset (default: beginner)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="while the lifter stands still, run the pose model on every k-th frame only (at "
        f"least {_min_analysed_fps():g} a second, the frames between interpolated): about a "
        "fifth faster to the report, but a back reading can move by a degree or two "
        "(default: every frame)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="formcheck",
        description="Rep-by-rep back and hip form checks for squats and deadlifts, from video.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=CAMERA_HELP,
    )
    parser.add_argument("--version", action="version", version=f"formcheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    analyze = sub.add_parser(
        "analyze",
        help="analyse one or more videos",
        description="Analyse squat or deadlift videos and write a report per video.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=CAMERA_HELP,
    )
    analyze.add_argument("videos", nargs="+", type=Path, metavar="VIDEO")
    _add_lift_options(analyze, "the lift (default: detected from the movement)")
    analyze.add_argument(
        "--out",
        type=Path,
        default=Path("formcheck-out"),
        help="output folder (default: ./formcheck-out)",
    )
    analyze.add_argument("--no-video", action="store_true", help="skip the annotated video")
    analyze.add_argument(
        "--json",
        action="store_true",
        help="print the report(s) as JSON on stdout instead of the summary",
    )
    analyze.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="videos analysed at the same time, in separate processes (default: one per core)",
    )
    analyze.add_argument(
        "--strict",
        action="store_true",
        help="a video that decodes short of the length its file states (cut short or damaged) "
        "counts as failed: exit status 1 (its report is still written)",
    )
    analyze.add_argument(
        "--verbose",
        action="store_true",
        help="also show the pose model's own log lines (MediaPipe / TensorFlow Lite)",
    )
    add_batch_parser(sub)
    return parser


def _min_analysed_fps() -> float:
    from formcheck.stride import load_stride_params

    return load_stride_params().min_analysed_fps


def add_batch_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    batch = sub.add_parser(
        "batch",
        help="analyse a folder, glob or list of videos, with an overview across them",
        description="Analyse every video of SOURCE into DIR/<video name>/ (report.json, "
        "angles.csv), one worker per video, with DIR/summary.csv (a row per rep), "
        "DIR/summary.json (an entry per video) and DIR/failures.csv. See docs/batch.md.",
    )
    batch.add_argument(
        "source",
        metavar="SOURCE",
        help="a folder (searched recursively), a glob in quotes ('clips/**/*.mp4'), or a .txt "
        "(one path a line) or .csv (columns video, and optionally exercise, lifter, date) list",
    )
    batch.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    batch.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: worker processes on this machine (default); ray: one Ray task per video, "
        "on a Ray started here or the cluster at --address / $RAY_ADDRESS (needs formcheck[ray])",
    )
    batch.add_argument(
        "--address", metavar="ADDR", help="the Ray cluster to use (--engine ray; default: "
        "$RAY_ADDRESS, else a Ray started in this process)",
    )  # fmt: skip
    batch.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="videos at the same time: worker processes (local), or the CPUs of the Ray "
        "started here (ray) (default: one per core)",
    )
    batch.add_argument(
        "--resume",
        action="store_true",
        help="skip videos whose report in DIR matches the video's size and modification time",
    )
    batch.add_argument(
        "--store", action="store_true", help="also add each analysed video to the app's history"
    )
    _add_lift_options(batch, "the lift, unless a list file names it per video (default: detected)")
    batch.add_argument(
        "--video", action="store_true", help="also make each video's annotated video (slower)"
    )
    batch.add_argument(
        "--task-memory",
        type=int,
        default=None,
        metavar="MB",
        help="memory Ray reserves per video (--engine ray)",
    )
    batch.add_argument(
        "--strict",
        action="store_true",
        help="a video that decodes short of its stated length counts as failed",
    )
    batch.add_argument(
        "--verbose",
        action="store_true",
        help="also show the pose model's own log lines (MediaPipe / TensorFlow Lite)",
    )


def silence_native_logs() -> None:
    """Send what MediaPipe's and TensorFlow Lite's C++ code writes to the process's standard error
    (file descriptor 2: a dozen lines of model-loading chatter; no environment variable turns it
    off) to the null device, while Python's sys.stderr, formcheck's messages, warnings and
    tracebacks, keeps writing to the terminal through a copy of the original descriptor."""
    try:
        sys.stderr.flush()
        kept = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
    except OSError:
        return  # no usable descriptor 2: nothing to silence
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr = os.fdopen(kept, "w", buffering=1, encoding=encoding, errors="backslashreplace")


def summary_text(report: object, folder_note: str = "") -> str:
    """The summary of one video: what was found, a verdict line per rep (report.verdict_line), the
    faults with their cues, the notices, and where the files went (folder_note: why the folder's
    name differs from the video's)."""
    from formcheck.notices import count_words
    from formcheck.report import SessionReport, verdict_line

    assert isinstance(report, SessionReport)
    n_partial = report.summary["n_partial_reps"]
    partial = f" + {n_partial} partial" if n_partial else ""
    lines = [
        f"{report.source.name}: {report.exercise} ({report.exercise_source}), "
        f"{report.view} view, {count_words(len(report.reps) - n_partial, 'rep')}{partial} found, "
        f"lifter detected in {report.detection_rate:.0%} of {report.frames_total} frames"
    ]
    for rep in report.reps:
        label = " (partial)" if rep.partial else ""
        lines.append(
            f"  rep {rep.index}{label} {rep.start_s:5.1f}-{rep.end_s:5.1f}s  {verdict_line(rep)}"
        )
        for fault in rep.faults:
            lines.append(
                f"      {fault.severity.upper():5} {fault.message} "
                f"(confidence {fault.confidence:.0%})\n      cue: {fault.cue}"
            )
    for notice in report.notices:
        lines.append(f"  note: {notice.message} {notice.advice}".rstrip())
    if folder_note:
        lines.append(f"  {folder_note}")
    if report.outputs:
        lines.append("  written: " + ", ".join(report.outputs.values()))
    return "\n".join(lines)


def folder_note(video: Path, name: str) -> str:
    """Why a video's output folder is not named after it ('' when it is)."""
    if name == video.stem:
        return ""
    return (
        f"saved in {name}/: another video in this run is also named {video.stem}, and each "
        "keeps its own folder"
    )


def _video_line(report: SessionReport) -> str:
    return (
        f"  video: {report.outputs['annotated_video']}\n"
        if "annotated_video" in report.outputs
        else ""
    )


@dataclass
class RunState:
    """Where a run is, for an honest message when it is interrupted.

    stage: "" between videos, "analysing" before a video's report is written, "drawing" after.
    """

    total: int
    done: int = 0
    video: Path | None = None
    stage: str = ""
    parallel: bool = False

    def interrupted_text(self, out_dir: Path) -> str:
        head = f"formcheck: interrupted after {self.done} of {count_words(self.total, 'video')}"
        if self.parallel:
            return (
                f"{head}. A video that had not finished keeps its previous files in {out_dir}, "
                "or has its new report.json and angles.csv without the annotated video."
            )
        if self.video is not None and self.stage == "analysing":
            return (
                f"{head}, while analysing {self.video.name}: nothing new was saved for it "
                f"(any earlier report of it in {out_dir} is unchanged)."
            )
        if self.video is not None and self.stage == "drawing":
            return (
                f"{head}, while drawing the annotated video of {self.video.name}: its "
                "report.json and angles.csv are complete; its annotated video was not saved."
            )
        return f"{head}."


def run_analyze(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from formcheck.faults import FaultConfigError
    from formcheck.pipeline import AnalysisOptions
    from formcheck.safefiles import sweep_folder

    options = AnalysisOptions(
        exercise=args.exercise,
        preset=args.preset,
        write_video=not args.no_video,
        fast=args.fast,
    )
    jobs = max(1, min(getattr(args, "jobs", None) or os.cpu_count() or 1, len(args.videos)))
    swept = sweep_folder(args.out)
    if swept:
        err.write(f"formcheck: {args.out}: {swept.message()}\n")
    state = RunState(total=len(args.videos), parallel=jobs > 1)
    try:
        if jobs > 1:
            status, reports = _run_parallel(args, options, jobs, out, err, state)
        else:
            status, reports = _run_one_by_one(args, options, out, err, state)
    except FaultConfigError as exc:
        err.write(f"formcheck: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("\n" + state.interrupted_text(args.out) + "\n")
        return EXIT_INTERRUPTED
    if args.json:
        data = [r.to_dict() for r in reports]
        out.write(json.dumps(data[0] if len(data) == 1 else data, indent=2) + "\n")
    return status


def _run_one_by_one(
    args: argparse.Namespace, options: AnalysisOptions, out: TextIO, err: TextIO, state: RunState
) -> tuple[int, list[SessionReport]]:
    """Each video in turn, with its progress bar; a video's summary is printed before its
    annotated video is made."""

    from formcheck.pipeline import output_names

    status, reports = EXIT_OK, []
    for video, name in zip(args.videos, output_names(args.videos), strict=True):
        state.video, state.stage = video, "analysing"
        note = folder_note(video, name)

        def print_summary(report: SessionReport, note: str = note) -> None:
            state.stage = "drawing"
            if not args.json:
                out.write(summary_text(report, note) + "\n")
                out.flush()

        code, report, messages = analyze_one(
            video, options, args.out, ProgressBar(video.name, err), print_summary, name,
            getattr(args, "strict", False),
        )  # fmt: skip
        state.done, state.stage = state.done + 1, ""
        for message in messages:
            err.write(message + "\n")
        status = max(status, code)
        if report is not None:
            if not args.json:
                out.write(_video_line(report))
            reports.append(report)
    return status, reports


def _run_parallel(
    args: argparse.Namespace,
    options: AnalysisOptions,
    jobs: int,
    out: TextIO,
    err: TextIO,
    state: RunState,
) -> tuple[int, list[SessionReport]]:
    """The videos on batch.LocalEngine's `jobs` worker processes (the runner `formcheck batch`
    uses); a line per video as it finishes, with the count so far; the reports in the order the
    videos were given."""
    from formcheck.batch import LocalEngine, VideoTask
    from formcheck.pipeline import output_names
    from formcheck.report import SessionReport

    n = len(args.videos)
    err.write(f"formcheck: analysing {n} videos, {jobs} at a time\n")
    status = EXIT_OK
    by_index: dict[int, SessionReport] = {}
    names = output_names(args.videos)
    strict = getattr(args, "strict", False)
    tasks = [
        VideoTask(k, video, names[k], args.out, options, strict, sidecar=False)
        for k, video in enumerate(args.videos)
    ]
    for done, result in enumerate(LocalEngine(jobs).results(tasks), start=1):
        k = result.index
        state.done = done
        err.write(f"[{done}/{n}] {args.videos[k].name}: {'done' if result.ok else 'failed'}\n")
        for message in result.messages:
            err.write(message + "\n")
        status = max(status, result.status)
        if result.report is not None:
            report = SessionReport.from_dict(result.report)
            by_index[k] = report
            if not args.json:
                note = folder_note(args.videos[k], names[k])
                out.write(summary_text(report, note) + "\n" + _video_line(report))
                out.flush()
    return status, [by_index[k] for k in sorted(by_index)]


def run_batch_command(args: argparse.Namespace, err: TextIO) -> int:
    """`formcheck batch`: read SOURCE, pick the engine, run batch.run_batch."""
    from formcheck.batch import (
        TASK_MEMORY_MB,
        BatchOptions,
        EngineError,
        LocalEngine,
        RayEngine,
        SourceError,
        read_source,
        run_batch,
    )
    from formcheck.faults import FaultConfigError
    from formcheck.pipeline import AnalysisOptions

    if (args.jobs is not None and args.jobs < 1) or (
        args.task_memory is not None and args.task_memory < 1
    ):
        err.write("formcheck: --jobs and --task-memory must be 1 or more\n")
        return EXIT_USAGE
    if args.engine == "local" and (args.address or args.task_memory):
        err.write("formcheck: --address and --task-memory are for --engine ray\n")
        return EXIT_USAGE
    try:
        items = read_source(args.source)
        engine: LocalEngine | RayEngine
        if args.engine == "ray":
            engine = RayEngine(args.address, args.jobs, args.task_memory or TASK_MEMORY_MB)
        else:
            engine = LocalEngine(min(args.jobs or os.cpu_count() or 1, len(items)))
        options = BatchOptions(
            AnalysisOptions(
                exercise=args.exercise, preset=args.preset, write_video=args.video, fast=args.fast
            ),
            resume=args.resume,
            strict=args.strict,
            store=args.store,
        )
        return run_batch(items, args.out, engine, options, err)
    except (SourceError, EngineError, FaultConfigError) as exc:
        err.write(f"formcheck: {exc}\n")
        return EXIT_USAGE
    except OSError as exc:  # DIR cannot be made or written
        err.write(f"formcheck: {args.out}: cannot write there ({exc})\n")
        return EXIT_UNREADABLE


def main(argv: list[str] | None = None) -> int:
    """The command line; argv None = sys.argv, as run from a terminal, where the pose model's own
    log lines are silenced unless --verbose (silence_native_logs)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if argv is None and not getattr(args, "verbose", False):
        silence_native_logs()
    try:
        if args.command == "analyze":
            return run_analyze(args, sys.stdout, sys.stderr)
        if args.command == "batch":
            return run_batch_command(args, sys.stderr)
    except KeyboardInterrupt:  # before or after a run (run_analyze says where a run stopped)
        sys.stderr.write("\nformcheck: interrupted\n")
        return EXIT_INTERRUPTED
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
