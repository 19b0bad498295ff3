"""The measured spine: back contour from the segmentation mask -> spinal flexion, relative to neutral.

MediaPipe has no spine landmarks and trunk lean is not rounding. Per frame, measure_back() takes the person
mask and the landmarks, finds the DORSAL (back-side) outline between shoulder and hip, and derives a flexion
angle from it. build_spine_series() turns the per-frame samples into a curve relative to the lifter's own
neutral (median of the standing frames of the same clip).

Sign: + = flexion (back rounds, convex towards the back), - = extension (arching).

How the back is measured (measure_back)
---------------------------------------
1. Which way the lifter faces: toes (31/32) ahead of heels (29/30) and nose ahead of the ears, weighted by
   visibility (or the caller's ``facing`` from the view detection). The back is the side facing away.
2. Torso frame: origin mid-hip, axis u from mid-hip to mid-shoulder (length L px), v perpendicular to it,
   positive on the DORSAL side. Both body sides nearly coincide in a side view, so the visibility-weighted
   midpoints serve as the near-side joints and average out landmark jitter.
3. Stations: STATIONS_N stations between u = STATION_LO_FRAC*L and STATION_HI_FRAC*L. The span leaves
   out the bottom 20 % (buttocks, and the plates, which reach hip level behind the thighs at lockout) and
   the top 20 % (shoulder blades, posterior deltoid, and the bar, hands and elbows behind the upper back in
   a back squat). At each station the mask is sampled along the perpendicular (cv2.remap, bilinear, only
   ~STATIONS_N x L pixels are read, no whole-frame contour search). After bridging holes shorter than
   HOLE_BRIDGE_FRAC*L, the inside run (p >= 0.5) that contains the torso axis is followed dorsally to its
   end; its sub-pixel 0.5 crossing is the back surface at that station. Taking the end of the run that
   holds the axis (rather than the outermost mask pixel) keeps separate objects (plates, a rack, a second
   person) out of the outline.
4. Flexion: a robust straight line is fitted to the lower (lumbar) half of the stations and another to the
   upper (thoracic) half (least squares, then points further than 3 robust sigmas, at least
   OUTLIER_MIN_FRAC*L, are dropped and the line is refitted; this removes elbows, bar and plate bumps that
   stick out of the back). flexion_deg is the turning angle from the lumbar line to the thoracic line,
   + when the thoracic line turns towards the front (outline convex towards the back = rounded),
   - when it turns towards the back (concave = arched). It is taken between two lines in the torso's own
   frame, so trunk lean (a straight back tilted 45 degrees) reads as 0 change.
   A standing person's absolute value is not 0 (thoracic kyphosis, lumbar lordosis and the shoulder
   blades shape the outline); build_spine_series() subtracts the lifter's own neutral.
5. Confidence (0..1) is the product of: landmark visibility of shoulders and hips, torso length (ramps
   from MIN_TORSO_PX to GOOD_TORSO_PX), how side-on the view is (shoulder/hip pair separation against L),
   how clearly the facing direction reads, contour completeness (share of stations kept as inliers),
   fit residual (RMS against L) and the mask's probability margin at the measured edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfiltfilt

FloatArray = NDArray[np.float64]

# --- landmark indices (BlazePose) used here ---
_NOSE = 0
_EARS = (7, 8)
_SHOULDERS = (11, 12)
_HIPS = (23, 24)
_HEELS = (29, 30)
_TOES = (31, 32)

# --- measure_back geometry, as fractions of the hip->shoulder length L ---
STATIONS_N = 21
STATION_LO_FRAC = 0.20
STATION_HI_FRAC = 0.80
SCAN_VENTRAL_FRAC = (
    0.25  # how far in front of the axis the scan starts (axis may sit near the front)
)
SCAN_DORSAL_FRAC = 0.75  # how far behind the axis the scan reaches
AXIS_SNAP_FRAC = 0.15  # if the axis is outside the mask, accept an inside run this close to it
HOLE_BRIDGE_FRAC = 0.02  # gaps in the mask shorter than this along a scan line are holes, not edges
OUTLIER_MIN_FRAC = 0.015  # outlier cut is 3 robust sigmas but never tighter than this
MASK_THRESHOLD = 0.5
MIN_STATIONS_PER_LINE = 4

# --- measure_back confidence ramps ---
MIN_TORSO_PX = 40.0
GOOD_TORSO_PX = 120.0
MIN_VISIBILITY = 0.3
GOOD_VISIBILITY = 0.8
SIDE_SEPARATION_GOOD = (
    0.25  # shoulder/hip pair separation / L at or below this reads as a clean side view
)
SIDE_SEPARATION_BAD = 0.6  # at or above this the camera sees the chest or back, not the profile
FACING_SCORE_GOOD = 0.2  # toe-heel plus nose-ear offset / L that makes the facing unambiguous
RESIDUAL_BAD_FRAC = 0.03  # RMS fit residual / L at which the fit confidence reaches 0

# --- build_spine_series ---
MIN_SAMPLE_CONFIDENCE = 0.2  # samples below this are treated as missing
OUTLIER_WINDOW_S = 0.5  # width of the confidence-weighted running median used to reject spikes
OUTLIER_MIN_DEG = (
    8.0  # a sample is a spike when it is this far (and 3 robust sigmas) from that median
)
MAX_GAP_S = 0.5  # gaps up to this long are interpolated; longer ones stay NaN
LOWPASS_HZ = (
    4.0  # Butterworth cutoff: lifting spine motion is < 2 Hz, mask jitter is frame-to-frame
)
LOWPASS_ORDER = 2
NEUTRAL_MIN_CONFIDENCE = 0.5
NEUTRAL_MIN_FRAMES = 3


@dataclass(frozen=True)
class BackSample:
    """One frame's back measurement.

    contour_px (N, 2): dorsal outline from shoulder level (first) to hip level (last), pixels; empty (0, 2)
    when not measurable. flexion_deg: absolute bend of that outline (not yet relative to neutral), NaN when
    not measurable. upper_tangent_px / lower_tangent_px (2, 2): the two line segments the angle is taken
    between (for drawing). confidence 0..1.
    """

    contour_px: FloatArray
    flexion_deg: float
    upper_tangent_px: FloatArray
    lower_tangent_px: FloatArray
    confidence: float


@dataclass(frozen=True)
class SpineSeries:
    """t_s (T,); flexion_abs_deg (T,) raw per-frame bend; confidence (T,);
    neutral_deg: the lifter's own neutral (NaN when no standing frames were found);
    flexion_rel_deg (T,) = filtered flexion_abs_deg - neutral_deg (+ rounding, - arching)."""

    t_s: FloatArray
    flexion_abs_deg: FloatArray
    confidence: FloatArray
    neutral_deg: float
    flexion_rel_deg: FloatArray


def empty_back_sample() -> BackSample:
    """The 'not measurable' sample: no contour, NaN flexion and tangents, confidence 0."""
    nan_seg = np.full((2, 2), np.nan)
    return BackSample(
        contour_px=np.zeros((0, 2)),
        flexion_deg=float("nan"),
        upper_tangent_px=nan_seg,
        lower_tangent_px=nan_seg.copy(),
        confidence=0.0,
    )


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at lo, 1 at hi, linear between (lo > hi allowed for a falling ramp)."""
    if not np.isfinite(x):
        return 0.0
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def _weighted_point(xy_px: FloatArray, visibility: FloatArray, idx: tuple[int, int]) -> FloatArray:
    """Visibility-weighted mean of the finite landmarks in idx; NaN when none is finite."""
    pts = xy_px[list(idx)]
    ok = np.all(np.isfinite(pts), axis=1)
    if not np.any(ok):
        return np.full(2, np.nan)
    w = np.clip(np.nan_to_num(visibility[list(idx)][ok], nan=0.0), 0.0, 1.0) + 1e-3
    return np.asarray((pts[ok] * w[:, None]).sum(axis=0) / w.sum(), dtype=np.float64)


