"""The measured spine: person mask and landmarks -> spinal flexion per frame, and its series over a clip.

MediaPipe has no spine landmarks and trunk lean is not rounding. Per frame, measure_back() reads spinal
flexion with the learned read-out (formcheck.readout: a small model on the torso-aligned mask and the
landmarks' geometry, trained on rendered lifters seen through MediaPipe), against the anatomical
neutral, with the expected error of that reading; and it finds the DORSAL (back-side) outline between
shoulder and hip (measure_outline), which the review draws. build_spine_series() turns the per-frame
samples into a series and also expresses it relative to the lifter's own neutral (median of the
standing frames of the same clip, or of its earliest hinge frames when no standing frame shows the back).

Sign: + = flexion (back rounds, convex towards the back), - = extension (arching).

Every tunable number named below (in lower case) is a SpineParams field, read from data/spine.yaml
(load_spine_params) or passed by the caller.

How the outline is found (measure_outline)
------------------------------------------
1. Facing: toes (31/32) ahead of heels (29/30) and nose ahead of the ears, weighted by visibility, or the
   caller's clip-level ``facing`` (preferred: one frame's feet can flip). The back is the other side.
2. Torso frame: origin mid-hip, u along mid-hip -> mid-shoulder (length L px), v perpendicular, positive
   on the DORSAL side. Both body sides nearly coincide in a side view, so the visibility-weighted mid
   points stand in for the near-side joints and average out landmark jitter. All fractions below are of L.
3. Stations: stations_n stations from u = 0 (hip-joint level) to u = 0.9. At each one the mask is sampled
   along the perpendicular (cv2.remap, bilinear; only ~stations_n x L pixels are read, no whole-frame
   contour search). Holes shorter than hole_bridge_frac are bridged, then the inside run (p >= 0.5) that
   holds the torso axis is followed dorsally to its end; the sub-pixel 0.5 crossing there is the back
   surface. Following the run that holds the axis, not the outermost mask pixel, keeps detached things
   (plates, a rack, another person) out of the outline.
   Arms join the outline where they reach the back's edge: hands on a back-squat bar (elbows point
   backwards), and arms hanging at a deadlift lockout, whose silhouette runs along a slim lower back.
   Each upper arm and forearm is modelled as a capsule of radius arm_radius_frac; a station whose edge
   lies within the band such a capsule covers on its scan line (widened by arm_edge_margin_frac) may
   be the arm's outline, not the back's, and is dropped. An edge clearly behind the arm's band (the
   back beyond a hanging arm) or in front of it (a gap between back and arm) is kept. (Counting only
   arms whose elbow is 0.1 L behind the axis would let a lockout's hanging arm stand in for the
   lower back: spurious flexion of 10-20 degrees at the top of every synthetic deadlift.
   The price of counting every arm: a slim lifter standing with the arms hanging close behind the
   back line loses those stations; 49 % instead of 63 % of the ground-truth side-view frames measured.)
   Barbell plates held in the hands are round and large (45 cm: about 0.45 L) and join the mask. Near
   the hands, the mask's outline is searched for such a circle (_find_plate: a Hough transform on a
   crop scaled to a fixed torso size); stations whose edge lies on the plate's rim are dropped, so a
   deadlift lockout's plate reaching behind the hips is not read as the lower back. (Also lowering
   the confidence of frames whose hip or shoulder point the plate covers was tried: it withheld most
   deadlift lockouts and made the ground-truth error worse, 5.2 -> 5.6 degrees MAE.)
4. The outline's bend is the angle between two robust straight lines fitted to it:
   * lumbar tangent, u in [0.3, 0.5] (upper lumbar). Below u = 0.3 the outline is the sacrum and the
     glutes, whose soft tissue changes shape as the hip flexes: on the ground-truth set a span from
     u = 0 read neutral hinges as about +13 degrees of rounding (+27 at squat depth), a span from 0.3
     at most +8. The cost: a bend confined to the lowest lumbar segments and the pelvis (u < 0.3)
     is not seen, and on real clips that is where some rounding shows;
   * thoracic tangent, u in [0.55, 0.9] (below the shoulder itself: posterior deltoid and the top of the
     shoulder blades sit above u = 0.9).
   Each line: Theil-Sen start, then stations further than max(3 robust sigmas, outlier_min_frac) from
   it are dropped and the line refitted by least squares (up to 3 rounds).
   bend = atan(lumbar slope) - atan(thoracic slope), slopes dv/du: + when the thoracic line
   turns towards the front (outline convex towards the back = rounded), - when it turns backwards
   (concave = arched). The angle is between two lines in the torso's own frame, so trunk lean changes
   nothing: a straight back leaning 45 degrees reads 0.
   For a kink between the two spans the result is the kink angle; for an evenly curved back it is the
   turning over the ~0.33 L between the span centres.
   The absolute value of a standing person is not 0 (lordosis, kyphosis and shoulder blades shape the
   outline, typically -25..0 degrees on real clips), and the tangents see about a third of a real bend
   (benchmarks/spine_snr.py). No verdict reads it: it is the back outline drawn on the video and
   plotted in the review; the verdicts read the learned read-out below.
5. The outline's confidence 0..1 is the product of ramps on: shoulder/hip visibility, torso length in
   pixels, how side-on the view is (left/right shoulder and hip separation against L), how clearly the
   facing reads, the share of line stations kept as inliers, the RMS fit residual against L, and the
   mask's probability margin just inside/outside the measured edge; times hands_up_confidence_factor
   when the hands are at the shoulders (a bar on the back: the arms may cover the upper back).

How one frame is read (measure_back)
------------------------------------
readout.torso_view resamples the mask in the torso frame of steps 1-2 and adds the landmarks'
geometry; the model answers lumbar and thoracic flexion and sigma, the expected standard deviation of
the error on their sum. flexion_deg is that sum. Its confidence: the visibility and facing ramps of
step 5, a ramp on the torso's length (readout_torso_px_ramp) and one on sigma (sigma_ramp). A frame
whose outline is not found is still read; one whose torso is not inside the mask is not.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from formcheck import readout, signals
from formcheck.datafiles import value_file
from formcheck.landmarks import LM, N_LANDMARKS
from formcheck.torso import ramp as _ramp
from formcheck.torso import torso_frame

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# --- BlazePose landmark indices used here ---
_SHOULDERS = (LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER)
# (shoulder, elbow, wrist) per body side
_ARMS = (
    (LM.LEFT_SHOULDER, LM.LEFT_ELBOW, LM.LEFT_WRIST),
    (LM.RIGHT_SHOULDER, LM.RIGHT_ELBOW, LM.RIGHT_WRIST),
)
_HIPS = (LM.LEFT_HIP, LM.RIGHT_HIP)

SPINE_FILE = "spine.yaml"


@dataclass(frozen=True)
class SpineParams:
    """The tunable numbers of this module; see data/spine.yaml for units and rationale. Fractions
    are of the hip -> shoulder length L; ramps are (value giving confidence 0, value giving 1)."""

    stations_n: int
    station_lo: float
    station_hi: float
    lumbar_span: tuple[float, float]
    thoracic_span: tuple[float, float]
    scan_ventral_frac: float
    scan_dorsal_frac: float
    axis_snap_frac: float
    hole_bridge_frac: float
    mask_threshold: float
    outlier_min_frac: float
    min_stations_per_line: int
    arm_radius_frac: float
    arm_edge_margin_frac: float
    min_arm_visibility: float
    hands_at_shoulder_frac: float
    hands_up_min_u: float
    hands_up_confidence_factor: float
    plate_search_frac: float
    plate_work_torso_px: float
    plate_radius_range: tuple[float, float]
    plate_hough_votes: int
    plate_max_offset_frac: float
    plate_edge_margin_frac: float
    torso_px_ramp: tuple[float, float]
    readout_torso_px_ramp: tuple[float, float]
    visibility_ramp: tuple[float, float]
    side_separation_ramp: tuple[float, float]
    inlier_share_ramp: tuple[float, float]
    residual_ramp: tuple[float, float]
    mask_margin_ramp: tuple[float, float]
    sigma_ramp: tuple[float, float]
    min_sample_confidence: float
    outlier_window_s: float
    outlier_min_deg: float
    max_gap_s: float
    filled_confidence_factor: float
    lowpass_hz: float
    lowpass_order: int
    lowpass_max_nyquist_share: float
    lowpass_padtype: str
    neutral_min_confidence: float
    neutral_min_frames: int
    neutral_outlier_min_deg: float
    neutral_fallback_frames: int
    neutral_fallback_min_confidence: float


def load_spine_params(path: Path | None = None) -> SpineParams:
    """The numbers of spine.yaml: the file at path, else the packaged one (read once);
    DataFileError when it is malformed."""
    return value_file(SpineParams, SPINE_FILE, path)


@dataclass(frozen=True)
class BackSample:
    """One frame's back measurement.

    flexion_deg: spinal flexion against the anatomical neutral (degrees, + rounding, - arching; NaN when
    not measurable): from measure_back, the learned read-out's lumbar_deg + thoracic_deg, with
    sigma_deg the expected standard deviation of its error; from measure_outline, the outline's bend.
    confidence 0..1 of flexion_deg.
    contour_px (N, 2): dorsal outline from shoulder level (first) to hip level (last), pixels; empty
    (0, 2) when not found. upper_tangent_px / lower_tangent_px (2, 2): the outline's two tangents (for
    drawing); outline_bend_deg: the angle between them (NaN when they were not found), with its
    confidence outline_confidence.
    """

    contour_px: FloatArray
    flexion_deg: float
    upper_tangent_px: FloatArray
    lower_tangent_px: FloatArray
    confidence: float
    outline_bend_deg: float = float("nan")
    outline_confidence: float = 0.0
    lumbar_deg: float = float("nan")
    thoracic_deg: float = float("nan")
    sigma_deg: float = float("nan")


@dataclass(frozen=True)
class SpineSeries:
    """t_s (T,); flexion_abs_deg (T,) raw per-frame bend; flexion_deg (T,) the same after spike
    rejection, bounded gap filling and the low-pass (absolute: not relative to any neutral; NaN where
    missing); confidence (T,);
    neutral_deg: the lifter's own neutral (NaN when no standing frames were found);
    flexion_rel_deg (T,) = flexion_deg - neutral_deg (+ rounding, - arching);
    neutral_spread_deg: robust standard deviation (1.4826 x MAD) of the frames the neutral was taken
    from, before its outlier cut: how steady that reference was (NaN without a neutral);
    neutral_from_standing: True when the neutral came from standing frames, False when from the
    hinge-band fallback (or when there is none)."""

    t_s: FloatArray
    flexion_abs_deg: FloatArray
    flexion_deg: FloatArray
    confidence: FloatArray
    neutral_deg: float
    flexion_rel_deg: FloatArray
    neutral_spread_deg: float = float("nan")
    neutral_from_standing: bool = False


def empty_back_sample() -> BackSample:
    """The 'not measurable' sample: no contour, NaN flexion and tangents, confidence 0."""
    return BackSample(
        contour_px=np.zeros((0, 2)),
        flexion_deg=float("nan"),
        upper_tangent_px=np.full((2, 2), np.nan),
        lower_tangent_px=np.full((2, 2), np.nan),
        confidence=0.0,
    )


# ---------------------------------------------------------------------------------------------------
# measure_back
# ---------------------------------------------------------------------------------------------------


def _robust_line(
    u: FloatArray, v: FloatArray, min_cut: float, min_points: int
) -> tuple[FloatArray, BoolArray]:
    """Fit v = c0 + c1*u robustly: Theil-Sen start (median of pairwise slopes; survives ~29 % outliers,
    e.g. a plate rim or an elbow over a few stations), then up to 3 rounds of dropping points beyond
    max(3 robust sigmas, min_cut) and refitting by least squares on the rest.

    Returns ([c0, c1], inlier mask); the coefficients are NaN when fewer than min_stations_per_line
    points are (or remain) inliers.
    """
    nan_coef = np.full(2, np.nan)
    keep = np.ones(len(u), dtype=bool)
    if len(u) < min_points:
        return nan_coef, keep
    i, j = np.triu_indices(len(u), k=1)
    c1 = float(np.median((v[j] - v[i]) / (u[j] - u[i])))
    c0 = float(np.median(v - c1 * u))
    for _ in range(3):
        resid = v - (c0 + c1 * u)
        mad = float(np.median(np.abs(resid[keep] - np.median(resid[keep]))))
        new_keep = np.abs(resid) <= max(3.0 * 1.4826 * mad, min_cut)
        if new_keep.sum() < min_points:
            return nan_coef, new_keep
        c0, c1 = _line_lsq(u[new_keep], v[new_keep])
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return np.array([c0, c1]), keep


def _line_lsq(u: FloatArray, v: FloatArray) -> tuple[float, float]:
    """Least-squares v = c0 + c1*u (closed form; u must not be constant)."""
    n = len(u)
    u_mean, v_mean = float(u.sum()) / n, float(v.sum()) / n
    du = u - u_mean
    c1 = float(du @ (v - v_mean)) / float(du @ du)
    return v_mean - c1 * u_mean, c1


def _close_gaps(inside: BoolArray, gap: int) -> BoolArray:
    """1-D closing along each row: outside runs of at most gap (rounded up to even) samples between
    inside samples become inside (mask holes, shirt creases). Inside samples always stay inside."""
    r = (gap + 1) // 2
    if r < 1:
        return inside
    k, n = inside.shape
    lo = np.clip(np.arange(n) - r, 0, n)
    hi = np.clip(np.arange(n) + r + 1, 0, n)

    def window_any(x: BoolArray) -> BoolArray:
        c = np.zeros((k, n + 1), dtype=np.int32)
        np.cumsum(x, axis=1, out=c[:, 1:])
        return np.asarray((c[:, hi] - c[:, lo]) > 0)

    dilated = window_any(inside)
    return np.asarray(~window_any(~dilated) | inside)


def _dorsal_edges(
    prob: NDArray[np.float32], n_ventral: int, bridge: int, snap: int, threshold: float
) -> tuple[FloatArray, FloatArray]:
    """Dorsal edge per scan line.

    prob (K, S): mask probability sampled every pixel along K scan lines from ventral to dorsal, the
    torso axis at column n_ventral. Returns (v_px (K,) sub-pixel distance of the edge behind the axis,
    margin (K,) mean p 2-6 px inside minus mean p 2-6 px outside the edge); NaN / 0 where no edge was found.
    """
    k, n = prob.shape
    rows = np.arange(k)
    cols = np.arange(n)
    inside = _close_gaps(prob >= threshold, bridge)
    dist = np.where(inside, np.abs(cols[None, :] - n_ventral), n + 1)
    anchor = np.argmin(dist, axis=1)
    has_anchor = dist[rows, anchor] <= snap
    beyond = ~inside & (cols[None, :] > anchor[:, None])
    j = np.argmax(beyond, axis=1)  # first outside sample dorsal of the anchor
    ok = has_anchor & beyond[rows, j]
    j_in = np.maximum(j - 1, 0)
    p_in = prob[rows, j_in].astype(np.float64)
    p_out = prob[rows, j].astype(np.float64)
    falling = p_in > p_out
    frac = np.where(falling, (p_in - threshold) / np.where(falling, p_in - p_out, 1.0), 0.5)
    v_px = np.where(ok, j_in - n_ventral + np.clip(frac, 0.0, 1.0), np.nan)
    offsets = np.arange(2, 7)
    inner = prob[rows[:, None], np.clip(j[:, None] - 1 - offsets, 0, n - 1)].mean(axis=1)
    outer = prob[rows[:, None], np.clip(j[:, None] + offsets, 0, n - 1)].mean(axis=1)
    margin = np.where(ok, np.clip(inner.astype(np.float64) - outer, 0.0, 1.0), 0.0)
    return np.asarray(v_px, dtype=np.float64), np.asarray(margin, dtype=np.float64)


def _arm_band(
    xy: FloatArray,
    vis: FloatArray,
    hip: FloatArray,
    a: FloatArray,
    n: FloatArray,
    u_px: FloatArray,
    torso_px: float,
    p: SpineParams,
) -> tuple[FloatArray, FloatArray]:
    """Per station (u_px (K,), pixels along the torso axis): the band of v (px behind the axis) that the
    arms cover on that scan line, as (near (K,), far (K,)); +inf / -inf where no arm crosses the line.
    Arms are capsules of radius arm_radius_frac around shoulder-elbow and elbow-wrist (16 sample
    points per segment)."""
    near = np.full(len(u_px), np.inf)
    far = np.full(len(u_px), -np.inf)
    radius = p.arm_radius_frac * torso_px
    t = np.linspace(0.0, 1.0, 16)
    for shoulder, elbow, wrist in _ARMS:
        if not (np.all(np.isfinite(xy[elbow])) and vis[elbow] >= p.min_arm_visibility):
            continue
        for j in (shoulder, wrist):
            if not (np.all(np.isfinite(xy[j])) and vis[j] >= p.min_arm_visibility):
                continue
            pt = xy[elbow] + t[:, None] * (xy[j] - xy[elbow]) - hip
            du = u_px[:, None] - (pt @ a)[None, :]
            crosses = np.abs(du) <= radius
            half_chord = np.sqrt(np.maximum(radius**2 - du**2, 0.0))
            pv = (pt @ n)[None, :]
            near = np.minimum(near, np.where(crosses, pv - half_chord, np.inf).min(axis=1))
            far = np.maximum(far, np.where(crosses, pv + half_chord, -np.inf).max(axis=1))
    return near, far


def _hands_at_shoulders(
    xy: FloatArray,
    vis: FloatArray,
    hip: FloatArray,
    a: FloatArray,
    torso_px: float,
    p: SpineParams,
) -> bool:
    """True when a wrist is within hands_at_shoulder_frac of its shoulder, in the upper torso: hands
    on a bar across the back (back squat), so the upper arm and elbow may lie over the upper back."""
    for shoulder, _, wrist in _ARMS:
        if not (np.all(np.isfinite(xy[[shoulder, wrist]])) and vis[wrist] >= p.min_arm_visibility):
            continue
        near = float(np.hypot(*(xy[wrist] - xy[shoulder]))) <= p.hands_at_shoulder_frac * torso_px
        if near and float((xy[wrist] - hip) @ a) >= p.hands_up_min_u * torso_px:
            return True
    return False


def _find_plate(
    prob: NDArray[np.float32], xy: FloatArray, vis: FloatArray, torso_px: float, p: SpineParams
) -> tuple[FloatArray, float] | None:
    """A round barbell plate held in the hands, found in the person mask: (centre_px (2,), radius_px),
    or None. Looks for a circle of radius plate_radius_range x L in the mask's outline within
    plate_search_frac x L of the mean wrist, on a crop scaled to plate_work_torso_px."""
    wrists = [
        w for _, _, w in _ARMS if np.all(np.isfinite(xy[w])) and vis[w] >= p.min_arm_visibility
    ]
    if not wrists:
        return None
    wx, wy = xy[wrists].mean(axis=0)
    h, w = prob.shape
    reach = p.plate_search_frac * torso_px
    x0, x1 = int(max(0.0, wx - reach)), int(min(float(w), wx + reach + 1))
    y0, y1 = int(max(0.0, wy - reach)), int(min(float(h), wy + reach + 1))
    scale = p.plate_work_torso_px / torso_px
    if min(x1 - x0, y1 - y0) * scale < 16:
        return None
    crop = cv2.resize(prob[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    edges = cv2.GaussianBlur(((crop >= p.mask_threshold) * 255).astype(np.uint8), (5, 5), 1.5)
    circles = cv2.HoughCircles(
        edges,
        cv2.HOUGH_GRADIENT,
        dp=1,
        minDist=p.plate_work_torso_px,
        param1=100,
        param2=p.plate_hough_votes,
        minRadius=round(p.plate_radius_range[0] * p.plate_work_torso_px),
        maxRadius=round(p.plate_radius_range[1] * p.plate_work_torso_px),
    )
    if circles is None:
        return None
    cx, cy, r = (float(c) for c in circles[0, 0])
    centre = np.array([x0 + cx / scale, y0 + cy / scale])
    if float(np.hypot(centre[0] - wx, centre[1] - wy)) > p.plate_max_offset_frac * torso_px:
        return None
    return centre, r / scale


def measure_outline(
    mask: NDArray[np.float32] | None,
    xy_px: FloatArray,
    visibility: FloatArray,
    facing: int = 0,
    params: SpineParams | None = None,
) -> BackSample:
    """Measure the dorsal outline and the bend between its two tangents in one frame (steps 1-5 of
    the module docstring); flexion_deg and outline_bend_deg are that bend, confidence the outline's.

    mask (H, W) or (H, W, 1) float32 person probability 0..1, or None; xy_px (33, 2) landmark pixels of
    the same frame (NaN = missing); visibility (33,) 0..1; facing: +1 lifter faces image right, -1 image
    left, 0 = infer from this frame's feet and head (pass the clip's facing when known).
    params: data/spine.yaml (the packaged ones when None).
    Never raises on bad data: returns empty_back_sample() (NaN flexion, confidence 0) instead.
    """
    p = params or load_spine_params()
    if mask is None:
        return empty_back_sample()
    xy = np.asarray(xy_px, dtype=np.float64)
    vis = np.asarray(visibility, dtype=np.float64)
    prob = np.asarray(mask)
    if prob.ndim == 3 and prob.shape[2] == 1:
        prob = prob[:, :, 0]
    if xy.shape != (N_LANDMARKS, 2) or vis.shape != (N_LANDMARKS,) or prob.ndim != 2:
        return empty_back_sample()
    if prob.size == 0:
        return empty_back_sample()
    vis = np.clip(np.where(np.isfinite(vis), vis, 0.0), 0.0, 1.0)  # helpers below rely on this
    prob = np.ascontiguousarray(prob, dtype=np.float32)

    frame = torso_frame(xy, vis, facing)
    if frame is None:
        return empty_back_sample()
    hip, a, n, torso_px, facing_conf = (
        frame.hip_px,
        frame.axis,
        frame.dorsal,
        frame.torso_px,
        frame.facing_confidence,
    )

    # sample the mask along one perpendicular scan line per station, 1 px apart
    n_ventral = int(np.ceil(p.scan_ventral_frac * torso_px))
    n_dorsal = int(np.ceil(p.scan_dorsal_frac * torso_px))
    u_st = np.linspace(p.station_lo, p.station_hi, p.stations_n) * torso_px
    v_scan = np.arange(-n_ventral, n_dorsal + 1, dtype=np.float64)
    pts = (hip + u_st[:, None] * a)[:, None, :] + v_scan[None, :, None] * n
    samples_raw = cv2.remap(
        prob,
        pts[..., 0].astype(np.float32),
        pts[..., 1].astype(np.float32),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    samples = np.asarray(samples_raw, dtype=np.float32).reshape(pts.shape[:2])
    v_edge, margin = _dorsal_edges(
        samples,
        n_ventral,
        bridge=max(1, round(p.hole_bridge_frac * torso_px)),
        snap=round(p.axis_snap_frac * torso_px),
        threshold=p.mask_threshold,
    )

    arm_near, arm_far = _arm_band(xy, vis, hip, a, n, u_st, torso_px, p)
    margin_px = p.arm_edge_margin_frac * torso_px
    on_arm = (v_edge >= arm_near - margin_px) & (v_edge <= arm_far + margin_px)
    v_edge = np.where(on_arm, np.nan, v_edge)

    plate = _find_plate(prob, xy, vis, torso_px, p)
    if plate is not None:
        centre, radius = plate
        edge_px = hip + u_st[:, None] * a + v_edge[:, None] * n
        dist = np.hypot(edge_px[:, 0] - centre[0], edge_px[:, 1] - centre[1])
        v_edge = np.where(dist <= radius + p.plate_edge_margin_frac * torso_px, np.nan, v_edge)

    # lumbar and thoracic tangents
    u_frac = u_st / torso_px
    eps = 1e-9
    in_lower = (u_frac >= p.lumbar_span[0] - eps) & (u_frac <= p.lumbar_span[1] + eps)
    in_upper = (u_frac >= p.thoracic_span[0] - eps) & (u_frac <= p.thoracic_span[1] + eps)
    found = np.isfinite(v_edge)
    sel_lo, sel_hi = found & in_lower, found & in_upper
    min_cut = p.outlier_min_frac * torso_px
    coef_lo, keep_lo = _robust_line(u_st[sel_lo], v_edge[sel_lo], min_cut, p.min_stations_per_line)
    coef_hi, keep_hi = _robust_line(u_st[sel_hi], v_edge[sel_hi], min_cut, p.min_stations_per_line)
    if not (np.all(np.isfinite(coef_lo)) and np.all(np.isfinite(coef_hi))):
        return empty_back_sample()
    flexion = float(np.degrees(np.arctan(coef_lo[1]) - np.arctan(coef_hi[1])))

    # confidence
    inlier = np.zeros(p.stations_n, dtype=bool)
    inlier[np.flatnonzero(sel_lo)[keep_lo]] = True
    inlier[np.flatnonzero(sel_hi)[keep_hi]] = True
    fitted = np.where(in_lower, coef_lo[0] + coef_lo[1] * u_st, coef_hi[0] + coef_hi[1] * u_st)
    rms_frac = float(np.sqrt(np.mean((v_edge[inlier] - fitted[inlier]) ** 2))) / torso_px
    confidence = (
        _view_confidence(xy, vis, torso_px, facing_conf, p, p.torso_px_ramp)
        * _ramp(float(inlier.sum()) / float((in_lower | in_upper).sum()), p.inlier_share_ramp)
        * _ramp(rms_frac, p.residual_ramp)
        * _ramp(float(np.mean(margin[inlier])), p.mask_margin_ramp)
        * (
            p.hands_up_confidence_factor
            if _hands_at_shoulders(xy, vis, hip, a, torso_px, p)
            else 1.0
        )
    )

    def to_image(u: FloatArray, v: FloatArray) -> FloatArray:
        return np.asarray(hip + u[:, None] * a + v[:, None] * n, dtype=np.float64)

    u_lo_seg = np.array(p.lumbar_span) * torso_px
    u_hi_seg = np.array(p.thoracic_span) * torso_px
    return BackSample(
        contour_px=to_image(u_st[found], v_edge[found])[::-1],  # shoulder level first
        flexion_deg=flexion,
        upper_tangent_px=to_image(u_hi_seg, coef_hi[0] + coef_hi[1] * u_hi_seg),
        lower_tangent_px=to_image(u_lo_seg, coef_lo[0] + coef_lo[1] * u_lo_seg),
        confidence=float(np.clip(confidence, 0.0, 1.0)),
        outline_bend_deg=flexion,
        outline_confidence=float(np.clip(confidence, 0.0, 1.0)),
    )


def _view_confidence(
    xy: FloatArray,
    vis: FloatArray,
    torso_px: float,
    facing_conf: float,
    p: SpineParams,
    torso_px_ramp: tuple[float, float],
    side_on: bool = True,
) -> float:
    """How well the frame shows the torso: ramps on shoulder/hip visibility and torso length in
    pixels (torso_px_ramp), times the facing's confidence (vis finite, 0..1); with side_on, times a
    ramp on their left/right separation (the outline is only the back's in a side-on view)."""
    vis_torso = float(np.mean(vis[list(_SHOULDERS + _HIPS)]))
    seps = [
        float(np.hypot(*(xy[i] - xy[j])))
        for i, j in (_SHOULDERS, _HIPS)
        if np.all(np.isfinite(xy[[i, j]]))
    ]
    side_conf = _ramp(float(np.mean(seps)) / torso_px, p.side_separation_ramp) if seps else 0.5
    return (
        _ramp(vis_torso, p.visibility_ramp)
        * _ramp(torso_px, torso_px_ramp)
        * (side_conf if side_on else 1.0)
        * facing_conf
    )


def measure_back(
    mask: NDArray[np.float32] | None,
    xy_px: FloatArray,
    visibility: FloatArray,
    facing: int = 0,
    params: SpineParams | None = None,
) -> BackSample:
    """Measure one frame's spinal flexion with the learned read-out (formcheck.readout) and its
    outline (measure_outline, for drawing and outline_bend_deg).

    mask (H, W) or (H, W, 1) float32 person probability 0..1, or None; xy_px (33, 2) landmark pixels of
    the same frame (NaN = missing); visibility (33,) 0..1; facing: +1 lifter faces image right, -1 image
    left, 0 = infer from this frame's feet and head (pass the clip's facing when known).
    The reading does not need the outline: a frame whose outline is not found is still read.
    Confidence: _view_confidence on readout_torso_px_ramp, without the side-on ramp (the read-out was
    trained on views up to 25 degrees off side-on, and at the bottom of a squat MediaPipe spreads
    the shoulders and hips apart), times a ramp on the read-out's own sigma (sigma_ramp).
    params: data/spine.yaml (the packaged ones when None).
    Never raises on bad data: returns empty_back_sample() (NaN flexion, confidence 0) instead.
    """
    p = params or load_spine_params()
    outline = measure_outline(mask, xy_px, visibility, facing, p)
    xy = np.asarray(xy_px, dtype=np.float64)
    vis = np.asarray(visibility, dtype=np.float64)
    if mask is None or xy.shape != (N_LANDMARKS, 2) or vis.shape != (N_LANDMARKS,):
        return empty_back_sample()
    vis = np.clip(np.where(np.isfinite(vis), vis, 0.0), 0.0, 1.0)
    frame = torso_frame(xy, vis, facing)
    view = readout.torso_view(mask, xy, vis, frame=frame) if frame is not None else None
    if frame is None or view is None:
        return empty_back_sample()
    reading = readout.default_model().read(view)
    if not math.isfinite(reading.flexion_deg):
        return empty_back_sample()
    view_conf = _view_confidence(
        xy, vis, frame.torso_px, frame.facing_confidence, p, p.readout_torso_px_ramp, side_on=False
    )
    confidence = view_conf * _ramp(reading.sigma_deg, p.sigma_ramp)
    return dataclasses.replace(
        outline,
        flexion_deg=reading.flexion_deg,
        confidence=float(np.clip(confidence, 0.0, 1.0)),
        lumbar_deg=reading.lumbar_deg,
        thoracic_deg=reading.thoracic_deg,
        sigma_deg=reading.sigma_deg,
    )


# ---------------------------------------------------------------------------------------------------
# build_spine_series
# ---------------------------------------------------------------------------------------------------


def _weighted_median(x: FloatArray, w: FloatArray) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cw, 0.5 * cw[-1])])


