"""Cleaning landmark signals: outlier rejection, bounded gap filling, zero-phase and live filtering.

Every function works along axis 0 (time) of a (T, ...) float array and returns a new array.
Missing is NaN on the way in and on the way out: gaps are filled only up to a bound, and nothing is
ever set to 0. Gap filling and the low-pass take the frame times (t_s), so variable frame rates
work; the landmarks (clean_pose) and the spine curve (spine.build_spine_series) both use them.

Offline (uploaded video), clean_pose() follows Sports2D / Pose2Sim: drop low-visibility landmarks
-> Hampel outlier rejection -> fill short gaps -> zero-phase Butterworth; its numbers are in
data/signals.yaml.
Live (webcam), OneEuroFilter smooths frame by frame without looking ahead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfiltfilt

from formcheck.datafiles import value_file
from formcheck.landmarks import PoseSequence

FloatArray = NDArray[np.float64]

#: MAD -> standard deviation for normally distributed data.
_MAD_TO_SIGMA = 1.4826
#: Runs shorter than this are left unfiltered: filtering 1-3 samples only adds edge effects.
_MIN_FILTER_RUN = 4
#: A run whose frame intervals all lie within this share of their median is evenly spaced.
_EVEN_STEP_TOLERANCE = 1e-6
SIGNALS_FILE = "signals.yaml"


def _as_columns(x: FloatArray) -> tuple[FloatArray, tuple[int, ...]]:
    """(T, ...) -> a (T, N) float64 copy and the original shape."""
    arr = np.array(x, dtype=np.float64)
    if arr.ndim == 0:
        raise ValueError("expected an array with a time axis first, got a scalar")
    return arr.reshape(arr.shape[0], math.prod(arr.shape[1:])), arr.shape


def finite_runs(finite: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[(start, stop)) index pairs of the True runs of a 1-D mask."""
    edges = np.diff(np.concatenate(([0], finite.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def frame_rate(t_s: FloatArray, fallback: float = 30.0) -> float:
    """Frames per second from the median interval of t_s (seconds, increasing); `fallback` when
    there are fewer than two frames or the median interval is not positive."""
    if len(t_s) < 2:
        return fallback
    dt = float(np.median(np.diff(t_s)))
    return 1.0 / dt if dt > 0 else fallback


def _check_times(x: FloatArray, t_s: FloatArray) -> FloatArray:
    t = np.asarray(t_s, dtype=np.float64)
    if t.ndim != 1 or len(t) != np.shape(x)[0]:
        raise ValueError(f"t_s must be (T,) with T = {np.shape(x)[0]}, got {t.shape}")
    return t


def fill_gaps(x: FloatArray, t_s: FloatArray, max_gap_s: float) -> FloatArray:
    """Linearly interpolate (in time) interior NaN runs whose two finite neighbours are at most
    max_gap_s apart, along axis 0; t_s (T,) seconds, increasing (variable frame rates work).

    Longer gaps stay NaN, and so do leading and trailing NaN (nothing to interpolate between).
    Each column (landmark coordinate) is handled on its own. Returns a new array of the same shape.
    """
    if not max_gap_s >= 0:
        raise ValueError(f"max_gap_s must be >= 0 s, got {max_gap_s}")
    t = _check_times(x, t_s)
    cols, shape = _as_columns(x)
    for j in range(cols.shape[1]):
        col = cols[:, j]
        finite = np.isfinite(col)
        if finite.all() or finite.sum() < 2:
            continue
        interp = np.interp(t, t[finite], col[finite])
        for start, stop in finite_runs(~finite):
            interior = start > 0 and stop < len(col)
            if interior and t[stop] - t[start - 1] <= max_gap_s:
                col[start:stop] = interp[start:stop]
    return cols.reshape(shape)


def filled_neighbours(kept: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For each sample of a 1-D mask, the index of the nearest kept sample at or before it and at
    or after it (-1 where there is none): what fill_gaps interpolated a filled sample between."""
    n = len(kept)
    idx = np.arange(n)
    before = np.maximum.accumulate(np.where(kept, idx, -1)) if n else idx
    after_rev = np.maximum.accumulate(np.where(kept[::-1], idx, -1)) if n else idx
    after = np.where(after_rev[::-1] >= 0, n - 1 - after_rev[::-1], -1)
    return before.astype(np.int64), after.astype(np.int64)


def lowpass(
    x: FloatArray,
    t_s: FloatArray,
    *,
    cutoff_hz: float,
    order: int,
    max_nyquist_share: float,
    padtype: str,
) -> FloatArray:
    """Zero-phase Butterworth low-pass (scipy sosfiltfilt) along axis 0; t_s (T,) seconds.

    NaN splits a column into finite runs; each run is filtered on its own and NaN stays NaN. A run
    is filtered at its median frame interval: where its frames are not evenly spaced (a variable
    frame rate) it is resampled on that even grid, filtered there and read back at its own times.
    The cutoff is capped at max_nyquist_share of the run's Nyquist frequency (low frame rates).
    Runs shorter than the filter's default padding are filtered with the padding shrunk to fit
    (short clips); runs under 4 samples are returned unchanged. padtype: sosfiltfilt's ("odd",
    "even").
    """
    if cutoff_hz <= 0 or not math.isfinite(cutoff_hz):
        raise ValueError(f"cutoff_hz must be positive, got {cutoff_hz}")
    if not 0 < max_nyquist_share < 1:
        raise ValueError(f"max_nyquist_share must be in (0, 1), got {max_nyquist_share}")
    t = _check_times(x, t_s)
    cols, shape = _as_columns(x)
    sos_at: dict[float, NDArray[np.float64]] = {}
    for j in range(cols.shape[1]):
        col = cols[:, j]
        for start, stop in finite_runs(np.isfinite(col)):
            if stop - start < _MIN_FILTER_RUN:
                continue
            run_t, run_x = t[start:stop], col[start:stop]
            steps = np.diff(run_t)
            dt = float(np.median(steps))
            if not dt > 0:
                continue
            even = bool(np.all(np.abs(steps - dt) <= _EVEN_STEP_TOLERANCE * dt))
            grid = run_t if even else np.arange(run_t[0], run_t[-1] + 0.5 * dt, dt)
            if grid.size < _MIN_FILTER_RUN:
                continue
            if dt not in sos_at:
                wn = min(cutoff_hz / (1.0 / dt / 2.0), max_nyquist_share)
                sos_at[dt] = np.asarray(butter(order, wn, btype="low", output="sos"))
            sos = sos_at[dt]
            # sosfiltfilt's own default padding, so long runs are filtered exactly as scipy would.
            n_zero_b = int((sos[:, 2] == 0).sum())
            n_zero_a = int((sos[:, 5] == 0).sum())
            padlen = min(3 * (2 * len(sos) + 1 - min(n_zero_b, n_zero_a)), grid.size - 1)
            on_grid = run_x if even else np.interp(grid, run_t, run_x)
            smooth = sosfiltfilt(sos, on_grid, padtype=padtype, padlen=padlen)
            col[start:stop] = smooth if even else np.interp(run_t, grid, smooth)
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


def hampel(x: FloatArray, window: int, n_sigmas: float) -> FloatArray:
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

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float) -> None:
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


@dataclass(frozen=True)
class CleanParams:
    """The tunable numbers of clean_pose; see data/signals.yaml for units and rationale."""

    min_visibility: float
    hampel_half_window_s: float
    hampel_n_sigmas: float
    max_gap_s: float
    cutoff_hz: float
    order: int
    max_nyquist_share: float
    padtype: str


def load_clean_params(path: Path | None = None) -> CleanParams:
    """The numbers of signals.yaml: the file at path, else the packaged one (read once);
    DataFileError when it is malformed."""
    return value_file(CleanParams, SIGNALS_FILE, path)


def clean_pose(seq: PoseSequence, params: CleanParams | None = None) -> PoseSequence:
    """Offline clean-up of a whole clip; returns a new PoseSequence (the input is not modified).

    With params (data/signals.yaml; the packaged ones when None):
    1. Landmarks with visibility < min_visibility become NaN (xy_px and world_m).
    2. Hampel outlier rejection (half-window hampel_half_window_s at the clip's median frame rate,
       hampel_n_sigmas): single-frame jumps -> local median.
    3. Gaps whose seen neighbours are at most max_gap_s apart are filled linearly (fill_gaps);
       longer gaps and frames without a lifter stay NaN.
    4. Zero-phase Butterworth low-pass (lowpass) on each finite run.
    visibility, n_people, t_s and the frame size are copied unchanged (visibility still says how
    sure the model was, also for landmarks that step 3 filled in).
    """
    p = params or load_clean_params()
    low = ~(seq.visibility >= p.min_visibility)  # NaN visibility counts as low
    xy = seq.xy_px.copy()
    world = seq.world_m.copy()
    xy[low] = np.nan
    world[low] = np.nan
    half_window = max(1, round(p.hampel_half_window_s * frame_rate(seq.t_s)))

    def _clean(a: FloatArray) -> FloatArray:
        a = hampel(a, half_window, p.hampel_n_sigmas)
        a = fill_gaps(a, seq.t_s, p.max_gap_s)
        return lowpass(
            a,
            seq.t_s,
            cutoff_hz=p.cutoff_hz,
            order=p.order,
            max_nyquist_share=p.max_nyquist_share,
            padtype=p.padtype,
        )

    return PoseSequence(
        t_s=seq.t_s.copy(),
        xy_px=_clean(xy),
        visibility=seq.visibility.copy(),
        world_m=_clean(world),
        n_people=seq.n_people.copy(),
        width_px=seq.width_px,
        height_px=seq.height_px,
    )
