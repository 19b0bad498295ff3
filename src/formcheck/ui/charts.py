"""Plotly figures for the review and history pages (built from stored files; no analysis here).

frame_table(angles.csv)               -> {column: array} of the pipeline's per-frame table
angles_figure(table, report, limits)  -> trunk/hip/knee angles and the spine curve over time,
                                         reps shaded (green clean, red flagged), faults darker
rep_trend_figure(report, limits)      -> how each rep's numbers changed through the set
history_figure(sessions)              -> flag rate and peak back rounding per session
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray
from plotly.subplots import make_subplots

from formcheck.faults import signed_back_deg
from formcheck.history import SessionRow
from formcheck.report import RepReport, SessionReport

FloatArray = NDArray[np.float64]

GOOD = "#059669"
BAD = "#DC2626"
WARN = "#D97706"
INK = "#0F172A"
MUTED = "#94A3B8"
ANGLE_COLOURS = {"trunk_incl_deg": "#2563EB", "hip_flex_deg": "#9333EA", "knee_flex_deg": "#0D9488"}
ANGLE_NAMES = {
    "trunk_incl_deg": "Trunk lean",
    "hip_flex_deg": "Hip bend",
    "knee_flex_deg": "Knee bend",
}
LIFT_COLOURS = {"squat": "#2563EB", "deadlift": "#9333EA"}
_TEXT_COLUMNS = ("view", "phase")


def frame_table(path: Path) -> dict[str, Any]:
    """angles.csv as columns: numbers as float arrays (empty cell = NaN), text as lists."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    table: dict[str, Any] = {}
    for name in rows[0]:
        if name in _TEXT_COLUMNS:
            table[name] = [r[name] for r in rows]
        else:
            table[name] = np.array([_num(r[name]) for r in rows], dtype=np.float64)
    return table


def _num(text: str | None) -> float:
    try:
        return float(text) if text else math.nan
    except ValueError:
        return math.nan


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        plot_bgcolor="white",
        paper_bgcolor="white",
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        font={"color": INK},
    )
    fig.update_xaxes(showgrid=True, gridcolor="#EEF2F6", zeroline=False)
    fig.update_yaxes(showgrid=True, gridcolor="#EEF2F6", zeroline=False)
    return fig


def _shade_reps(fig: go.Figure, reps: Sequence[RepReport], rows: Sequence[int]) -> None:
    for rep in reps:
        colour = "rgba(220,38,38,0.08)" if rep.flagged else "rgba(5,150,105,0.07)"
        for row in rows:
            fig.add_vrect(
                x0=rep.start_s, x1=rep.end_s, fillcolor=colour, line_width=0, layer="below",
                row=row, col=1,
            )  # fmt: skip
            for fault in rep.faults:
                fig.add_vrect(
                    x0=fault.start_s, x1=max(fault.end_s, fault.start_s + 0.05),
                    fillcolor="rgba(220,38,38,0.22)", line_width=0, layer="below", row=row, col=1,
                )  # fmt: skip
        fig.add_annotation(
            x=(rep.start_s + rep.end_s) / 2, y=1.0, yref="paper", yanchor="bottom",
            text=f"Rep {rep.index}", showarrow=False,
            font={"color": BAD if rep.flagged else GOOD, "size": 12},
        )  # fmt: skip


def angles_figure(
    table: Mapping[str, Any], report: SessionReport, limits: Mapping[str, float]
) -> go.Figure:
    """Joint angles (top) and spine flexion vs neutral (bottom) over time.

    limits: fault thresholds by code ("back_rounding", "back_overarch") for the spine's limit lines.
    """
    # the back in the verdicts' terms where angles.csv has them; older sessions: vs own neutral
    if "back_rounding_deg" in table:
        spine_y = signed_back_deg(table["back_rounding_deg"], table["back_arching_deg"])
        spine_axis = "back vs neutral (°)"
    else:
        spine_y = np.asarray(table.get("spine_flex_rel_deg", np.zeros(0)), dtype=np.float64)
        spine_axis = "back vs your neutral (°)"
    has_spine = bool(np.isfinite(spine_y).any())
    rows = 2 if has_spine else 1
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        row_heights=[0.5, 0.5][:rows],
    )  # fmt: skip
    t = table.get("t_s", np.zeros(0))
    for name, colour in ANGLE_COLOURS.items():
        if name in table:
            fig.add_trace(
                go.Scatter(
                    x=t, y=np.round(table[name], 1), name=ANGLE_NAMES[name], mode="lines",
                    line={"color": colour, "width": 2}, hovertemplate="%{y:.0f}°",
                ),
                row=1, col=1,
            )  # fmt: skip
    fig.update_yaxes(title_text="joint angles (°)", row=1, col=1)
    if has_spine:
        fig.add_trace(
            go.Scatter(
                x=t, y=np.round(spine_y, 1),
                name="Spine (+ rounding, − arching)", mode="lines",
                line={"color": INK, "width": 2.5}, hovertemplate="%{y:+.0f}°",
            ),
            row=2, col=1,
        )  # fmt: skip
        fig.add_hline(y=0, line={"color": MUTED, "width": 1}, row=2, col=1)
        if "back_rounding" in limits:
            fig.add_hline(
                y=limits["back_rounding"], line={"color": BAD, "dash": "dash", "width": 1.5},
                annotation_text=f"rounding limit {limits['back_rounding']:.0f}°",
                annotation_position="top left", row=2, col=1,
            )  # fmt: skip
        if "back_overarch" in limits:
            fig.add_hline(
                y=-limits["back_overarch"], line={"color": WARN, "dash": "dash", "width": 1.5},
                annotation_text=f"arching limit −{limits['back_overarch']:.0f}°",
                annotation_position="bottom left", row=2, col=1,
            )  # fmt: skip
        fig.update_yaxes(title_text=spine_axis, row=2, col=1)
    fig.update_xaxes(title_text="time (s)", row=rows, col=1)
    _shade_reps(fig, report.reps, list(range(1, rows + 1)))
    fig = _layout(fig, 580 if has_spine else 350)
    fig.update_layout(legend={"y": 1.07}, margin={"t": 70})  # above the rep labels
    return fig


