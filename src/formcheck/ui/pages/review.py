"""Review one analysed set: the annotated video with jump-to-rep, the rep table, each flagged rep
explained, angle and spine curves, how form changed rep to rep, guidance and downloads.

The review opens as soon as the report is stored: while the annotated video is still being drawn
(ui.jobs.VideoJob) the page shows the video as filmed, says so, and reloads itself when the
annotated video is ready."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from formcheck.history import SessionRow
from formcheck.report import SessionReport
from formcheck.ui import charts, components
from formcheck.ui.common import PAGE, history
from formcheck.ui.jobs import VideoJob, video_job

#: How often the page looks whether the annotated video is ready (seconds).
VIDEO_POLL_S = 1.0


def _chosen_session(ids: list[int]) -> int | None:
    """The session asked for: ?session= in the address, else the one last opened here, else the
    newest. None when the address names a session that does not exist."""
    asked = st.query_params.get("session")
    if asked is not None:
        sid = int(asked) if asked.strip().isdigit() else None
        return sid if sid in ids else None
    remembered = st.session_state.get("review_session")
    return remembered if remembered in ids else ids[0]


def _unknown_session(asked: str) -> None:
    st.title("Review")
    st.warning(
        f"There is no session {asked!r} on this computer: it may have been deleted, or the link "
        "comes from another computer. Pick a session in History.",
        icon=":material/search_off:",
    )
    st.page_link(PAGE["history"], label="History", icon=":material/history:")


@st.fragment(run_every=VIDEO_POLL_S)
def _video_being_made(job: VideoJob) -> None:
    """The annotated video's progress; the whole page runs again once it is ready or failed."""
    progress = job.progress()
    if progress.finished:
        st.rerun(scope="app")
    st.progress(
        progress.fraction,
        text="The annotated video (skeleton, back outline and fault banners) is being prepared: "
        "the video below is your clip as filmed, replaced when it is ready. The review is "
        "complete meanwhile.",
    )


def _shown_video(
    report: SessionReport, row: SessionRow, job: VideoJob | None
) -> tuple[Path | None, bool]:
    """The video to show (the annotated one, else the clip as filmed, else None) and whether the
    annotated video is still being drawn."""
    annotated = Path(report.outputs.get("annotated_video", ""))
    if "annotated_video" in report.outputs and annotated.is_file():
        return annotated, False
    making = job is not None and not job.progress().finished
    if making and job is not None and job.source.is_file():
        return job.source, True
    raw = row.raw_video_path
    return (raw if raw is not None and raw.is_file() else None), making


def _video_note(job: VideoJob | None, making: bool, shown: Path | None, annotated: bool) -> None:
    """What the page says about the annotated video when it is not the one shown."""
    if annotated:
        return
    if making and job is not None:
        _video_being_made(job)
        return
    error = job.progress().error if job is not None else ""
    what = "Below is your clip as filmed; the" if shown is not None else "The"
    if error:
        st.warning(
            f"The annotated video could not be made: {error}. {what} review, verdicts and "
            "curves are complete.",
            icon=":material/videocam_off:",
        )
    elif shown is not None:
        st.caption("The annotated video is not available for this session: this is your clip "
                   "as filmed.")  # fmt: skip


