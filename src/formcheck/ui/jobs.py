"""Run the pipeline on one video and file the result in the history (shared by upload and live).

No Streamlit here: pages pass a progress callback and show the Outcome.
"""

from __future__ import annotations

import logging
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from formcheck.history import History
from formcheck.notices import NoticeCode
from formcheck.pipeline import AnalysisOptions, analyze_to_dir
from formcheck.report import SessionReport
from formcheck.video import VideoError

logger = logging.getLogger(__name__)

#: Share of the progress bar given to each pipeline stage (the rest goes to "rendering").
ANALYSING_SHARE = 0.8

#: Warning codes after which there is nothing worth keeping.
UNUSABLE_CODES = (NoticeCode.NO_PERSON,)


@dataclass(frozen=True)
class Outcome:
    """session_id and report when the session was stored; otherwise error (plain words) and hint."""

    session_id: int | None = None
    report: SessionReport | None = None
    error: str = ""
    hint: str = ""
    detail: str = ""  # a traceback, for an unexpected failure


def overall_fraction(done: int, total: int, stage: str) -> float:
    """One 0..1 figure for the whole job from the pipeline's per-stage progress."""
    part = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
    if stage == "rendering":
        return ANALYSING_SHARE + (1.0 - ANALYSING_SHARE) * part
    return ANALYSING_SHARE * part


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
    History.new_session_dir) and store the session: the folder moves into place with its row.

    On failure, or when no person was found, session_dir is deleted and nothing is stored.
    """
    stored = False
    try:
        report = analyze_to_dir(video, session_dir, options, progress)
        unusable = [n for n in report.notices if n.code in UNUSABLE_CODES]
        if unusable:
            return Outcome(error=unusable[0].message, hint=unusable[0].advice)
        if not keep_raw_video:
            video.unlink(missing_ok=True)
        raw = video if keep_raw_video else None
        session_id = store.add_session(report, session_dir, origin=origin, raw_video=raw)
        stored = True
        return Outcome(session_id=session_id, report=store.report(session_id))
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
