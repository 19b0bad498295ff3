"""Composition only: a video in, a SessionReport (and its files) out.

    analyze(path, options, progress)             -> Analysis (everything the stages produced)
      = measure_frames (pass 1, the pixels) then analyze_measured (every later stage)
    write_report(analysis, out_dir)              -> SessionReport with report.json, angles.csv
    write_video(analysis, report, out_dir, ...)  -> the same with the annotated video added
    write_outputs(analysis, out_dir, progress)   -> both of the above
    analyze_to_dir(path, out_dir, options, ...)  -> analyze, then write_outputs

Pass 1 streams the frames once through pose + back measurement (the only per-frame work that needs the
pixels); everything after works on small per-frame arrays. Where the pose model found the lifter only
after a gap (a hidden head at the start, a lost stretch mid-set), pass 1 ends by tracking backwards
from that frame into the gap (backfill), which decodes the file once more up to the last such gap.
Pass 2 (optional) decodes again and draws the annotated H.264 video. Memory does not grow with the
video's length beyond those arrays.

Where the time goes (2-core CPU, 720p): the pose model runs on ONE core (~22 ms a frame), so pass 1 keeps
the other core busy with decoding (video.prefetch), the people counter (pose.py) and the back
measurement (a helper thread here). Pass 2 cannot start earlier: every overlay depends on the whole clip
(zero-phase filtered landmarks, the lifter's neutral spine, the rep count and fault spans, the title's
exercise and view), so it runs after analyze() as its own pipeline: decoding, drawing and encoding on
three threads (video.prefetch, annotate, render.H264Writer).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from formcheck import (
    __version__,
    annotate,
    faults,
    guidance,
    kinematics,
    reps,
    safefiles,
    signals,
    spine,
)
from formcheck.landmarks import PoseFrame, PoseSequence
from formcheck.pose import PoseEstimator, reused_estimator
from formcheck.report import (
    FaultReport,
    RepReport,
    SessionReport,
    WarningItem,
    atomic_write_text,
    csv_text,
)
from formcheck.video import VideoError, VideoInfo, iter_frames, prefetch, probe

#: progress(done, total, stage): called every few frames; stage is "analysing" or "rendering".
Progress = Callable[[int, int, str], None]

#: A frame-to-frame change of the downscaled picture above this (mean absolute grey level, 0-255) is a cut.
CUT_DIFF_LEVEL = 40.0
SHORT_CLIP_S = 1.5
MIN_DETECTION_RATE = 0.8
#: Frames whose back measurement may still be running while the pose model works on later frames.
BACK_IN_FLIGHT = 2
#: Tracking backwards (backfill): gaps without the lifter shorter than this are left to the signals'
#: interpolation; of a longer gap, at most its last BACKFILL_MAX_S (and BACKFILL_MAX_MB of frames
#: held for it) before the frame where the lifter was found again is tracked backwards.
BACKFILL_MIN_S = 0.25
BACKFILL_MAX_S = 4.0
BACKFILL_MAX_MB = 300.0


@dataclass(frozen=True)
class AnalysisOptions:
    exercise: str = "auto"  # auto | squat | deadlift
    preset: str = "beginner"
    write_video: bool = True
    threshold_overrides: Mapping[str, float] = field(default_factory=dict)
    # what the producer of the video knows about it, reported first (e.g. the live recorder's
    # "frames were lost": live.RecordedSet.gap_notice)
    input_warnings: tuple[WarningItem, ...] = ()


@dataclass(frozen=True)
class Analysis:
    info: VideoInfo
    options: AnalysisOptions
    pose: PoseSequence
    back: list[spine.BackSample]
    angles: kinematics.AngleSeries
    spine: spine.SpineSeries
    view: kinematics.ViewEstimate
    segmentation: reps.RepSegmentation
    evaluation: faults.Evaluation
    report: SessionReport

    @property
    def faults(self) -> list[faults.Fault]:
        return self.evaluation.faults


def _no_progress(done: int, total: int, stage: str) -> None:
    return None


@dataclass(frozen=True)
class PassOne:
    """What the one pass over the pixels yields, per frame in decoding order: t_s (seconds), the
    lifter's pose (masks dropped once used), the back measured from each frame's mask, plus the
    times of camera cuts and how many frames showed more than one person."""

    t_s: list[float]
    frames: list[PoseFrame]
    back: list[spine.BackSample]
    cuts_s: list[float]
    multi_person_frames: int


def analyze(
    path: Path, options: AnalysisOptions | None = None, progress: Progress | None = None
) -> Analysis:
    """Run every stage on one video. Raises VideoError for unreadable files; never for bad poses."""
    options = options or AnalysisOptions()
    path = Path(path)
    info = probe(path)
    rules = faults.load_rules(options.preset, dict(options.threshold_overrides))  # fails fast
    measured = measure_frames(path, info, progress or _no_progress)
    return analyze_measured(info, options, measured, rules)


def measure_frames(path: Path, info: VideoInfo, progress: Progress) -> PassOne:
    """Pass 1: decode, pose model, back measurement and cut detection, streaming (module docstring)."""
    t_s: list[float] = []
    frames = []
    back: list[spine.BackSample] = []
    in_flight: deque[Future[spine.BackSample]] = deque()
    cuts_s: list[float] = []
    prev_small: NDArray[np.float32] | None = None
    with (
        reused_estimator() as estimator,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="formcheck-back") as helper,
    ):
        for frame in prefetch(iter_frames(path)):
            pose_frame = estimator.detect(frame.image_bgr, frame.t_s)
            t_s.append(frame.t_s)
            # The back is measured on a helper thread while the pose model (one core) works on the
            # next frames; results are collected in frame order, at most BACK_IN_FLIGHT behind.
            in_flight.append(
                helper.submit(
                    spine.measure_back, pose_frame.mask, pose_frame.xy_px, pose_frame.visibility
                )
            )
            if len(in_flight) > BACK_IN_FLIGHT:
                back.append(in_flight.popleft().result())
            # the mask (H x W float32, 3.7 MB at 720p) is used up: do not keep it per frame
            frames.append(dataclasses.replace(pose_frame, mask=None))
            small = _thumbnail(frame.image_bgr)
            if prev_small is not None and float(np.abs(small - prev_small).mean()) > CUT_DIFF_LEVEL:
                cuts_s.append(frame.t_s)
            prev_small = small
            if frame.index % 10 == 0:
                progress(frame.index + 1, info.n_frames_estimate, "analysing")
        back.extend(future.result() for future in in_flight)
        multi_person_frames = estimator.multi_person_frames
    if not t_s:
        raise VideoError(path, "no decodable video frames", "re-export the clip as H.264 MP4")
    for i, pose_frame in backfill(path, info, t_s, frames, cuts_s):
        back[i] = spine.measure_back(pose_frame.mask, pose_frame.xy_px, pose_frame.visibility)
        frames[i] = dataclasses.replace(pose_frame, mask=None)
    progress(len(t_s), len(t_s), "analysing")
    return PassOne(t_s, frames, back, cuts_s, multi_person_frames)


def _backfill_spans(
    info: VideoInfo, t_s: list[float], frames: list[PoseFrame], cuts_s: list[float]
) -> list[tuple[int, int]]:
    """(first, found) frame index pairs: frames first..found-1 lack the lifter, who is found at
    `found`. Only gaps of at least BACKFILL_MIN_S, cut to their last BACKFILL_MAX_S and to
    BACKFILL_MAX_MB of frames, never reaching back over a camera cut."""
    t = np.asarray(t_s, dtype=np.float64)
    detected = np.array([f.detected for f in frames], dtype=bool)
    frame_mb = max(info.width * info.height * 3, 1) / 1e6
    max_frames = max(int(BACKFILL_MAX_MB / frame_mb), 1)
    cuts = np.asarray(cuts_s, dtype=np.float64)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], (~detected).astype(np.int8), [0]))))
    spans = []
    for first, found in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if found >= len(t) or t[found] - t[first] < BACKFILL_MIN_S:
            continue  # nobody found after the gap, or a gap the interpolation bridges
        lo = max(first, found - max_frames, int(np.searchsorted(t, t[found] - BACKFILL_MAX_S)))
        before_cut = cuts[cuts <= t[found]]
        if before_cut.size:
            lo = max(lo, int(np.searchsorted(t, before_cut.max())))
        if lo < found:
            spans.append((lo, found))
    return spans


def backfill(
    path: Path, info: VideoInfo, t_s: list[float], frames: list[PoseFrame], cuts_s: list[float]
) -> Iterator[tuple[int, PoseFrame]]:
    """Track the lifter backwards into the frames before each point where they were found again.

    The pose model's detector needs a clear view (the face, a whole body); its tracker, once locked
    on, follows a person through views it could not detect in. A back squat's near plate hiding the
    head at the start, a lifter walking in, a bad stretch mid-set: forward, those frames are lost
    until one where the detector succeeds. Here a fresh landmarker starts on that frame and is fed
    the frames before it in reverse order (timestamps still increasing: seconds back from it); it
    stops at the first frame where it loses the lifter. Yields (frame index, PoseFrame with its
    mask) for every frame it tracked, to replace the empty one. Costs one extra decode of the file
    up to the last such gap, and only when there is one (spans: _backfill_spans).
    """
    spans = _backfill_spans(info, t_s, frames, cuts_s)
    if not spans:
        return
    held: list[NDArray[np.uint8]] = []
    span_iter = iter(spans)
    lo, found = next(span_iter)
    for frame in iter_frames(path):
        if frame.index < lo:
            continue
        held.append(frame.image_bgr)
        if frame.index < found:
            continue
        yield from _track_backwards(lo, held, t_s)
        held = []
        nxt = next(span_iter, None)
        if nxt is None:
            return
        lo, found = nxt


def _track_backwards(
    lo: int, images: list[NDArray[np.uint8]], t_s: list[float]
) -> Iterator[tuple[int, PoseFrame]]:
    """images: frames lo..found, the last one showing the lifter (the forward result stays there)."""
    found = lo + len(images) - 1
    with PoseEstimator(people_check_s=0) as estimator:
        for i in range(found, lo - 1, -1):
            pose_frame = estimator.detect(images[i - lo], t_s[found] - t_s[i])
            if not pose_frame.detected:
                return
            if i < found:
                yield i, pose_frame


def analyze_measured(
    info: VideoInfo,
    options: AnalysisOptions,
    measured: PassOne,
    rules: faults.RuleSet | None = None,
) -> Analysis:
    """Everything after pass 1, on small per-frame arrays only (benchmarks/spine_lab.py replays
    cached pass-1 output through it). rules: faults.load_rules for the options, loaded when None."""
    t_s, back = measured.t_s, measured.back
    if rules is None:
        rules = faults.load_rules(options.preset, dict(options.threshold_overrides))
    raw = PoseSequence.from_frames(t_s, measured.frames, info.width, info.height)
    fps = _fps(raw.t_s, info.fps)
    clean = signals.clean_pose(raw, fps)
    view = kinematics.detect_view(clean)
    angles = kinematics.compute_angles(clean, view)
    if options.exercise in (reps.Exercise.SQUAT, reps.Exercise.DEADLIFT):
        exercise, exercise_conf, exercise_source = reps.Exercise(options.exercise), 1.0, "user"
    else:
        exercise, exercise_conf = reps.detect_exercise(angles, pose=clean)
        exercise_source = "auto"
    spine_series = spine.build_spine_series(
        raw.t_s,
        faults.back_readings(exercise, back),
        kinematics.standing_mask(angles),
        kinematics.hinge_band_mask(angles),
    )
    segmentation = (
        reps.segment_reps(angles, exercise)
        if exercise != reps.Exercise.UNKNOWN
        else reps.RepSegmentation(reps=[], phase_per_frame=np.full(len(t_s), "setup"))
    )
    evaluation = faults.evaluate(exercise, view, segmentation.reps, angles, spine_series, rules)

    warnings = [WarningItem(n.code, n.message, n.advice) for n in evaluation.notices]
    warnings = (
        list(options.input_warnings)
        + _input_warnings(
            raw,
            fps,
            measured.cuts_s,
            measured.multi_person_frames,
            exercise,
            exercise_conf if exercise_source == "auto" else None,
        )
        + warnings
    )
    report = _build_report(
        info,
        options,
        raw,
        fps,
        view,
        angles,
        spine_series,
        segmentation,
        evaluation,
        warnings,
        exercise,
        exercise_source,
        exercise_conf,
    )
    return Analysis(
        info=info,
        options=options,
        pose=clean,
        back=back,
        angles=angles,
        spine=spine_series,
        view=view,
        segmentation=segmentation,
        evaluation=evaluation,
        report=report,
    )


def _thumbnail(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    """32x18 grey thumbnail for cut detection (a strided view: no resize cost)."""
    h, w = image.shape[:2]
    small = image[:: max(h // 18, 1), :: max(w // 32, 1)][:18, :32]
    return np.asarray(small.mean(axis=2, dtype=np.float32), dtype=np.float32)


def _fps(t_s: NDArray[np.float64], nominal: float) -> float:
    if len(t_s) > 2:
        median_dt = float(np.median(np.diff(t_s)))
        if median_dt > 0:
            return 1.0 / median_dt
    return nominal if nominal > 0 else 30.0


def _input_warnings(
    seq: PoseSequence,
    fps: float,
    cuts_s: list[float],
    multi_person_frames: int,
    exercise: reps.Exercise,
    detected_confidence: float | None,
) -> list[WarningItem]:
    """What the input itself limits, as warnings. detected_confidence: detect_exercise's confidence
    when the lift was detected (None when the user named it)."""
    out: list[WarningItem] = []
    n = len(seq)
    rate = float(seq.detected.mean()) if n else 0.0
    duration = float(seq.t_s[-1] - seq.t_s[0]) if n > 1 else 0.0
    if rate == 0.0:
        out.append(
            WarningItem(
                "no_person",
                "No person was found in this video.",
                "Film the whole body from the side, 3-4 m away, in good light.",
            )
        )
    elif rate < MIN_DETECTION_RATE:
        out.append(
            WarningItem(
                "person_partly_missing",
                f"The lifter was found in only {rate:.0%} of the frames (out of view or hidden).",
                "Keep the whole body, feet to head, in the frame for the whole set.",
            )
        )
    if multi_person_frames > 0 and rate > 0:
        out.append(
            WarningItem(
                "multiple_people",
                f"More than one person was in view ({multi_person_frames / max(n, 1):.0%} of frames); "
                "formcheck followed the same lifter throughout.",
                "Check that the skeleton on the annotated video is on the right person.",
            )
        )
    if cuts_s:
        times = ", ".join(f"{t:.1f}s" for t in cuts_s[:5])
        out.append(
            WarningItem(
                "camera_cut",
                f"The video has {len(cuts_s)} camera cut(s) (at {times}).",
                "Reps across a cut may be miscounted; a single continuous shot works best.",
            )
        )
    if duration < SHORT_CLIP_S:
        out.append(
            WarningItem(
                "clip_too_short",
                f"The clip is only {duration:.1f} s long: too short for a full rep.",
                "Record the whole set, from the setup to the last lockout.",
            )
        )
    if exercise == reps.Exercise.UNKNOWN and rate > 0:
        out.append(
            WarningItem(
                "exercise_unknown",
                "Could not tell whether this is a squat or a deadlift.",
                "Choose the lift yourself (--exercise squat|deadlift, or in the app).",
            )
        )
    elif (
        detected_confidence is not None
        and exercise != reps.Exercise.UNKNOWN
        and reps.exercise_unsure(detected_confidence)
    ):
        out.append(
            WarningItem(
                "exercise_unsure",
                f"Unsure which lift this is (it looks most like a {exercise}: the posture cues "
                "disagree, or the clip shows only part of a rep), so it was judged as a "
                f"{exercise}.",
                "If that is wrong, choose the lift yourself (--exercise squat|deadlift, or in "
                "the app) and analyse again.",
            )
        )
    return out


def _summary(values: NDArray[np.float64], lo: int, hi: int) -> dict[str, float | None]:
    part = values[lo : hi + 1]
    part = part[np.isfinite(part)]
    if not len(part):
        return {"min": None, "max": None}
    return {"min": round(float(part.min()), 1), "max": round(float(part.max()), 1)}


#: A back fault at or above this confidence is stated plainly ("rounded"); below it, "possibly".
SURE_CONFIDENCE = 0.5


def back_verdict(evaluation: faults.Evaluation, rep_index: int) -> dict[str, Any]:
    """A rep's back in the report: rounding_deg / arching_deg (None where not judged), judged (the
    back was judged for rounding or arching) and verdict: 'rounded', 'possibly rounded', 'arched',
    'possibly arched', 'neutral' or 'not judged'."""
    codes = (faults.FaultCode.BACK_ROUNDING, faults.FaultCode.BACK_OVERARCH)
    values = {code: evaluation.measured.get((code, rep_index)) for code in codes}
    judged = any(v is not None for v in values.values())
    verdict = "neutral" if judged else "not judged"
    rep_faults = [f for f in evaluation.faults if f.rep_index == rep_index and f.code in codes]
    if rep_faults:
        worst = max(rep_faults, key=lambda f: f.confidence)
        word = "rounded" if worst.code is faults.FaultCode.BACK_ROUNDING else "arched"
        verdict = word if worst.confidence >= SURE_CONFIDENCE else f"possibly {word}"
    return {
        "rounding_deg": _rounded(values[faults.FaultCode.BACK_ROUNDING]),
        "arching_deg": _rounded(values[faults.FaultCode.BACK_OVERARCH]),
        "judged": judged,
        "verdict": verdict,
    }


def _rounded(value: float | None) -> float | None:
    return round(value, 1) if value is not None and np.isfinite(value) else None


def _build_report(
    info: VideoInfo,
    options: AnalysisOptions,
    seq: PoseSequence,
    fps: float,
    view: kinematics.ViewEstimate,
    angles: kinematics.AngleSeries,
    spine_series: spine.SpineSeries,
    segmentation: reps.RepSegmentation,
    evaluation: faults.Evaluation,
    warnings: list[WarningItem],
    exercise: reps.Exercise,
    exercise_source: str,
    exercise_conf: float,
) -> SessionReport:
    t = seq.t_s
    found = evaluation.faults
    rep_reports = []
    for rep in segmentation.reps:
        lo, hi = rep.start_frame, rep.end_frame
        phase_items = [
            {"phase": str(p), "start_s": round(float(t[a]), 3), "end_s": round(float(t[b]), 3)}
            for p, a, b in rep.phases
        ]
        durations: dict[str, float] = {}
        for phase, a, b in rep.phases:
            key = f"{phase}_s"
            durations[key] = durations.get(key, 0.0) + float(t[b] - t[a])
        rel = spine_series.flexion_rel_deg[lo : hi + 1]
        conf = spine_series.confidence[lo : hi + 1]
        finite = rel[np.isfinite(rel)]
        rep_faults = [
            FaultReport(
                code=str(f.code),
                severity=str(f.severity),
                confidence=round(f.confidence, 2),
                value=round(f.value, 2),
                threshold=f.threshold,
                unit=f.unit,
                start_s=round(f.start_s, 3),
                end_s=round(f.end_s, 3),
                message=f.message,
                cue=guidance.cue_for(str(f.code)),
            )
            for f in found
            if f.rep_index == rep.index
        ]
        rep_reports.append(
            RepReport(
                index=rep.index,
                start_s=round(rep.start_s, 3),
                bottom_s=round(rep.bottom_s, 3),
                end_s=round(rep.end_s, 3),
                duration_s=round(rep.duration_s, 3),
                partial=bool(rep.partial),
                phases=phase_items,
                tempo={
                    "descent_s": durations.get("descent_s"),
                    "ascent_s": durations.get("ascent_s"),
                },
                angles={
                    "trunk_incl_deg": _summary(angles.trunk_incl_deg, lo, hi),
                    "hip_flex_deg": _summary(angles.hip_flex_deg, lo, hi),
                    "knee_flex_deg": _summary(angles.knee_flex_deg, lo, hi),
                    "thigh_above_horizontal_deg": _summary(
                        angles.thigh_above_horizontal_deg, lo, hi
                    ),
                },
                spine={
                    **back_verdict(evaluation, rep.index),
                    "peak_flexion_rel_deg": round(float(finite.max()), 1) if len(finite) else None,
                    "peak_extension_rel_deg": round(float(-finite.min()), 1)
                    if len(finite)
                    else None,
                    "confidence": round(float(np.nanmean(conf)), 2)
                    if np.isfinite(conf).any()
                    else None,
                },
                faults=rep_faults,
            )
        )
    chosen = guidance.select_guidance(found, len(segmentation.reps))
    neutral = spine_series.neutral_deg
    return SessionReport(
        source={
            "path": str(info.path),
            "name": info.path.name,
            "width": info.width,
            "height": info.height,
            "fps": round(info.fps, 3),
            "duration_s": round(info.duration_s, 3),
            "codec": info.codec,
            "rotation_deg": info.rotation_deg,
        },
        exercise=str(exercise),
        exercise_source=exercise_source,
        exercise_confidence=round(exercise_conf, 2),
        view=str(view.view),
        view_confidence=round(view.confidence, 2),
        facing=view.facing,
        preset=options.preset,
        fps=round(fps, 3),
        duration_s=round(float(t[-1] - t[0]) if len(t) > 1 else 0.0, 3),
        frames_total=len(t),
        frames_analysed=int(seq.detected.sum()),
        detection_rate=round(float(seq.detected.mean()), 3),
        spine_neutral_deg=round(neutral, 1) if np.isfinite(neutral) else None,
        warnings=warnings,
        reps=rep_reports,
        guidance=dataclasses.asdict(chosen),
        formcheck_version=__version__,
        created_utc=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    )


ANGLE_COLUMNS = (
    "trunk_incl_deg",
    "hip_flex_deg",
    "knee_flex_deg",
    "ankle_dorsi_deg",
    "neck_flex_deg",
    "thigh_above_horizontal_deg",
    "knee_width_ratio",
    "hip_height_norm",
)


def angles_csv(analysis: Analysis) -> str:
    """Per-frame table: time, detection, phase, rep, every angle, spine flexion (absolute and against
    the lifter's own neutral) and its confidence, and the back's rounding and arching in the verdicts'
    terms (faults.back_curves)."""
    rep_of = np.zeros(len(analysis.angles), dtype=np.int64)
    for rep in analysis.segmentation.reps:
        rep_of[rep.start_frame : rep.end_frame + 1] = rep.index
    columns = [getattr(analysis.angles, c) for c in ANGLE_COLUMNS]
    s = analysis.spine
    header = [
        "frame",
        "t_s",
        "detected",
        "view",
        "phase",
        "rep",
        *ANGLE_COLUMNS,
        "spine_flex_abs_deg",
        "spine_flex_rel_deg",
        "spine_confidence",
        "back_rounding_deg",
        "back_arching_deg",
    ]
    rows = [
        [
            i,
            float(analysis.angles.t_s[i]),
            int(analysis.pose.detected[i]),
            str(analysis.view.per_frame[i]),
            str(analysis.segmentation.phase_per_frame[i]),
            int(rep_of[i]) or "",
            *(float(c[i]) for c in columns),
            float(s.flexion_abs_deg[i]),
            float(s.flexion_rel_deg[i]),
            float(s.confidence[i]),
            float(analysis.evaluation.rounding_deg[i]),
            float(analysis.evaluation.arching_deg[i]),
        ]
        for i in range(len(analysis.angles))
    ]
    return csv_text(header, rows)


def write_report(analysis: Analysis, out_dir: Path) -> SessionReport:
    """Write DIR/<stem>/angles.csv and report.json as one set: both are written into a staging
    folder beside DIR/<stem>, which then replaces it (safefiles.publish_dir), so a kill leaves the
    previous set or this one, never a mix. The report lists the two files."""
    folder = Path(out_dir) / analysis.info.path.stem
    folder.parent.mkdir(parents=True, exist_ok=True)
    outputs = {"report_json": str(folder / "report.json"), "angles_csv": str(folder / "angles.csv")}
    report = dataclasses.replace(analysis.report, outputs=outputs)
    staging = safefiles.staging_path(folder)
    try:
        staging.mkdir()
        atomic_write_text(staging / "angles.csv", angles_csv(analysis))
        atomic_write_text(staging / "report.json", report.to_json())
        safefiles.publish_dir(staging, folder, _replaced_outputs(analysis))
    finally:  # failed or interrupted: the staged files go, the previous set stays
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _replaced_outputs(analysis: Analysis) -> frozenset[str]:
    """The files of DIR/<stem>/ that belong to one analysis (replaced together)."""
    stem = analysis.info.path.stem
    return frozenset({"report.json", "angles.csv", f"{stem}.annotated.mp4"})


def write_video(
    analysis: Analysis, report: SessionReport, out_dir: Path, progress: Progress | None = None
) -> SessionReport:
    """After write_report: DIR/<stem>/<stem>.annotated.mp4 (atomically), then report.json again
    with the video among its outputs. Returns that report; unchanged when the options skip the
    video or there is nothing to draw. A failure leaves the report and angles.csv as they were."""
    if not (analysis.options.write_video and len(analysis.angles)):
        return report
    folder = Path(out_dir) / analysis.info.path.stem
    video_path = folder / f"{analysis.info.path.stem}.annotated.mp4"
    annotate.write_annotated_video(analysis, video_path, progress or _no_progress)
    outputs = {**report.outputs, "annotated_video": str(video_path)}
    with_video = dataclasses.replace(report, outputs=outputs)
    atomic_write_text(folder / "report.json", with_video.to_json())
    return with_video


def write_outputs(
    analysis: Analysis, out_dir: Path, progress: Progress | None = None
) -> SessionReport:
    """write_report, then write_video: DIR/<stem>/report.json, angles.csv and (optionally)
    <stem>.annotated.mp4."""
    return write_video(analysis, write_report(analysis, out_dir), out_dir, progress)


def analyze_to_dir(
    path: Path,
    out_dir: Path,
    options: AnalysisOptions | None = None,
    progress: Progress | None = None,
) -> SessionReport:
    return write_outputs(analyze(path, options, progress), out_dir, progress)
