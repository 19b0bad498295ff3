"""Building blocks the pages share: the session header, the rep table, flagged-rep cards, guidance
blocks and filming tips. They only lay out what the report and the guidance data already say."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from formcheck.faults import load_rules
from formcheck.guidance import load_guidance
from formcheck.history import SessionRow
from formcheck.notices import count_words, reps_words
from formcheck.report import FaultReport, RepReport, SessionReport, Verdict, verdict_line
from formcheck.ui import media
from formcheck.ui.common import Cleanup, fault_title, fmt_deg, fmt_duration, fmt_value

#: Columns of the rep table per lift: (fault code, column heading).
REP_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "squat": [
        ("back_rounding", "Back rounding"),
        ("back_overarch", "Arching"),
        ("shallow_depth", "Depth"),
        ("forward_lean", "Trunk lean"),
    ],
    "deadlift": [
        ("back_rounding", "Back rounding"),
        ("back_overarch", "Arching"),
        ("hips_rise_early", "Hips rise first"),
        ("incomplete_lockout", "Hip bend at the top"),
    ],
}
SPINE_CODES = ("back_rounding", "back_overarch")


def limits_for(report: SessionReport) -> dict[str, float]:
    """Fault thresholds that applied to this session: those on its checks, else the preset's."""
    limits: dict[str, float] = {}
    try:
        rules = load_rules(report.preset).rules
        limits = {str(code): rule.threshold for code, rule in rules.items()}
    except ValueError:
        pass
    for rep in report.reps:
        for check in rep.checks:
            if math.isfinite(check.threshold):
                limits[str(check.code)] = check.threshold
    return limits


def rep_measure(rep: RepReport, code: str) -> float | None:
    """The value the rep's check compared with its threshold (None when not judged or not in the
    report): the one number every view of the rep shows."""
    check = rep.check(code)
    return check.value if check is not None else None


def _measure_text(code: str, value: float | None, unit: str = "deg") -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if code == "shallow_depth":
        return f"{abs(value):.0f}° {'below' if value < 0 else 'above'} parallel"
    return fmt_value(value, unit)


#: The mark before a rep's verdict line, by its verdict.
VERDICT_MARK = {Verdict.FLAGGED: "⚠", Verdict.OK: "✓", Verdict.NOT_JUDGED: "?"}


def rep_result(rep: RepReport) -> str:
    """The rep's verdict line (report.verdict_line, as the CLI prints it) with its mark."""
    return f"{VERDICT_MARK[rep.verdict]} {verdict_line(rep)}" + (
        " (partial)" if rep.partial else ""
    )


def rep_table_rows(report: SessionReport, limits: dict[str, float]) -> list[dict[str, Any]]:
    """One row per rep: its verdict line, time, and each check's value (its limit in the column
    heading), marked ⚠ where flagged, "not judged" where the check gave no verdict."""
    rows = []
    columns = REP_COLUMNS.get(report.exercise, REP_COLUMNS["squat"])
    for rep in report.reps:
        row: dict[str, Any] = {
            "Rep": rep.index,
            "Result": rep_result(rep),
            "Time": f"{rep.start_s:.1f}–{rep.end_s:.1f} s",
        }
        for code, heading in columns:
            if code in limits:
                heading += f" (limit {_measure_text(code, limits[code])})"
            check = rep.check(code)
            if check is None:
                row[heading] = "–"
            elif check.verdict is Verdict.NOT_JUDGED:
                row[heading] = "not judged"
            else:
                text = _measure_text(code, check.value, check.unit)
                row[heading] = ("⚠ " if check.verdict is Verdict.FLAGGED else "") + text
        row["Flags"] = ", ".join(fault_title(f.code) for f in rep.faults) or "—"
        rows.append(row)
    return rows


def failure(error: str, hint: str = "", detail: str = "") -> None:
    """An analysis that produced nothing: what happened, what to do, details for a bug report."""
    st.error(error, icon=":material/error:")
    if hint:
        st.info(hint, icon=":material/lightbulb:")
    if detail:
        with st.expander("Details"):
            st.code(detail, language=None)


def lost_by_restart(cleaned: Cleanup) -> None:
    """Name the analyses that stopped with the last run of formcheck's server (their unfinished
    files were swept at this start) and say what to do, until dismissed in this browser session."""
    if not cleaned.interrupted or st.session_state.get("interrupted_noticed"):
        return
    st.warning(
        "formcheck's server stopped while analysing " + ", ".join(cleaned.interrupted) + ": that "
        "analysis was not saved and its unfinished files were removed. Upload the video again and "
        "press Analyse, or record the set again on the Live page.",
        icon=":material/restart_alt:",
    )
    if st.button("Dismiss", key="dismiss_interrupted"):
        st.session_state["interrupted_noticed"] = True
        st.rerun()


