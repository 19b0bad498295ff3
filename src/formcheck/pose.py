"""Frames -> pose landmarks + person mask. The ONLY module that imports mediapipe.

Uses the MediaPipe Tasks PoseLandmarker in VIDEO mode (tracking between frames, monotonically increasing
millisecond timestamps) with the full-body model bundle shipped in models/ (built by
tools/build_pose_model.sh; nothing is downloaded at run time) and segmentation masks on.

The landmarker tracks ONE person (tracking several costs ~40% speed and loses detections). To notice
bystanders, a second, mask-free landmarker in IMAGE mode counts the people in view every
`people_check_s` seconds; the tracked lifter stays the same person because VIDEO mode follows the previous
frame's region, and when the track is lost the largest, most central person is picked again.

One model per process: building a landmarker takes ~1 s and each one built and closed leaves ~10 MB
behind in MediaPipe, so an app that analysed many videos grew with every one. reused_estimator()
hands each video the process's model for its configuration, its clock moved past the previous video
(start_video()); a second video analysed at the same time gets a model of its own.

Speed: MediaPipe's inference runs on one core (measured: ~1.05 cores busy). The people counter (~100 ms
per check at 720p) therefore runs on a helper thread, on the same frame and at the same time as the
tracking landmarker, and its result is awaited before detect() returns, so the counts are those of the
serial order. The two models are also built in parallel. MediaPipe's calls release the GIL (ctypes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from formcheck.landmarks import N_LANDMARKS, PoseFrame

MODEL_FILE = "pose_landmarker_full.task"
#: start_video() moves the model's clock this far past the previous video's last frame, so its
#: tracking and landmark smoothing treat the new video as a fresh start, not as the next frame.
VIDEO_GAP_MS = 60_000


class ModelMissingError(RuntimeError):
    """The pose model bundle is not where formcheck expects it."""


def default_model_path() -> Path:
    """models/pose_landmarker_full.task at the repository root (or FORMCHECK_MODEL)."""
    import os

    env = os.environ.get("FORMCHECK_MODEL")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "models" / MODEL_FILE


class PoseEstimator:
    """Runs the pose model frame by frame. Use as a context manager (closes the native model).

    detect(image_bgr, t_s) -> PoseFrame for the lifter; timestamps must increase.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        with_masks: bool = True,
        min_confidence: float = 0.5,
        people_check_s: float = 2.0,
    ) -> None:
        path = model_path or default_model_path()
        if not path.is_file():
            raise ModelMissingError(
                f"pose model not found at {path}. It ships in the repository's models/ folder; "
                "rebuild it with tools/build_pose_model.sh or set FORMCHECK_MODEL to its path."
            )
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions

        model = path.read_bytes()
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=model),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=1,
            min_pose_detection_confidence=min_confidence,
            min_pose_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
            output_segmentation_masks=with_masks,
        )
        counter_options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=model),
            running_mode=vision.RunningMode.IMAGE,
            num_poses=3,
            min_pose_detection_confidence=min_confidence,
            min_pose_presence_confidence=min_confidence,
        )
        self._landmarker: Any = None
        self._counter: Any = None
        self._helper: ThreadPoolExecutor | None = None
        counter_built: Future[Any] | None = None
        if people_check_s > 0:
            self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="formcheck-people")
            counter_built = self._helper.submit(
                vision.PoseLandmarker.create_from_options, counter_options
            )
        try:
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
            if counter_built is not None:
                self._counter = counter_built.result()  # re-raises a failed build
        except BaseException:
            if counter_built is not None and self._counter is None:
                try:
                    self._counter = counter_built.result()
                except Exception:  # the first error is the one worth reporting
                    self._counter = None
            self.close()
            raise
        self._people_check_s = people_check_s
        self._next_check_s = 0.0
        self._people = 1
        self._last_ms = -1
        self._offset_ms = 0
        #: frames in which more than one person was counted (since start_video())
        self.multi_person_frames = 0

    def start_video(self) -> None:
        """Get ready for another video: the tracker lets go of the previous video's lifter (it is
        shown an empty frame, so the next frame is searched afresh, as by a new model), the
        video's timestamps may start again from 0 (they are moved VIDEO_GAP_MS past the previous
        video's), and the people count starts over."""
        if self._last_ms >= 0:
            self._offset_ms = self._last_ms + 1 + VIDEO_GAP_MS
            self._landmarker.detect_for_video(_blank_image(), self._offset_ms)
            self._last_ms = self._offset_ms
            self._offset_ms += VIDEO_GAP_MS
        self._next_check_s = 0.0
        self._people = 1
        self.multi_person_frames = 0

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._helper is not None:
            self._helper.shutdown(wait=True)
            self._helper = None
        for model in (self._landmarker, self._counter):
            if model is not None:
                model.close()
        self._landmarker = self._counter = None

    def detect(self, image_bgr: NDArray[np.uint8], t_s: float) -> PoseFrame:
        import mediapipe as mp

        h, w = image_bgr.shape[:2]
        ms = max(self._offset_ms + round(t_s * 1000.0), self._last_ms + 1)
        self._last_ms = ms
        # cv2 swaps the channels ~20x faster than a numpy [..., ::-1] copy (0.16 vs 3.1 ms at 720p)
        rgb = cv2.cvtColor(np.ascontiguousarray(image_bgr), cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        counting: Future[Any] | None = None
        if self._counter is not None and self._helper is not None and t_s >= self._next_check_s:
            counting = self._helper.submit(self._counter.detect, image)
            self._next_check_s = t_s + self._people_check_s
        try:
            result = self._landmarker.detect_for_video(image, ms)
        finally:
            if counting is not None:
                self._people = len(counting.result().pose_landmarks or [])
        if not result.pose_landmarks:
            return empty_pose_frame(0)
        n_people = max(self._people, 1)
        if n_people > 1:
            self.multi_person_frames += 1
        pose = result.pose_landmarks[0]
        xy = np.array([[p.x * w, p.y * h] for p in pose], dtype=np.float64)
        vis = np.array([p.visibility or 0.0 for p in pose], dtype=np.float64)
        world = np.full((N_LANDMARKS, 3), np.nan)
        if result.pose_world_landmarks:
            world = np.array([[p.x, p.y, p.z] for p in result.pose_world_landmarks[0]])
        mask: NDArray[np.float32] | None = None
        if result.segmentation_masks:
            # numpy_view() points into memory that MediaPipe frees with the mp.Image (it holds no
            # reference to it), so the mask must be copied before `result` goes away
            m = result.segmentation_masks[0].numpy_view()
            mask = np.array(m.reshape(m.shape[0], m.shape[1]), dtype=np.float32, copy=True)
        return PoseFrame(xy_px=xy, visibility=vis, world_m=world, mask=mask, n_people=n_people)


def _blank_image() -> Any:
    """A small black mp.Image: nobody to track."""
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8))