def _facing_score(xy_px: FloatArray, visibility: FloatArray, torso_px: float) -> float:
    """Signed evidence for the facing direction, in torso lengths: > 0 faces image right, < 0 left.

    Sum of visibility-weighted (toe - heel) x-offsets per foot and (nose - mid-ear) x-offset.
    """
    votes: list[float] = []
    weights: list[float] = []
    for toe, heel in zip(_TOES, _HEELS, strict=True):
        dx = xy_px[toe, 0] - xy_px[heel, 0]
        if np.isfinite(dx):
            votes.append(float(dx))
            weights.append(float(min(visibility[toe], visibility[heel])))
    ears = xy_px[list(_EARS), 0]
    ears_ok = np.isfinite(ears)
    if np.isfinite(xy_px[_NOSE, 0]) and np.any(ears_ok):
        votes.append(float(xy_px[_NOSE, 0] - ears[ears_ok].mean()))
        weights.append(float(min(visibility[_NOSE], np.max(visibility[list(_EARS)][ears_ok]))))
    if not votes:
        return 0.0
    w = np.clip(np.nan_to_num(np.asarray(weights), nan=0.0), 0.0, 1.0)
    if w.sum() <= 0:
        return 0.0
    return float((np.asarray(votes) * w).sum() / w.sum() / torso_px)


