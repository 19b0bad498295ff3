"""Analyse a video: upload a training clip, choose the lift (or let formcheck detect it), watch a
real progress bar, then land in the review as soon as the report is stored (the annotated video
is drawn in the background).

An analysis runs in the page's script run, so it stops when that run stops: the browser lost its
connection to formcheck's server (it reconnects by itself), or another page was opened meanwhile.
The next run of this page says so and, while the upload is still attached, offers to run it again.
After a restart of the server the upload is gone; the page names the clip and asks for it again.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from formcheck.ui import components
from formcheck.ui.common import (
    LIFTS,
    history,
    load_settings,
    max_upload_mb,
    open_review,
    process_key,
    startup_sweep,
)
from formcheck.ui.jobs import analyse_and_store, analysis_options, progress_fraction
from formcheck.video import SUPPORTED_CONTAINERS

#: session_state keys: the upload this browser session is analysing, (name, file id), set while
#: the analysis runs; and the one whose analysis stopped before it finished.
_RUNNING = "analysis_running"
_STOPPED = "analysis_stopped"


def main() -> None:
    store = history()
    settings = load_settings(store)
    limit_mb = max_upload_mb()
    formats = ", ".join(SUPPORTED_CONTAINERS)

    st.title("Analyse a video")
    if _RUNNING in st.session_state:  # the run that was analysing it ended before the analysis
        st.session_state[_STOPPED] = st.session_state.pop(_RUNNING)
    stopped_notice = st.empty()
    components.lost_by_restart(startup_sweep(store.data_dir))
    st.markdown(
        "Upload a squat or deadlift filmed **from the side**, whole body in view. formcheck finds "
        "your reps and tells you, rep by rep, whether your back rounded or over-arched."
    )
    left, right = st.columns([3, 2], gap="large")
    with left:
        upload = st.file_uploader(
            f"Training video ({formats}; up to {limit_mb} MB)",
            type=list(SUPPORTED_CONTAINERS),
            help="Phone clips, portrait or rotated, are fine. The video stays on this computer.",
            key=f"upload_{process_key()}",  # a restarted server has lost the upload: a fresh widget
        )
        lift = st.segmented_control(
            "Lift",
            options=list(LIFTS),
            format_func=LIFTS.__getitem__,
            default="auto",
            required=True,
            key="analyse_lift",
        )
        st.caption(
            f"Thresholds: **{settings.preset}** preset"
            + (" with your own adjustments" if settings.threshold_overrides else "")
            + " (change in Settings)."
        )
        start = st.button(
            "Analyse", type="primary", disabled=upload is None, icon=":material/play_arrow:"
        )
    with right:
        components.filming_tips(compact=True)
    with stopped_notice.container():
        start = _offer_to_run_again(upload) or start

    if upload is None or not start:
        return
    size = upload.size
    if size == 0:
        st.error("This file is empty (0 bytes). The upload or the copy did not finish: try again.")
        return
    if size > limit_mb * 1024 * 1024:
        st.error(
            f"This file is {size / 1024 / 1024:.0f} MB; the limit is {limit_mb} MB. Trim the clip "
            "to the set (a few reps need well under a minute) or export it at 1080p or lower."
        )
        return

    session_dir = store.new_session_dir(upload.name)
    video = session_dir / Path(upload.name).name
    video.write_bytes(upload.getbuffer())
    bar = st.progress(0.0, text="Opening the video…")

    def progress(done: int, total: int, stage: str) -> None:
        bar.progress(
            progress_fraction(done, total), text="Finding the lifter and measuring every frame…"
        )

    options = analysis_options(lift or "auto", settings.preset, settings.threshold_overrides)
    st.session_state.pop(_STOPPED, None)
    stopped_notice.empty()
    st.session_state[_RUNNING] = (upload.name, upload.file_id)
    outcome = analyse_and_store(
        store, video, session_dir, options, origin="upload",
        keep_raw_video=settings.keep_raw_video, progress=progress,
    )  # fmt: skip
    st.session_state.pop(_RUNNING, None)  # not reached when the run is stopped meanwhile
    bar.empty()
    if outcome.session_id is None:
        components.failure(outcome.error, outcome.hint, outcome.detail)
        return
    st.session_state["last_analysed"] = outcome.session_id
    open_review(outcome.session_id)


def _offer_to_run_again(upload: UploadedFile | None) -> bool:
    """Say that this session's last analysis stopped before it finished; True when the user asks
    to run it again on the upload that is still attached."""
    stopped = st.session_state.get(_STOPPED)
    if stopped is None:
        return False
    name, file_id = stopped
    attached = upload is not None and upload.file_id == file_id
    st.warning(
        f"The analysis of **{name}** stopped before it finished, so nothing was saved: the page "
        "lost its connection to formcheck's server, or another page was opened meanwhile. "
        + ("The video is still attached." if attached else "Upload it again and press Analyse."),
        icon=":material/restart_alt:",
    )
    row = st.container(horizontal=True)
    if attached and row.button(
        f"Analyse {name} again", type="primary", icon=":material/replay:", key="run_again"
    ):
        return True
    if row.button("Dismiss", key="dismiss_stopped"):
        st.session_state.pop(_STOPPED, None)
        st.rerun()
    return False


main()
