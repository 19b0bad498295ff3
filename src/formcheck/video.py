"""Open a video file -> upright BGR frames with real timestamps.

PyAV (FFmpeg) is the decoder: it reads H.264, HEVC, MPEG-4 Part 2, VP9 and AV1 (libdav1d) in
mp4, mov, avi, webm and mkv. OpenCV's VideoCapture is not used: it decodes no frame of an AV1
clip and invents timestamps from the nominal frame rate.

What the stages below can rely on:
* Frames are upright and square-pixelled: the container's rotation (display matrix or the phone
  "rotate" tag) is applied and non-square pixels are resampled, so angles measured in pixels are
  true. Every frame has the size of the first one.
* t_s is seconds from the first decoded frame (0.0), read from each frame's pts, so a variable
  frame rate clip keeps its real timing. It is strictly increasing: a frame repeating the previous
  pts is dropped; a pts that steps backwards (a timestamp reset) is moved one nominal frame
  interval after the previous frame, and the frames after it move with it.
* Frames stream one at a time; memory does not grow with the clip's length.
* iter_strided(path, k) gives the pixels of every k-th frame (and the last) only, the others as
  time and place (SkippedFrame): the analysis's stride (formcheck.stride).
* A file that cannot be read raises VideoError (path, what is wrong, what to do); so does a still
  image (PNG, JPEG..., whatever its name). A file that was cut short yields the frames before the
  cut and then stops (pipeline.truncated_s compares them with duration_s); one with no decodable
  frame raises.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from os import PathLike
from pathlib import Path
from typing import TypeVar, cast

import av
import av.error
import cv2
import numpy as np
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: Containers formcheck accepts (file-name extensions, for upload widgets and help texts).
SUPPORTED_CONTAINERS: tuple[str, ...] = ("mp4", "mov", "avi", "webm", "mkv")

_RE_EXPORT = "Export or save the clip again as MP4 (H.264) from your phone or editor and retry."
_FALLBACK_FPS = 30.0  # spacing of frames without a timestamp in a file that states no frame rate
_Item = TypeVar("_Item")
_ROTATE_CW = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


#: A video whose shorter side has fewer pixels cannot show a lifter the pose model can find (a body
#: needs tens of pixels, and the annotated video's read-outs need room); probe() refuses it with a
#: clear message instead of analysing nothing.
MIN_SIDE_PX = 64
#: A frame longer than this many times its width (or wider than this many times its height) is a
#: strip, not a camera picture (phones film 16:9, about 1.8:1; ultra-wide modes stay under 3:1).
MAX_ASPECT = 10.0


class VideoError(Exception):
    """A file that cannot be read as a video.

    path: the file; reason: what is wrong; hint: what to do. str() is one line with all three.
    """

    def __init__(self, path: Path, reason: str, hint: str) -> None:
        super().__init__(f"{path}: {reason}. {hint}")
        self.path = path
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class VideoInfo:
    """What probe() found.

    width/height: pixels of the upright frame iter_frames() yields at full size (rotation and pixel
    aspect applied); fps: nominal (average) frame rate, NaN when the file states none; duration_s:
    NaN when unknown; n_frames_estimate: from the header or duration x fps, 0 when unknown (decoded
    frames can be fewer); codec: FFmpeg codec name ("h264", "av1", ...); rotation_deg: clockwise
    turn applied to the decoded pixels, one of 0, 90, 180, 270.
    """

    path: Path
    width: int
    height: int
    fps: float
    duration_s: float
    n_frames_estimate: int
    codec: str
    rotation_deg: int


@dataclass(frozen=True)
class Frame:
    """One upright frame.

    index: position in the yielded sequence (0, 1, 2, ...); t_s: seconds since the first frame;
    image_bgr (H, W, 3) uint8, writable.
    """

    index: int
    t_s: float
    image_bgr: NDArray[np.uint8]


@dataclass(frozen=True)
class SkippedFrame:
    """A frame iter_strided() passed over: its place and time, no pixels yet (the codec decoded it,
    as the frames after it may depend on it, but did not convert it to an image). load() converts
    it after all, in the caller's thread, at the cost the skip saved."""

    index: int
    t_s: float
    _load: Callable[[], NDArray[np.uint8]] = field(repr=False, compare=False)

    def load(self) -> Frame:
        return Frame(index=self.index, t_s=self.t_s, image_bgr=self._load())


