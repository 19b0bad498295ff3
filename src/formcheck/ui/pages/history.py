"""History: every analysed session on this machine, filterable by lift and date, with trends,
export and delete."""

from __future__ import annotations

import datetime as dt
import math

import streamlit as st

from formcheck.ui import charts, components
from formcheck.ui.common import PAGE, history, open_review


@st.dialog("Delete this session?")
def _confirm_delete(session_id: int, label: str) -> None:
    st.markdown(f"{label}\n\nThe report, the annotated video and the original video are deleted.")
    if st.button("Delete", type="primary", key="confirm_delete"):
        history().delete_session(session_id)
        st.session_state.pop("review_session", None)
        st.rerun()


def main() -> None:
    store = history()
    st.title("History")
    everything = store.sessions()
    if not everything:
        st.info("No sessions yet. Analysed sets are kept here, on this computer only.")
        st.page_link(PAGE["analyse"], label="Analyse a video", icon=":material/upload:")
        return

    lifts = sorted({s.exercise for s in everything})
    oldest = min(s.created for s in everything).date()
    newest = max(s.created for s in everything).date()
    c1, c2 = st.columns([2, 3])
    chosen = c1.multiselect(
        "Lift", lifts, default=lifts, format_func=str.capitalize, key="history_lifts"
    )
    span = c2.date_input(
        "Dates", value=(oldest, newest), min_value=oldest, max_value=max(newest, dt.date.today()),
        key="history_dates",
    )  # fmt: skip
    since, until = (span[0], span[1]) if isinstance(span, tuple) and len(span) == 2 else (None, None)
    rows = store.sessions(exercises=chosen or None, since=since, until=until)
    if not chosen:
        rows = []
    st.caption(f"{len(rows)} of {len(everything)} sessions")

    if rows:
        st.plotly_chart(charts.history_figure(rows), width="stretch")

    table = [
        {
            "Date": r.created.astimezone().strftime("%Y-%m-%d %H:%M"),
            "Lift": r.exercise.capitalize(),
            "Video": r.source_name,
            "From": "Live" if r.origin == "live" else "Upload",
            "Reps": r.n_reps,
            "Flagged": r.n_flagged,
            "Flag rate": None if math.isnan(r.flag_rate) else round(100 * r.flag_rate),
            "Peak rounding (°)": (
                None if r.peak_flexion_rel_deg is None else round(r.peak_flexion_rel_deg)
            ),
            "Note": r.note,
        }
        for r in rows
    ]
    picked = st.dataframe(
        table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key="history_table",
        column_config={
            "Flag rate": st.column_config.ProgressColumn(
                "Flag rate", format="%d%%", min_value=0, max_value=100
            ),
        },
    )  # fmt: skip
    selected = picked.selection.rows if picked is not None else []
    if selected:
        row = rows[selected[0]]
        with st.container(border=True):
            st.markdown(f"**{components.session_label(row)}**")
            note = st.text_input(
                "Note (load, how it felt)", value=row.note, key=f"note_{row.id}",
                placeholder="e.g. 100 kg x 5, felt heavy",
            )  # fmt: skip
            if note != row.note:
                store.set_note(row.id, note)
            b1, b2, b3 = st.columns(3)
            if b1.button("Open review", type="primary", icon=":material/insights:"):
                open_review(row.id)
            if row.video_path is not None and row.video_path.is_file():
                b2.download_button(
                    "Annotated video", row.video_path.read_bytes(),
                    file_name=f"formcheck-{row.id}.mp4", mime="video/mp4",
                    icon=":material/download:",
                )  # fmt: skip
            if b3.button("Delete", icon=":material/delete:", key="delete_session"):
                _confirm_delete(row.id, components.session_label(row))
    else:
        st.caption("Select a row to open, annotate, download or delete that session.")

    if rows:
        st.subheader("Export")
        e1, e2 = st.columns(2)
        e1.download_button(
            "Sessions (CSV)", store.export_csv(rows), file_name="formcheck-history.csv",
            mime="text/csv", icon=":material/download:",
        )  # fmt: skip
        e2.download_button(
            "Full reports (JSON)", store.export_json(rows), file_name="formcheck-history.json",
            mime="application/json", icon=":material/download:",
        )  # fmt: skip
    st.caption(f"Stored in {store.data_dir} — videos never leave this computer.")


main()
