"""History: every analysed session on this machine, filterable by lift and date, with trends,
export and delete."""

from __future__ import annotations

import datetime as dt
import math

import streamlit as st

from formcheck.history import History, SessionRow
from formcheck.ui import charts, components
from formcheck.ui.common import PAGE, history, open_review


def _session_actions(store: History, rows: list[SessionRow]) -> None:
    by_id = {r.id: r for r in rows}
    with st.container(border=True):
        sid = st.selectbox(
            "Session", list(by_id), format_func=lambda i: components.session_label(by_id[i]),
            key="history_session",
        )  # fmt: skip
        row = by_id[sid]
        note = st.text_input(
            "Note (load, how it felt)", value=row.note, key=f"note_{row.id}",
            placeholder="e.g. 100 kg x 5, felt heavy",
        )  # fmt: skip
        if note.strip() != row.note:
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
        if st.session_state.get("confirm_delete") != row.id:
            if b3.button("Delete", icon=":material/delete:", key="delete_session"):
                st.session_state["confirm_delete"] = row.id
                st.rerun()
        else:
            st.warning(
                "Delete this session? Its report, annotated video and original video are removed "
                "from this computer."
            )
            c1, c2 = st.columns(2)
            if c1.button("Yes, delete", type="primary", key="confirm_delete_yes"):
                store.delete_session(row.id)
                st.session_state.pop("confirm_delete", None)
                if st.session_state.get("review_session") == row.id:
                    st.session_state.pop("review_session")
                st.toast("Session deleted", icon=":material/delete:")
                st.rerun()
            if c2.button("Cancel", key="confirm_delete_no"):
                st.session_state.pop("confirm_delete", None)
                st.rerun()


def _whole(value: float | None) -> int | None:
    return None if value is None or not math.isfinite(value) else round(value)


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
    since, until = (
        (span[0], span[1]) if isinstance(span, tuple) and len(span) == 2 else (None, None)
    )
    rows = store.sessions(exercises=chosen or None, since=since, until=until)
    if not chosen:
        rows = []
    st.caption(f"{len(rows)} of {len(everything)} sessions")

    if rows:
        st.plotly_chart(charts.history_figure(rows), width="stretch")

    table = [
        {
            "Session": f"#{r.id}",
            "Date": r.created.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            "Lift": r.exercise.capitalize(),
            "Video": r.source_name,
            "From": "Live" if r.origin == "live" else "Upload",
            "Reps": r.n_reps,
            "Flagged": r.n_flagged,
            "Flag rate": None if math.isnan(r.flag_rate) else round(100 * r.flag_rate),
            "Peak rounding (°)": _whole(r.peak_rounding_deg),
            "Peak arching (°)": _whole(r.peak_arching_deg),
            "Note": r.note,
        }
        for r in rows
    ]
    st.dataframe(
        table, hide_index=True, width="stretch",
        column_config={
            "Flag rate": st.column_config.ProgressColumn(
                "Flag rate", format="%d%%", min_value=0, max_value=100
            ),
        },
    )  # fmt: skip
    if rows:
        _session_actions(store, rows)

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