def session_title(report: SessionReport) -> str:
    lift = report.exercise.capitalize() if report.exercise != "unknown" else "Lift"
    return f"{lift} · {report.source.name}"


def _reps_phrase(report: SessionReport) -> str:
    """ "3 reps", or "4 reps (1 partial)" when the set ends in or holds partial reps."""
    partial = report.summary["n_partial_reps"]
    return count_words(len(report.reps), "rep") + (f" ({partial} partial)" if partial else "")


def verdict(report: SessionReport) -> tuple[str, str]:
    """(headline, colour) for the whole set, from the reps' verdicts (RepReport.verdict)."""
    n, flagged = len(report.reps), report.summary["n_flagged_reps"]
    if n == 0:
        return "No complete reps were found in this video.", "orange"
    reps = _reps_phrase(report)
    unjudged = [r.index for r in report.reps if r.verdict is Verdict.NOT_JUDGED]
    back = back_not_judged(report)
    if flagged == 0 and len(back) == n:
        return (
            f"Nothing flagged in {reps}, but your back could not be judged in this video.",
            "orange",
        )
    if flagged == 0 and unjudged:
        return (
            f"Nothing flagged in {reps}, but not every check could be judged in "
            f"{reps_words(unjudged)}.",
            "orange",
        )
    if flagged == 0:
        every = "Both" if n == 2 else "All"
        good = "The rep looked good." if n == 1 else f"{every} {reps} looked good."
        return good, "green"
    codes = sorted({str(f.code) for r in report.reps for f in r.faults})
    what = ", ".join(fault_title(c).lower() for c in codes)
    return f"{flagged} of {reps} flagged: {what}.", "red"


def back_not_judged(report: SessionReport) -> set[int]:
    """Reps whose back (rounding and arching) could not be judged."""
    out = set()
    for rep in report.reps:
        back = [rep.check(code) for code in SPINE_CODES]
        checks = [c for c in back if c is not None]
        if checks and all(c.verdict is Verdict.NOT_JUDGED for c in checks):
            out.add(rep.index)
    return out


def summary_metrics(report: SessionReport, limits: dict[str, float]) -> None:
    n = len(report.reps)
    flagged = report.summary["n_flagged_reps"]
    peak = report.peak("back_rounding")
    cols = st.columns(4)
    partial = report.summary["n_partial_reps"]
    cols[0].metric(
        "Reps",
        f"{n - partial} + {partial} partial" if partial else n,
        help="Full reps, and reps that stopped short of the full range." if partial else None,
        border=True,
    )
    cols[1].metric("Flagged", flagged, border=True)
    limit = limits.get("back_rounding")
    cols[2].metric(
        "Peak back rounding",
        fmt_deg(peak),
        help="Most the back rounded past a neutral back in any rep (the same value as the rep table)"
        + (f" (limit {limit:.0f}°)." if limit else "."),
        border=True,
    )
    cols[3].metric(
        "Lifter found",
        f"{report.detection_rate:.0%}",
        help="Share of frames in which formcheck found the lifter.",
        border=True,
    )


def warnings(report: SessionReport) -> None:
    """The session's notices, each with its advice."""
    for n in report.notices:
        text = f"**{n.message}**" + (f"  \n{n.advice}" if n.advice else "")
        st.warning(text, icon=":material/info:")


def fault_guidance(report: SessionReport, code: str) -> dict[str, Any] | None:
    """The session's chosen guidance for a fault code (report.guidance['faults'] entry)."""
    for entry in report.guidance.get("faults", []) or []:
        if entry.get("code") == code:
            return dict(entry)
    return None


def source_line(sources: list[str]) -> str:
    lib = load_guidance()
    names = [lib.sources.get(s, s).split(":")[0].strip() for s in sources]
    return "Sources: " + "; ".join(dict.fromkeys(names)) if names else ""


def key_time(rep: RepReport, fault: FaultReport, table: dict[str, Any]) -> float:
    """When to show a fault: the frame where the back was furthest out within the fault's span
    (spine faults, from angles.csv), else the rep's turning point."""
    t = table.get("t_s")
    column = {"back_rounding": "back_rounding_deg", "back_overarch": "back_arching_deg"}.get(
        fault.code, ""
    )
    sign = 1.0
    if column not in table:  # a session stored before the back curves were in angles.csv
        column, sign = "spine_flex_rel_deg", (1.0 if fault.code == "back_rounding" else -1.0)
    if fault.code in SPINE_CODES and t is not None and column in table:
        inside = (t >= fault.start_s) & (t <= fault.end_s)
        values = sign * np.asarray(table[column], dtype=np.float64)
        values = np.where(inside, values, np.nan)
        if np.isfinite(values).any():
            return float(t[int(np.nanargmax(values))])
    return rep.bottom_s


