"""Run the pipeline on one video and file the result in the history (shared by upload and live).

The report comes first: analyse_and_store() analyses the video, writes report.json and angles.csv
and stores the session (its staging folder moves into place with its row), then returns while the
annotated video is drawn on a background thread (VideoJob). When that video is ready, the session's
row and stored report list it; until then the review shows the video as filmed. A process killed
while drawing leaves the stored session with its report, and a temporary file that the next sweep
removes (never while this process runs: the file's name carries its process id).

No Streamlit here: pages pass a progress callback and show the Outcome and the VideoJob.
"""

from __future__ import annotations

import logging
import shutil
import threading
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from formcheck import safefiles
from formcheck.history import History
from formcheck.live import RecordedSet
from formcheck.notices import NoticeCode
from formcheck.pipeline import Analysis, AnalysisOptions, analyze, wants_video, write_report
from formcheck.pipeline import write_video as draw_video
from formcheck.report import SessionReport
from formcheck.video import VideoError

logger = logging.getLogger(__name__)

#: Warning codes after which there is nothing worth keeping.
UNUSABLE_CODES = (NoticeCode.NO_PERSON,)


@dataclass(frozen=True)
class VideoProgress:
    """A snapshot of a VideoJob: frames drawn of total; finished (made or failed); error: what
    went wrong in plain words (empty unless it failed); video: the annotated video once made."""

    done: int
    total: int
    finished: bool
    error: str
    video: Path | None

    @property
    def fraction(self) -> float:
        return progress_fraction(self.done, self.total)


