"""Composition only: a video in, a SessionReport (and its files) out.

    analyze(path, options, progress)             -> Analysis (everything the stages produced)
      = measure_frames (pass 1, the pixels) then analyze_measured (every later stage)
    write_report(analysis, out_dir)              -> SessionReport with report.json, angles.csv
    write_video(analysis, report, out_dir, ...)  -> the same with the annotated video added
    write_outputs(analysis, out_dir, progress)   -> both of the above
    analyze_to_dir(path, out_dir, options, ...)  -> analyze, then write_outputs

Pass 1 streams the frames once through pose + back measurement (the only per-frame work that needs the
pixels). The pose model reads every frame, or with AnalysisOptions.fast every k-th frame while the
lifter stands still (module stride: at least data/stride.yaml's min_analysed_fps a second; every frame
while they move): the frames between are then decoded but not converted to images, and get their
landmarks and back readings interpolated in time (stride.densify);
everything after works on small per-frame arrays of every frame, with the frames' real timestamps.
Where the pose model found the lifter only after a gap (a hidden head at the start, a lost stretch
mid-set), pass 1 ends by tracking backwards from that frame into the gap (backfill, every frame of
it), which decodes the file once more up to the last such gap.
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
import shutil
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from formcheck import annotate, faults, kinematics, reps, safefiles, signals, spine
from formcheck.landmarks import PoseFrame, PoseSequence
from formcheck.notices import Notice, NoticeCode, count_words, make
from formcheck.pose import PoseEstimator, reused_estimator
from formcheck.report import SessionReport, atomic_write_text, csv_text
from formcheck.stride import choose_stride, densify, is_still, load_stride_params
from formcheck.video import (
    SkippedFrame,
    VideoError,
    VideoInfo,
    iter_frames,
    iter_strided,
    prefetch,
    probe,
)

#: progress(done, total, stage): called every few frames; stage is "analysing" or "rendering".
Progress = Callable[[int, int, str], None]

#: A frame-to-frame change of the downscaled picture above this (mean absolute grey level, 0-255) is a cut.
CUT_DIFF_LEVEL = 40.0
SHORT_CLIP_S = 1.5
MIN_DETECTION_RATE = 0.8
#: A video whose decoded frames end more than this many seconds, and this share of its length,
#: before the duration its container states is reported as cut short (video_truncated).
TRUNCATED_MIN_S = 0.5
TRUNCATED_MIN_SHARE = 0.05
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
    input_warnings: tuple[Notice, ...] = ()
    # borrow the process's pose model (pose.reused_estimator: bounded memory in a long-running app)
    # instead of a fresh one; its landmarks then depend slightly on the videos it analysed before
    reuse_pose_model: bool = False
    # run the pose model on every k-th frame while the lifter stands still (module stride), not on
    # every frame: faster to the report, but a back reading can move by a degree or two
    fast: bool = False


@dataclass(frozen=True)
class Analysis:
    """What every stage produced for one video; notices: the session's, in report order (the
    producer's, the input's, then the rules'); fps: the frame rate the signals were filtered at;
    stride, pose_frames: PassOne's."""

    info: VideoInfo
    options: AnalysisOptions
    pose: PoseSequence
    back: list[spine.BackSample]
    angles: kinematics.AngleSeries
    spine: spine.SpineSeries
    view: kinematics.ViewEstimate
    segmentation: reps.RepSegmentation
    evaluation: faults.Evaluation
    exercise: reps.Exercise
    exercise_source: str  # auto | user
    exercise_confidence: float
    fps: float
    notices: list[Notice]
    stride: int = 1
    pose_frames: int | None = None

    @property
    def faults(self) -> list[faults.Fault]:
        return self.evaluation.faults

    @cached_property
    def report(self) -> SessionReport:
        return SessionReport.from_analysis(self)


def _no_progress(done: int, total: int, stage: str) -> None:
    return None


@dataclass(frozen=True)
class PassOne:
    """What the one pass over the pixels yields, per frame in decoding order: t_s (seconds), the
    lifter's pose (masks dropped once used), the back measured from each frame's mask, plus the
    times of camera cuts and how many frames showed more than one person; stride: the pose model
    saw every stride-th frame (and the last) while the lifter stood still, every frame otherwise
    (module stride), the others were interpolated (stride.densify); pose_frames: how many frames
    it saw (None: all)."""

    t_s: list[float]
    frames: list[PoseFrame]
    back: list[spine.BackSample]
    cuts_s: list[float]
    multi_person_frames: int
    stride: int = 1
    pose_frames: int | None = None


def analyze(
    path: Path, options: AnalysisOptions | None = None, progress: Progress | None = None
) -> Analysis:
    """Run every stage on one video. Raises VideoError for unreadable files; never for bad poses."""
    options = options or AnalysisOptions()
    path = Path(path)
    info = probe(path)
    rules = faults.load_rules(options.preset, dict(options.threshold_overrides))  # fails fast
    k = choose_stride(info.fps, info.duration_s) if options.fast else 1
    measured = measure_frames(path, info, progress or _no_progress, options.reuse_pose_model, k)
    return analyze_measured(info, options, measured, rules)


