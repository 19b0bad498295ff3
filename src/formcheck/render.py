"""Overlay drawing and H.264 writing for the annotated video.

Drawing helpers are pure OpenCV and draw IN PLACE on a BGR uint8 image: draw_skeleton,
draw_back_contour, draw_hud, draw_spine_gauge. Sizes (line widths, fonts) scale with the frame so a
360p phone clip and a 1080p camera clip look alike; lines are anti-aliased and drawn with sub-pixel
precision. Missing (NaN) points are skipped, never drawn at 0.

Layout, chosen to keep the lifter (usually mid-frame) clear: the HUD panel sits top-left, the spine
gauge top-right and the fault banner along the bottom edge.

H264Writer writes browser-playable H.264 (High profile, yuv420p, moov atom first) with PyAV's
libx264, into a temporary file next to the target that replaces the target once the video is
complete. Colour conversion and encoding run on a background thread (PyAV releases the GIL there), so
the caller draws the next frame while the previous one is encoded.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import uuid
from fractions import Fraction
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Self

import av
import cv2
import numpy as np
from av.container import OutputContainer
from av.video.stream import VideoStream
from numpy.typing import NDArray

from formcheck.landmarks import SKELETON_EDGES
from formcheck.safefiles import tmp_name
from formcheck.spine import BackSample

ImageBGR = NDArray[np.uint8]

# Colours (BGR).
_WHITE = (245, 245, 245)
_MUTED = (175, 175, 175)
_DARK = (20, 20, 20)
_GREEN = (94, 197, 34)
_ORANGE = (22, 140, 249)
_RED = (60, 60, 235)
_NEUTRAL_BANNER = (105, 85, 71)
_LEFT_JOINT = (250, 165, 96)  # blue: the lifter's left side
_RIGHT_JOINT = (36, 191, 251)  # amber: the lifter's right side
_CONTOUR = (249, 121, 232)  # magenta: measured back outline
_TANGENT = (238, 211, 34)  # cyan: the two segments the flexion angle is taken between

_FONT = cv2.FONT_HERSHEY_DUPLEX
_SHIFT = 4  # sub-pixel bits for cv2 drawing: coordinates are multiplied by 2**_SHIFT
_PANEL_ALPHA = 0.65


# --------------------------------------------------------------------------------------------------
# H.264 writing


class H264Writer:
    """Writes BGR frames to a browser-playable H.264 MP4, atomically.

    Use as a context manager: frames go to a hidden temporary file next to `path`, which replaces
    `path` when the with-block ends normally; an exception inside the block deletes it and leaves
    any existing `path` untouched. Outside a with-block, call close() (keep) or abort() (discard).

    width/height are the size of the images passed to write(); an odd size is cropped by one pixel
    (yuv420p needs even sizes), see .out_width/.out_height. Timestamps: write(image, t_s=...) places
    the frame at t_s seconds (strictly increasing, 1/90000 s resolution) for variable frame rate
    output; without t_s frame i is placed at i / fps. Give t_s for every frame or for none.
    Encoding uses all CPU cores (libx264 frame threads) and happens on a background thread, at most
    QUEUE_DEPTH frames behind write() (memory stays bounded); an encoding error is raised by the next
    write() or by close().
    """

    TIME_BASE = Fraction(1, 90_000)
    QUEUE_DEPTH = 4

    def __init__(
        self,
        path: str | PathLike[str],
        fps: float,
        width: int,
        height: int,
        crf: int = 23,
        preset: str = "veryfast",
    ) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps}")
        if width < 2 or height < 2:
            raise ValueError(f"frame size must be at least 2x2 pixels, got {width}x{height}")
        self.path = Path(path)
        self.fps = float(fps)
        self.width, self.height = width, height
        self.out_width, self.out_height = width - width % 2, height - height % 2
        self.frames_written = 0
        self._last_pts: int | None = None
        self._tmp = self.path.with_name(f"{tmp_name(self.path.name)}{uuid.uuid4().hex[:12]}.tmp")
        try:
            self._container: OutputContainer = av.open(
                str(self._tmp), mode="w", format="mp4", options={"movflags": "+faststart"}
            )
            stream = self._container.add_stream(
                "libx264", rate=Fraction(self.fps).limit_denominator(1001)
            )
            stream.width, stream.height, stream.pix_fmt = self.out_width, self.out_height, "yuv420p"
            stream.codec_context.time_base = self.TIME_BASE
            stream.codec_context.thread_count = 0  # 0 = one thread per core (x264 decides)
            stream.codec_context.thread_type = "FRAME"  # SLICE would switch x264 to sliced threads
            stream.options = {"crf": str(crf), "preset": preset}
        except BaseException:
            self._discard()
            raise
        self._stream: VideoStream = stream
        self._open = True
        self._queue: queue.Queue[av.VideoFrame | None] = queue.Queue(maxsize=self.QUEUE_DEPTH)
        self._error: BaseException | None = None
        self._cancel = False
        self._worker = threading.Thread(
            target=self._encode_loop, name="formcheck-encode", daemon=True
        )
        self._worker.start()

    def write(self, image_bgr: ImageBGR, t_s: float | None = None) -> None:
        """Encode one (height, width, 3) uint8 BGR frame, at t_s seconds when given."""
        if not self._open:
            raise ValueError(f"{self.path}: writer is already closed")
        if image_bgr.shape != (self.height, self.width, 3) or image_bgr.dtype != np.uint8:
            raise ValueError(
                f"expected a ({self.height}, {self.width}, 3) uint8 image, "
                f"got {image_bgr.shape} {image_bgr.dtype}"
            )
        seconds = self.frames_written / self.fps if t_s is None else t_s
        if not math.isfinite(seconds):
            raise ValueError(f"t_s must be a finite number of seconds, got {t_s}")
        pts = round(seconds / self.TIME_BASE)
        if self._last_pts is not None and pts <= self._last_pts:
            raise ValueError(
                f"timestamps must increase; frame {self.frames_written} is at {seconds} s"
            )
        if self._error is not None:
            self.abort()
            raise self._error
        image = image_bgr[: self.out_height, : self.out_width]
        # from_ndarray copies the pixels, so the caller may reuse image_bgr at once
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        frame.pts = pts
        frame.time_base = self.TIME_BASE
        self._queue.put(frame)
        self._last_pts = pts
        self.frames_written += 1

    def _encode_loop(self) -> None:
        """Background thread: convert to yuv420p, encode, mux; until the None sentinel arrives.

        The conversion is the same swscale call the encoder would make itself, but single-threaded:
        swscale's own thread pool costs more than it saves on one 720p frame (1.8 vs 4.2 ms).
        """
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            if self._error is not None or self._cancel:
                continue  # keep draining so that write() never blocks on a dead worker
            try:
                self._encode(frame)
            except BaseException as exc:  # handed to the caller by write() / close()
                self._error = exc

    def _encode(self, frame: av.VideoFrame) -> None:
        yuv = frame.reformat(
            width=self.out_width, height=self.out_height, format="yuv420p", threads=1
        )
        self._container.mux(self._stream.encode(yuv))

    def _stop_worker(self) -> None:
        worker = getattr(self, "_worker", None)
        if worker is not None and worker.is_alive():
            self._queue.put(None)
            worker.join()

    def close(self) -> None:
        """Finish the video and move it into place. Raises ValueError when no frame was written."""
        if not self._open:
            return
        if self.frames_written == 0:
            self.abort()
            raise ValueError(f"{self.path}: no frames were written, so no video was saved")
        try:
            self._stop_worker()
            if self._error is not None:
                raise self._error
            self._container.mux(self._stream.encode(None))
            self._container.close()
            self._open = False
            self._tmp.replace(self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Stop and delete the temporary file; `path` is left as it was."""
        self._open = False
        self._cancel = True
        self._stop_worker()
        self._discard()

    def _discard(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            # The file is deleted next, so a failure to write the trailer does not matter.
            with contextlib.suppress(av.error.FFmpegError):
                container.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# --------------------------------------------------------------------------------------------------
# Drawing


def signed_deg(value: float) -> str:
    """'+12°', '-5°', and '0°' for anything that rounds to zero (never '-0°')."""
    whole = round(value)
    return f"{whole:+d}°" if whole else "0°"


def draw_skeleton(
    img: ImageBGR,
    xy_px: NDArray[np.float64],
    visibility: NDArray[np.float64],
    min_visibility: float = 0.5,
) -> None:
    """Draw the body skeleton (landmarks.SKELETON_EDGES) in place.

    xy_px (33, 2) pixels of this image, visibility (33,) 0..1. A landmark that is NaN or less
    visible than min_visibility is not drawn, nor are the bones touching it. Bones are white with
    a dark outline; joints are blue on the lifter's left side, amber on the right.
    """
    s = _ui_scale(img)
    ok = np.isfinite(xy_px).all(axis=1) & (np.nan_to_num(visibility) >= min_visibility)
    pts: list[tuple[int, int]] = [(x, y) for x, y in _fixed(xy_px).tolist()]
    width = max(2, round(3 * s))
    for a, b in SKELETON_EDGES:
        if ok[a] and ok[b]:
            cv2.line(img, pts[a], pts[b], _DARK, width + 2, cv2.LINE_AA, _SHIFT)
            cv2.line(img, pts[a], pts[b], _WHITE, width, cv2.LINE_AA, _SHIFT)
    radius = max(3, round(4.5 * s)) << _SHIFT
    for i in sorted({i for edge in SKELETON_EDGES for i in edge}):
        if ok[i]:
            colour = _LEFT_JOINT if i % 2 == 1 else _RIGHT_JOINT
            cv2.circle(img, pts[i], radius, colour, -1, cv2.LINE_AA, _SHIFT)
            cv2.circle(img, pts[i], radius, _DARK, 1, cv2.LINE_AA, _SHIFT)


def draw_back_contour(img: ImageBGR, sample: BackSample, value_deg: float | None = None) -> None:
    """Draw the measured back outline (magenta), the two tangent segments the flexion angle is taken
    between (cyan) and the angle as a label beside the middle of the back, in place.

    The label shows sample.flexion_deg unless value_deg is given (e.g. the flexion relative to the
    lifter's neutral); a NaN value shows no label. An unmeasurable sample draws nothing.
    """
    contour = sample.contour_px[np.isfinite(sample.contour_px).all(axis=1)]
    if len(contour) < 2:
        return
    s = _ui_scale(img)
    width = max(2, round(3 * s))
    poly = _fixed(contour).reshape(-1, 1, 2)
    cv2.polylines(img, [poly], False, _DARK, width + 2, cv2.LINE_AA, _SHIFT)
    cv2.polylines(img, [poly], False, _CONTOUR, width, cv2.LINE_AA, _SHIFT)
    for segment in (sample.upper_tangent_px, sample.lower_tangent_px):
        if segment.shape == (2, 2) and np.isfinite(segment).all():
            (x0, y0), (x1, y1) = _fixed(segment).tolist()
            cv2.line(img, (x0, y0), (x1, y1), _TANGENT, width + 1, cv2.LINE_AA, _SHIFT)
    value = sample.flexion_deg if value_deg is None else value_deg
    if not math.isfinite(value):
        return
    label = signed_deg(value) if value_deg is not None else f"{round(value)}°"
    scale, thick = 0.6 * s, max(1, round(1.4 * s))
    tw, th = _text_size(label, scale, thick)
    anchor = _label_anchor(contour, img.shape[1], offset=tw * 0.5 + 14 * s)
    pad = round(6 * s)
    x0 = int(np.clip(anchor[0] - tw / 2, pad, img.shape[1] - tw - pad))
    y0 = int(np.clip(anchor[1] + th / 2, th + pad, img.shape[0] - pad))
    _blend_rect(img, (x0 - pad, y0 - th - pad), (x0 + tw + pad, y0 + pad), _DARK, 0.7)
    _put_text(img, label, (x0, y0), scale, _CONTOUR, thick)


def draw_hud(
    img: ImageBGR,
    lines: list[str],
    rep_count: int | None,
    banner: str | None,
    banner_severity: str | None,
) -> None:
    """Draw the heads-up display in place.

    A semi-transparent panel top-left holds a big rep counter (when rep_count is not None) above
    the text lines (live angles, "Hip 85°"); a fault banner runs along the bottom when banner is
    given: red for severity "major", orange for "minor", slate otherwise. Text may use "°" and
    dashes or "·"; other non-ASCII characters show as "?".
    """
    s = _ui_scale(img)
    h, w = img.shape[:2]
    margin, pad = round(14 * s), round(12 * s)
    line_scale, line_thick = 0.62 * s, max(1, round(1.3 * s))
    label_scale = 0.5 * s
    big_scale, big_thick = 2.0 * s, max(2, round(3.5 * s))
    gap = round(9 * s)

    blocks: list[
        tuple[str, float, int, tuple[int, int, int]]
    ] = []  # text, scale, thickness, colour
    if rep_count is not None:
        blocks.append(("REPS", label_scale, line_thick, _MUTED))
        blocks.append((str(rep_count), big_scale, big_thick, _WHITE))
    blocks.extend((line, line_scale, line_thick, _WHITE) for line in lines)
    if blocks:
        sizes = [_text_size(text, sc, th) for text, sc, th, _ in blocks]
        panel_w = max(tw for tw, _ in sizes) + 2 * pad
        panel_h = sum(th for _, th in sizes) + gap * (len(blocks) - 1) + 2 * pad
        if rep_count is not None and lines:
            panel_h += gap  # room for the divider between the counter and the lines
        x0, y0 = margin, margin
        _blend_rect(img, (x0, y0), (x0 + panel_w, y0 + panel_h), _DARK, _PANEL_ALPHA)
        y = y0 + pad
        for i, ((text, sc, th, colour), (_, text_h)) in enumerate(zip(blocks, sizes, strict=True)):
            y += text_h
            _put_text(img, text, (x0 + pad, y), sc, colour, th)
            y += gap
            if rep_count is not None and lines and i == 1:
                cv2.line(img, (x0 + pad, y), (x0 + panel_w - pad, y), _MUTED, 1, cv2.LINE_AA)
                y += gap

    if banner:
        colour = {"major": _RED, "minor": _ORANGE}.get(str(banner_severity), _NEUTRAL_BANNER)
        scale, thick = 0.85 * s, max(1, round(1.8 * s))
        tw, th = _text_size(banner, scale, thick)
        max_w = w - 2 * margin - 2 * pad
        if tw > max_w:  # shrink a long message to fit the frame
            scale *= max_w / tw
            tw, th = _text_size(banner, scale, thick)
        bh = th + 2 * pad
        y1 = h - margin
        _blend_rect(img, (margin, y1 - bh), (w - margin, y1), colour, 0.85)
        _put_text(img, banner, ((w - tw) // 2, y1 - pad), scale, _WHITE, thick)


def draw_spine_gauge(
    img: ImageBGR,
    flexion_rel_deg: float,
    threshold_deg: float,
    severe_deg: float | None = None,
    show_value: bool = True,
) -> None:
    """Draw a half-dial gauge of the back's deviation from the lifter's neutral, top-right.

    In place. The dial runs from arching (left, -) through neutral (top, 0) to rounding (right, +).
    Zones: green within ±threshold_deg, orange beyond it, red beyond ±severe_deg when given. The
    needle and the value take the colour of the value's zone. A NaN value shows a grey dial, "--".
    Without show_value the needle alone shows the value (the panel keeps its size).
    """
    if not (math.isfinite(threshold_deg) and threshold_deg > 0):
        raise ValueError(f"threshold_deg must be a positive number, got {threshold_deg}")
    s = _ui_scale(img)
    w = img.shape[1]
    margin, pad = round(14 * s), round(10 * s)
    radius = round(52 * s)
    band = max(3, round(9 * s))
    span = max(2.0 * threshold_deg, 1.25 * severe_deg if severe_deg else 0.0)
    value_scale, value_thick = 0.75 * s, max(1, round(1.6 * s))
    caption_scale, caption_thick = max(0.3, 0.42 * s), 1
    value_h = _text_size("+0°", value_scale, value_thick)[1]
    caption_w, caption_h = _text_size("back vs neutral", caption_scale, caption_thick)
    panel_w = max(2 * (radius + band + pad), caption_w + 2 * pad)
    panel_h = radius + band // 2 + value_h + caption_h + 4 * pad
    x0, y0 = w - margin - panel_w, margin
    centre = (x0 + panel_w // 2, y0 + pad + band // 2 + radius)
    _blend_rect(img, (x0, y0), (x0 + panel_w, y0 + panel_h), _DARK, _PANEL_ALPHA)

    known = math.isfinite(flexion_rel_deg)
    zones = [(0.0, threshold_deg, _GREEN), (threshold_deg, span, _ORANGE)]
    if severe_deg is not None and threshold_deg < severe_deg < span:
        zones = [zones[0], (threshold_deg, severe_deg, _ORANGE), (severe_deg, span, _RED)]
    for lo, hi, colour in zones:
        shade = colour if known else _MUTED
        for sign in (-1.0, 1.0):
            a0, a1 = sorted((_dial_angle(sign * lo, span), _dial_angle(sign * hi, span)))
            cv2.ellipse(img, centre, (radius, radius), 0, a0, a1, shade, band, cv2.LINE_AA)
    tick_in, tick_out = (
        _dial_point(centre, radius - band, 0.0, span),
        _dial_point(centre, radius + band, 0.0, span),
    )
    cv2.line(img, tick_in, tick_out, _WHITE, max(1, round(1.5 * s)), cv2.LINE_AA)

    if known:
        colour = _zone_colour(abs(flexion_rel_deg), threshold_deg, severe_deg)
        tip = _dial_point(centre, radius - band, flexion_rel_deg, span)
        cv2.line(img, centre, tip, colour, max(3, round(4 * s)), cv2.LINE_AA)
        cv2.circle(img, centre, max(3, round(5 * s)), colour, -1, cv2.LINE_AA)
        text = signed_deg(flexion_rel_deg)
    else:
        colour, text = _MUTED, "--"
    tw, _ = _text_size(text, value_scale, value_thick)
    y_value = centre[1] + pad + value_h
    if show_value:
        _put_text(img, text, (centre[0] - tw // 2, y_value), value_scale, colour, value_thick)
    y_caption = y_value + pad + caption_h
    caption_x = centre[0] - caption_w // 2
    _put_text(img, "back vs neutral", (caption_x, y_caption), caption_scale, _MUTED, caption_thick)


# --------------------------------------------------------------------------------------------------
# Helpers


def _ui_scale(img: ImageBGR) -> float:
    """Size factor for lines and text: 1.0 for a 720p frame (either orientation), floored."""
    return max(0.5, min(int(img.shape[0]), int(img.shape[1])) / 720.0)


def _fixed(xy: NDArray[np.float64]) -> NDArray[np.int32]:
    """Pixel coordinates -> cv2 fixed-point integers (NaN rows must be skipped by the caller)."""
    return np.round(np.nan_to_num(xy) * (1 << _SHIFT)).astype(np.int32)


def _blend_rect(
    img: ImageBGR,
    p0: tuple[int, int],
    p1: tuple[int, int],
    colour: tuple[int, int, int],
    alpha: float,
) -> None:
    """Fill a rectangle with colour at opacity alpha (only the rectangle is touched)."""
    x0, y0 = max(0, p0[0]), max(0, p0[1])
    x1, y1 = min(img.shape[1], p1[0]), min(img.shape[0], p1[1])
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    fill = np.empty_like(roi)
    fill[:] = colour
    cv2.addWeighted(fill, alpha, roi, 1.0 - alpha, 0.0, dst=roi)


_ASCII_LOOKALIKES = str.maketrans(
    {"—": "-", "–": "-", "−": "-", "·": "-", "•": "-", "×": "x", "’": "'", "‘": "'", "“": '"',
     "”": '"', "…": "..."}
)  # fmt: skip


def _ascii(text: str) -> str:
    """cv2's Hershey fonts are ASCII only ("°" is drawn separately as a small ring): common
    typographic marks become their ASCII look-alikes, anything else "?"."""
    return text.translate(_ASCII_LOOKALIKES).encode("ascii", "replace").decode("ascii")


def _degree_ring(scale: float, thickness: int) -> tuple[int, int]:
    """(radius, advance) of the degree sign drawn after a digit at this font scale."""
    digit_h = cv2.getTextSize("0", _FONT, scale, thickness)[0][1]
    radius = max(2, round(0.17 * digit_h))
    return radius, 2 * radius + thickness + max(2, round(4 * scale))


def _text_size(text: str, scale: float, thickness: int) -> tuple[int, int]:
    """(width, height above the baseline) of text as _put_text draws it."""
    parts = text.split("°")
    width = 0
    height = cv2.getTextSize("0", _FONT, scale, thickness)[0][1]
    for part in parts:
        if part:
            (pw, ph), _ = cv2.getTextSize(_ascii(part), _FONT, scale, thickness)
            width += pw
            height = max(height, ph)
    width += (len(parts) - 1) * _degree_ring(scale, thickness)[1]
    return width, height


def _put_text(
    img: ImageBGR,
    text: str,
    org: tuple[int, int],
    scale: float,
    colour: tuple[int, int, int],
    thickness: int,
) -> None:
    """Anti-aliased text (with "°" drawn as a ring); org is the baseline's left end, as in
    cv2.putText. Callers put text on a panel or banner, never bare on the video."""
    x, y = org
    parts = text.split("°")
    digit_h = cv2.getTextSize("0", _FONT, scale, thickness)[0][1]
    for i, part in enumerate(parts):
        if part:
            chunk = _ascii(part)
            cv2.putText(img, chunk, (x, y), _FONT, scale, colour, thickness, cv2.LINE_AA)
            x += cv2.getTextSize(chunk, _FONT, scale, thickness)[0][0]
        if i < len(parts) - 1:
            radius, advance = _degree_ring(scale, thickness)
            ring = max(1, thickness - 1)
            centre = (x + radius + max(1, thickness // 2), y - digit_h + radius)
            cv2.circle(img, centre, radius, colour, ring, cv2.LINE_AA)
            x += advance


def _label_anchor(contour: NDArray[np.float64], width: int, offset: float) -> tuple[float, float]:
    """A point beside the middle of the contour, on the side it bulges towards (for a straight
    contour: the side facing away from the frame centre)."""
    mid = contour[len(contour) // 2]
    chord = contour[-1] - contour[0]
    normal = np.array([-chord[1], chord[0]]) / max(float(np.hypot(*chord)), 1e-9)
    bulge = float(np.dot(mid - (contour[0] + contour[-1]) / 2, normal))
    if abs(bulge) < 1.0:
        bulge = float(normal[0]) * (1.0 if mid[0] > width / 2 else -1.0)
    direction = normal if bulge >= 0 else -normal
    return float(mid[0] + direction[0] * offset), float(mid[1] + direction[1] * offset)


def _dial_angle(value_deg: float, span_deg: float) -> float:
    """cv2.ellipse angle (degrees, clockwise from +x because y points down) of a dial value:
    -span at the left end (180), 0 at the top (270), +span at the right end (360)."""
    return 270.0 + 90.0 * float(np.clip(value_deg / span_deg, -1.0, 1.0))


def _dial_point(
    centre: tuple[int, int], radius: float, value_deg: float, span_deg: float
) -> tuple[int, int]:
    a = math.radians(_dial_angle(value_deg, span_deg))
    return round(centre[0] + radius * math.cos(a)), round(centre[1] + radius * math.sin(a))


def _zone_colour(
    magnitude_deg: float, threshold_deg: float, severe_deg: float | None
) -> tuple[int, int, int]:
    if magnitude_deg <= threshold_deg:
        return _GREEN
    if severe_deg is not None and magnitude_deg > severe_deg:
        return _RED
    return _ORANGE