def probe(path: str | PathLike[str]) -> VideoInfo:
    """Read a video's header and first frame. Raises VideoError when it is not a readable video."""
    p, container, stream = _open_video(path)
    with container:
        first = next(_decode(container, stream, p), None)
        if first is None:
            raise _no_frames(p)
        rotation = _rotation_cw_deg(first, stream)
        width, height = _output_size(first, stream, rotation, max_side=None)
        if min(width, height) < MIN_SIDE_PX:
            raise VideoError(
                p,
                f"the video is only {width}x{height} pixels, too small to show a lifter "
                f"(at least {MIN_SIDE_PX} pixels a side are needed)",
                "Record at 480p or more (any phone camera does), with the whole body in frame.",
            )
        if max(width, height) > MAX_ASPECT * min(width, height):
            raise VideoError(
                p,
                f"the video's frame is {width}x{height} pixels, a strip more than "
                f"{MAX_ASPECT:.0f} times longer than it is wide, not a camera picture",
                "Use the clip as the camera recorded it (uncropped), whole body in frame.",
            )
        fps = _nominal_fps(stream)
        duration_s = _duration_s(container, stream)
        if stream.frames > 0:
            n_estimate = stream.frames
        elif math.isfinite(duration_s) and math.isfinite(fps):
            n_estimate = round(duration_s * fps)
        else:
            n_estimate = 0
        return VideoInfo(
            path=p,
            width=width,
            height=height,
            fps=fps,
            duration_s=duration_s,
            n_frames_estimate=n_estimate,
            codec=stream.codec_context.codec.canonical_name,
            rotation_deg=rotation,
        )


def iter_frames(path: str | PathLike[str], max_side: int | None = None) -> Iterator[Frame]:
    """Stream the upright frames of a video with their timestamps (see the module docstring).

    max_side: when given, frames are downscaled (never upscaled) so that the longer side is at most
    this many pixels. Raises VideoError at once when the file cannot be opened, and during iteration
    when it holds no decodable frame.
    """
    _check_max_side(max_side)
    p, container, stream = _open_video(path)
    return (f for f in _frames(p, container, stream, max_side, 1) if isinstance(f, Frame))


def iter_strided(
    path: str | PathLike[str], stride: int, max_side: int | None = None
) -> Iterator[Frame | SkippedFrame]:
    """Every frame of the video in order, as iter_frames(), but only every `stride`-th one (index
    0, stride, 2 x stride, ...) and the last one come with pixels (Frame); the others are
    SkippedFrame (time and place; pixels on request), which saves their conversion to an image
    unless the caller asks for it. stride 1 gives the frames of iter_frames()."""
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    _check_max_side(max_side)
    p, container, stream = _open_video(path)
    return _frames(p, container, stream, max_side, stride)


def _check_max_side(max_side: int | None) -> None:
    if max_side is not None and max_side < 2:
        raise ValueError(f"max_side must be at least 2 pixels, got {max_side}")


def _frames(
    path: Path, container: InputContainer, stream: VideoStream, max_side: int | None, stride: int
) -> Iterator[Frame | SkippedFrame]:
    with container:
        fps = _nominal_fps(stream)
        nominal_dt = 1.0 / (fps if math.isfinite(fps) else _FALLBACK_FPS)
        size: tuple[int, int] | None = None  # (width, height) before rotation, from the first frame
        rotation = 0

        def upright(frame: VideoFrame) -> NDArray[np.uint8]:
            nonlocal size, rotation
            if size is None:
                rotation = _rotation_cw_deg(frame, stream)
                upright_w, upright_h = _output_size(frame, stream, rotation, max_side)
                size = (upright_h, upright_w) if rotation in (90, 270) else (upright_w, upright_h)
            image = cast(
                "NDArray[np.uint8]",
                frame.to_ndarray(
                    width=size[0], height=size[1], format="bgr24", interpolation="AREA"
                ),
            )
            if rotation:
                image = cast("NDArray[np.uint8]", cv2.rotate(image, _ROTATE_CW[rotation]))
            return image

        index = 0
        # with a stride, each frame is held until the next one arrives: the last one gets pixels
        held: tuple[float, VideoFrame] | None = None
        for t_s, frame in _timeline(_decode(container, stream, path), nominal_dt):
            if stride == 1:
                yield Frame(index=index, t_s=t_s, image_bgr=upright(frame))
                index += 1
                continue
            if held is not None:
                if index % stride == 0:
                    yield Frame(index=index, t_s=held[0], image_bgr=upright(held[1]))
                else:
                    yield SkippedFrame(index, held[0], partial(upright, held[1]))
                index += 1
            held = (t_s, frame)
        if held is not None:
            yield Frame(index=index, t_s=held[0], image_bgr=upright(held[1]))
            index += 1
        if index == 0:
            raise _no_frames(path)


def _open_video(path: str | PathLike[str]) -> tuple[Path, InputContainer, VideoStream]:
    """Check the path, open the container and pick its main video stream (threaded decoding on)."""
    p = Path(path)
    if not p.exists():
        raise VideoError(p, "file not found", "Check the path and the file name.")
    if p.is_dir():
        raise VideoError(p, "this is a folder, not a video file", "Pass the video file itself.")
    try:
        with p.open("rb") as fh:
            head = fh.read(16)
    except OSError as e:
        reason = f"file cannot be read ({e.strerror or e})"
        raise VideoError(p, reason, "Check that you may read it.") from e
    if not head:
        hint = "The copy or upload did not finish; copy it again."
        raise VideoError(p, "file is empty (0 bytes)", hint)
    try:
        container = av.open(str(p), mode="r")
    except av.error.FFmpegError as e:
        if _has_container_signature(head):
            raise VideoError(
                p,
                "file is truncated or damaged",
                "The recording or copy did not finish; copy the clip again or export it again.",
            ) from e
        formats = ", ".join(SUPPORTED_CONTAINERS)
        raise VideoError(p, "not a video file", f"Use one of {formats}. {_RE_EXPORT}") from e
    if _is_still_image(container):
        container.close()
        raise VideoError(
            p,
            "this is a still image, not a video",
            "formcheck needs a video of the whole set; film it with your phone's camera in video "
            f"mode and use the clip ({', '.join(SUPPORTED_CONTAINERS)})",
        )
    stream = container.streams.best("video")
    if not isinstance(stream, VideoStream):
        container.close()
        raise VideoError(p, "file has no video stream (audio only?)", _RE_EXPORT)
    if stream.codec_context is None:
        container.close()
        raise VideoError(p, "the video codec cannot be decoded here", _RE_EXPORT)
    stream.thread_type = "AUTO"
    return p, container, stream


