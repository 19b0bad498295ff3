"""The annotated video: the clip again, with what formcheck measured drawn on each frame.

Skeleton, the measured back outline with its two tangents, live angles, a back gauge whose needle
follows the back frame by frame (rounding and arching in the verdicts' terms, faults.back_curves),
a rep counter, and a banner with the fault and its cue on the reps that have one.
The back's numbers on the video are the report's: from a rep's start until the next rep starts,
the panel shows the values that rep's back checks compared (RepReport.checks), the numbers of its
review and its flag; the outline and the needle carry no number of their own.
Composition only: the drawing primitives and the H.264 writer live in render.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from formcheck import render
from formcheck.faults import FaultCode, signed_back_deg
from formcheck.guidance import cue_for
from formcheck.report import RepReport, Verdict
from formcheck.video import iter_frames, prefetch

if TYPE_CHECKING:
    from formcheck.pipeline import Analysis

#: How long a fault banner stays up after its rep ends, seconds.
BANNER_HOLD_S = 1.5
#: x264 speed preset for the annotated video: ultrafast encodes ~2x faster than veryfast at 720p
#: (files ~2x larger), which keeps rendering well below the pose model's cost per frame.
ENCODER_PRESET = "ultrafast"


def _fmt(value: float, unit: str = "°") -> str:
    return f"{value:.0f}{unit}" if np.isfinite(value) else "–"


#: The back checks on the video's panel, with their words.
BACK_CHECKS = ((FaultCode.BACK_ROUNDING, "rounding"), (FaultCode.BACK_OVERARCH, "arching"))


def angle_line(view: str, trunk_deg: float, hip_deg: float, knee_deg: float) -> str | None:
    """The frame's joint angles for the video's panel, or None from the front or behind: they are
    bends in the side view's plane, which a frontal camera sees foreshortened."""
    if view not in ("side", "oblique"):
        return None
    return f"Trunk {_fmt(trunk_deg)}   Hip {_fmt(hip_deg)}   Knee {_fmt(knee_deg)}"


def rep_at(reps: Sequence[RepReport], t_s: float) -> RepReport | None:
    """The rep whose numbers the video shows at t_s: from its start until the next rep starts
    (the last one until BANNER_HOLD_S after its end); None before the first rep and after that."""
    current = None
    for rep in reps:
        if rep.start_s <= t_s:
            current = rep
    if current is not None and current is reps[-1] and t_s > current.end_s + BANNER_HOLD_S:
        return None
    return current


def back_line(rep: RepReport) -> str | None:
    """The rep's back in the report's numbers, as its review shows them ("Rep 2 back: rounding
    21° (flagged), arching 2°"; a check without a verdict reads "not judged"); None when the rep
    has no back check."""
    parts = []
    for code, word in BACK_CHECKS:
        check = rep.check(code)
        if check is None:
            continue
        if check.verdict is Verdict.NOT_JUDGED or check.value is None:
            parts.append(f"{word} not judged")
        else:
            whole = round(check.value)
            parts.append(
                f"{word} {whole}°" + (" (flagged)" if check.verdict is Verdict.FLAGGED else "")
            )
    return f"Rep {rep.index} back: " + ", ".join(parts) if parts else None


def write_annotated_video(
    analysis: Analysis,
    path: Path,
    progress: Callable[[int, int, str], None],
    source: Path | None = None,
) -> None:
    """Draw the overlays on the frames of `source` (the analysed video, analysis.info.path unless
    given: the same frames moved elsewhere) and write them to `path` (atomically)."""
    report = analysis.report
    a = analysis.angles
    back = signed_back_deg(analysis.evaluation.rounding_deg, analysis.evaluation.arching_deg)
    rep_ends = np.array([r.end_s for r in report.reps])
    spans = [
        (
            f.start_s,
            f.end_s + BANNER_HOLD_S,
            f"Rep {f.rep_index}: {f.message}",
            cue_for(str(f.code)),
            str(f.severity),
        )
        for f in sorted(analysis.faults, key=lambda f: (f.start_s, f.severity != "major"))
    ]
    rounding = next(
        (f.threshold for f in analysis.faults if f.code == FaultCode.BACK_ROUNDING), None
    )
    threshold = rounding if rounding is not None else _rounding_threshold(analysis)
    spine_ok = report.view in ("side",)
    title = f"{report.exercise.upper()}  ·  {report.view} view"
    n = len(a)
    with render.H264Writer(
        path, report.fps, analysis.info.width, analysis.info.height, preset=ENCODER_PRESET
    ) as writer:
        for i, frame in enumerate(prefetch(iter_frames(source or analysis.info.path))):
            if i >= n:
                break
            img = frame.image_bgr
            render.draw_skeleton(img, analysis.pose.xy_px[i], analysis.pose.visibility[i])
            if spine_ok:
                render.draw_back_contour(img, analysis.back[i], math.nan)  # no per-frame number
            t = frame.t_s
            lines = [title]
            angles = angle_line(
                report.view, a.trunk_incl_deg[i], a.hip_flex_deg[i], a.knee_flex_deg[i]
            )
            if angles is not None:
                lines.append(angles)
            rep = rep_at(report.reps, t) if spine_ok else None
            line = back_line(rep) if rep is not None else None
            if line is not None:
                lines.append(line)
            active = [sp for sp in spans if sp[0] <= t <= sp[1]]
            banner = f"{active[0][2]}  —  {active[0][3]}" if active else None
            render.draw_hud(
                img, lines, int((rep_ends <= t).sum()), banner, active[0][4] if active else None
            )
            if spine_ok and np.isfinite(back[i]):
                render.draw_spine_gauge(img, float(back[i]), threshold, show_value=False)
            writer.write(img, t_s=t)
            if i % 10 == 0:
                progress(i + 1, n, "rendering")
    progress(n, n, "rendering")


def _rounding_threshold(analysis: Analysis) -> float:
    from formcheck.faults import load_rules

    rules = load_rules(analysis.options.preset, dict(analysis.options.threshold_overrides))
    return float(rules.threshold(FaultCode.BACK_ROUNDING))