def empty_pose_frame(n_people: int = 0) -> PoseFrame:
    """The PoseFrame for a frame where the lifter was not found (NaN, never zeros)."""
    return PoseFrame(
        xy_px=np.full((N_LANDMARKS, 2), np.nan),
        visibility=np.zeros(N_LANDMARKS),
        world_m=np.full((N_LANDMARKS, 3), np.nan),
        mask=None,
        n_people=n_people,
    )


_reused: dict[tuple[Path, bool, float], tuple[threading.Lock, PoseEstimator]] = {}
_reused_lock = threading.Lock()


@contextmanager
def reused_estimator(
    *, with_masks: bool = True, people_check_s: float = 2.0
) -> Iterator[PoseEstimator]:
    """The process's pose model for this configuration, ready for a new video (start_video()).

    Kept for the life of the process (one per configuration) and lent to one video at a time; a
    caller that finds it lent out gets a model of its own, closed when the block ends.
    """
    key = (default_model_path(), with_masks, people_check_s)
    with _reused_lock:
        entry = _reused.get(key)
        if entry is None:
            estimator = PoseEstimator(with_masks=with_masks, people_check_s=people_check_s)
            entry = _reused[key] = (threading.Lock(), estimator)
    lock, shared = entry
    if not lock.acquire(blocking=False):
        with PoseEstimator(with_masks=with_masks, people_check_s=people_check_s) as own:
            yield own
        return
    try:
        shared.start_video()
        yield shared
    finally:
        lock.release()
