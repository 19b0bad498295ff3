"""The learned spine read-out: the torso-aligned view of one frame -> lumbar and thoracic flexion.

The view (torso_view) is what the model reads: the person mask resampled on a GRID_ROWS x GRID_COLS
grid in the torso's own frame (torso.torso_frame: rows along hip -> shoulder from GRID_U[0] to
GRID_U[1] torso lengths, columns across it from GRID_V[0] (in front) to GRID_V[1] (behind), every cell
the mean of SUPERSAMPLE x SUPERSAMPLE bilinear samples), plus the geometry of the other landmarks in
the same frame (head, arms, legs: where the arms and the bar cover the back, how far the hips are
flexed) and the trunk's lean against gravity. Mirrored by the facing, so the back is always on the
same side; scaled by the torso length, so it does not depend on the image size.

The model (ReadoutModel) is a small multilayer perceptron trained on rendered lifters seen through
MediaPipe's own mask and landmarks (benchmarks/spine_model.py; data, metrics and limits in
models/SPINE_READOUT.md). It answers, per frame, the lumbar and thoracic flexion against the
lifter's anatomical neutral (degrees, + rounding, - arching) and the standard deviation of its error
on their sum. Inference is numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from formcheck import torso
from formcheck.landmarks import LM, N_LANDMARKS

FloatArray = NDArray[np.float64]

GRID_U = (-0.3, 1.1)
GRID_V = (-0.6, 0.8)
GRID_ROWS = 36
GRID_COLS = 36
SUPERSAMPLE = 3
# landmark groups whose visibility-weighted mean point is part of the view: nose, ears, elbows,
# wrists, knees, ankles, heels, toes
VIEW_LANDMARKS: tuple[tuple[int, ...], ...] = (
    (LM.NOSE,),
    (LM.LEFT_EAR, LM.RIGHT_EAR),
    (LM.LEFT_ELBOW, LM.RIGHT_ELBOW),
    (LM.LEFT_WRIST, LM.RIGHT_WRIST),
    (LM.LEFT_KNEE, LM.RIGHT_KNEE),
    (LM.LEFT_ANKLE, LM.RIGHT_ANKLE),
    (LM.LEFT_HEEL, LM.RIGHT_HEEL),
    (LM.LEFT_FOOT, LM.RIGHT_FOOT),
)
MIN_GROUP_VISIBILITY = 0.1
# the torso's core (u, v in torso lengths) must be this much inside the mask, or the frame is not read
TORSO_CORE_U = (0.1, 0.9)
TORSO_CORE_V = (-0.15, 0.15)
MIN_TORSO_CORE_COVER = 0.5
GEOMETRY_N = 3 * len(VIEW_LANDMARKS) + 5
MODEL_PATH = Path(__file__).resolve().parents[2] / "models" / "spine_readout.npz"


@dataclass(frozen=True)
class TorsoView:
    """grid (GRID_ROWS, GRID_COLS) float32 mask probability; geometry (GEOMETRY_N,) float32."""

    grid: NDArray[np.float32]
    geometry: NDArray[np.float32]


def _sample_offsets(lo: float, hi: float, n: int) -> FloatArray:
    """SUPERSAMPLE sample positions per cell of n equal cells over [lo, hi], cell by cell."""
    step = (hi - lo) / n
    sub = (np.arange(SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    return np.asarray(lo + (np.arange(n)[:, None] + sub[None, :]).ravel() * step)


_U = _sample_offsets(*GRID_U, GRID_ROWS)
_V = _sample_offsets(*GRID_V, GRID_COLS)


def _cells(lo: float, hi: float, grid: tuple[float, float], n: int) -> slice:
    """The cells of an n-cell axis over grid whose centres lie in [lo, hi]."""
    centres = grid[0] + (np.arange(n) + 0.5) * (grid[1] - grid[0]) / n
    inside = np.flatnonzero((centres >= lo) & (centres <= hi))
    return slice(int(inside[0]), int(inside[-1]) + 1)


_CORE_ROWS = _cells(*TORSO_CORE_U, GRID_U, GRID_ROWS)
_CORE_COLS = _cells(*TORSO_CORE_V, GRID_V, GRID_COLS)


def torso_view(
    mask: NDArray[np.float32] | None,
    xy_px: FloatArray,
    visibility: FloatArray,
    facing: int = 0,
    frame: torso.TorsoFrame | None = None,
) -> TorsoView | None:
    """The model's input for one frame (module docstring); None when there is no mask, no torso frame
    (torso.torso_frame, or the caller's frame of the same landmarks) or the torso's core is not
    inside the mask (MIN_TORSO_CORE_COVER)."""
    if mask is None:
        return None
    prob = np.asarray(mask)
    if prob.ndim == 3 and prob.shape[2] == 1:
        prob = prob[:, :, 0]
    xy = np.asarray(xy_px, dtype=np.float64)
    vis = np.clip(np.nan_to_num(np.asarray(visibility, dtype=np.float64), nan=0.0), 0.0, 1.0)
    if (
        prob.ndim != 2
        or prob.size == 0
        or xy.shape != (N_LANDMARKS, 2)
        or vis.shape != (N_LANDMARKS,)
    ):
        return None
    frame = frame or torso.torso_frame(xy, vis, facing)
    if frame is None:
        return None
    length = frame.torso_px
    pts = (
        frame.hip_px[None, None, :]
        + (_U * length)[:, None, None] * frame.axis[None, None, :]
        + (_V * length)[None, :, None] * frame.dorsal[None, None, :]
    )
    samples = cv2.remap(
        np.ascontiguousarray(prob, dtype=np.float32),
        pts[..., 0].astype(np.float32),
        pts[..., 1].astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    grid = (
        np.asarray(samples, dtype=np.float32)
        .reshape(GRID_ROWS, SUPERSAMPLE, GRID_COLS, SUPERSAMPLE)
        .mean(axis=(1, 3))
    )
    if float(grid[_CORE_ROWS, _CORE_COLS].mean()) < MIN_TORSO_CORE_COVER:
        return None
    geometry: list[float] = []
    for group in VIEW_LANDMARKS:
        idx = [i for i in group if np.all(np.isfinite(xy[i])) and vis[i] >= MIN_GROUP_VISIBILITY]
        if not idx:
            geometry += [0.0, 0.0, 0.0]
            continue
        w = vis[idx] + 1e-3
        p = (xy[idx] * w[:, None]).sum(axis=0) / w.sum() - frame.hip_px
        geometry += [float(p @ frame.axis) / length, float(p @ frame.dorsal) / length, 1.0]
    # the trunk against gravity (image y points down): forward lean and uprightness
    geometry += [float(frame.facing * frame.axis[0]), float(-frame.axis[1])]
    for i, j in ((LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER), (LM.LEFT_HIP, LM.RIGHT_HIP)):
        d = xy[i] - xy[j]
        geometry.append(float(np.hypot(*d)) / length if np.all(np.isfinite(d)) else 0.0)
    geometry.append(
        float(np.mean(vis[[LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER, LM.LEFT_HIP, LM.RIGHT_HIP]]))
    )
    return TorsoView(
        grid=grid.astype(np.float32),
        geometry=np.asarray(geometry, dtype=np.float32),
    )


@dataclass(frozen=True)
class Reading:
    """One frame's answer: lumbar and thoracic flexion (degrees, + rounding) and sigma_deg, the
    expected standard deviation of the error on their sum."""

    lumbar_deg: float
    thoracic_deg: float
    sigma_deg: float

    @property
    def flexion_deg(self) -> float:
        return self.lumbar_deg + self.thoracic_deg


def features(view: TorsoView) -> NDArray[np.float32]:
    """The flat input vector of a view: grid cells (row by row), then geometry."""
    return np.concatenate([view.grid.ravel(), view.geometry]).astype(np.float32)


class ReadoutModel:
    """A multilayer perceptron stored as numpy arrays: x -> (x - mean) / scale -> [W, b, ReLU]... ->
    (lumbar, thoracic, log variance of the sum)."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        with np.load(path) as data:
            self._set({k: data[k] for k in data.files})

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> ReadoutModel:
        """A model from arrays in the file's layout (mean, scale, n_layers, w{k}, b{k})."""
        model = cls.__new__(cls)
        model._set(arrays)
        return model

    def _set(self, data: Mapping[str, NDArray[Any]]) -> None:
        self.mean = np.asarray(data["mean"], dtype=np.float32)
        self.scale = np.asarray(data["scale"], dtype=np.float32)
        self.layers = [
            (np.asarray(data[f"w{k}"], np.float32), np.asarray(data[f"b{k}"], np.float32))
            for k in range(int(data["n_layers"]))
        ]

    def predict(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        """x (N, F) -> (N, 3): lumbar, thoracic, log variance."""
        h = (np.asarray(x, dtype=np.float32) - self.mean) / self.scale
        for k, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if k < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return np.asarray(h, dtype=np.float32)

    def read(self, view: TorsoView) -> Reading:
        out = self.predict(features(view)[None, :])[0]
        return Reading(float(out[0]), float(out[1]), float(np.exp(0.5 * out[2])))


@cache
def default_model() -> ReadoutModel:
    """The shipped model (models/spine_readout.npz), loaded once per process."""
    return ReadoutModel()
