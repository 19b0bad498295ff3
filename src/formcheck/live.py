"""The live (webcam) path: one frame in, the same frame out with the skeleton, back outline,
spine gauge, rep counter and cues drawn on it. Plain Python (no Streamlit), so it is tested and
benchmarked by feeding frames directly; the app hands it the browser's camera frames through
streamlit-webrtc.

Per analysed frame (LiveProcessor.process):
  pose (formcheck.pose) -> One-Euro filtered landmarks (signals.OneEuroFilter) -> angles
  (kinematics.compute_angles; the view is re-estimated on the last second every view_update_s)
  -> back outline (spine.measure_back, on the raw landmarks so it lines up with the mask)
  -> spinal flexion relative to the lifter's own neutral (spine.neutral_of over confident standing
  frames, as offline)
  -> cues -> an Overlay (what to draw) -> drawing (render.*).
While a set is recorded, its angle history is segmented by reps.segment_reps every rep_update_s,
so the live rep count follows the same rules as the offline analysis; no reps are counted
before "Start set".

Camera frames (LiveProcessor.on_frames) are never queued for analysis: one analysis thread works
on the newest frame and a frame that arrives while it is busy replaces the waiting one (dropped).
Every camera frame goes back at once with the newest Overlay drawn on it, so the preview keeps
the camera's frame rate however slow the analysis is, and the status says when the analysis
falls behind the camera (LiveStatus.falling_behind).

Before the set, check_setup() says whether the camera is placed well (side view, whole body in
frame, camera at hip height, level). While a set is recorded, every camera frame (not only the
analysed ones) goes to an H.264 file in a background thread, timed by when it arrived. The overlay
is a preview (PREVIEW_LABEL): when the set ends, the app runs the full offline analysis on that
file, the path of an uploaded video, and its report is the set's review.

Its tunable numbers are in data/live.yaml (LiveParams). Cues are rate-limited (CueLimiter): a cue
needs the back past the limit for cue_hold_s, fires at most once per code per movement, and never
within the cooldown of the previous cue.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from formcheck import faults, kinematics, render, reps, spine
from formcheck.datafiles import value_file
from formcheck.faults import FaultCode, RuleSet
from formcheck.guidance import cue_for
from formcheck.kinematics import View, ViewEstimate
from formcheck.landmarks import LM, N_LANDMARKS, PoseFrame, PoseSequence
from formcheck.notices import Notice, NoticeCode, make
from formcheck.signals import OneEuroFilter

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
ImageBGR = NDArray[np.uint8]

#: The first line of the live overlay: what it shows is a preview; the set's verdicts come from the
#: full analysis of its recording (ui.jobs.analyse_recorded_set), as an upload's do.
PREVIEW_LABEL = "LIVE PREVIEW"
LIVE_FILE = "live.yaml"


@dataclass(frozen=True)
class LiveParams:
    """The tunable numbers of the live preview; see data/live.yaml for units and rationale."""

    edge_margin_frac: float
    min_visibility: float
    hip_row_band: tuple[float, float]
    level_max_deg: float
    setup_hold_s: float
    setup_lost_s: float
    view_window_s: float
    view_update_s: float
    spine_median_s: float
    neutral_samples: int
    neutral_min_samples: int
    neutral_few_samples: int
    neutral_min_span_s: float
    cue_hold_s: float
    cue_show_s: float
    rep_update_s: float
    rep_history_s: float
    min_rep_frames: int
    recording_min_share: float
    recording_min_lost_s: float
    recording_min_fps: float
    stream_stall_s: float
    falling_behind_fps: float
    falling_behind_lag_ms: float
    rate_window: int
    lag_window: int
    filter_min_cutoff_hz: float
    filter_beta: float
    filter_d_cutoff_hz: float


def load_live_params(path: Path | None = None) -> LiveParams:
    """The numbers of live.yaml: the file at path, else the packaged one (read once);
    DataFileError when it is malformed."""
    return value_file(LiveParams, LIVE_FILE, path)


_FEET = (LM.LEFT_HEEL, LM.RIGHT_HEEL, LM.LEFT_FOOT, LM.RIGHT_FOOT)
_HEAD = (LM.NOSE, LM.LEFT_EAR, LM.RIGHT_EAR)
_BODY = (
    *_HEAD, LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER, LM.LEFT_HIP, LM.RIGHT_HIP, LM.LEFT_KNEE,
    LM.RIGHT_KNEE, LM.LEFT_ANKLE, LM.RIGHT_ANKLE, *_FEET,
)  # fmt: skip


class PoseDetector(Protocol):
    """What the processor needs from formcheck.pose.PoseEstimator (tests pass a fake)."""

    def detect(self, image_bgr: ImageBGR, t_s: float) -> PoseFrame: ...

    def close(self) -> None: ...


# --- setup check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckItem:
    """One camera-setup check. ok None = cannot tell yet (e.g. no lifter in view)."""

    key: str  # person | whole_body | side_view | hip_height | level
    label: str
    ok: bool | None
    advice: str = ""


@dataclass(frozen=True)
class SetupCheck:
    items: tuple[CheckItem, ...]

    @property
    def passed(self) -> bool:
        return all(item.ok for item in self.items)

    @property
    def first_problem(self) -> CheckItem | None:
        return next((item for item in self.items if not item.ok), None)


def check_setup(
    xy_px: FloatArray,
    visibility: FloatArray,
    width: int,
    height: int,
    view: View,
    params: LiveParams | None = None,
) -> SetupCheck:
    """Is the camera placed so formcheck can judge the back?

    xy_px (T, 33, 2) / visibility (T, 33): the last moments of landmarks, newest last (T >= 1);
    view: the view estimated on them. Run it while the lifter stands tall before the set: the
    newest frame must show the lifter and the whole body; camera height (hips near the middle row
    of a level camera's picture) and level (flat feet level) are medians over the window.
    params: data/live.yaml (the packaged ones when None).
    """
    p = params or load_live_params()
    if xy_px.ndim != 3 or xy_px.shape[1:] != (N_LANDMARKS, 2) or len(xy_px) == 0:
        raise ValueError(f"xy_px must be (T, 33, 2) with T >= 1, got {xy_px.shape}")
    window_seen = np.isfinite(xy_px).all(axis=2) & (np.nan_to_num(visibility) >= p.min_visibility)
    seen = window_seen[-1]
    hip_rows = _mean_seen(xy_px[:, :, 1], window_seen, (LM.LEFT_HIP, LM.RIGHT_HIP)) / height
    tilts = _foot_tilt_deg(xy_px, window_seen)
    xy_px = xy_px[-1]
    if not seen[[LM.LEFT_HIP, LM.RIGHT_HIP]].any():
        nobody = CheckItem("person", "Lifter in view", False, "Step into the picture, side-on.")
        unknown = [
            CheckItem("whole_body", "Whole body in frame", None),
            CheckItem("side_view", "Side view", None),
            CheckItem("hip_height", "Camera at hip height", None),
            CheckItem("level", "Camera level", None),
        ]
        return SetupCheck((nobody, *unknown))
    items = [CheckItem("person", "Lifter in view", True)]

    mx, my = p.edge_margin_frac * width, p.edge_margin_frac * height
    x, y = xy_px[:, 0], xy_px[:, 1]
    with np.errstate(invalid="ignore"):
        inside = seen & (x >= mx) & (x <= width - mx) & (y >= my) & (y <= height - my)
    missing = [i for i in _BODY if not inside[i]]
    head_out = any(i in _HEAD for i in missing) and not any(inside[i] for i in _HEAD)
    feet_out = any(i in _FEET or i in (LM.LEFT_ANKLE, LM.RIGHT_ANKLE) for i in missing) and not any(
        inside[i] for i in (*_FEET, LM.LEFT_ANKLE, LM.RIGHT_ANKLE)
    )
    body_core = (LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER, LM.LEFT_KNEE, LM.RIGHT_KNEE)
    core_out = not any(inside[i] for i in body_core[:2]) or not any(
        inside[i] for i in body_core[2:]
    )
    if head_out or feet_out or core_out:
        where = (
            " and ".join(part for part, out in (("head", head_out), ("feet", feet_out)) if out)
            or "body"
        )
        items.append(CheckItem(
            "whole_body", "Whole body in frame", False,
            f"Your {where} {'is' if where != 'feet' else 'are'} out of the picture: move the "
            "camera back or turn it to portrait.",
        ))  # fmt: skip
    else:
        items.append(CheckItem("whole_body", "Whole body in frame", True))

    if view is View.SIDE:
        items.append(CheckItem("side_view", "Side view", True))
    elif view is View.UNKNOWN:
        items.append(CheckItem("side_view", "Side view", None, "Hold still for a moment."))
    else:
        items.append(CheckItem(
            "side_view", "Side view", False,
            "Turn side-on: the camera should see your left or right side, not front or back.",
        ))  # fmt: skip

    hip_y = float(np.nanmedian(hip_rows)) if np.isfinite(hip_rows).any() else math.nan
    lo, hi = p.hip_row_band
    if hip_y < lo:
        items.append(CheckItem(
            "hip_height", "Camera at hip height", False,
            "Raise the camera to hip height (your hips should be near the middle of the picture).",
        ))  # fmt: skip
    elif hip_y > hi:
        items.append(CheckItem(
            "hip_height", "Camera at hip height", False,
            "Lower the camera to hip height (your hips should be near the middle of the picture).",
        ))  # fmt: skip
    else:
        items.append(CheckItem("hip_height", "Camera at hip height", True))

    tilt = float(np.nanmedian(tilts)) if np.isfinite(tilts).any() else None
    if tilt is None:
        items.append(CheckItem("level", "Camera level", None, "Keep your feet in the picture."))
    elif abs(tilt) > p.level_max_deg:
        items.append(CheckItem(
            "level", "Camera level", False,
            f"Level the camera: the floor looks tilted by {abs(tilt):.0f}°.",
        ))  # fmt: skip
    else:
        items.append(CheckItem("level", "Camera level", True))
    return SetupCheck(tuple(items))


def _mean_seen(values: FloatArray, seen: NDArray[np.bool_], idx: tuple[int, ...]) -> FloatArray:
    """(T,) mean of values[:, idx] over the landmarks seen in each frame; NaN where none is."""
    v = np.where(seen[:, list(idx)], values[:, list(idx)], np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmean(v, axis=1), dtype=np.float64)


def _foot_tilt_deg(xy_px: FloatArray, seen: NDArray[np.bool_]) -> FloatArray:
    """(T,) heel -> toe direction against the image horizontal, degrees (+ = toe lower in the
    picture), averaged over the feet that are seen; NaN where no foot is (xy_px (T, 33, 2))."""
    heels, toes = [LM.LEFT_HEEL, LM.RIGHT_HEEL], [LM.LEFT_FOOT, LM.RIGHT_FOOT]
    d = xy_px[:, toes] - xy_px[:, heels]  # (T, 2 feet, 2)
    ok = seen[:, heels] & seen[:, toes] & (np.abs(d[..., 0]) > 1.0)
    tilt = np.degrees(np.arctan2(d[..., 1], np.abs(d[..., 0])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmean(np.where(ok, tilt, np.nan), axis=1), dtype=np.float64)


# --- cues ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    t_s: float
    code: str
    text: str
    severity: str  # minor | major


class CueLimiter:
    """Decides whether a cue may be shown now.

    A condition must hold for hold_s (live.yaml's cue_hold_s when None) before it counts; each code
    cues at most once per movement (new_movement() re-arms it) and never within cooldown_s of the
    previous cue of any code.
    """

    def __init__(self, cooldown_s: float, hold_s: float | None = None) -> None:
        self.cooldown_s = cooldown_s
        self.hold_s = load_live_params().cue_hold_s if hold_s is None else hold_s
        self._since: dict[str, float] = {}
        self._used: set[str] = set()
        self._last_t: float = -math.inf

    def new_movement(self) -> None:
        self._used.clear()

    def offer(self, code: str, active: bool, t_s: float) -> bool:
        """Report whether `code`'s condition holds at t_s; True when a cue should fire now."""
        if not active:
            self._since.pop(code, None)
            return False
        start = self._since.setdefault(code, t_s)
        if t_s - start < self.hold_s or code in self._used:
            return False
        if t_s - self._last_t < self.cooldown_s:
            return False
        self._used.add(code)
        self._last_t = t_s
        return True


# --- the processor ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedSet:
    """A finished recording: the file, how long the set was recorded for (wall clock, from
    start_recording to stop_recording), the time its frames span, and how many were written."""

    path: Path
    wall_s: float
    recorded_s: float
    frames: int

    def gap_notice(self, params: LiveParams | None = None) -> Notice | None:
        """A warning for the report when frames went missing (recording_min_share and
        recording_min_lost_s, or recording_min_fps of params: data/live.yaml, the packaged ones when
        None), else None."""
        p = params or load_live_params()
        if self.wall_s <= p.recording_min_lost_s:
            return None
        short = (
            self.recorded_s < p.recording_min_share * self.wall_s
            and self.wall_s - self.recorded_s > p.recording_min_lost_s
        )
        sparse = self.frames < p.recording_min_fps * self.wall_s
        if not (short or sparse):
            return None
        return make(
            NoticeCode.RECORDING_INCOMPLETE,
            "record_again",
            frames=self.frames,
            recorded_s=self.recorded_s,
            wall_s=self.wall_s,
        )


@dataclass(frozen=True)
class LiveStatus:
    """A snapshot for the page.

    frames: frames analysed; camera_frames: frames the camera delivered (on_frames), of which
    dropped were replaced by a newer one before the analysis got to them. fps: analysed frames per
    second and camera_fps: camera frames per second, over the last rate_window of each;
    latency_ms: how far the overlay lags the camera, the mean over the last lag_window analysed
    frames of the time from a frame's arrival to its analysis being done (for process(), the time
    the call took). reps: the reps of the set being recorded, or of the last one; nothing is
    counted while no set is recorded. params: the limits stream_stalled and falling_behind apply
    (the processor's LiveParams).
    """

    frames: int = 0
    frames_with_pose: int = 0
    camera_frames: int = 0
    dropped: int = 0
    reps: int = 0
    exercise: str = "squat"
    view: str = "unknown"
    setup: SetupCheck = field(default_factory=lambda: SetupCheck(()))
    setup_ready: bool = False
    spine_rel_deg: float = math.nan
    neutral_found: bool = False
    cues: tuple[Cue, ...] = ()
    recording: bool = False
    recorded_s: float = 0.0
    # seconds since camera frames last arrived while recording (0 when not recording)
    stalled_s: float = 0.0
    fps: float = 0.0
    camera_fps: float = 0.0
    latency_ms: float = math.nan
    params: LiveParams = field(default_factory=load_live_params, repr=False)

    @property
    def stream_stalled(self) -> bool:
        """A set is being recorded but camera frames stopped coming (stream_stall_s)."""
        return self.recording and self.stalled_s >= self.params.stream_stall_s

    @property
    def falling_behind(self) -> bool:
        """The analysis does not keep up with the camera (falling_behind_fps,
        falling_behind_lag_ms)."""
        p = self.params
        if self.camera_frames == 0 or self.frames == 0:
            return False
        slow = self.fps < p.falling_behind_fps and self.camera_fps > p.falling_behind_fps
        return slow or self.latency_ms > p.falling_behind_lag_ms


@dataclass(frozen=True)
class Overlay:
    """What one analysed frame draws on the video; drawn on every camera frame until the next
    analysis is done. xy_px (33, 2) filtered landmarks and visibility (33,) of the analysed frame;
    back: its back outline; spine_rel_deg: the back vs neutral (NaN: not judged); gauge: whether
    the gauge is shown (side view); reps: the rep count (None before the set is recorded)."""

    t_s: float
    xy_px: FloatArray
    visibility: FloatArray
    back: spine.BackSample
    spine_rel_deg: float
    gauge: bool
    reps: int | None
    lines: tuple[str, ...]
    banner: str | None
    severity: str | None


@dataclass
class _Pending:
    """The newest camera frame waiting for the analysis thread (BGR) and when it arrived."""

    image_bgr: ImageBGR
    t_s: float
    arrived: float


class LiveProcessor:
    """Annotates camera frames and keeps the live state of one set (thread-safe).

    detector_factory builds the pose model on the first analysed frame, in the thread that
    analyses frames (default: formcheck.pose.PoseEstimator with masks and no bystander counting).
    clock: seconds, never going back (default time.monotonic); camera frames are timed by it when
    they arrive, and so are the recording's length, stalls, rates and lags. params: data/live.yaml
    (the packaged ones when None). The back is read, gated and referenced as the offline analysis
    does it (spine.measure_back, fault_measures.yaml's spine_frame_min_confidence, spine.neutral_of).
    """

    def __init__(
        self,
        exercise: reps.Exercise,
        rules: RuleSet,
        *,
        cue_cooldown_s: float = 4.0,
        detector_factory: Callable[[], PoseDetector] | None = None,
        clock: Callable[[], float] = time.monotonic,
        params: LiveParams | None = None,
    ) -> None:
        p = params or load_live_params()
        if exercise not in (reps.Exercise.SQUAT, reps.Exercise.DEADLIFT):
            raise ValueError(f"live mode needs the lift chosen (squat or deadlift), got {exercise}")
        self.exercise = exercise
        self._params = p
        self._rules = rules.rules
        self._measures = faults.load_measure_params()
        self._factory = detector_factory or _default_detector
        self._now = clock
        self._detector: PoseDetector | None = None
        self._lock = threading.Lock()
        self._analysing = threading.Lock()  # one analysis at a time (thread or process())
        self._filter = OneEuroFilter(p.filter_min_cutoff_hz, p.filter_beta, p.filter_d_cutoff_hz)
        self._spine: deque[tuple[float, float]] = deque()
        self._limiter = CueLimiter(cue_cooldown_s, p.cue_hold_s)
        self._recorder: FrameRecorder | None = None
        self._recording_since = 0.0
        self._t0: float | None = None
        self._window: deque[tuple[float, PoseFrame]] = deque()
        self._view = ViewEstimate(View.UNKNOWN, 0, "left", 0.0, np.array(["unknown"]))
        self._view_t = -math.inf
        self._neutral: deque[tuple[float, float]] = deque(maxlen=p.neutral_samples)
        self._angles: dict[str, list[float]] = {name: [] for name in _ANGLE_FIELDS}
        self._reps_t = -math.inf
        self._moving = False
        self._hold_since: float | None = None
        self._bad_since: float | None = None
        self._ready = False
        self._cue_shown: Cue | None = None
        self._times: deque[float] = deque(maxlen=p.rate_window)
        self._arrivals: deque[float] = deque(maxlen=p.rate_window)
        self._lags: deque[float] = deque(maxlen=p.lag_window)
        self._status = LiveStatus(exercise=str(exercise), params=p)
        self._overlay: Overlay | None = None
        self._new_set = False
        self._paused: str | None = None
        self._last_arrival: float | None = None
        self._last_t = -math.inf
        # the analysis thread and its one-frame mailbox (guarded by _wake's lock)
        self._wake = threading.Condition()
        self._pending: _Pending | None = None
        self._busy = False
        self._closed = False
        self._worker: threading.Thread | None = None

    # --- public API (any thread) ---------------------------------------------------------------

    def status(self) -> LiveStatus:
        with self._lock:
            status = self._status
            recorder = self._recorder
            since = max(self._last_arrival or 0.0, self._recording_since)
        if recorder is not None:
            status = replace(
                status,
                recording=True,
                recorded_s=recorder.duration_s,
                stalled_s=self._now() - since,
            )
        return status

    def pause(self, message: str) -> None:
        """Stop analysing (frames pass through with `message` on them), e.g. to leave the CPU to
        the full analysis of the set that just ended; resume() goes back to analysing."""
        with self._lock:
            self._paused = message

    def resume(self) -> None:
        with self._lock:
            self._paused = None

    def new_set(self) -> None:
        """Count from zero from the next frame on (the camera setup and the neutral are kept)."""
        with self._lock:
            self._new_set = True
            self._status = replace(self._status, reps=0, cues=())

    def start_recording(self, path: Path, fps_hint: float = 30.0) -> None:
        """Record every camera frame from now on to `path` (H.264) and count reps from zero."""
        self.new_set()
        recorder = FrameRecorder(path, fps_hint)
        with self._lock:
            old, self._recorder = self._recorder, recorder
            self._recording_since = self._now()
        if old is not None:
            old.stop()

    def stop_recording(self) -> RecordedSet | None:
        """Finish the recording; returns what was recorded, or None when nothing was."""
        with self._lock:
            recorder, self._recorder = self._recorder, None
            wall_s = self._now() - self._recording_since
        path = recorder.stop() if recorder is not None else None
        if recorder is None or path is None:
            return None
        return RecordedSet(path, wall_s, recorder.duration_s, recorder.frames)

    def close(self) -> None:
        """Stop the recording and the analysis thread and free the pose model; later camera
        frames pass through unannotated."""
        self.stop_recording()
        with self._wake:
            self._closed = True
            self._pending = None
            worker, self._worker = self._worker, None
            self._wake.notify_all()
        if worker is not None:
            worker.join()
        with self._analysing, self._lock:
            detector, self._detector = self._detector, None
        if detector is not None:
            detector.close()

    def on_frames(self, frames: list[Any]) -> list[Any]:
        """streamlit-webrtc's queued-frames callback: record every frame, hand the newest to the
        analysis thread (replacing a frame still waiting there), and return [the newest frame with
        the newest overlay drawn on it] without waiting for the analysis.

        frames: av.VideoFrame objects (oldest first). Frames are timed by when they arrive here,
        spread evenly since the previous call: the frames' own pts cannot be trusted (WebRTC
        delivers some in a microsecond time base and the rest on the RTP clock, with different
        origins). An error never stops the stream: it is logged and the frame goes back as it came.
        """
        import av

        now = self._now()
        with self._lock:
            prev = (
                self._last_arrival if self._last_arrival is not None else now - len(frames) / 30.0
            )
            self._last_arrival = now
            recorder = self._recorder
            paused = self._paused
            self._arrivals.extend([now] * len(frames))
            self._status = replace(
                self._status,
                camera_frames=self._status.camera_frames + len(frames),
                camera_fps=_rate(self._arrivals),
            )
        times = [prev + (now - prev) * (i + 1) / len(frames) for i in range(len(frames))]
        if recorder is not None:
            for frame, t in zip(frames, times, strict=True):
                recorder.put(frame, t)
        newest = frames[-1]
        try:
            image = newest.to_ndarray(format="bgr24")
            if paused is not None:
                render.draw_hud(image, [], None, paused, None)
            elif self._offer(image.copy(), times[-1], now):
                self.draw(image)
            else:
                return [newest]  # closed
            return [av.VideoFrame.from_ndarray(image, format="bgr24")]
        except Exception:
            logger.exception("live frame drawing failed; the frame is sent back as it came")
            return [newest]

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until the analysis thread has no frame waiting or in work; False on timeout."""
        with self._wake:
            return self._wake.wait_for(lambda: self._pending is None and not self._busy, timeout_s)

    def draw(self, image_bgr: ImageBGR) -> ImageBGR:
        """Draw the newest analysis's overlay on a camera frame (in place); returns the image.
        A frame before the first analysis gets a "Starting..." banner."""
        with self._lock:
            overlay = self._overlay
            recording = self._recorder is not None
        if overlay is None:
            render.draw_hud(image_bgr, [], None, "Starting...", None)
            return image_bgr
        render.draw_skeleton(image_bgr, overlay.xy_px, overlay.visibility)
        rel = overlay.spine_rel_deg
        if math.isfinite(rel):
            render.draw_back_contour(image_bgr, overlay.back, rel)
        rounding = self._rules.get(FaultCode.BACK_ROUNDING)
        if rounding is not None and overlay.gauge:
            render.draw_spine_gauge(image_bgr, rel, rounding.threshold, rounding.severe_at)
        lines = [*overlay.lines, "REC"] if recording else list(overlay.lines)
        reps_shown = overlay.reps if recording else None
        banner = overlay.banner if not recording or overlay.severity else None
        render.draw_hud(image_bgr, lines, reps_shown, banner, overlay.severity)
        return image_bgr

    # --- the analysis thread -------------------------------------------------------------------

    def _offer(self, image_bgr: ImageBGR, t_s: float, arrived: float) -> bool:
        """Put a frame in the mailbox (dropping a waiting one); False once closed."""
        with self._wake:
            if self._closed:
                return False
            dropped = self._pending is not None
            self._pending = _Pending(image_bgr, t_s, arrived)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="formcheck-live-analysis", daemon=True
                )
                self._worker.start()
            self._wake.notify_all()
        if dropped:
            with self._lock:
                self._status = replace(self._status, dropped=self._status.dropped + 1)
        return True

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._pending is not None or self._closed)
                if self._closed:
                    return
                job, self._pending = self._pending, None
                self._busy = True
            try:
                if job is not None:
                    self._analyse(job.image_bgr, job.t_s, job.arrived)
            except Exception:
                logger.exception("live frame analysis failed; the preview keeps the last overlay")
            finally:
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()

    # --- per-frame work -------------------------------------------------------------------------

    def process(self, image_bgr: ImageBGR, t_s: float) -> ImageBGR:
        """Analyse one frame and draw the overlay on it (in place); returns the image."""
        with self._lock:
            paused = self._paused
        if paused is not None:
            render.draw_hud(image_bgr, [], None, paused, None)
            return image_bgr
        self._analyse(image_bgr, t_s, self._now())
        return self.draw(image_bgr)

    def _analyse(self, image_bgr: ImageBGR, t_s: float, arrived: float) -> None:
        """Analyse one frame (arrived: when it came, by the clock) and publish its Overlay and
        the status."""
        with self._analysing:
            self._analyse_locked(image_bgr, t_s, arrived)

    def _analyse_locked(self, image_bgr: ImageBGR, t_s: float, arrived: float) -> None:
        p = self._params
        if self._detector is None:
            self._detector = self._factory()
        if self._t0 is None:
            self._t0 = t_s
        t = max(t_s - self._t0, self._last_t + 1e-3)  # time never steps back
        self._last_t = t
        h, w = image_bgr.shape[:2]
        with self._lock:
            new_set, self._new_set = self._new_set, False
            recording = self._recorder is not None
        if new_set:
            self._angles = {name: [] for name in _ANGLE_FIELDS}
            self._reps_t = -math.inf
            self._limiter.new_movement()
        pose = self._detector.detect(image_bgr, t)
        found = pose.detected
        xy = self._filter(pose.xy_px, t)

        self._window.append((t, replace(pose, xy_px=xy, mask=None)))
        while self._window and self._window[0][0] < t - p.view_window_s:
            self._window.popleft()
        if t - self._view_t >= p.view_update_s or self._view.view is View.UNKNOWN:
            self._view, self._view_t = self._estimate_view(w, h), t
        angles = self._frame_angles(t, xy, pose.visibility, w, h, keep=recording)
        standing = bool(kinematics.standing_mask(angles)[0])

        side = self._view.view is View.SIDE  # the back outline is only judged from the side
        back = (
            spine.measure_back(pose.mask, pose.xy_px, pose.visibility, self._view.facing)
            if found and side
            else spine.empty_back_sample()
        )
        usable = found and side and back.confidence >= self._measures.spine_frame_min_confidence
        if usable and math.isfinite(back.flexion_deg):
            self._spine.append((t, back.flexion_deg))
            if standing and back.confidence >= spine.load_spine_params().neutral_min_confidence:
                self._neutral.append((t, back.flexion_deg))
        while self._spine and self._spine[0][0] < t - p.spine_median_s:
            self._spine.popleft()
        neutral = self._neutral_deg()
        reading = (
            float(np.median([v for _, v in self._spine]))
            if self._spine and found and side
            else math.nan
        )
        rounding, arching = self._back(reading, neutral, float(angles.trunk_incl_deg[0]))
        rel = float(faults.signed_back_deg(np.array([rounding]), np.array([arching]))[0])

        if self._moving and standing:
            self._limiter.new_movement()
        self._moving = found and not standing
        cue = self._cue(rounding, arching, t) if self._moving else None

        setup = check_setup(
            np.stack([f.xy_px for _, f in self._window]),
            np.stack([f.visibility for _, f in self._window]),
            w, h, self._view.view, p,
        )  # fmt: skip
        ready = self._update_ready(setup, standing, t)

        n_reps = 0 if new_set else self._status.reps  # the last set's count until a new one
        if recording and t - self._reps_t >= p.rep_update_s:
            n_reps, self._reps_t = self._count_reps(), t

        banner, severity = None, None
        shown = self._cue_shown
        if shown is not None and t - shown.t_s <= p.cue_show_s:
            banner, severity = shown.text, shown.severity
        elif not ready:
            banner = _setup_banner(setup, standing)
        knee, hip = angles.knee_flex_deg[0], angles.hip_flex_deg[0]
        lift = self.exercise.value.upper()
        # joint angles bend in the side view's plane: a frontal camera sees them foreshortened
        profile = self._view.view in (View.SIDE, View.OBLIQUE)
        what = f"{lift}   Knee {_deg(knee)}  Hip {_deg(hip)}" if profile else lift
        overlay = Overlay(
            t_s=t, xy_px=xy, visibility=pose.visibility, back=back, spine_rel_deg=rel,
            gauge=side, reps=n_reps if recording else None,
            lines=(PREVIEW_LABEL, what),
            banner=banner, severity=severity,
        )  # fmt: skip
        done = self._now()
        with self._lock:
            self._overlay = overlay
            self._lags.append(done - arrived)
            self._times.append(done)
            cues = self._status.cues + ((cue,) if cue else ())
            self._status = replace(
                self._status,
                frames=self._status.frames + 1,
                frames_with_pose=self._status.frames_with_pose + int(found),
                reps=n_reps,
                exercise=str(self.exercise),
                view=str(self._view.view),
                setup=setup,
                setup_ready=ready,
                spine_rel_deg=rel,
                neutral_found=neutral is not None,
                cues=cues[-5:],
                fps=_rate(self._times),
                latency_ms=1000.0 * float(np.mean(self._lags)),
            )

    def _neutral_deg(self) -> float | None:
        """The lifter's standing neutral, as the offline series takes it (spine.neutral_of: the
        median after dropping outlying readings), once neutral_min_samples standing readings are in,
        or neutral_few_samples spread over neutral_min_span_s; None before."""
        p = self._params
        n = len(self._neutral)
        if n < p.neutral_few_samples:
            return None
        span = self._neutral[-1][0] - self._neutral[0][0]
        if n < p.neutral_min_samples and span < p.neutral_min_span_s:
            return None
        neutral, _ = spine.neutral_of(np.array([v for _, v in self._neutral]))
        return neutral if math.isfinite(neutral) else None

    def _update_ready(self, setup: SetupCheck, standing: bool, t: float) -> bool:
        """Latch: ready after every check passed for setup_hold_s while standing; not ready again
        once some check has failed for setup_lost_s (reps themselves never undo it)."""
        p = self._params
        if not self._ready:
            if setup.passed and standing:
                self._hold_since = t if self._hold_since is None else self._hold_since
                self._ready = t - self._hold_since >= p.setup_hold_s
            elif not setup.passed:
                self._hold_since = None
            return self._ready
        if any(item.ok is False for item in setup.items):
            self._bad_since = t if self._bad_since is None else self._bad_since
            if t - self._bad_since >= p.setup_lost_s:
                self._ready, self._hold_since, self._bad_since = False, None, None
        else:
            self._bad_since = None
        return self._ready

    def _estimate_view(self, width: int, height: int) -> ViewEstimate:
        times = [t for t, _ in self._window]
        seq = PoseSequence.from_frames(times, [f for _, f in self._window], width, height)
        if not seq.detected.any():
            return ViewEstimate(View.UNKNOWN, 0, "left", 0.0, np.array(["unknown"]))
        return kinematics.detect_view(seq)

    def _frame_angles(
        self,
        t: float,
        xy: FloatArray,
        visibility: FloatArray,
        width: int,
        height: int,
        *,
        keep: bool,
    ) -> kinematics.AngleSeries:
        """This frame's angles; keep: add them to the set's history the rep counter reads."""
        one = PoseSequence(
            t_s=np.array([t]), xy_px=xy[None], visibility=visibility[None],
            world_m=np.full((1, N_LANDMARKS, 3), np.nan), n_people=np.ones(1, dtype=np.int64),
            width_px=width, height_px=height,
        )  # fmt: skip
        v = self._view
        view = ViewEstimate(v.view, v.facing, v.near_side, v.confidence, np.array([v.view.value]))
        angles = kinematics.compute_angles(one, view)
        for name in _ANGLE_FIELDS if keep else ():
            self._angles[name].append(float(getattr(angles, name)[0]))
        return angles

    def _count_reps(self) -> int:
        p = self._params
        t = np.asarray(self._angles["t_s"])
        keep = t >= t[-1] - p.rep_history_s if len(t) else np.zeros(0, dtype=bool)
        if keep.sum() < 2:
            return 0
        series = kinematics.AngleSeries(
            **{name: np.asarray(values)[keep] for name, values in self._angles.items()}
        )
        if not np.all(np.diff(series.t_s) > 0):
            return self._status.reps
        found = reps.segment_reps(series, self.exercise).reps
        return sum(1 for r in found if r.end_frame - r.start_frame + 1 >= p.min_rep_frames)

    def _back(self, reading: float, neutral: float | None, lean_deg: float) -> tuple[float, float]:
        """(rounding, arching) in degrees now, in the terms of the set's review (faults.back_curves):
        rounding only while the trunk leans forward (the hinge), against the population's neutral
        back; arching against the lifter's own standing neutral once one has been seen. NaN where
        the back says nothing."""
        m = self._measures
        own = reading - neutral if neutral is not None else math.nan
        hinge = lean_deg >= m.spine_hinge_min_lean_deg
        rounding = math.nan
        if hinge and math.isfinite(reading):
            rounding = float(faults.population_rounding(reading, m, self.exercise))
        return rounding, -own

    def _cue(self, rounding: float, arching: float, t: float) -> Cue | None:
        checks = (
            (FaultCode.BACK_ROUNDING, rounding),
            (FaultCode.BACK_OVERARCH, arching),
        )
        fired: Cue | None = None
        for code, value in checks:
            rule = self._rules.get(code)
            if rule is None or self.exercise not in rule.exercises:
                continue
            active = math.isfinite(value) and rule.is_fault(value)
            if self._limiter.offer(str(code), active, t) and fired is None:
                fired = Cue(t, str(code), cue_for(code), str(rule.severity(value)))
        if fired is not None:
            self._cue_shown = fired
        return fired


_ANGLE_FIELDS = (
    "t_s", "trunk_incl_deg", "hip_flex_deg", "knee_flex_deg", "ankle_dorsi_deg", "neck_flex_deg",
    "thigh_above_horizontal_deg", "knee_width_ratio", "hip_height_norm",
)  # fmt: skip


def _setup_banner(setup: SetupCheck, standing: bool) -> str:
    """What to tell the lifter while the camera set-up is not ready yet."""
    problem = next((i for i in setup.items if i.ok is False), None) or next(
        (i for i in setup.items if i.ok is None and i.advice), None
    )
    if problem is not None:
        return problem.advice or problem.label
    return "Hold still..." if standing else "Stand tall for a second"


def _deg(value: float) -> str:
    return f"{value:.0f}°" if math.isfinite(value) else "--"


def _rate(times: deque[float]) -> float:
    if len(times) < 2:
        return 0.0
    span = times[-1] - times[0]
    return (len(times) - 1) / span if span > 0 else 0.0


def _default_detector() -> PoseDetector:
    from formcheck.pose import PoseEstimator

    return PoseEstimator(with_masks=True, people_check_s=0.0)


# --- recording ----------------------------------------------------------------------------------


class FrameRecorder:
    """Writes camera frames to H.264 in a background thread, at their own timestamps (the camera's
    frame rate may vary), so recording never slows the analysed stream.

    put(frame, t_s) takes an av.VideoFrame (as WebRTC delivers it, usually yuv420p: encoded with
    no colour conversion) or a BGR image; stop() finishes the file and returns its path (None when
    no frame arrived). The file is lossless H.264 (yuv420p, moov atom first): it is the input of
    the full analysis that judges the set, which then sees exactly the frames the camera sent and
    gives the report an upload of those frames gets. Lossy encoding would not: at CRF 18 the back
    rounding of sample_videos/squat_rounded_demo.mp4's first rep reads 21.7° against the original's
    18.3° (lossless: 18.3°). Lossless costs disk (0.2-0.9 MB a second at 480-640 px on the sample
    and real clips, more for a noisy webcam) but less CPU than x264's veryfast CRF 18 (about half
    the time). It uses H.264's High 4:4:4 Predictive profile, which Chromium plays; a browser
    that does not shows the annotated video once it is drawn. Written here rather than through
    H264Writer, which takes BGR images, to skip two colour conversions per frame.
    """

    ENCODER_OPTIONS: ClassVar[dict[str, str]] = {"qp": "0", "preset": "ultrafast"}
    TIME_BASE = Fraction(1, 90_000)

    def __init__(self, path: Path, fps_hint: float = 30.0) -> None:
        self.path = path
        self._fps = fps_hint
        self._queue: queue.Queue[tuple[Any, float] | None] = queue.Queue()
        self._t0: float | None = None
        self._last_t = -math.inf
        self.duration_s = 0.0
        self.frames = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="formcheck-recorder", daemon=True)
        self._thread.start()

    def put(self, frame: Any, t_s: float) -> None:
        if self._t0 is None:
            self._t0 = t_s
        t = t_s - self._t0
        if t <= self._last_t:  # a repeated or stepped-back timestamp: keep the file's clock moving
            return
        self._last_t = t
        self.duration_s = t
        self._queue.put((frame, t))

    def stop(self) -> Path | None:
        self._queue.put(None)
        self._thread.join()
        return self.path if self.frames and self.error is None else None

    def _run(self) -> None:
        import av

        tmp = self.path.with_name(f".{self.path.name}.part")
        container: Any = None
        stream: Any = None
        size: tuple[int, int] | None = None  # (width, height), even, from the first frame
        try:
            while (item := self._queue.get()) is not None:
                frame, t = item
                if isinstance(frame, np.ndarray):
                    frame = av.VideoFrame.from_ndarray(frame, format="bgr24")
                even = (frame.width - frame.width % 2, frame.height - frame.height % 2)
                if size is None:
                    size = even
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    container = av.open(
                        str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}
                    )
                    stream = container.add_stream(
                        "libx264", rate=Fraction(self._fps).limit_denominator(1001)
                    )
                    stream.width, stream.height = size
                    stream.pix_fmt = "yuv420p"
                    stream.codec_context.time_base = self.TIME_BASE
                    stream.options = dict(self.ENCODER_OPTIONS)
                if even != size:
                    continue  # the camera changed resolution mid-set: keep the first size
                out = frame.reformat(width=size[0], height=size[1], format="yuv420p")
                out.pts = round(t / self.TIME_BASE)
                out.time_base = self.TIME_BASE
                container.mux(stream.encode(out))
                self.frames += 1
            if container is not None:
                container.mux(stream.encode(None))
                container.close()
                container = None
                tmp.replace(self.path)
        except BaseException as err:  # reported through .error / stop()
            self.error = err
            while self._queue.get() is not None:  # drain so stop() never blocks
                pass
        finally:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.close()
            tmp.unlink(missing_ok=True)