class VideoJob:
    """The annotated video of one stored session, drawn on a background thread.

    source: the video it is drawn from (the clip as filmed, shown until the annotated one is ready);
    deleted when the job ends if delete_source (the user keeps no raw videos).
    """

    def __init__(
        self,
        store: History,
        session_id: int,
        analysis: Analysis,
        source: Path,
        *,
        delete_source: bool,
    ) -> None:
        self.store = store
        self.session_id = session_id
        self.source = source
        self._analysis: Analysis | None = analysis
        self._delete_source = delete_source
        self._lock = threading.Lock()
        self._done, self._total = 0, 0
        self._error = ""
        self._video: Path | None = None
        self._finished = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"formcheck-video-{session_id}", daemon=True
        )

    def start(self) -> VideoJob:
        self._thread.start()
        return self

    def progress(self) -> VideoProgress:
        with self._lock:
            return VideoProgress(
                self._done, self._total, self._finished.is_set(), self._error, self._video
            )

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the job has finished (made the video or failed); False on timeout."""
        return self._finished.wait(timeout_s)

    def _on_progress(self, done: int, total: int, stage: str) -> None:
        with self._lock:
            self._done, self._total = done, total

    def _run(self) -> None:
        analysis, self._analysis = self._analysis, None  # its arrays are freed with the job
        error, video = "", None
        try:
            assert analysis is not None
            report = self.store.report(self.session_id)
            folder = Path(report.outputs["report_json"]).parent
            made = draw_video(analysis, report, folder, self._on_progress, source=self.source)
            if "annotated_video" in made.outputs:
                video = Path(made.outputs["annotated_video"])
                if not self.store.set_annotated_video(self.session_id, video):
                    video = None  # the session was deleted meanwhile
        except VideoError as err:
            error = f"the video could not be read again ({err.reason})"
        except KeyError:
            error = "the session was deleted"
        except Exception as err:  # a bug or a full disk: the review stays, the video is missing
            logger.exception("the annotated video of session %s failed", self.session_id)
            error = f"{type(err).__name__}: {err}"
        finally:
            if self._delete_source:
                self.source.unlink(missing_ok=True)
            with self._lock:
                self._error, self._video = error, video
            self._finished.set()


_jobs: dict[tuple[Path, int], VideoJob] = {}
_jobs_lock = threading.Lock()


def video_job(store: History, session_id: int) -> VideoJob | None:
    """The annotated video job of this process for a session (running or finished), if any."""
    with _jobs_lock:
        return _jobs.get((store.data_dir, session_id))


def _register(job: VideoJob) -> VideoJob:
    with _jobs_lock:
        _jobs[(job.store.data_dir, job.session_id)] = job
    return job


@dataclass(frozen=True)
class Outcome:
    """session_id and report when the session was stored; otherwise error (plain words) and hint.
    video: the job drawing the annotated video (None when none is drawn)."""

    session_id: int | None = None
    report: SessionReport | None = None
    error: str = ""
    hint: str = ""
    detail: str = ""  # a traceback, for an unexpected failure
    video: VideoJob | None = None


def progress_fraction(done: int, total: int) -> float:
    """done / total as a 0..1 figure for a progress bar (0 when the total is unknown)."""
    return min(max(done / total, 0.0), 1.0) if total > 0 else 0.0


def analyse_and_store(
    store: History,
    video: Path,
    session_dir: Path,
    options: AnalysisOptions,
    *,
    origin: str,
    keep_raw_video: bool,
    progress: Callable[[int, int, str], None] | None = None,
) -> Outcome:
    """Analyse `video` (which lives in the staging folder `session_dir`, from
    History.new_session_dir), store the session with its report, and start drawing its annotated
    video in the background (Outcome.video).

    On failure, or when no person was found, session_dir is deleted and nothing is stored.
    """
    stored = False
    try:
        analysis = analyze(video, options, progress)
        unusable = [n for n in analysis.notices if n.code in UNUSABLE_CODES]
        if unusable:
            return Outcome(error=unusable[0].message, hint=unusable[0].advice)
        report = write_report(analysis, session_dir)
        source: Path | None = video if wants_video(analysis) else None
        if not keep_raw_video:
            if source is None:
                video.unlink(missing_ok=True)
            else:  # kept only to draw from: a temporary file, swept if this process dies
                source = video.rename(
                    video.with_name(f"{safefiles.tmp_name(video.name)}{uuid.uuid4().hex[:8]}.tmp")
                )
        raw = video if keep_raw_video else None
        session_id = store.add_session(report, session_dir, origin=origin, raw_video=raw)
        stored = True
        job = None
        if source is not None:
            row = store.session(session_id)
            assert row is not None
            job = _register(
                VideoJob(
                    store, session_id, analysis, row.session_dir / source.relative_to(session_dir),
                    delete_source=not keep_raw_video,
                ).start()
            )  # fmt: skip
        return Outcome(session_id=session_id, report=store.report(session_id), video=job)
    except VideoError as err:
        return Outcome(
            error=f"This file could not be read as a video: {err.reason}.", hint=err.hint
        )
    except Exception:  # a bug, not the user's file: say so plainly and keep the details
        logger.exception("analysis of %s failed", video)
        return Outcome(
            error="formcheck ran into an internal error while analysing this video.",
            hint="Nothing was saved. Please report it with the details below.",
            detail=traceback.format_exc(),
        )
    finally:
        if not stored:
            shutil.rmtree(session_dir, ignore_errors=True)


def analysis_options(
    exercise: str, preset: str, threshold_overrides: Mapping[str, float]
) -> AnalysisOptions:
    """The options of an analysis the user starts (upload or live): the lift they chose (or
    "auto") and their thresholds. Both pages build them here, so the same footage with the same
    choices is judged the same way."""
    return AnalysisOptions(
        exercise=exercise,
        preset=preset,
        threshold_overrides=dict(threshold_overrides),
        reuse_pose_model=True,  # a long-running app: one pose model per process (bounded memory)
    )


def analyse_recorded_set(
    store: History,
    recorded: RecordedSet,
    session_dir: Path,
    options: AnalysisOptions,
    *,
    keep_raw_video: bool,
    progress: Callable[[int, int, str], None] | None = None,
) -> Outcome:
    """A set recorded on the Live page, judged by the full analysis of its recording (the path of
    an upload, analyse_and_store), with a notice first when frames were lost on the way
    (RecordedSet.gap_notice). The live overlay only previews; this is the set's review."""
    notice = recorded.gap_notice()
    if notice is not None:
        options = replace(options, input_warnings=(notice, *options.input_warnings))
    return analyse_and_store(
        store, recorded.path, session_dir, options, origin="live",
        keep_raw_video=keep_raw_video, progress=progress,
    )  # fmt: skip