def _reject_spikes(
    t_s: FloatArray, x: FloatArray, w: FloatArray, valid: BoolArray, p: SpineParams
) -> BoolArray:
    """valid minus the spikes: samples further than max(outlier_min_deg, 3 robust sigmas) from the
    confidence-weighted median of the valid samples within +-outlier_window_s/2 (themselves included)."""
    kept = valid.copy()
    idx = np.flatnonzero(valid)
    tv, xv, wv = t_s[idx], x[idx], w[idx]
    half = p.outlier_window_s / 2
    lo = np.searchsorted(tv, tv - half, side="left")
    hi = np.searchsorted(tv, tv + half, side="right")
    for k, i in enumerate(idx):
        if hi[k] - lo[k] < 3:
            continue  # too few neighbours to call anything a spike
        xs, ws = xv[lo[k] : hi[k]], wv[lo[k] : hi[k]]
        ref = _weighted_median(xs, ws)
        sigma = 1.4826 * _weighted_median(np.abs(xs - ref), ws)
        if abs(xv[k] - ref) > max(p.outlier_min_deg, 3.0 * sigma):
            kept[i] = False
    return kept


def _fill_gaps(
    t_s: FloatArray, x: FloatArray, c: FloatArray, kept: BoolArray, p: SpineParams
) -> tuple[FloatArray, FloatArray]:
    """The kept samples with gaps between kept samples at most max_gap_s apart filled linearly
    (signals.fill_gaps; nothing is extrapolated). Returns (values, confidence): a filled frame gets
    filled_confidence_factor x the weaker of its two kept neighbours' confidence, a missing one 0."""
    out = signals.fill_gaps(np.where(kept, x, np.nan), t_s, p.max_gap_s)
    conf = np.where(kept, c, 0.0)
    filled = np.isfinite(out) & ~kept
    if filled.any():
        before, after = signals.filled_neighbours(kept)
        weaker = np.minimum(c[before[filled]], c[after[filled]])
        conf[filled] = p.filled_confidence_factor * weaker
    return out, conf