def measure_frames(
    path: Path,
    info: VideoInfo,
    progress: Progress,
    reuse_pose_model: bool = False,
    stride: int = 1,
) -> PassOne:
    """Pass 1: decode, pose model, back measurement and cut detection, streaming (module docstring)
    on every frame, but only every `stride`-th one (and the last) while the lifter stands still
    (stride.is_still); the frames between get their landmarks and back readings interpolated
    (stride.densify). reuse_pose_model: AnalysisOptions.reuse_pose_model."""
    params = load_stride_params()
    t_s: list[float] = []
    analysed: list[int] = []
    frames = []
    back: list[spine.BackSample] = []
    in_flight: deque[Future[spine.BackSample]] = deque()
    cuts_s: list[float] = []
    prev_small: NDArray[np.float32] | None = None
    with (
        reused_estimator() if reuse_pose_model else PoseEstimator() as estimator,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="formcheck-back") as helper,
    ):
        still = False  # the lifter stood still between the last two analysed frames
        last: tuple[PoseFrame, float] | None = None
        for item in prefetch(iter_strided(path, stride), depth=4 * stride):
            t_s.append(item.t_s)
            if isinstance(item, SkippedFrame):
                if still:
                    continue
                frame = item.load()
            else:
                frame = item
            pose_frame = estimator.detect(frame.image_bgr, frame.t_s)
            analysed.append(frame.index)
            if stride > 1:
                still = last is not None and is_still(*last, pose_frame, frame.t_s, params)
                last = (pose_frame, frame.t_s)
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
            if len(analysed) % 10 == 0:
                progress(frame.index + 1, info.n_frames_estimate, "analysing")
        back.extend(future.result() for future in in_flight)
    if not t_s:
        raise VideoError(path, "no decodable video frames", "re-export the clip as H.264 MP4")
    if stride > 1:
        frames, back = densify(t_s, analysed, frames, back)
    for i, pose_frame in backfill(path, info, t_s, frames, cuts_s):
        back[i] = spine.measure_back(pose_frame.mask, pose_frame.xy_px, pose_frame.visibility)
        frames[i] = dataclasses.replace(pose_frame, mask=None)
    progress(len(t_s), len(t_s), "analysing")
    multi_person_frames = sum(1 for f in frames if f.detected and f.n_people > 1)
    return PassOne(t_s, frames, back, cuts_s, multi_person_frames, stride, len(analysed))


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
    fps = signals.frame_rate(raw.t_s, info.fps if info.fps > 0 else 30.0)
    clean = signals.clean_pose(raw)
    view = kinematics.detect_view(clean)
    angles = kinematics.compute_angles(clean, view)
    if options.exercise in (reps.Exercise.SQUAT, reps.Exercise.DEADLIFT):
        exercise, exercise_conf, exercise_source = reps.Exercise(options.exercise), 1.0, "user"
    else:
        exercise, exercise_conf = reps.detect_exercise(angles, pose=clean)
        exercise_source = "auto"
    spine_series = spine.build_spine_series(
        raw.t_s,
        back,
        kinematics.standing_mask(angles),
        kinematics.hinge_band_mask(angles),
    )
    segmentation = (
        reps.segment_reps(angles, exercise)
        if exercise != reps.Exercise.UNKNOWN
        else reps.RepSegmentation(reps=[], phase_per_frame=np.full(len(t_s), "setup"))
    )
    evaluation = faults.evaluate(exercise, view, segmentation.reps, angles, spine_series, rules)

    notices = [
        *options.input_warnings,
        *_input_notices(
            raw,
            info,
            measured.cuts_s,
            measured.multi_person_frames,
            exercise,
            exercise_conf if exercise_source == "auto" else None,
        ),
        *evaluation.notices,
    ]
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
        exercise=exercise,
        exercise_source=exercise_source,
        exercise_confidence=exercise_conf,
        fps=fps,
        notices=notices,
        stride=measured.stride,
        pose_frames=measured.pose_frames,
    )