def main() -> None:
    store = history()
    rows = store.sessions()
    if not rows:
        st.title("Review")
        st.info("Nothing to review yet: analyse a video or record a set first.")
        st.page_link(PAGE["analyse"], label="Analyse a video", icon=":material/upload:")
        return
    by_id = {r.id: r for r in rows}
    sid = _chosen_session(list(by_id))
    if sid is None:
        _unknown_session(st.query_params.get("session", ""))
        return
    title_col, pick_col = st.columns([4, 1], vertical_alignment="bottom")
    with pick_col.popover("Other sessions", icon=":material/swap_horiz:", width="stretch"):
        picked = st.selectbox(
            "Session",
            options=list(by_id),
            index=list(by_id).index(sid),
            format_func=lambda i: components.session_label(by_id[i]),
            key="review_pick",
        )
    if picked != sid:
        sid = picked
    st.query_params["session"] = str(sid)
    st.session_state["review_session"] = sid
    row = by_id[sid]
    report = store.report(sid)
    limits = components.limits_for(report)
    job = video_job(store, sid)
    video, making = _shown_video(report, row, job)
    annotated = video is not None and video == Path(report.outputs.get("annotated_video", ""))
    table = (
        charts.frame_table(Path(report.outputs["angles_csv"]))
        if "angles_csv" in report.outputs and Path(report.outputs["angles_csv"]).is_file()
        else {}
    )

    title_col.title(components.session_title(report))
    headline, colour = components.verdict(report)
    st.markdown(f":{colour}[**{headline}**]")
    st.caption(
        f"{components.session_time(row)} · session #{sid} · {report.view} view · "
        f"{report.preset} thresholds · {components.duration(report.duration_s)}"
        + (f" · {row.note}" if row.note else "")
    )
    components.summary_metrics(report, limits)
    components.warnings(report)

    left, right = st.columns([3, 2], gap="large")
    with left:
        rep_options = ["Start"] + [f"Rep {r.index}" for r in report.reps]
        jump = st.segmented_control(
            "Jump to", rep_options, default="Start", key=f"jump_{sid}",
            format_func=lambda o: o if o == "Start" else (
                o + (" ⚠" if report.reps[int(o.split()[1]) - 1].flagged else " ✓")
            ),
        )  # fmt: skip
        start = 0.0
        if jump and jump != "Start":
            rep = report.reps[int(jump.split()[1]) - 1]
            start = max(rep.start_s - 0.3, 0.0)
        _video_note(job, making, video, annotated)
        if video is not None:
            st.video(str(video), start_time=start, autoplay=jump not in (None, "Start"), muted=True)
        elif not making:
            st.info("The video is not available for this session.")
    with right:
        st.subheader("What to work on")
        components.what_to_work_on(report)

    st.subheader("Rep by rep")
    rows_table = components.rep_table_rows(report, limits)
    if rows_table:
        st.dataframe(rows_table, hide_index=True, width="stretch")
        st.caption(
            "Each column's limit is in its heading; ⚠ marks a value past it. Rounding is an "
            "estimate of how far the back bent past a neutral back (on a deadlift, a typical "
            "lifter's; otherwise your own standing back); arching is read against your own "
            "standing back; depth is the thigh at the bottom of the rep."
        )
    flagged = [r for r in report.reps if r.flagged]
    if flagged:
        st.subheader("Flagged reps")
        for rep in flagged:
            components.flagged_rep_card(rep, report, table, video)

    if table:
        st.subheader("Angles over time")
        st.plotly_chart(charts.angles_figure(table, report, limits), width="stretch")
    if len(report.reps) >= 2:
        st.subheader("How your form changed through the set")
        st.markdown(charts.fatigue_note(report))
        st.plotly_chart(charts.rep_trend_figure(report, limits), width="stretch")

    with st.expander("Prevention, recovery and when to see a professional"):
        components.prevention_and_red_flags(report)

    st.subheader("Export")
    cols = st.columns(3)
    cols[0].download_button(
        "Report (JSON)", report.to_json(), file_name=f"formcheck-{sid}.json",
        mime="application/json", icon=":material/download:",
    )  # fmt: skip
    csv_path = Path(report.outputs.get("angles_csv", ""))
    if csv_path.is_file():
        cols[1].download_button(
            "Angles per frame (CSV)", csv_path.read_bytes(), file_name=f"formcheck-{sid}.csv",
            mime="text/csv", icon=":material/download:",
        )  # fmt: skip
    if annotated and video is not None:
        cols[2].download_button(
            "Annotated video (MP4)", video.read_bytes(), file_name=f"formcheck-{sid}.mp4",
            mime="video/mp4", icon=":material/download:",
        )  # fmt: skip


main()