def _check_values(reps: Sequence[RepReport], code: str) -> list[float | None]:
    """Per rep, the value its check `code` compared with the limit (None where not judged)."""
    out: list[float | None] = []
    for rep in reps:
        check = rep.check(code)
        value = check.value if check is not None else None
        out.append(value if value is not None and math.isfinite(value) else None)
    return out


def _angle_max(reps: Sequence[RepReport], name: str) -> list[float | None]:
    return [r.angles[name].max if name in r.angles else None for r in reps]


def rep_trend_figure(report: SessionReport, limits: Mapping[str, float]) -> go.Figure:
    """Per rep: back rounding as its check measured it (with its limit), trunk lean at its deepest,
    and rep duration."""
    reps = report.reps
    x = [f"Rep {r.index}" for r in reps]
    colours = [BAD if r.flagged else GOOD for r in reps]
    fig = make_subplots(
        rows=1, cols=3, horizontal_spacing=0.08,
        subplot_titles=["Back rounding", "Most trunk lean", "Rep duration"],
    )  # fmt: skip
    flex = _check_values(reps, "back_rounding")
    lean = _angle_max(reps, "trunk_incl_deg")
    duration = [r.duration_s for r in reps]
    for col, values, unit in ((1, flex, "°"), (2, lean, "°"), (3, duration, " s")):
        fig.add_trace(
            go.Bar(
                x=x, y=values, marker_color=colours, showlegend=False,
                hovertemplate="%{x}: %{y:.1f}" + unit + "<extra></extra>",
            ),
            row=1, col=col,
        )  # fmt: skip
    if "back_rounding" in limits:
        fig.add_hline(
            y=limits["back_rounding"], line={"color": BAD, "dash": "dash", "width": 1.5},
            row=1, col=1,
        )  # fmt: skip
    fig.update_yaxes(title_text="degrees", row=1, col=1)
    fig.update_yaxes(title_text="degrees", row=1, col=2)
    fig.update_yaxes(title_text="seconds", row=1, col=3)
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, 300)


def fatigue_note(report: SessionReport) -> str:
    """One plain sentence on how the back and the tempo changed from the first to the last rep."""
    reps = report.reps
    if len(reps) < 3:
        return "Fewer than three reps: not enough to see a trend through the set."
    flex = [v for v in _check_values(reps, "back_rounding") if v is not None]
    half = len(reps) // 2
    parts = []
    if len(flex) >= 3:
        early, late = float(np.mean(flex[:half] or flex[:1])), float(np.mean(flex[half:]))
        change = late - early
        if change >= 3:
            parts.append(
                f"your back rounded more as the set went on ({early:.0f}° in the first half, "
                f"{late:.0f}° in the second): a sign of fatigue"
            )
        elif change <= -3:
            parts.append(f"your back rounded less later in the set ({early:.0f}° → {late:.0f}°)")
        else:
            parts.append(f"your back stayed consistent from rep to rep (within {abs(change):.0f}°)")
    durations = [r.duration_s for r in reps]
    slow = float(np.mean(durations[half:])) / max(float(np.mean(durations[:half])), 1e-6)
    if slow >= 1.25:
        parts.append(f"the later reps took {slow - 1:.0%} longer, so the set was getting hard")
    if not parts:
        return "Not enough back measurements to see a trend through the set."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def history_figure(sessions: Sequence[SessionRow]) -> go.Figure:
    """Flag rate (share of reps flagged) and peak back rounding (the value the review's headline
    shows), one point per session, by lift."""
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.08,
        subplot_titles=["Flagged reps per session", "Peak back rounding per session"],
    )  # fmt: skip
    ordered = sorted(sessions, key=lambda s: s.created_utc)
    for lift in sorted({s.exercise for s in ordered}):
        mine = [s for s in ordered if s.exercise == lift]
        colour = LIFT_COLOURS.get(lift, MUTED)
        when = [s.created for s in mine]
        rate = [None if math.isnan(s.flag_rate) else round(100 * s.flag_rate) for s in mine]
        peak = [s.peak_rounding_deg for s in mine]
        labels = [f"{s.source_name} ({s.n_flagged}/{s.n_reps} reps)" for s in mine]
        common = {"mode": "lines+markers", "line": {"color": colour, "width": 2},
                  "marker": {"size": 8}, "text": labels}  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=when, y=rate, name=lift.capitalize(), legendgroup=lift,
                hovertemplate="%{text}<br>%{y}% flagged<extra></extra>", **common,
            ),
            row=1, col=1,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=when, y=peak, name=lift.capitalize(), legendgroup=lift, showlegend=False,
                hovertemplate="%{text}<br>peak %{y:.0f}°<extra></extra>", **common,
            ),
            row=1, col=2,
        )  # fmt: skip
    fig.update_yaxes(title_text="% of reps", range=[-5, 105], row=1, col=1)
    fig.update_yaxes(title_text="degrees past neutral", rangemode="tozero", row=1, col=2)
    fig = _layout(fig, 330)
    fig.update_xaxes(tickformat="%d %b")
    if ordered:
        first, last = ordered[0].created, ordered[-1].created
        if last - first < dt.timedelta(days=2):  # a day or two: show a week, not milliseconds
            middle = first + (last - first) / 2
            fig.update_xaxes(range=[middle - dt.timedelta(days=3), middle + dt.timedelta(days=3)])
    return fig