def _thumbnail(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    """32x18 grey thumbnail for cut detection (a strided view: no resize cost)."""
    h, w = image.shape[:2]
    small = image[:: max(h // 18, 1), :: max(w // 32, 1)][:18, :32]
    return np.asarray(small.mean(axis=2, dtype=np.float32), dtype=np.float32)


def _input_notices(
    seq: PoseSequence,
    info: VideoInfo,
    cuts_s: list[float],
    multi_person_frames: int,
    exercise: reps.Exercise,
    detected_confidence: float | None,
) -> list[Notice]:
    """What the input itself limits, as notices. detected_confidence: detect_exercise's confidence
    when the lift was detected (None when the user named it)."""
    out: list[Notice] = []
    n = len(seq)
    rate = float(seq.detected.mean()) if n else 0.0
    duration = float(seq.t_s[-1] - seq.t_s[0]) if n > 1 else 0.0
    if truncated_s(info, seq.t_s) is not None:
        out.append(
            make(
                NoticeCode.VIDEO_TRUNCATED,
                "re_export",
                decoded_s=duration,
                container_s=info.duration_s,
            )
        )
    if rate == 0.0:
        out.append(make(NoticeCode.NO_PERSON, "film_whole_body"))
    elif rate < MIN_DETECTION_RATE:
        out.append(make(NoticeCode.PERSON_PARTLY_MISSING, "keep_in_frame", rate=rate))
    if multi_person_frames > 0 and rate > 0:
        share = multi_person_frames / max(n, 1)
        out.append(make(NoticeCode.MULTIPLE_PEOPLE, "check_skeleton", share=share))
    if cuts_s:
        times = ", ".join(f"{t:.1f} s" for t in cuts_s[:5])
        cuts = count_words(len(cuts_s), "camera cut")
        out.append(make(NoticeCode.CAMERA_CUT, "one_shot", cuts=cuts, times=times))
    if duration < SHORT_CLIP_S:
        out.append(make(NoticeCode.CLIP_TOO_SHORT, "whole_set", duration_s=duration))
    if exercise == reps.Exercise.UNKNOWN and rate > 0:
        out.append(make(NoticeCode.EXERCISE_UNKNOWN, "choose_lift"))
    elif (
        detected_confidence is not None
        and exercise != reps.Exercise.UNKNOWN
        and reps.exercise_unsure(detected_confidence)
    ):
        out.append(make(NoticeCode.EXERCISE_UNSURE, "choose_lift_again", exercise=str(exercise)))
    return out


def truncated_s(info: VideoInfo, t_s: NDArray[np.float64]) -> float | None:
    """Seconds of the container's stated duration that no decoded frame reached, when more than
    TRUNCATED_MIN_S and TRUNCATED_MIN_SHARE of it (a file cut short); None otherwise or when the
    container states no duration."""
    stated = info.duration_s
    if not np.isfinite(stated) or stated <= 0 or len(t_s) == 0:
        return None
    decoded = float(t_s[-1]) + (1.0 / info.fps if np.isfinite(info.fps) and info.fps > 0 else 0.0)
    missing = stated - decoded
    if missing > TRUNCATED_MIN_S and missing > TRUNCATED_MIN_SHARE * stated:
        return missing
    return None


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


def write_report(analysis: Analysis, out_dir: Path, name: str | None = None) -> SessionReport:
    """Write DIR/<name>/angles.csv and report.json as one set (name: the video's stem unless given):
    both are written into a staging folder beside DIR/<name>, which then replaces it
    (safefiles.publish_dir), so a kill leaves the previous set or this one, never a mix. The report
    lists the two files."""
    folder = Path(out_dir) / (name or analysis.info.path.stem)
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


def wants_video(analysis: Analysis) -> bool:
    """Whether write_video draws anything: the options ask for the video and there are frames."""
    return analysis.options.write_video and len(analysis.angles) > 0


def write_video(
    analysis: Analysis,
    report: SessionReport,
    out_dir: Path,
    progress: Progress | None = None,
    source: Path | None = None,
) -> SessionReport:
    """After write_report: <stem>.annotated.mp4 (atomically) in the report's folder, then
    report.json again with the video among its outputs. Returns that report; unchanged when the
    options skip the video or there is nothing to draw (wants_video). A failure leaves the report
    and angles.csv as they were. source: where the analysed video is now, when it has moved since
    the analysis."""
    if not wants_video(analysis):
        return report
    folder = Path(report.outputs["report_json"]).parent
    video_path = folder / f"{analysis.info.path.stem}.annotated.mp4"
    annotate.write_annotated_video(analysis, video_path, progress or _no_progress, source)
    outputs = {**report.outputs, "annotated_video": str(video_path)}
    with_video = dataclasses.replace(report, outputs=outputs)
    atomic_write_text(folder / "report.json", with_video.to_json())
    return with_video


def write_outputs(
    analysis: Analysis, out_dir: Path, progress: Progress | None = None, name: str | None = None
) -> SessionReport:
    """write_report, then write_video: DIR/<name>/report.json, angles.csv and (optionally)
    <stem>.annotated.mp4."""
    return write_video(analysis, write_report(analysis, out_dir, name), out_dir, progress)


def output_names(videos: list[Path]) -> list[str]:
    """One output folder name per video of a batch, never two alike: the video's stem, then
    <stem>-2, <stem>-3... for later videos of the same name (compared ignoring case, as some file
    systems do)."""
    taken: set[str] = set()
    names = []
    for video in videos:
        stem = Path(video).stem
        name, k = stem, 1
        while name.casefold() in taken:
            k += 1
            name = f"{stem}-{k}"
        taken.add(name.casefold())
        names.append(name)
    return names


def analyze_to_dir(
    path: Path,
    out_dir: Path,
    options: AnalysisOptions | None = None,
    progress: Progress | None = None,
) -> SessionReport:
    return write_outputs(analyze(path, options, progress), out_dir, progress)