def neutral_of(values: FloatArray, params: SpineParams | None = None) -> tuple[float, float]:
    """A lifter's neutral from the readings (degrees) of frames that show it: (median of values
    after dropping those beyond max(3 robust sigmas, neutral_outlier_min_deg) from it, robust sigma
    of values); (NaN, NaN) when fewer than neutral_min_frames values are given. The offline series
    (build_spine_series) and the live preview (live.py) both take their neutral from here."""
    p = params or load_spine_params()
    vals = np.asarray(values, dtype=np.float64)
    if len(vals) < p.neutral_min_frames:
        return float("nan"), float("nan")
    med = float(np.median(vals))
    sigma = 1.4826 * float(np.median(np.abs(vals - med)))
    spread = max(p.neutral_outlier_min_deg, 3.0 * sigma)
    return float(np.median(vals[np.abs(vals - med) <= spread])), sigma


def build_spine_series(
    t_s: FloatArray,
    samples: list[BackSample],
    standing: NDArray[np.bool_],
    fallback: NDArray[np.bool_] | None = None,
    params: SpineParams | None = None,
) -> SpineSeries:
    """Per-frame samples -> filtered flexion relative to the lifter's own standing neutral.

    t_s (T,) seconds, increasing; samples: T BackSamples; standing (T,) True on the frames where the
    lifter stands tall (from kinematics). Steps, in order:
    1. samples with NaN flexion or confidence < min_sample_confidence are missing;
    2. spikes against a confidence-weighted running median (outlier_window_s) are rejected;
    3. gaps up to max_gap_s are filled linearly (confidence x filled_confidence_factor), longer stay NaN;
    4. zero-phase Butterworth low-pass (signals.lowpass: lowpass_hz, lowpass_order, on each
       finite run at its own frame rate);
    5. neutral_deg = median of the filtered value over standing frames with confidence >=
       neutral_min_confidence, after dropping those beyond max(3 robust sigmas, 3 deg); NaN when fewer
       than neutral_min_frames such frames exist. Then the same is tried on the earliest
       neutral_fallback_frames such frames with confidence >= neutral_fallback_min_confidence among
       the fallback frames (T,) when given
       (kinematics.hinge_band_mask: early in a hinge), and if that fails too, flexion_rel_deg is all
       NaN. neutral_spread_deg is the robust SD of the frames the neutral came from (faults.py
       withholds the back when it is large).
    flexion_abs_deg keeps the raw per-frame values; confidence is 0 where the curve is missing.
    params: data/spine.yaml (the packaged ones when None).
    Raises ValueError when the inputs differ in length.
    """
    p = params or load_spine_params()
    t = np.asarray(t_s, dtype=np.float64)
    stand = np.asarray(standing, dtype=bool)
    n = len(t)
    back_up = np.zeros(n, dtype=bool) if fallback is None else np.asarray(fallback, dtype=bool)
    if len(samples) != n or stand.shape != (n,) or back_up.shape != (n,):
        raise ValueError(
            f"t_s ({n}), samples ({len(samples)}), standing {stand.shape} and fallback "
            f"{back_up.shape} must have the same length"
        )
    raw = np.array([s.flexion_deg for s in samples], dtype=np.float64).reshape(n)
    conf = np.array([s.confidence for s in samples], dtype=np.float64).reshape(n)
    conf = np.clip(np.nan_to_num(conf, nan=0.0), 0.0, 1.0)

    valid = np.isfinite(raw) & (conf >= p.min_sample_confidence)
    kept = _reject_spikes(t, raw, conf, valid, p)
    filled, conf_out = _fill_gaps(t, raw, conf, kept, p)
    filtered = signals.lowpass(
        filled,
        t,
        cutoff_hz=p.lowpass_hz,
        order=p.lowpass_order,
        max_nyquist_share=p.lowpass_max_nyquist_share,
        padtype=p.lowpass_padtype,
    )

    usable = kept & (conf >= p.neutral_min_confidence) & np.isfinite(filtered)
    neutral, sigma = neutral_of(filtered[stand & usable], p)
    from_standing = bool(np.isfinite(neutral))
    if not from_standing:
        clear = back_up & usable & (conf >= p.neutral_fallback_min_confidence)
        neutral, sigma = neutral_of(filtered[np.flatnonzero(clear)[: p.neutral_fallback_frames]], p)
    return SpineSeries(
        t_s=t,
        flexion_abs_deg=raw,
        flexion_deg=filtered,
        confidence=np.where(np.isfinite(filtered), conf_out, 0.0),
        neutral_deg=neutral,
        flexion_rel_deg=filtered - neutral,
        neutral_spread_deg=sigma,
        neutral_from_standing=from_standing,
    )