def _is_still_image(container: InputContainer) -> bool:
    """True for FFmpeg's image readers (PNG, JPEG, WebP, BMP, TIFF...: 'image2', '*_pipe'),
    whatever the file's name."""
    names = str(container.format.name).split(",")
    return any(n == "image2" or n.endswith("_pipe") for n in names)


def _has_container_signature(head: bytes) -> bool:
    """True when the first bytes are those of MP4/MOV, AVI or Matroska/WebM (then a failed open
    means a damaged file rather than some other kind of file)."""
    mp4_box = head[4:8] in {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}
    avi = head[:4] == b"RIFF" and head[8:12] == b"AVI "
    matroska = head[:4] == b"\x1a\x45\xdf\xa3"
    return mp4_box or avi or matroska


def _no_frames(path: Path) -> VideoError:
    return VideoError(
        path, "no decodable video frames", f"The file may be cut short or damaged. {_RE_EXPORT}"
    )


def _decode(container: InputContainer, stream: VideoStream, path: Path) -> Iterator[VideoFrame]:
    """Decoded frames in presentation order. A damaged packet is skipped; a read error (file cut
    short) ends the stream after the frames still inside the decoder."""
    try:
        for packet in container.demux(stream):
            try:
                yield from stream.decode(packet)
            except av.error.InvalidDataError:
                logger.debug("%s: skipped a damaged packet at pts %s", path, packet.pts)
    except av.error.FFmpegError as e:
        logger.warning("%s: stopped reading at a damaged or missing part (%s)", path, e)
        try:
            yield from stream.decode(None)
        except av.error.FFmpegError:
            return


def _timeline(
    frames: Iterator[VideoFrame], nominal_dt: float
) -> Iterator[tuple[float, VideoFrame]]:
    """(t_s, frame): seconds from the first frame, strictly increasing (module docstring)."""
    origin_s: float | None = None
    last_pts: int | None = None
    last_t: float | None = None
    shift_s = 0.0
    for frame in frames:
        time_s = frame.time
        if frame.pts is None or time_s is None:
            t = 0.0 if last_t is None else last_t + nominal_dt
        else:
            if frame.pts == last_pts:
                continue
            last_pts = frame.pts
            if origin_s is None:
                origin_s = time_s
            t = time_s - origin_s + shift_s
        if last_t is not None and t <= last_t:
            shift_s += last_t + nominal_dt - t
            t = last_t + nominal_dt
        last_t = t
        yield t, frame


def _rotation_cw_deg(frame: VideoFrame, stream: VideoStream) -> int:
    """Clockwise turn (0/90/180/270) that makes the picture upright: from the display matrix
    (counter-clockwise in FFmpeg's convention), else from the legacy "rotate" tag (clockwise)."""
    cw = -float(frame.rotation)
    if cw == 0:
        try:
            cw = float(stream.metadata.get("rotate", 0))
        except ValueError:
            cw = 0.0
    return round(cw / 90.0) * 90 % 360


def _output_size(
    frame: VideoFrame, stream: VideoStream, rotation: int, max_side: int | None
) -> tuple[int, int]:
    """(width, height) of the upright output frame: square pixels, then the max_side downscale."""
    width = float(frame.width)
    sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    if sar is not None and sar > 0:
        width *= float(sar)
    height = float(frame.height)
    if rotation in (90, 270):
        width, height = height, width
    scale = 1.0 if max_side is None else min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _nominal_fps(stream: VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if isinstance(rate, Fraction) and rate > 0:
            return float(rate)
    return math.nan


def _duration_s(container: InputContainer, stream: VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return math.nan


def prefetch(frames: Iterator[_Item], depth: int = 4) -> Iterator[_Item]:
    """Decode ahead in a background thread, at most `depth` frames ahead (memory stays bounded).

    PyAV releases the GIL while decoding, so decoding overlaps the consumer's work (pose inference
    runs on another core). Exceptions from the decoder (VideoError) are re-raised in the consumer.
    Stopping early (break, exception, garbage collection) stops the thread.
    """
    import queue
    import threading

    done = object()
    buffer: queue.Queue[object] = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def produce() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        buffer.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: object = done
        except BaseException as exc:  # handed to the consumer below
            item = exc
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    worker = threading.Thread(target=produce, name="formcheck-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield cast(_Item, item)
    finally:
        stop.set()
        worker.join(timeout=5)
