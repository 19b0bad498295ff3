"""MediaPipe's 33 body landmarks and the PoseSequence carrier (no mediapipe import needed here).

Coordinates are image pixels of the upright (rotation-applied) frame: x to the right, y DOWN.
Missing values are NaN, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

N_LANDMARKS = 33

FloatArray = NDArray[np.float64]


class LM(IntEnum):
    """Indices of the BlazePose landmarks that formcheck uses."""

    NOSE = 0
    LEFT_EAR = 7
    RIGHT_EAR = 8
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT = 31
    RIGHT_FOOT = 32


#: Skeleton edges drawn on the annotated video (pairs of landmark indices).
SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
    (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (27, 29), (29, 31), (27, 31),
    (24, 26), (26, 28), (28, 30), (30, 32), (28, 32),
    (7, 11), (8, 12),
)  # fmt: skip


@dataclass(frozen=True)
class PoseFrame:
    """One frame's pose for the chosen lifter.

    xy_px (33, 2) pixels, NaN when no person; visibility (33,) in 0..1 (0 when no person);
    world_m (33, 3) metres around the mid-hip (NaN when no person);
    mask (H, W) float32 person probability 0..1, or None when no person or masks are off;
    n_people: how many people the model found in this frame.
    """

    xy_px: FloatArray
    visibility: FloatArray
    world_m: FloatArray
    mask: NDArray[np.float32] | None
    n_people: int

    @property
    def detected(self) -> bool:
        return bool(np.isfinite(self.xy_px[LM.LEFT_HIP, 0]))


@dataclass(frozen=True)
class PoseSequence:
    """Landmarks of one clip, frame by frame.

    t_s (T,) seconds from the clip start, strictly increasing; xy_px (T, 33, 2) pixels (NaN = missing);
    visibility (T, 33) 0..1; world_m (T, 33, 3) metres (NaN = missing); n_people (T,) int;
    width_px / height_px: size of the upright frame the pixels refer to.
    """

    t_s: FloatArray
    xy_px: FloatArray
    visibility: FloatArray
    world_m: FloatArray
    n_people: NDArray[np.int64]
    width_px: int
    height_px: int

    def __post_init__(self) -> None:
        t = len(self.t_s)
        if self.xy_px.shape != (t, N_LANDMARKS, 2):
            raise ValueError(f"xy_px must be (T, 33, 2), got {self.xy_px.shape} for T={t}")
        if self.visibility.shape != (t, N_LANDMARKS):
            raise ValueError(f"visibility must be (T, 33), got {self.visibility.shape}")
        if self.world_m.shape != (t, N_LANDMARKS, 3):
            raise ValueError(f"world_m must be (T, 33, 3), got {self.world_m.shape}")
        if self.n_people.shape != (t,):
            raise ValueError(f"n_people must be (T,), got {self.n_people.shape}")
        if t > 1 and not np.all(np.diff(self.t_s) > 0):
            raise ValueError("t_s must be strictly increasing")

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def detected(self) -> NDArray[np.bool_]:
        """(T,) True where the lifter was found."""
        return np.isfinite(self.xy_px[:, LM.LEFT_HIP, 0])

    @staticmethod
    def from_frames(
        t_s: list[float], frames: list[PoseFrame], width_px: int, height_px: int
    ) -> PoseSequence:
        if not frames:
            empty = np.zeros((0, N_LANDMARKS), dtype=np.float64)
            return PoseSequence(
                t_s=np.zeros(0), xy_px=empty[..., None].repeat(2, -1), visibility=empty,
                world_m=empty[..., None].repeat(3, -1), n_people=np.zeros(0, dtype=np.int64),
                width_px=width_px, height_px=height_px,
            )  # fmt: skip
        return PoseSequence(
            t_s=np.asarray(t_s, dtype=np.float64),
            xy_px=np.stack([f.xy_px for f in frames]).astype(np.float64),
            visibility=np.stack([f.visibility for f in frames]).astype(np.float64),
            world_m=np.stack([f.world_m for f in frames]).astype(np.float64),
            n_people=np.asarray([f.n_people for f in frames], dtype=np.int64),
            width_px=width_px,
            height_px=height_px,
        )