def flagged_rep_card(
    rep: RepReport, report: SessionReport, table: dict[str, Any], video: Path | None
) -> None:
    with st.container(border=True):
        faults = sorted(rep.faults, key=lambda f: f.severity != "major")
        main = faults[0]
        left, right = st.columns([2, 3], gap="medium")
        with left:
            if video is not None and video.is_file():
                t = key_time(rep, main, table)
                frame = _cached_frame(str(video), round(t, 2))
                if frame is not None:
                    st.image(frame, caption=f"Rep {rep.index} at {t:.1f} s", width="stretch")
                with st.expander("Watch this rep"):
                    st.video(
                        str(video), start_time=max(rep.start_s - 0.3, 0.0),
                        end_time=rep.end_s + 0.3, loop=True, muted=True,
                    )  # fmt: skip
        with right:
            st.markdown(f"#### Rep {rep.index}: {fault_title(main.code)}")
            for fault in faults:
                major = fault.severity == "major"
                st.badge(
                    f"{fault_title(fault.code)} · {fmt_value(fault.value, fault.unit)} "
                    f"(limit {fmt_value(fault.threshold, fault.unit)}) · "
                    f"{fault.confidence:.0%} sure",
                    color="red" if major else "orange",
                )
                st.markdown(fault.message)
                if fault.cue:
                    st.html(f'<div class="fc-cue">Cue: {fault.cue}</div>')
                chosen = fault_guidance(report, fault.code)
                if chosen is not None:
                    g = chosen["guidance"]
                    st.markdown(f"**Why it matters.** {g['why_it_matters']}")
                    with st.expander("How to fix it"):
                        for item in g.get("change_now", []):
                            st.markdown(f"- {item}")
                        drills = chosen.get("drills") or g.get("drills") or []
                        if drills:
                            st.markdown("**Drills**")
                            for d in drills:
                                st.markdown(f"- **{d['name']}**: {d['how']}")
                        st.caption(source_line(list(g.get("sources", []))))


@st.cache_data(max_entries=64, show_spinner=False)
def _cached_frame(video: str, t_s: float) -> Any:
    return media.frame_at(Path(video), t_s)


def what_to_work_on(report: SessionReport) -> None:
    """Session guidance: one block per fault code (most important first), or the clean note."""
    g = report.guidance or {}
    if g.get("clean") and report.reps and len(back_not_judged(report)) == len(report.reps):
        st.info(
            "Nothing was flagged, but formcheck could not see the outline of your back clearly "
            "enough to judge rounding or arching. Film again from the side, in good light and "
            "fitted clothing, with your whole body in view.",
            icon=":material/visibility_off:",
        )
        return
    if g.get("clean"):
        st.success(g.get("message") or "No faults in this set.", icon=":material/check_circle:")
        return
    for entry in g.get("faults", []) or []:
        guide = entry["guidance"]
        with st.container(border=True):
            st.markdown(f"**{guide['title']}** — {reps_words(entry.get('reps', []))}")
            if entry.get("context"):
                st.markdown(entry["context"])
            st.html(f'<div class="fc-cue">Cue: {guide["cue"]}</div>')
            st.caption(source_line(list(guide.get("sources", []))))


def prevention_and_red_flags(report: SessionReport) -> None:
    g = report.guidance or {}
    tips = g.get("prevention", []) or []
    if tips:
        st.markdown("**Prevention**")
        for tip in tips:
            st.markdown(f"- **{tip['title']}** {tip['text']}")
        st.caption(source_line([t["source"] for t in tips]))
    flags = g.get("red_flags", []) or []
    if flags:
        st.markdown(f"**{g.get('red_flags_heading') or 'When to see a professional'}**")
        for flag in flags:
            st.markdown(f"- {flag['text']}")
    if g.get("disclaimer"):
        st.caption(g["disclaimer"])


def filming_tips(compact: bool = False) -> None:
    from formcheck.ui import diagram

    with st.container(border=True):
        st.markdown("**Film it so formcheck can see your back**")
        st.image(diagram.filming_svg(), width="stretch")
        tips = [
            "Side-on: the camera looks at your left or right side.",
            "Whole body in the picture, head to feet, for the whole set.",
            "Camera at hip height and level, 3–4 m away, on a stand.",
            "Good light; avoid baggy clothes over your back.",
        ]
        st.markdown("\n".join(f"- {t}" for t in (tips[:3] if compact else tips)))


def session_label(row: SessionRow) -> str:
    """Unique per session: local time to the second and the session's number (#id)."""
    flagged = f"{row.n_flagged}/{row.n_reps} flagged" if row.n_reps else "no reps"
    return (
        f"{session_time(row)} · #{row.id} · {row.exercise.capitalize()} · {row.source_name} · "
        f"{flagged}"
    )


def session_time(row: SessionRow) -> str:
    """When the session was analysed, local time to the second (e.g. '01 Mar 2026 11:00:05')."""
    return row.created.astimezone().strftime("%d %b %Y %H:%M:%S")


def duration(seconds: float) -> str:
    return fmt_duration(seconds)
