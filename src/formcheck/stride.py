"""Which frames the pose model sees, and the frames between them.

Lifts are slow, and much of a set is standing still (the setup, the lockout, the breaths between
reps). The pose model tracks the lifter from each frame to the next, and it tracks worse when the
lifter moved far between the frames it is shown: reading every 2nd frame of a 30 fps rendered clip
throughout moves the tracked hips and shoulders by 7 px on average (p95 43 px) at the frames read
either way, and costs spine and fault accuracy. So the stride adapts to the motion:
choose_stride() picks k (at least min_analysed_fps analysed frames a second), and while the lifter
stands still (is_still: no shoulder, hip, knee or wrist faster than still_torso_per_s torso lengths
a second between the last two analysed frames) the model reads every k-th frame only; as soon as
they move, or are lost, it reads every frame again. densify() then gives every frame its landmarks
and back reading, interpolated linearly in time between the two analysed frames around it. Only
the frames between two analysed frames that both found the lifter are filled; next to a frame
without the lifter they stay empty (a gap stays a gap, for the later stages' bounded gap filling to
judge). Reps, phases and fault spans are then found on every frame with its real timestamp. The
policy's numbers live in data/stride.yaml (StrideParams).

The stride is opt-in (`formcheck analyze --fast`, AnalysisOptions.fast): on the labelled real clips
it moves a rep's back reading by 0.3 degrees at the median and up to 2.2, more than re-encoding a
clip does, and a verdict near the limit can flip with it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.datafiles import Checks
from formcheck.landmarks import LM, PoseFrame
from formcheck.pose import empty_pose_frame
from formcheck.spine import BackSample, empty_back_sample

STRIDE_FILE = "stride.yaml"
#: choose_stride treats a frame rate within 0.2 % below a whole rate as that rate
NTSC_SLACK = 1.002
_check = Checks()


@dataclass(frozen=True)
class StrideParams:
    """The stride policy; see data/stride.yaml for units and rationale."""

    min_analysed_fps: float
    every_frame_below_s: float
    still_torso_per_s: float


def load_stride_params(path: Path | None = None) -> StrideParams:
    """Read and validate stride.yaml (the packaged one unless path is given); DataFileError."""
    return _check.value_file(StrideParams, STRIDE_FILE, path)


def choose_stride(fps: float, duration_s: float, params: StrideParams | None = None) -> int:
    """k >= 1: analyse every k-th frame of a clip of nominal frame rate `fps` lasting `duration_s`.

    The largest k with fps / k >= min_analysed_fps; 1 for clips shorter than every_frame_below_s,
    and when the frame rate or the duration is unknown (NaN) or not positive.
    """
    p = params or load_stride_params()
    if not (math.isfinite(fps) and fps > 0 and math.isfinite(duration_s)):
        return 1
    if duration_s < p.every_frame_below_s:
        return 1
    # NTSC rates (x 1000/1001: 23.976, 29.97, 59.94 fps) count as the whole rates they stand for
    return max(1, math.floor(fps * NTSC_SLACK / p.min_analysed_fps))


#: The landmarks whose speed tells whether the lifter is still (the bar moves with the wrists).
STILL_LANDMARKS = (
    LM.LEFT_SHOULDER,
    LM.RIGHT_SHOULDER,
    LM.LEFT_HIP,
    LM.RIGHT_HIP,
    LM.LEFT_KNEE,
    LM.RIGHT_KNEE,
    LM.LEFT_WRIST,
    LM.RIGHT_WRIST,
)
#: Landmarks seen less surely than this do not count for is_still (a hidden far arm jitters).
STILL_MIN_VISIBILITY = 0.5


def is_still(
    a: PoseFrame, t_a: float, b: PoseFrame, t_b: float, params: StrideParams | None = None
) -> bool:
    """True when the lifter stood still from frame a (time t_a) to frame b (t_b > t_a): both found
    them, and no STILL_LANDMARKS point seen in both moved faster than still_torso_per_s torso
    lengths (b's shoulder-centre to hip-centre distance) a second. False when either frame lacks
    the lifter, the torso or any such point."""
    p = params or load_stride_params()
    if not (a.detected and b.detected) or not t_b > t_a:
        return False
    idx = list(STILL_LANDMARKS)
    seen = (a.visibility[idx] >= STILL_MIN_VISIBILITY) & (b.visibility[idx] >= STILL_MIN_VISIBILITY)
    shoulders = b.xy_px[[LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER]].mean(axis=0)
    hips = b.xy_px[[LM.LEFT_HIP, LM.RIGHT_HIP]].mean(axis=0)
    torso_px = float(np.hypot(*(shoulders - hips)))
    if not (seen.any() and math.isfinite(torso_px) and torso_px > 0):
        return False
    step = np.hypot(*(b.xy_px[idx] - a.xy_px[idx]).T)[seen]
    if not np.all(np.isfinite(step)):
        return False
    return bool(step.max() / (t_b - t_a) / torso_px < p.still_torso_per_s)


def densify(
    t_s: list[float],
    analysed: list[int],
    frames: list[PoseFrame],
    back: list[BackSample],
) -> tuple[list[PoseFrame], list[BackSample]]:
    """Every frame's pose and back reading from those of the analysed frames.

    t_s: every frame's time (seconds, increasing); analysed: the indices into t_s that the pose
    model saw, increasing, the first 0 and the last len(t_s) - 1; frames, back: their results, one
    per analysed index. A frame between analysed frames a and b gets (1 - w) x a's + w x b's values,
    w = (t - t_a) / (t_b - t_a), when both found the lifter (landmarks) or both have a reading
    (back); otherwise the empty pose / reading. Masks are not interpolated (None).
    """
    if len(frames) != len(analysed) or len(back) != len(analysed):
        raise ValueError(
            f"one result per analysed frame: {len(analysed)} indices, {len(frames)} poses, "
            f"{len(back)} back readings"
        )
    if not analysed or analysed[0] != 0 or analysed[-1] != len(t_s) - 1:
        raise ValueError("the analysed frames must include the first and the last frame")
    out_frames: list[PoseFrame] = []
    out_back: list[BackSample] = []
    for m, (a, b) in enumerate(pairwise(analysed)):
        if b <= a:
            raise ValueError(f"analysed frame indices must increase, got {a} then {b}")
        out_frames.append(frames[m])
        out_back.append(back[m])
        span = t_s[b] - t_s[a]
        for j in range(a + 1, b):
            w = (t_s[j] - t_s[a]) / span
            out_frames.append(_between_poses(frames[m], frames[m + 1], w))
            out_back.append(_between_backs(back[m], back[m + 1], w))
    out_frames.append(frames[-1])
    out_back.append(back[-1])
    return out_frames, out_back


def _between_poses(a: PoseFrame, b: PoseFrame, w: float) -> PoseFrame:
    nearer = a if w < 0.5 else b
    if not (a.detected and b.detected):
        return empty_pose_frame(nearer.n_people)
    return PoseFrame(
        xy_px=(1.0 - w) * a.xy_px + w * b.xy_px,
        visibility=(1.0 - w) * a.visibility + w * b.visibility,
        world_m=(1.0 - w) * a.world_m + w * b.world_m,
        mask=None,
        n_people=nearer.n_people,
    )


def _between_backs(a: BackSample, b: BackSample, w: float) -> BackSample:
    """Every number and array of BackSample interpolated; an array whose two values differ in
    shape (an outline found in one frame only) takes the empty sample's value."""
    if not (math.isfinite(a.flexion_deg) and math.isfinite(b.flexion_deg)):
        return empty_back_sample()
    empty = empty_back_sample()
    values: dict[str, Any] = {}
    for f in dataclasses.fields(BackSample):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if isinstance(va, np.ndarray):
            values[f.name] = (
                (1.0 - w) * va + w * vb if va.shape == vb.shape else getattr(empty, f.name)
            )
        else:
            values[f.name] = (1.0 - w) * float(va) + w * float(vb)
    return BackSample(**values)
