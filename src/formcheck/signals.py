"""Cleaning landmark signals: outlier rejection, bounded gap filling, zero-phase and live filtering.

Every function works along axis 0 (time) of a (T, ...) float array and returns a new array.
Missing is NaN on the way in and on the way out: gaps are filled only up to a bound, and nothing is
ever set to 0.

Offline (uploaded video), clean_pose() follows Sports2D / Pose2Sim: drop low-visibility landmarks
-> Hampel outlier rejection -> fill short gaps -> zero-phase Butterworth.
Live (webcam), OneEuroFilter smooths frame by frame without looking ahead.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfiltfilt

from formcheck.landmarks import PoseSequence

FloatArray = NDArray[np.float64]

#: MAD -> standard deviation for normally distributed data.
_MAD_TO_SIGMA = 1.4826
#: Runs shorter than this are left unfiltered: filtering 1-3 samples only adds edge effects.
_MIN_FILTER_RUN = 4
#: Hampel half-window used by clean_pose, in seconds (7 frames at 30 fps, as in Sports2D).
_HAMPEL_HALF_WINDOW_S = 0.1
_HAMPEL_N_SIGMAS = 3.0


def _as_columns(x: FloatArray) -> tuple[FloatArray, tuple[int, ...]]:
    """(T, ...) -> a (T, N) float64 copy and the original shape."""
    arr = np.array(x, dtype=np.float64)
    if arr.ndim == 0:
        raise ValueError("expected an array with a time axis first, got a scalar")
    return arr.reshape(arr.shape[0], -1), arr.shape


def _finite_runs(finite: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[(start, stop)) index pairs of the True runs of a 1-D mask."""
    edges = np.diff(np.concatenate(([0], finite.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def fill_gaps(x: FloatArray, max_gap: int) -> FloatArray:
    """Linearly interpolate interior NaN runs of at most max_gap frames, along axis 0.

    Longer gaps stay NaN, and so do leading and trailing NaN (nothing to interpolate between).
    Each column (landmark coordinate) is handled on its own. Returns a new array of the same shape.
    """
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0 frames, got {max_gap}")
    cols, shape = _as_columns(x)
    idx = np.arange(cols.shape[0], dtype=np.float64)
    for j in range(cols.shape[1]):
        col = cols[:, j]
        finite = np.isfinite(col)
        if finite.all() or finite.sum() < 2:
            continue
        runs = _finite_runs(~finite)
        interp = np.interp(idx, idx[finite], col[finite])
        for start, stop in runs:
            interior = start > 0 and stop < len(col)
            if interior and stop - start <= max_gap:
                col[start:stop] = interp[start:stop]
    return cols.reshape(shape)


def lowpass(x: FloatArray, fps: float, cutoff_hz: float = 6.0, order: int = 4) -> FloatArray:
    """Zero-phase Butterworth low-pass (scipy sosfiltfilt) along axis 0.

    NaN splits a column into finite runs; each run is filtered on its own and NaN stays NaN. Runs
    shorter than the filter's default padding are filtered with the padding shrunk to fit (short
    clips), and runs under 4 samples are returned unchanged. If cutoff_hz is at or above 95 % of the
    Nyquist frequency there is nothing to remove and the input comes back unchanged (as a copy).
    """
    if fps <= 0 or not math.isfinite(fps):
        raise ValueError(f"fps must be a positive number, got {fps}")
    if cutoff_hz <= 0:
        raise ValueError(f"cutoff_hz must be positive, got {cutoff_hz}")
    cols, shape = _as_columns(x)
    nyquist = fps / 2.0
    if cutoff_hz >= 0.95 * nyquist:
        return cols.reshape(shape)
    sos = butter(order, cutoff_hz / nyquist, btype="low", output="sos")
    # sosfiltfilt's own default padding, so long runs are filtered exactly as scipy would.
    n_zero_b = int((sos[:, 2] == 0).sum())
    n_zero_a = int((sos[:, 5] == 0).sum())
    default_padlen = 3 * (2 * len(sos) + 1 - min(n_zero_b, n_zero_a))
    for j in range(cols.shape[1]):
        col = cols[:, j]
        for start, stop in _finite_runs(np.isfinite(col)):
            n = stop - start
            if n < _MIN_FILTER_RUN:
                continue
            padlen = min(default_padlen, n - 1)
            col[start:stop] = sosfiltfilt(sos, col[start:stop], padlen=padlen)
    return cols.reshape(shape)


def _nanmedian_last(a: FloatArray) -> FloatArray:
    """Median over the last axis ignoring NaN (NaN where all are NaN); a sort-based, much faster
    stand-in for np.nanmedian on many short windows."""
    ordered = np.sort(a, axis=-1)  # NaN sort last
    n = np.isfinite(a).sum(axis=-1, keepdims=True)
    lo = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0), axis=-1)[..., 0]
    hi = np.take_along_axis(ordered, np.maximum(n // 2, 0), axis=-1)[..., 0]
    out: FloatArray = np.where(n[..., 0] > 0, (lo + hi) / 2, np.nan)
    return out


def hampel(x: FloatArray, window: int, n_sigmas: float = 3.0) -> FloatArray:
    """Hampel outlier rejection along axis 0: each outlier is replaced by its window's median.

    window is the HALF-width in frames: each sample is compared with the median of the 2*window+1
    samples centred on it (NaN ignored, the window is cut at the clip's ends). A sample is an
    outlier when it is more than n_sigmas * 1.4826 * MAD away from that median. Where the window's
    MAD is 0 (most samples identical) any sample that differs from the median is an outlier.
    Replacing by the median (not NaN) keeps the first and last frames, which no gap filling could
    restore. Existing NaN stay NaN.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1 frame, got {window}")
    cols, shape = _as_columns(x)
    t = cols.shape[0]
    if t == 0:
        return cols.reshape(shape)
    padded = np.pad(cols, ((window, window), (0, 0)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * window + 1, axis=0)
    median = _nanmedian_last(windows)
    mad = _nanmedian_last(np.abs(windows - median[..., None]))
    deviation = np.abs(cols - median)
    outlier = np.isfinite(deviation) & (deviation > n_sigmas * _MAD_TO_SIGMA * mad)
    cols[outlier] = median[outlier]
    return cols.reshape(shape)


class OneEuroFilter:
    """Causal One-Euro filter (Casiez et al., CHI 2012) for the live webcam path, any array shape.

    Call it once per frame with the raw values and the frame time: filtered = f(x, t_s).
    min_cutoff (Hz): smoothing when still (lower = smoother, more lag); beta (per input unit/s):
    how fast the cutoff opens with speed (higher = less lag when moving); d_cutoff (Hz): smoothing
    of the speed estimate. With pixel inputs speeds are px/s, so beta ~ 0.005-0.05.

    NaN handling: an element that is NaN comes out NaN and its state is reset, so when the landmark
    comes back it starts fresh instead of being dragged from where it was lost. A frame whose time
    does not advance returns the previous output unchanged.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.01, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("min_cutoff and d_cutoff must be > 0 Hz and beta >= 0")
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget all state (e.g. the lifter left the frame for a while)."""
        self._x: FloatArray | None = None
        self._dx: FloatArray | None = None
        self._t_s: float | None = None

    @staticmethod
    def _alpha(cutoff_hz: FloatArray | float, dt_s: float) -> FloatArray:
        tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
        return np.asarray(1.0 / (1.0 + tau / dt_s), dtype=np.float64)

    def __call__(self, x: FloatArray, t_s: float) -> FloatArray:
        raw = np.array(x, dtype=np.float64)
        if self._x is None or self._dx is None or self._t_s is None or self._x.shape != raw.shape:
            self._x = raw.copy()
            self._dx = np.zeros_like(raw)
            self._t_s = t_s
            return raw
        dt = t_s - self._t_s
        if not dt > 0:
            return self._x.copy()
        self._t_s = t_s
        prev = self._x
        fresh = ~np.isfinite(prev)  # lost last frame (or never seen): restart from the raw value
        dx = (raw - prev) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        dx_hat = a_d * dx + (1.0 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        a = self._alpha(cutoff, dt)
        out = a * raw + (1.0 - a) * prev
        out = np.where(fresh, raw, out)
        dx_hat = np.where(fresh | ~np.isfinite(raw), 0.0, dx_hat)
        self._x = out
        self._dx = dx_hat
        return out.copy()


def clean_pose(
    seq: PoseSequence,
    fps: float,
    max_gap_s: float = 0.25,
    cutoff_hz: float = 6.0,
    min_visibility: float = 0.3,
) -> PoseSequence:
    """Offline clean-up of a whole clip; returns a new PoseSequence (the input is not modified).

    1. Landmarks with visibility < min_visibility become NaN (xy_px and world_m).
    2. Hampel outlier rejection (half-window 0.1 s, 3 sigma): single-frame jumps -> local median.
    3. Gaps up to max_gap_s are filled linearly; longer gaps and frames without a lifter stay NaN.
    4. Zero-phase 4th-order Butterworth at cutoff_hz on each finite run.
    visibility, n_people, t_s and the frame size are copied unchanged (visibility still says how
    sure the model was, also for landmarks that step 3 filled in).
    """
    if fps <= 0 or not math.isfinite(fps):
        raise ValueError(f"fps must be a positive number, got {fps}")
    low = ~(seq.visibility >= min_visibility)  # NaN visibility counts as low
    xy = seq.xy_px.copy()
    world = seq.world_m.copy()
    xy[low] = np.nan
    world[low] = np.nan
    half_window = max(1, round(_HAMPEL_HALF_WINDOW_S * fps))
    max_gap = max(0, round(max_gap_s * fps))

    def _clean(a: FloatArray) -> FloatArray:
        a = hampel(a, half_window, _HAMPEL_N_SIGMAS)
        a = fill_gaps(a, max_gap)
        return lowpass(a, fps, cutoff_hz)

    return PoseSequence(
        t_s=seq.t_s.copy(),
        xy_px=_clean(xy),
        visibility=seq.visibility.copy(),
        world_m=_clean(world),
        n_people=seq.n_people.copy(),
        width_px=seq.width_px,
        height_px=seq.height_px,
    )
