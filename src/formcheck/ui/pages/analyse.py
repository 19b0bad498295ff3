"""Analyse a video: upload a training clip, choose the lift (or let formcheck detect it), watch a
real progress bar, then land in the review as soon as the report is stored (the annotated video
is drawn in the background)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from formcheck.ui import components
from formcheck.ui.common import (
    LIFTS,
    history,
    load_settings,
    max_upload_mb,
    open_review,
    startup_sweep,
)
from formcheck.ui.jobs import analyse_and_store, analysis_options, progress_fraction
from formcheck.video import SUPPORTED_CONTAINERS


def main() -> None:
    store = history()
    settings = load_settings(store)
    limit_mb = max_upload_mb()
    formats = ", ".join(SUPPORTED_CONTAINERS)

    st.title("Analyse a video")
    interrupted = startup_sweep(store.data_dir).interrupted
    if interrupted and not st.session_state.get("interrupted_noticed"):
        st.warning(
            "formcheck stopped while analysing "
            + ", ".join(interrupted)
            + ": that analysis was not saved and its unfinished files were removed. Upload the "
            "video again to analyse it.",
            icon=":material/restart_alt:",
        )
        if st.button("Dismiss", key="dismiss_interrupted"):
            st.session_state["interrupted_noticed"] = True
            st.rerun()
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
    outcome = analyse_and_store(
        store, video, session_dir, options, origin="upload",
        keep_raw_video=settings.keep_raw_video, progress=progress,
    )  # fmt: skip
    bar.empty()
    if outcome.session_id is None:
        components.failure(outcome.error, outcome.hint, outcome.detail)
        return
    st.session_state["last_analysed"] = outcome.session_id
    open_review(outcome.session_id)


main()