def _robust_line(
    u: FloatArray, v: FloatArray, min_cut: float
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Fit v = c0 + c1*u; drop points beyond max(3 robust sigma, min_cut), refit (3 rounds).

    Returns (coefficients [c0, c1], inlier mask). Coefficients are NaN when fewer than
    MIN_STATIONS_PER_LINE inliers remain.
    """
    keep = np.ones(len(u), dtype=bool)
    coef = np.full(2, np.nan)
    for _ in range(3):
        if keep.sum() < MIN_STATIONS_PER_LINE:
            return np.full(2, np.nan), keep
        c1, c0 = np.polyfit(u[keep], v[keep], 1)
        coef = np.array([c0, c1])
        resid = v - (c0 + c1 * u)
        mad = float(np.median(np.abs(resid[keep] - np.median(resid[keep]))))
        cut = max(3.0 * 1.4826 * mad, min_cut)
        new_keep = np.abs(resid) <= cut
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    if keep.sum() < MIN_STATIONS_PER_LINE:
        return np.full(2, np.nan), keep
    return coef, keep


def _close_runs(inside: NDArray[np.bool_], gap: int) -> NDArray[np.bool_]:
    """1-D morphological closing along each row: outside runs of at most 2*(gap//2) samples that have
    inside samples on both sides become inside (mask holes, shirt creases)."""
    r = gap // 2
    if r < 1:
        return inside
    k, n = inside.shape

    def window_any(x: NDArray[np.bool_]) -> NDArray[np.bool_]:
        c = np.concatenate(
            (np.zeros((k, 1), dtype=np.int32), np.cumsum(x, axis=1, dtype=np.int32)), axis=1
        )
        lo = np.clip(np.arange(n) - r, 0, n)
        hi = np.clip(np.arange(n) + r + 1, 0, n)
        return np.asarray((c[:, hi] - c[:, lo]) > 0)

    dilated = window_any(inside)
    eroded = ~window_any(~dilated)
    # erosion must not eat into the scan ends (treated as unknown, not as outside)
    return eroded | inside


def _dorsal_edges(
    prob: NDArray[np.float32], step_px: float, n_ventral: int, bridge: int, snap: int
) -> tuple[FloatArray, FloatArray]:
    """Per scan line (rows of prob, sampled every step_px from ventral to dorsal, the axis at column
    n_ventral), the sub-pixel distance of the dorsal edge behind the axis and the mask margin there.

    Returns (v_px (K,), margin (K,)); NaN / 0 where no edge was found.
    """
    k, n = prob.shape
    rows = np.arange(k)
    cols = np.arange(n)
    inside = _close_runs(prob >= MASK_THRESHOLD, bridge)
    # anchor: the axis sample, or the nearest inside sample within snap of it
    dist = np.where(inside, np.abs(cols[None, :] - n_ventral), n + 1)
    anchor = np.argmin(dist, axis=1)
    has_anchor = dist[rows, anchor] <= snap
    # first outside sample dorsal of the anchor
    beyond = ~inside & (cols[None, :] > anchor[:, None])
    j = np.argmax(beyond, axis=1)
    ok = has_anchor & beyond[rows, j]
    j_in = np.clip(j - 1, 0, n - 1)
    p_in = prob[rows, j_in].astype(np.float64)
    p_out = prob[rows, j].astype(np.float64)
    denom = np.where(p_in > p_out, p_in - p_out, 1.0)
    frac = np.clip(np.where(p_in > p_out, (p_in - MASK_THRESHOLD) / denom, 0.5), 0.0, 1.0)
    v_px = np.where(ok, (j_in - n_ventral + frac) * step_px, np.nan)
    # probability margin: how decided the mask is a few samples inside and outside the edge
    inner = prob[rows, np.clip(j - 4, 0, n - 1)].astype(np.float64)
    outer = prob[rows, np.clip(j + 3, 0, n - 1)].astype(np.float64)
    margin = np.where(ok, np.clip(inner - outer, 0.0, 1.0), 0.0)
    return np.asarray(v_px, dtype=np.float64), np.asarray(margin, dtype=np.float64)


def measure_back(
    mask: NDArray[np.float32] | None,
    xy_px: FloatArray,
    visibility: FloatArray,
    facing: int = 0,
) -> BackSample:
    """Measure the back's outline and its absolute flexion in one frame (see the module docstring).

    mask (H, W) (or (H, W, 1)) float32 person probability 0..1, or None; xy_px (33, 2) landmark pixels
    (NaN = missing); visibility (33,) 0..1; facing: +1 lifter faces image right, -1 left, 0 = infer from
    the landmarks. Never raises on missing or degenerate data: returns empty_back_sample() instead.
    """
    if mask is None:
        return empty_back_sample()
    xy = np.asarray(xy_px, dtype=np.float64)
    vis = np.asarray(visibility, dtype=np.float64)
    prob = np.asarray(mask)
    if prob.ndim == 3 and prob.shape[2] == 1:
        prob = prob[:, :, 0]
    if xy.shape != (33, 2) or vis.shape != (33,) or prob.ndim != 2 or prob.size == 0:
        return empty_back_sample()
    prob = np.ascontiguousarray(prob, dtype=np.float32)

    hip = _weighted_point(xy, vis, _HIPS)
    shoulder = _weighted_point(xy, vis, _SHOULDERS)
    if not (np.all(np.isfinite(hip)) and np.all(np.isfinite(shoulder))):
        return empty_back_sample()
    axis = shoulder - hip
    torso_px = float(np.hypot(*axis))
    if torso_px < MIN_TORSO_PX / 2:
        return empty_back_sample()
    a = axis / torso_px

    face_score = _facing_score(xy, vis, torso_px)
    if facing == 0:
        facing = 1 if face_score > 0 else -1 if face_score < 0 else 0
        facing_conf = _ramp(abs(face_score), 0.0, FACING_SCORE_GOOD)
    else:
        facing = 1 if facing > 0 else -1
        facing_conf = 1.0
    if facing == 0:
        return empty_back_sample()
    n = facing * np.array([a[1], -a[0]])  # dorsal unit normal

    # --- sample the mask along perpendicular scan lines ---
    step_px = 1.0
    n_ventral = int(np.ceil(SCAN_VENTRAL_FRAC * torso_px / step_px))
    n_dorsal = int(np.ceil(SCAN_DORSAL_FRAC * torso_px / step_px))
    u_st = np.linspace(STATION_LO_FRAC, STATION_HI_FRAC, STATIONS_N) * torso_px
    v_sc = np.arange(-n_ventral, n_dorsal + 1) * step_px
    base = hip[None, :] + u_st[:, None] * a[None, :]  # (K, 2)
    pts = base[:, None, :] + v_sc[None, :, None] * n[None, None, :]  # (K, S, 2)
    samples = cv2.remap(
        prob,
        pts[..., 0].astype(np.float32),
        pts[..., 1].astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    bridge = max(1, round(HOLE_BRIDGE_FRAC * torso_px / step_px))
    snap = round(AXIS_SNAP_FRAC * torso_px / step_px)
    v_edge, margin = _dorsal_edges(samples, step_px, n_ventral, bridge, snap)

    # --- two robust lines: lumbar (lower half) and thoracic (upper half) ---
    found = np.isfinite(v_edge)
    half = STATIONS_N // 2
    lower = np.zeros(STATIONS_N, dtype=bool)
    lower[: half + 1] = True
    upper = np.zeros(STATIONS_N, dtype=bool)
    upper[half:] = True
    min_cut = OUTLIER_MIN_FRAC * torso_px
    sel_lo = found & lower
    sel_hi = found & upper
    if sel_lo.sum() < MIN_STATIONS_PER_LINE or sel_hi.sum() < MIN_STATIONS_PER_LINE:
        return empty_back_sample()
    coef_lo, keep_lo = _robust_line(u_st[sel_lo], v_edge[sel_lo], min_cut)
    coef_hi, keep_hi = _robust_line(u_st[sel_hi], v_edge[sel_hi], min_cut)
    if not (np.all(np.isfinite(coef_lo)) and np.all(np.isfinite(coef_hi))):
        return empty_back_sample()
    flexion = float(np.degrees(np.arctan(coef_lo[1]) - np.arctan(coef_hi[1])))

    # --- confidence ---
    inlier = np.zeros(STATIONS_N, dtype=bool)
    inlier[np.flatnonzero(sel_lo)[keep_lo]] = True
    inlier[np.flatnonzero(sel_hi)[keep_hi]] = True
    resid = np.concatenate(
        (
            v_edge[sel_lo][keep_lo] - (coef_lo[0] + coef_lo[1] * u_st[sel_lo][keep_lo]),
            v_edge[sel_hi][keep_hi] - (coef_hi[0] + coef_hi[1] * u_st[sel_hi][keep_hi]),
        )
    )
    rms_frac = float(np.sqrt(np.mean(resid**2))) / torso_px
    vis_torso = float(np.nanmean(vis[list(_SHOULDERS + _HIPS)]))
    sep = 0.5 * (
        float(np.hypot(*(xy[_SHOULDERS[0]] - xy[_SHOULDERS[1]])))
        + float(np.hypot(*(xy[_HIPS[0]] - xy[_HIPS[1]])))
    )
    confidence = (
        _ramp(vis_torso, MIN_VISIBILITY, GOOD_VISIBILITY)
        * _ramp(torso_px, MIN_TORSO_PX, GOOD_TORSO_PX)
        * (
            _ramp(sep / torso_px, SIDE_SEPARATION_BAD, SIDE_SEPARATION_GOOD)
            if np.isfinite(sep)
            else 0.5
        )
        * facing_conf
        * _ramp(float(inlier.mean()), 0.5, 0.9)
        * _ramp(rms_frac, RESIDUAL_BAD_FRAC, 0.0)
        * _ramp(float(np.mean(margin[inlier])), 0.3, 0.8)
    )

    def to_img(u: FloatArray, v: FloatArray) -> FloatArray:
        return np.asarray(hip[None, :] + u[:, None] * a[None, :] + v[:, None] * n[None, :])

    contour = to_img(u_st[found], v_edge[found])[::-1]  # shoulder level first
    u_lo_seg = np.array([u_st[0], u_st[half]])
    u_hi_seg = np.array([u_st[half], u_st[-1]])
    lower_seg = to_img(u_lo_seg, coef_lo[0] + coef_lo[1] * u_lo_seg)
    upper_seg = to_img(u_hi_seg, coef_hi[0] + coef_hi[1] * u_hi_seg)
    return BackSample(
        contour_px=contour,
        flexion_deg=flexion,
        upper_tangent_px=upper_seg,
        lower_tangent_px=lower_seg,
        confidence=float(np.clip(confidence, 0.0, 1.0)),
    )


def build_spine_series(
    t_s: FloatArray, samples: list[BackSample], standing: NDArray[np.bool_]
) -> SpineSeries:
    raise NotImplementedError


_ = (butter, sosfiltfilt)
