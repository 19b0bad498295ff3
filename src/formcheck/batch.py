"""Many videos in one run: each analysed by a worker into OUT/<name>/, with an overview across them.

    read_source(source)            -> [BatchItem]: a folder (recursive), a glob, or a list file
    analyze_one(video, ...)        one video into OUT/<name>/ (also `formcheck analyze`)
    run_video(task)                analyze_one in a worker: a VideoResult, the unit every engine runs
    LocalEngine(jobs)              a process pool on this machine (also `formcheck analyze --jobs N`)
    RayEngine(address, ...)        one Ray task per video, on this machine or a cluster
    run_batch(items, out, engine)  resume, summary files, failures, progress

Files in OUT:

    <name>/report.json, angles.csv  one video's set (pipeline.write_report: staged, one rename)
    <name>/batch.json               the video's size and modification time as analysed, and the
                                    options; written last, so it exists only beside a finished set
                                    (--resume skips a video whose batch.json matches it)
    summary.csv                     one row per rep of every analysed video, appended as results arrive
    summary.json                    one entry per video: status, reps, flagged reps, warnings
    failures.csv                    one row per video that failed in this run, with the error

A video that fails (unreadable, no frames, its worker lost) is a row in failures.csv and the batch
goes on; it has no batch.json, so a rerun with --resume tries it again.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from formcheck.notices import count_words

if TYPE_CHECKING:
    from formcheck.history import History
    from formcheck.pipeline import AnalysisOptions
    from formcheck.report import SessionReport

EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: Files a folder or glob SOURCE contributes (compared ignoring case).
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg"})
#: The per-video record --resume compares with the video (module docstring).
SIDECAR = "batch.json"
EXERCISES = ("auto", "squat", "deadlift")
#: Columns of a list file besides the video's path (any order; all optional).
LIST_COLUMNS = ("exercise", "lifter", "date")
#: Names accepted for the path column of a CSV list.
PATH_COLUMNS = ("video", "path", "file")
#: summary.json is rewritten at most this often while results arrive (and always at the end).
SUMMARY_EVERY_S = 2.0
#: Tasks handed to an engine ahead of its free workers, so the driver holds a bounded queue.
AHEAD_PER_WORKER = 2
#: What one Ray task asks for: the pose model runs on one core; a 720p analysis peaks well below
#: this (benchmarks/batch.py measures it); a 4K clip needs --task-memory.
TASK_CPUS = 1.0
TASK_MEMORY_MB = 1500
#: Seconds to wait for a Ray cluster's address to accept a connection.
CONNECT_TIMEOUT_S = 10.0
#: The longest the driver waits inside Ray at a time (Ctrl-C is handled between waits).
RAY_WAIT_S = 0.5
#: Ray reruns a task whose worker process or node was lost up to this many times.
MAX_RETRIES = 2
RAY_INSTALL_HINT = (
    "--engine ray needs Ray, an optional extra: pip install 'formcheck[ray]' "
    "(or use --engine local, the default)"
)


class SourceError(Exception):
    """A SOURCE that names no videos, or a list file that cannot be read; str(): what and how to fix."""


class EngineError(Exception):
    """An engine that cannot start (Ray missing, a cluster address not answering)."""


class ClosableProgress(Protocol):
    def __call__(self, done: int, total: int, stage: str) -> None: ...

    def close(self) -> None: ...


# --- the source -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchItem:
    """One video of a batch, with what a list file said about it (exercise: auto|squat|deadlift)."""

    video: Path
    exercise: str = "auto"
    lifter: str = ""
    date: str = ""


def read_source(source: str) -> list[BatchItem]:
    """The videos SOURCE names: every video file under a folder (recursive, sorted), the files a
    glob matches (sorted), or the lines of a list file (.csv: a header naming a video/path column
    and optionally exercise, lifter, date; else one path per line, # starts a comment). Relative
    paths in a list are relative to the list's folder. Raises SourceError."""
    path = Path(source).expanduser()
    if path.is_dir():
        videos = sorted(
            p
            for p in path.rglob("*")
            if p.suffix.lower() in VIDEO_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not videos:
            raise SourceError(
                f"{source}: no video files in this folder or below it (looked for "
                f"{', '.join(sorted(VIDEO_SUFFIXES))})"
            )
        return [BatchItem(p) for p in videos]
    if path.is_file():
        if path.suffix.lower() in VIDEO_SUFFIXES:
            return [BatchItem(path)]
        return _read_list(path)
    if glob.has_magic(source):
        matched = sorted(Path(p) for p in glob.glob(os.path.expanduser(source), recursive=True))
        videos = [p for p in matched if p.is_file()]
        if not videos:
            raise SourceError(f"{source}: the pattern matches no files")
        return [BatchItem(p) for p in videos]
    raise SourceError(
        f"{source}: no such folder or file. SOURCE is a folder of videos, a glob in quotes "
        "('clips/*.mp4'), or a .txt/.csv file listing videos"
    )


def _read_list(path: Path) -> list[BatchItem]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot be read as a text list of videos ({exc})") from None
    base = path.parent
    items = (
        _read_csv_list(path, text, base)
        if path.suffix.lower() == ".csv"
        else [
            BatchItem(_resolve(line.strip(), base))
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    )
    if not items:
        raise SourceError(f"{path}: the list names no videos")
    return items


def _read_csv_list(path: Path, text: str, base: Path) -> list[BatchItem]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    column = next((c for c in PATH_COLUMNS if c in header), None)
    if column is None:
        raise SourceError(
            f"{path}: a CSV list needs a header row with a column named "
            f"{' or '.join(PATH_COLUMNS)} (and optionally {', '.join(LIST_COLUMNS)}); "
            f"found {', '.join(header) or 'no header'}"
        )
    items = []
    for line_no, raw in enumerate(reader, start=2):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not row.get(column):
            continue
        exercise = row.get("exercise", "").lower() or "auto"
        if exercise not in EXERCISES:
            raise SourceError(
                f"{path}, line {line_no}: exercise {row['exercise']!r} is not one of "
                f"{', '.join(EXERCISES)}"
            )
        items.append(
            BatchItem(
                _resolve(row[column], base),
                exercise=exercise,
                lifter=row.get("lifter", ""),
                date=row.get("date", ""),
            )
        )
    return items


def _resolve(entry: str, base: Path) -> Path:
    p = Path(entry).expanduser()
    return p if p.is_absolute() else base / p


# --- one video ------------------------------------------------------------------------------------


def analyze_one(
    video: Path,
    options: AnalysisOptions,
    out_dir: Path,
    progress: ClosableProgress | None = None,
    on_report: Callable[[SessionReport], None] | None = None,
    name: str | None = None,
    strict: bool = False,
) -> tuple[int, SessionReport | None, list[str]]:
    """Analyse one video into out_dir/<name> (name: the video's stem unless given): (exit status,
    the report or None, messages for the user). on_report(report) is called as soon as
    report.json is written, before the annotated video is made. strict: a video that decoded short
    of its stated length (video_truncated) counts as a failure (its report is still written). A
    bad configuration (FaultConfigError) is raised: it stops a batch."""
    from formcheck.faults import FaultConfigError
    from formcheck.notices import NoticeCode
    from formcheck.pipeline import analyze, write_report, write_video
    from formcheck.video import VideoError

    def close() -> None:
        if progress is not None:
            progress.close()

    try:
        analysis = analyze(video, options, progress=progress)
        report = write_report(analysis, out_dir, name)
    except VideoError as exc:
        close()
        return EXIT_UNREADABLE, None, [f"formcheck: {exc}"]
    except FaultConfigError:
        close()
        raise
    except Exception as exc:  # one video's failure must not stop a batch
        close()
        return (
            EXIT_UNREADABLE,
            None,
            [
                f"formcheck: {video}: the analysis failed ({type(exc).__name__}: {exc}); no new "
                "files were saved for it. Please report this, with the video if you can."
            ],
        )
    close()
    if on_report is not None:
        on_report(report)
    try:
        report = write_video(analysis, report, out_dir, progress=progress)
        close()
    except Exception as exc:  # the report stands without its video
        close()
        return (
            EXIT_UNREADABLE,
            report,
            [
                f"formcheck: {video}: the annotated video could not be made ({type(exc).__name__}: "
                f"{exc}); the report and angles.csv are complete."
            ],
        )
    truncated = report.notice(NoticeCode.VIDEO_TRUNCATED)
    if strict and truncated is not None:
        return EXIT_UNREADABLE, report, [f"formcheck: {video}: {truncated.message} (--strict)"]
    return EXIT_OK, report, []


@dataclass(frozen=True)
class VideoTask:
    """One video for a worker: analyse `video` into out_dir/<name>/. index: its place in the batch.
    sidecar: write <name>/batch.json when it succeeds (batch runs; `formcheck analyze` does not)."""

    index: int
    video: Path
    name: str
    out_dir: Path
    options: AnalysisOptions
    strict: bool = False
    sidecar: bool = True


@dataclass(frozen=True)
class VideoResult:
    """What a worker returns: the exit status of the video, its report as a dict (None when none
    was written), messages for the user and the seconds the worker spent."""

    index: int
    status: int
    report: dict[str, Any] | None
    messages: list[str]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == EXIT_OK


def run_video(task: VideoTask) -> VideoResult:
    """analyze_one in a worker (no progress bar). With task.sidecar, an older batch.json is removed
    before the analysis and the new one written after the last file, so it exists only beside a
    complete set; it records the video's size and modification time from before the analysis (a
    video changed meanwhile is analysed again on --resume)."""
    start = time.perf_counter()
    folder = task.out_dir / task.name
    stamp = file_stamp(task.video)
    if task.sidecar:
        (folder / SIDECAR).unlink(missing_ok=True)
    status, report, messages = analyze_one(
        task.video, task.options, task.out_dir, None, None, task.name, task.strict
    )
    if task.sidecar and status == EXIT_OK and report is not None and stamp is not None:
        write_sidecar(folder, task.video, stamp, task.options)
    data = report.to_dict() if report is not None else None
    return VideoResult(task.index, status, data, messages, time.perf_counter() - start)


def write_sidecar(
    folder: Path, video: Path, stamp: Mapping[str, int], options: AnalysisOptions
) -> None:
    """folder/batch.json: the video, its size and modification time (stamp) and the options."""
    from formcheck.report import atomic_write_text

    record = {"video": str(video), **stamp, "options": _options_key(options)}
    atomic_write_text(folder / SIDECAR, json.dumps(record, indent=2) + "\n")


def file_stamp(video: Path) -> dict[str, int] | None:
    """The video's size and modification time (ns); None when it cannot be read."""
    try:
        st = video.stat()
    except OSError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _options_key(options: AnalysisOptions) -> dict[str, Any]:
    """What of the options changes a report: a report made with other options is not resumed."""
    return {
        "exercise": options.exercise,
        "preset": options.preset,
        "write_video": options.write_video,
        "threshold_overrides": dict(sorted(options.threshold_overrides.items())),
        "fast": options.fast,
    }


def finished(folder: Path, video: Path, options: AnalysisOptions) -> bool:
    """True when folder holds a complete result for this video as it is now: report.json, and a
    batch.json with the video's path, size and modification time and the same options."""
    try:
        record = json.loads((folder / SIDECAR).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    stamp = file_stamp(video)
    return (
        (folder / "report.json").is_file()
        and isinstance(record, dict)
        and stamp is not None
        and record.get("video") == str(video)
        and record.get("size") == stamp["size"]
        and record.get("mtime_ns") == stamp["mtime_ns"]
        and record.get("options") == _options_key(options)
    )


def lost_result(task: VideoTask, exc: BaseException, tries: int = 1) -> VideoResult:
    """The result of a video whose worker stopped without returning (killed, out of memory)."""
    after = f", tried {tries} times" if tries > 1 else ""
    first_line = next(iter(str(exc).strip().splitlines()), "")
    return VideoResult(
        task.index,
        EXIT_UNREADABLE,
        None,
        [
            f"formcheck: {task.video}: the worker analysing it was lost ({type(exc).__name__}"
            f"{': ' + first_line if first_line else ''}{after}); no new files were saved for it. "
            "--resume tries it again."
        ],
        0.0,
    )


# --- engines --------------------------------------------------------------------------------------


class LocalEngine:
    """`jobs` worker processes on this machine. A worker killed fails the videos it was given (a
    fresh pool takes the rest); --resume tries them again."""

    name = "local"

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)

    def describe(self) -> str:
        return f"{self.jobs} process{'es' if self.jobs > 1 else ''} on this machine"

    def start(self) -> None:
        """Nothing to start: the pool is made by results()."""

    def _pool(self) -> ProcessPoolExecutor:
        """Workers are started fresh ("spawn"), not forked: a fork of a process whose threads hold
        locks (the pose model's, the app's) can leave the worker waiting on them forever."""
        return ProcessPoolExecutor(
            max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn")
        )

    def results(self, tasks: Iterable[VideoTask]) -> Iterator[VideoResult]:
        """Run the tasks, at most jobs at a time and AHEAD_PER_WORKER per worker queued; yield each
        result as it finishes."""
        from formcheck.faults import FaultConfigError

        pending = iter(tasks)
        in_flight: dict[Future[VideoResult], VideoTask] = {}
        pool = self._pool()
        try:
            while True:
                while len(in_flight) < self.jobs * AHEAD_PER_WORKER:
                    task = next(pending, None)
                    if task is None:
                        break
                    try:
                        in_flight[pool.submit(run_video, task)] = task
                    except BrokenProcessPool:
                        pool.shutdown(wait=False, cancel_futures=True)
                        pool = self._pool()
                        in_flight[pool.submit(run_video, task)] = task
                if not in_flight:
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    task = in_flight.pop(future)
                    try:
                        result = future.result()
                    except FaultConfigError:
                        raise
                    except Exception as exc:  # the worker process died: this video's failure
                        result = lost_result(task, exc)
                    yield result
        except BaseException:
            for future in in_flight:
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)


def import_ray() -> Any:
    """The ray module, or EngineError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise EngineError(RAY_INSTALL_HINT) from None
    return ray


class RayEngine:
    """One Ray task per video (TASK_CPUS, task_memory_mb declared, so Ray packs them), on the Ray
    at `address` (or $RAY_ADDRESS), else on a Ray started in this process with `jobs` CPUs (all
    when None). The task writes the video's files itself, so on a cluster OUT must be a folder
    every node sees at the same path. A task whose worker is lost is rerun up to max_retries times;
    an error inside the analysis is a result, never retried."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        jobs: int | None = None,
        task_memory_mb: int = TASK_MEMORY_MB,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        self.address, self.jobs = address, jobs
        self.task_memory_mb, self.max_retries = task_memory_mb, max_retries
        self.ray: Any = import_ray()
        self.cpus = 0
        self.started = False

    def describe(self) -> str:
        where = f"the Ray cluster at {self.address}" if self.address else "a Ray started here"
        if not self.address and os.environ.get("RAY_ADDRESS"):
            where = f"the Ray cluster at {os.environ['RAY_ADDRESS']} ($RAY_ADDRESS)"
        return (
            f"Ray tasks ({TASK_CPUS:g} CPU, {self.task_memory_mb} MB each, up to "
            f"{self.max_retries} retries on worker loss) on {where}"
        )

    def start(self) -> None:
        """Connect to (or start) Ray; a Ray started here is stopped when results() ends. Raises
        EngineError when a cluster address does not answer within CONNECT_TIMEOUT_S."""
        ray = self.ray
        if ray.is_initialized():
            return
        kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR"}
        address = self.address or os.environ.get("RAY_ADDRESS", "")
        if address:
            _check_reachable(address)
        if self.address:
            kwargs["address"] = self.address
        elif not address:
            kwargs["include_dashboard"] = False
            if self.jobs:
                kwargs["num_cpus"] = self.jobs
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise EngineError(f"Ray did not start or connect: {exc}") from None
        self.started = True
        self.cpus = int(ray.cluster_resources().get("CPU", 1))

    def results(self, tasks: Iterable[VideoTask]) -> Iterator[VideoResult]:
        ray = self.ray
        self.start()
        self.cpus = self.cpus or int(ray.cluster_resources().get("CPU", 1))
        remote = ray.remote(run_video).options(
            num_cpus=TASK_CPUS,
            memory=self.task_memory_mb * 1024 * 1024,
            max_retries=self.max_retries,
            retry_exceptions=False,
        )
        pending = iter(tasks)
        in_flight: dict[Any, VideoTask] = {}
        try:
            while True:
                while len(in_flight) < max(self.cpus, 1) * AHEAD_PER_WORKER:
                    task = next(pending, None)
                    if task is None:
                        break
                    in_flight[remote.remote(task)] = task
                if not in_flight:
                    return
                # a bounded wait: Ctrl-C is seen between waits, never inside Ray's C++ code
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=RAY_WAIT_S)
                for ref in ready:
                    task = in_flight.pop(ref)
                    try:
                        result: VideoResult = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # worker or node lost, retries spent
                        result = lost_result(task, exc, self.max_retries + 1)
                    yield result
        finally:
            for ref in in_flight:
                ray.cancel(ref, force=True)
            if self.started:
                ray.shutdown()
                self.started = False


def _check_reachable(address: str) -> None:
    """EngineError unless something accepts a TCP connection at a host:port address (Ray's own
    connection attempts retry for minutes); "auto" and addresses without a port are left to Ray."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise EngineError(
            f"no Ray cluster answers at {address} ({exc}). Check the address (the head node's "
            "host:6379, or ray://host:10001) and that the cluster is up (ray status)"
        ) from None


class Engine(Protocol):
    name: str

    def describe(self) -> str: ...

    def start(self) -> None: ...

    def results(self, tasks: Iterable[VideoTask]) -> Iterator[VideoResult]: ...


# --- the overview ---------------------------------------------------------------------------------

ANGLE_NAMES = ("trunk_incl_deg", "hip_flex_deg", "knee_flex_deg", "thigh_above_horizontal_deg")


def summary_header() -> list[str]:
    """summary.csv's columns: the video and the list's columns, the rep's times, each angle's
    least and most, the back, the rep's verdict, its faults, and per check (every rule of every
    exercise, empty where it is not in a video's scope) its verdict, value, and the fault's
    severity and confidence when flagged."""
    from formcheck.rules import FaultCode

    head = ["video", "name", "lifter", "date", "exercise", "view", "rep", "partial"]
    head += ["start_s", "bottom_s", "end_s", "duration_s", "descent_s", "ascent_s"]
    head += [f"{a}_{end}" for a in ANGLE_NAMES for end in ("min", "max")]
    head += ["back", "rounding_deg", "arching_deg", "peak_flexion_rel_deg"]
    head += ["peak_extension_rel_deg", "spine_confidence", "verdict", "faults"]
    for code in FaultCode:
        head += [str(code), f"{code}_value", f"{code}_severity", f"{code}_confidence"]
    return head


def summary_rows(item: BatchItem, name: str, report: Mapping[str, Any]) -> list[list[Any]]:
    """summary.csv's rows for one video's report (its JSON data)."""
    from formcheck.report import SessionReport
    from formcheck.rules import FaultCode

    parsed = SessionReport.from_dict(report)
    rows = []
    for rep in parsed.reps:
        faults = {f.code: f for f in rep.faults}
        row: list[Any] = [
            str(item.video), name, item.lifter, item.date, parsed.exercise, parsed.view,
            rep.index, int(rep.partial), rep.start_s, rep.bottom_s, rep.end_s, rep.duration_s,
            rep.tempo.descent_s, rep.tempo.ascent_s,
        ]  # fmt: skip
        for angle in ANGLE_NAMES:
            span = rep.angles.get(angle)
            row += [span.min, span.max] if span is not None else [None, None]
        s = rep.spine
        row += [s.verdict, s.rounding_deg, s.arching_deg, s.peak_flexion_rel_deg]
        row += [s.peak_extension_rel_deg, s.confidence, str(rep.verdict)]
        row.append("; ".join(f"{f.code} ({f.severity}, {f.confidence:.2f})" for f in rep.faults))
        for code in FaultCode:
            check, fault = rep.check(code), faults.get(code)
            row += [
                str(check.verdict) if check is not None else "",
                check.value if check is not None else None,
                str(fault.severity) if fault is not None else "",
                fault.confidence if fault is not None else None,
            ]
        rows.append(["" if v is None else v for v in row])
    return rows


@dataclass
class VideoEntry:
    """summary.json's entry for one video."""

    video: str
    name: str
    lifter: str
    date: str
    status: str = "pending"  # pending | done | failed
    from_earlier_run: bool = False
    exercise: str = ""
    reps: int = 0
    flagged_reps: int = 0
    warnings: list[str] = field(default_factory=list)
    report: str = ""
    error: str = ""
    seconds: float | None = None  # the worker's time on it in this run
    stored_session: int | None = None


class Overview:
    """DIR/summary.csv, summary.json and failures.csv for one run, written as results arrive."""

    def __init__(self, out_dir: Path, items: list[BatchItem], names: list[str]) -> None:
        from formcheck.report import csv_text

        self.out_dir = out_dir
        self.entries = [
            VideoEntry(str(i.video), n, i.lifter, i.date) for i, n in zip(items, names, strict=True)
        ]
        self.last_json = 0.0
        self.csv_path = out_dir / "summary.csv"
        self.failures_path = out_dir / "failures.csv"
        self.csv_path.write_text(csv_text(summary_header(), []), encoding="utf-8")
        self.failures_path.write_text("video,name,error\n", encoding="utf-8")

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    def done(
        self,
        k: int,
        item: BatchItem,
        report: Mapping[str, Any],
        earlier: bool,
        seconds: float | None = None,
    ) -> None:
        from formcheck.report import csv_text

        entry = self.entries[k]
        rows = summary_rows(item, entry.name, report)
        with self.csv_path.open("a", encoding="utf-8") as fh:
            fh.write(csv_text(summary_header(), rows).split("\n", 1)[1])
        summary = report.get("summary", {})
        entry.status, entry.from_earlier_run = "done", earlier
        entry.exercise = str(report.get("exercise", ""))
        entry.reps = int(summary.get("n_reps", 0))
        entry.flagged_reps = int(summary.get("n_flagged_reps", 0))
        entry.warnings = [str(n.get("code")) for n in report.get("notices", [])]
        entry.report = f"{entry.name}/report.json"
        entry.seconds = round(seconds, 2) if seconds is not None else None
        self.write_json()

    def failed(self, k: int, error: str, seconds: float | None = None) -> None:
        entry = self.entries[k]
        entry.status, entry.error = "failed", error
        entry.seconds = round(seconds, 2) if seconds is not None else None
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([entry.video, entry.name, error])
        with self.failures_path.open("a", encoding="utf-8") as fh:
            fh.write(buf.getvalue())
        self.write_json()

    def write_json(self, now: bool = False) -> None:
        """Rewrite summary.json (atomically), at most every SUMMARY_EVERY_S unless now."""
        from dataclasses import asdict

        from formcheck.report import atomic_write_text

        if not now and time.monotonic() - self.last_json < SUMMARY_EVERY_S:
            return
        self.last_json = time.monotonic()
        data = {
            "videos_total": len(self.entries),
            "done": self.count("done"),
            "failed": self.count("failed"),
            "remaining": self.count("pending"),
            "videos": [asdict(e) for e in self.entries],
        }
        atomic_write_text(self.out_dir / "summary.json", json.dumps(data, indent=1) + "\n")


class BatchProgress:
    """A line per finished video on `stream`: done / failed / remaining and the rate so far."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream = total, stream
        self.start = time.perf_counter()
        self.finished = 0

    def line(self, overview: Overview, video: Path, what: str) -> None:
        self.finished += 1
        minutes = max(time.perf_counter() - self.start, 1e-6) / 60
        self.stream.write(
            f"[done {overview.count('done')}, failed {overview.count('failed')}, remaining "
            f"{overview.count('pending')}; {self.finished / minutes:.1f} videos/min] "
            f"{video.name}: {what}\n"
        )
        self.stream.flush()


# --- history --------------------------------------------------------------------------------------


def store_in_history(store: History, report: Mapping[str, Any], folder: Path) -> int | None:
    """Copy a video's files (folder: OUT/<name>) into a new session of the app's history and store
    it; its id, or None when no person was found (the app keeps no such session either)."""
    from formcheck.notices import NoticeCode
    from formcheck.report import SessionReport

    parsed = SessionReport.from_dict(report)
    if parsed.notice(NoticeCode.NO_PERSON) is not None:
        return None
    session_dir = store.new_session_dir(parsed.source.name)
    try:
        dest = session_dir / Path(parsed.source.name).stem
        shutil.copytree(folder, dest, ignore=shutil.ignore_patterns(SIDECAR, ".*"))
        outputs = {k: str(dest / Path(v).name) for k, v in parsed.outputs.items()}
        from dataclasses import replace

        return store.add_session(replace(parsed, outputs=outputs), session_dir, origin="upload")
    finally:
        shutil.rmtree(session_dir, ignore_errors=True)  # stored: already moved away


def _mark_stored(folder: Path, session_id: int) -> None:
    from formcheck.report import atomic_write_text

    path = folder / SIDECAR
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    record["history_session"] = session_id
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")


def _stored_session(folder: Path) -> int | None:
    try:
        value = json.loads((folder / SIDECAR).read_text(encoding="utf-8")).get("history_session")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


# --- the run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOptions:
    """A batch's settings besides the engine. store: add each analysed video to the history in
    history_dir (the app's data folder when None)."""

    analysis: AnalysisOptions
    resume: bool = False
    strict: bool = False
    store: bool = False
    history_dir: Path | None = None


def run_batch(
    items: list[BatchItem],
    out_dir: Path,
    engine: Engine,
    options: BatchOptions,
    err: TextIO = sys.stderr,
) -> int:
    """Analyse every item into out_dir with `engine`; the overview files as results arrive.
    Exit status: 0 every video done, 1 some failed, 130 interrupted (rerun with resume to finish).
    FaultConfigError (a bad preset or threshold) is raised before any video starts."""
    import dataclasses

    from formcheck.faults import load_rules
    from formcheck.pipeline import output_names
    from formcheck.safefiles import sweep_folder

    base = options.analysis
    load_rules(base.preset, dict(base.threshold_overrides))  # a bad configuration stops it here
    engine.start()  # so does an engine that cannot start
    out_dir = out_dir.expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    swept = sweep_folder(out_dir)
    if swept:
        err.write(f"formcheck: {out_dir}: {swept.message()}\n")
    names = output_names([i.video for i in items])
    overview = Overview(out_dir, items, names)
    store = None
    if options.store:
        from formcheck.history import History

        store = History(options.history_dir)
    per_item = [
        dataclasses.replace(base, exercise=i.exercise) if i.exercise != "auto" else base
        for i in items
    ]
    tasks = []
    for k, item in enumerate(items):
        folder = out_dir / names[k]
        if options.resume and finished(folder, item.video.resolve(), per_item[k]):
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
            overview.done(k, item, report, earlier=True)
            _store(store, overview, k, report, folder, err)
            continue
        task = VideoTask(k, item.video.resolve(), names[k], out_dir, per_item[k], options.strict)
        tasks.append(task)
    skipped = len(items) - len(tasks)
    err.write(
        f"formcheck: {count_words(len(items), 'video')} in the batch"
        + (f", {skipped} already done (--resume)" if skipped else "")
        + f"; analysing {len(tasks)} with {engine.describe()}\n"
    )
    progress = BatchProgress(len(tasks), err)
    try:
        for result in engine.results(tasks):
            k, item = result.index, items[result.index]
            for message in result.messages:
                err.write(message + "\n")
            if result.ok and result.report is not None:
                overview.done(k, item, result.report, earlier=False, seconds=result.seconds)
                _store(store, overview, k, result.report, out_dir / names[k], err)
                s = result.report["summary"]
                what = f"done, {count_words(s['n_reps'], 'rep')}, {s['n_flagged_reps']} flagged"
            else:
                error = result.messages[0].removeprefix("formcheck: ") if result.messages else ""
                overview.failed(k, error or "failed", result.seconds)
                what = "failed"
            progress.line(overview, item.video, f"{what} ({result.seconds:.1f} s)")
    except KeyboardInterrupt:
        overview.write_json(now=True)
        err.write(
            f"\nformcheck: interrupted: {overview.count('done')} done, {overview.count('failed')} "
            f"failed, {overview.count('pending')} not finished (their previous files, if any, are "
            f"unchanged). Run the same command with --resume to finish the rest.\n"
        )
        return EXIT_INTERRUPTED
    overview.write_json(now=True)
    failed = overview.count("failed")
    err.write(
        f"formcheck: {overview.count('done')} done, {failed} failed"
        + (f" (listed in {overview.failures_path})" if failed else "")
        + f"; overview in {overview.csv_path} and {out_dir / 'summary.json'}\n"
    )
    return EXIT_UNREADABLE if failed else EXIT_OK


def _store(
    store: History | None,
    overview: Overview,
    k: int,
    report: Mapping[str, Any],
    folder: Path,
    err: TextIO,
) -> None:
    """Add a done video to the history unless it is there already (from an earlier run)."""
    if store is None:
        return
    entry = overview.entries[k]
    earlier = _stored_session(folder)
    if earlier is not None:
        entry.stored_session = earlier
        return
    try:
        session_id = store_in_history(store, report, folder)
    except Exception as exc:  # the batch's own files are complete; say what was not stored
        err.write(f"formcheck: {entry.video}: not added to the history ({exc})\n")
        return
    if session_id is not None:
        entry.stored_session = session_id
        _mark_stored(folder, session_id)
