"""The measured spine: person mask and landmarks -> spinal flexion per frame, and its series over a clip.

MediaPipe has no spine landmarks and trunk lean is not rounding. Per frame, measure_back() reads spinal
flexion with the learned read-out (formcheck.readout: a small model on the torso-aligned mask and the
landmarks' geometry, trained on rendered lifters seen through MediaPipe), against the anatomical
neutral, with the expected error of that reading; and it finds the DORSAL (back-side) outline between
shoulder and hip (measure_outline), which the review draws. build_spine_series() turns the per-frame
samples into a series and also expresses it relative to the lifter's own neutral (median of the
standing frames of the same clip, or of its earliest hinge frames when no standing frame shows the back).

Sign: + = flexion (back rounds, convex towards the back), - = extension (arching).

How the outline is found (measure_outline)
------------------------------------------
1. Facing: toes (31/32) ahead of heels (29/30) and nose ahead of the ears, weighted by visibility, or the
   caller's clip-level ``facing`` (preferred: one frame's feet can flip). The back is the other side.
2. Torso frame: origin mid-hip, u along mid-hip -> mid-shoulder (length L px), v perpendicular, positive
   on the DORSAL side. Both body sides nearly coincide in a side view, so the visibility-weighted mid
   points stand in for the near-side joints and average out landmark jitter. All fractions below are of L.
3. Stations: STATIONS_N stations from u = 0 (hip-joint level) to u = 0.9. At each one the mask is sampled
   along the perpendicular (cv2.remap, bilinear; only ~STATIONS_N x L pixels are read, no whole-frame
   contour search). Holes shorter than HOLE_BRIDGE_FRAC are bridged, then the inside run (p >= 0.5) that
   holds the torso axis is followed dorsally to its end; the sub-pixel 0.5 crossing there is the back
   surface. Following the run that holds the axis, not the outermost mask pixel, keeps detached things
   (plates, a rack, another person) out of the outline.
   Arms join the outline where they reach the back's edge: hands on a back-squat bar (elbows point
   backwards), and arms hanging at a deadlift lockout, whose silhouette runs along a slim lower back.
   Each upper arm and forearm is modelled as a capsule of radius ARM_RADIUS_FRAC; a station whose edge
   lies within the band such a capsule covers on its scan line (widened by ARM_EDGE_MARGIN_FRAC) may
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
   Each line: Theil-Sen start, then stations further than max(3 robust sigmas, OUTLIER_MIN_FRAC) from
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
   mask's probability margin just inside/outside the measured edge; times HANDS_UP_CONFIDENCE_FACTOR
   when the hands are at the shoulders (a bar on the back: the arms may cover the upper back).

How one frame is read (measure_back)
------------------------------------
readout.torso_view resamples the mask in the torso frame of steps 1-2 and adds the landmarks'
geometry; the model answers lumbar and thoracic flexion and sigma, the expected standard deviation of
the error on their sum. flexion_deg is that sum. Its confidence: the visibility and facing ramps of
step 5, a ramp on the torso's length (READOUT_TORSO_PX_RAMP) and one on sigma (SIGMA_RAMP). A frame
whose outline is not found is still read; one whose torso is not inside the mask is not.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfiltfilt

from formcheck import readout
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

# --- measure_back geometry; fractions of the hip -> shoulder length L ---
STATIONS_N = 37  # stations spread evenly over [STATION_LO, STATION_HI] (0.025 L apart)
STATION_LO = 0.0
STATION_HI = 0.9
LUMBAR_SPAN = (0.3, 0.5)
THORACIC_SPAN = (0.55, 0.9)
ARM_RADIUS_FRAC = 0.12  # an arm is a capsule this thick around shoulder-elbow-wrist
ARM_EDGE_MARGIN_FRAC = 0.02  # a station's edge within an arm's band widened by this is the arm's
# Hands at the shoulders (a bar across the back): the elbows point back and down over the upper back,
# and MediaPipe's elbow landmarks often sit at the shoulder, so the capsules above miss them. On the
# ground-truth back squats the outline then tracks the arm, not the spine (correlation with the true
# flexion 0.1), so such frames get this factor on their confidence and their verdicts are withheld.
HANDS_AT_SHOULDER_FRAC = 0.4  # wrist within this of its shoulder ...
HANDS_UP_MIN_U = 0.6  # ... and at least this high up the torso
HANDS_UP_CONFIDENCE_FACTOR = 0.4
# Plates held in the hands (step 3): a circle in the mask's outline near the wrists.
PLATE_SEARCH_FRAC = 1.0  # the crop reaches this far from the mean wrist, each way
PLATE_WORK_TORSO_PX = 100.0  # the crop is scaled so that L is this many pixels (fixed Hough scale)
PLATE_RADIUS_RANGE = (0.3, 0.65)  # plate radius / L searched (45 cm plates on a 45-55 cm torso)
PLATE_HOUGH_VOTES = 18  # cv2.HoughCircles accumulator threshold at the working scale
PLATE_MAX_OFFSET_FRAC = 0.6  # the plate's centre within this of the mean wrist (the bar is held)
PLATE_EDGE_MARGIN_FRAC = 0.03  # edges within the plate's radius plus this are the plate's
SCAN_VENTRAL_FRAC = 0.25  # the scan starts this far in front of the axis
SCAN_DORSAL_FRAC = 0.75  # and reaches this far behind it
AXIS_SNAP_FRAC = 0.15  # axis outside the mask: anchor on an inside sample at most this far away
HOLE_BRIDGE_FRAC = 0.02  # outside gaps shorter than this along a scan line are holes, not the edge
OUTLIER_MIN_FRAC = 0.02  # outlier cut = max(3 robust sigmas, this)
MASK_THRESHOLD = 0.5
SIGMA_RAMP = (12.0, 4.0)  # read-out sigma (degrees) giving confidence 0 -> 1
# torso length (px) giving the read-out's confidence 0 -> 1: its view is 36 cells over 1.4 torso
# lengths, so a 60 px torso still gives cells of about 2 px
READOUT_TORSO_PX_RAMP = (30.0, 60.0)
MIN_STATIONS_PER_LINE = 4
MIN_ARM_VISIBILITY = 0.1  # arm landmarks below this are ignored (a far arm still sticks out)

# --- measure_back confidence ramps (value giving 0 -> value giving 1) ---
TORSO_PX_RAMP = (40.0, 120.0)
VISIBILITY_RAMP = (0.3, 0.8)
# left/right shoulder and hip separation / L: at >= 0.6 the camera sees chest or back, not the profile
SIDE_SEPARATION_RAMP = (0.6, 0.25)
INLIER_SHARE_RAMP = (0.5, 0.9)
RESIDUAL_RAMP = (0.03, 0.005)  # RMS fit residual / L
MASK_MARGIN_RAMP = (0.3, 0.8)  # p just inside minus p just outside the edge

# --- build_spine_series ---
MIN_SAMPLE_CONFIDENCE = 0.2  # samples below this count as missing
OUTLIER_WINDOW_S = 0.5  # confidence-weighted running median over this window flags spikes ...
OUTLIER_MIN_DEG = 8.0  # ... further than max(this, 3 robust sigmas) from it
MAX_GAP_S = 0.5  # gaps (missing or rejected) up to this long are interpolated; longer stay NaN
FILLED_CONFIDENCE_FACTOR = 0.5  # a filled frame gets this x the weaker neighbour's confidence
# zero-phase Butterworth cutoff: lifting moves the spine at < 2 Hz, mask jitter is frame to frame
LOWPASS_HZ = 4.0
LOWPASS_MAX_NYQUIST_SHARE = 0.9  # at low frame rates the cutoff is capped at this share of Nyquist
LOWPASS_ORDER = 2
NEUTRAL_MIN_CONFIDENCE = 0.5
NEUTRAL_MIN_FRAMES = 3
NEUTRAL_FALLBACK_FRAMES = 15  # a neutral from the hinge band: its earliest this many usable frames
NEUTRAL_FALLBACK_MIN_CONFIDENCE = (
    0.8  # ... of at least this confidence (a clear, unobstructed back)
)
NEUTRAL_OUTLIER_MIN_DEG = 3.0  # neutral: drop standing frames beyond max(this, 3 robust sigmas)


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


def _robust_line(u: FloatArray, v: FloatArray, min_cut: float) -> tuple[FloatArray, BoolArray]:
    """Fit v = c0 + c1*u robustly: Theil-Sen start (median of pairwise slopes; survives ~29 % outliers,
    e.g. a plate rim or an elbow over a few stations), then up to 3 rounds of dropping points beyond
    max(3 robust sigmas, min_cut) and refitting by least squares on the rest.

    Returns ([c0, c1], inlier mask); the coefficients are NaN when fewer than MIN_STATIONS_PER_LINE
    points are (or remain) inliers.
    """
    nan_coef = np.full(2, np.nan)
    keep = np.ones(len(u), dtype=bool)
    if len(u) < MIN_STATIONS_PER_LINE:
        return nan_coef, keep
    i, j = np.triu_indices(len(u), k=1)
    c1 = float(np.median((v[j] - v[i]) / (u[j] - u[i])))
    c0 = float(np.median(v - c1 * u))
    for _ in range(3):
        resid = v - (c0 + c1 * u)
        mad = float(np.median(np.abs(resid[keep] - np.median(resid[keep]))))
        new_keep = np.abs(resid) <= max(3.0 * 1.4826 * mad, min_cut)
        if new_keep.sum() < MIN_STATIONS_PER_LINE:
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
    prob: NDArray[np.float32], n_ventral: int, bridge: int, snap: int
) -> tuple[FloatArray, FloatArray]:
    """Dorsal edge per scan line.

    prob (K, S): mask probability sampled every pixel along K scan lines from ventral to dorsal, the
    torso axis at column n_ventral. Returns (v_px (K,) sub-pixel distance of the edge behind the axis,
    margin (K,) mean p 2-6 px inside minus mean p 2-6 px outside the edge); NaN / 0 where no edge was found.
    """
    k, n = prob.shape
    rows = np.arange(k)
    cols = np.arange(n)
    inside = _close_gaps(prob >= MASK_THRESHOLD, bridge)
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
    frac = np.where(falling, (p_in - MASK_THRESHOLD) / np.where(falling, p_in - p_out, 1.0), 0.5)
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
) -> tuple[FloatArray, FloatArray]:
    """Per station (u_px (K,), pixels along the torso axis): the band of v (px behind the axis) that the
    arms cover on that scan line, as (near (K,), far (K,)); +inf / -inf where no arm crosses the line.
    Arms are capsules of radius ARM_RADIUS_FRAC around shoulder-elbow and elbow-wrist (16 sample
    points per segment)."""
    near = np.full(len(u_px), np.inf)
    far = np.full(len(u_px), -np.inf)
    radius = ARM_RADIUS_FRAC * torso_px
    t = np.linspace(0.0, 1.0, 16)
    for shoulder, elbow, wrist in _ARMS:
        if not (np.all(np.isfinite(xy[elbow])) and vis[elbow] >= MIN_ARM_VISIBILITY):
            continue
        for j in (shoulder, wrist):
            if not (np.all(np.isfinite(xy[j])) and vis[j] >= MIN_ARM_VISIBILITY):
                continue
            p = xy[elbow] + t[:, None] * (xy[j] - xy[elbow]) - hip
            du = u_px[:, None] - (p @ a)[None, :]
            crosses = np.abs(du) <= radius
            half_chord = np.sqrt(np.maximum(radius**2 - du**2, 0.0))
            pv = (p @ n)[None, :]
            near = np.minimum(near, np.where(crosses, pv - half_chord, np.inf).min(axis=1))
            far = np.maximum(far, np.where(crosses, pv + half_chord, -np.inf).max(axis=1))
    return near, far


def _hands_at_shoulders(
    xy: FloatArray, vis: FloatArray, hip: FloatArray, a: FloatArray, torso_px: float
) -> bool:
    """True when a wrist is within HANDS_AT_SHOULDER_FRAC of its shoulder, in the upper torso: hands
    on a bar across the back (back squat), so the upper arm and elbow may lie over the upper back."""
    for shoulder, _, wrist in _ARMS:
        if not (np.all(np.isfinite(xy[[shoulder, wrist]])) and vis[wrist] >= MIN_ARM_VISIBILITY):
            continue
        near = float(np.hypot(*(xy[wrist] - xy[shoulder]))) <= HANDS_AT_SHOULDER_FRAC * torso_px
        if near and float((xy[wrist] - hip) @ a) >= HANDS_UP_MIN_U * torso_px:
            return True
    return False


def _find_plate(
    prob: NDArray[np.float32], xy: FloatArray, vis: FloatArray, torso_px: float
) -> tuple[FloatArray, float] | None:
    """A round barbell plate held in the hands, found in the person mask: (centre_px (2,), radius_px),
    or None. Looks for a circle of radius PLATE_RADIUS_RANGE x L in the mask's outline within
    PLATE_SEARCH_FRAC x L of the mean wrist, on a crop scaled to PLATE_WORK_TORSO_PX."""
    wrists = [w for _, _, w in _ARMS if np.all(np.isfinite(xy[w])) and vis[w] >= MIN_ARM_VISIBILITY]
    if not wrists:
        return None
    wx, wy = xy[wrists].mean(axis=0)
    h, w = prob.shape
    reach = PLATE_SEARCH_FRAC * torso_px
    x0, x1 = int(max(0.0, wx - reach)), int(min(float(w), wx + reach + 1))
    y0, y1 = int(max(0.0, wy - reach)), int(min(float(h), wy + reach + 1))
    scale = PLATE_WORK_TORSO_PX / torso_px
    if min(x1 - x0, y1 - y0) * scale < 16:
        return None
    crop = cv2.resize(prob[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    edges = cv2.GaussianBlur(((crop >= MASK_THRESHOLD) * 255).astype(np.uint8), (5, 5), 1.5)
    circles = cv2.HoughCircles(
        edges,
        cv2.HOUGH_GRADIENT,
        dp=1,
        minDist=PLATE_WORK_TORSO_PX,
        param1=100,
        param2=PLATE_HOUGH_VOTES,
        minRadius=round(PLATE_RADIUS_RANGE[0] * PLATE_WORK_TORSO_PX),
        maxRadius=round(PLATE_RADIUS_RANGE[1] * PLATE_WORK_TORSO_PX),
    )
    if circles is None:
        return None
    cx, cy, r = (float(c) for c in circles[0, 0])
    centre = np.array([x0 + cx / scale, y0 + cy / scale])
    if float(np.hypot(centre[0] - wx, centre[1] - wy)) > PLATE_MAX_OFFSET_FRAC * torso_px:
        return None
    return centre, r / scale


def measure_outline(
    mask: NDArray[np.float32] | None,
    xy_px: FloatArray,
    visibility: FloatArray,
    facing: int = 0,
) -> BackSample:
    """Measure the dorsal outline and the bend between its two tangents in one frame (steps 1-5 of
    the module docstring); flexion_deg and outline_bend_deg are that bend, confidence the outline's.

    mask (H, W) or (H, W, 1) float32 person probability 0..1, or None; xy_px (33, 2) landmark pixels of
    the same frame (NaN = missing); visibility (33,) 0..1; facing: +1 lifter faces image right, -1 image
    left, 0 = infer from this frame's feet and head (pass the clip's facing when known).
    Never raises on bad data: returns empty_back_sample() (NaN flexion, confidence 0) instead.
    """
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
    n_ventral = int(np.ceil(SCAN_VENTRAL_FRAC * torso_px))
    n_dorsal = int(np.ceil(SCAN_DORSAL_FRAC * torso_px))
    u_st = np.linspace(STATION_LO, STATION_HI, STATIONS_N) * torso_px
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
        bridge=max(1, round(HOLE_BRIDGE_FRAC * torso_px)),
        snap=round(AXIS_SNAP_FRAC * torso_px),
    )

    arm_near, arm_far = _arm_band(xy, vis, hip, a, n, u_st, torso_px)
    margin_px = ARM_EDGE_MARGIN_FRAC * torso_px
    on_arm = (v_edge >= arm_near - margin_px) & (v_edge <= arm_far + margin_px)
    v_edge = np.where(on_arm, np.nan, v_edge)

    plate = _find_plate(prob, xy, vis, torso_px)
    if plate is not None:
        centre, radius = plate
        edge_px = hip + u_st[:, None] * a + v_edge[:, None] * n
        dist = np.hypot(edge_px[:, 0] - centre[0], edge_px[:, 1] - centre[1])
        v_edge = np.where(dist <= radius + PLATE_EDGE_MARGIN_FRAC * torso_px, np.nan, v_edge)

    # lumbar and thoracic tangents
    u_frac = u_st / torso_px
    eps = 1e-9
    in_lower = (u_frac >= LUMBAR_SPAN[0] - eps) & (u_frac <= LUMBAR_SPAN[1] + eps)
    in_upper = (u_frac >= THORACIC_SPAN[0] - eps) & (u_frac <= THORACIC_SPAN[1] + eps)
    found = np.isfinite(v_edge)
    sel_lo, sel_hi = found & in_lower, found & in_upper
    min_cut = OUTLIER_MIN_FRAC * torso_px
    coef_lo, keep_lo = _robust_line(u_st[sel_lo], v_edge[sel_lo], min_cut)
    coef_hi, keep_hi = _robust_line(u_st[sel_hi], v_edge[sel_hi], min_cut)
    if not (np.all(np.isfinite(coef_lo)) and np.all(np.isfinite(coef_hi))):
        return empty_back_sample()
    flexion = float(np.degrees(np.arctan(coef_lo[1]) - np.arctan(coef_hi[1])))

    # confidence
    inlier = np.zeros(STATIONS_N, dtype=bool)
    inlier[np.flatnonzero(sel_lo)[keep_lo]] = True
    inlier[np.flatnonzero(sel_hi)[keep_hi]] = True
    fitted = np.where(in_lower, coef_lo[0] + coef_lo[1] * u_st, coef_hi[0] + coef_hi[1] * u_st)
    rms_frac = float(np.sqrt(np.mean((v_edge[inlier] - fitted[inlier]) ** 2))) / torso_px
    confidence = (
        _view_confidence(xy, vis, torso_px, facing_conf)
        * _ramp(float(inlier.sum()) / float((in_lower | in_upper).sum()), INLIER_SHARE_RAMP)
        * _ramp(rms_frac, RESIDUAL_RAMP)
        * _ramp(float(np.mean(margin[inlier])), MASK_MARGIN_RAMP)
        * (HANDS_UP_CONFIDENCE_FACTOR if _hands_at_shoulders(xy, vis, hip, a, torso_px) else 1.0)
    )

    def to_image(u: FloatArray, v: FloatArray) -> FloatArray:
        return np.asarray(hip + u[:, None] * a + v[:, None] * n, dtype=np.float64)

    u_lo_seg = np.array(LUMBAR_SPAN) * torso_px
    u_hi_seg = np.array(THORACIC_SPAN) * torso_px
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
    side_on: bool = True,
    torso_px_ramp: tuple[float, float] = TORSO_PX_RAMP,
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
    side_conf = _ramp(float(np.mean(seps)) / torso_px, SIDE_SEPARATION_RAMP) if seps else 0.5
    return (
        _ramp(vis_torso, VISIBILITY_RAMP)
        * _ramp(torso_px, torso_px_ramp)
        * (side_conf if side_on else 1.0)
        * facing_conf
    )


def measure_back(
    mask: NDArray[np.float32] | None,
    xy_px: FloatArray,
    visibility: FloatArray,
    facing: int = 0,
) -> BackSample:
    """Measure one frame's spinal flexion with the learned read-out (formcheck.readout) and its
    outline (measure_outline, for drawing and outline_bend_deg).

    mask (H, W) or (H, W, 1) float32 person probability 0..1, or None; xy_px (33, 2) landmark pixels of
    the same frame (NaN = missing); visibility (33,) 0..1; facing: +1 lifter faces image right, -1 image
    left, 0 = infer from this frame's feet and head (pass the clip's facing when known).
    The reading does not need the outline: a frame whose outline is not found is still read.
    Confidence: _view_confidence on READOUT_TORSO_PX_RAMP, without the side-on ramp (the read-out was
    trained on views up to 25 degrees off side-on, and at the bottom of a squat MediaPipe spreads
    the shoulders and hips apart), times a ramp on the read-out's own sigma (SIGMA_RAMP).
    Never raises on bad data: returns empty_back_sample() (NaN flexion, confidence 0) instead.
    """
    outline = measure_outline(mask, xy_px, visibility, facing)
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
        xy, vis, frame.torso_px, frame.facing_confidence, False, READOUT_TORSO_PX_RAMP
    )
    confidence = view_conf * _ramp(reading.sigma_deg, SIGMA_RAMP)
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


def _reject_spikes(t_s: FloatArray, x: FloatArray, w: FloatArray, valid: BoolArray) -> BoolArray:
    """valid minus the spikes: samples further than max(OUTLIER_MIN_DEG, 3 robust sigmas) from the
    confidence-weighted median of the valid samples within +-OUTLIER_WINDOW_S/2 (themselves included)."""
    kept = valid.copy()
    idx = np.flatnonzero(valid)
    tv, xv, wv = t_s[idx], x[idx], w[idx]
    half = OUTLIER_WINDOW_S / 2
    lo = np.searchsorted(tv, tv - half, side="left")
    hi = np.searchsorted(tv, tv + half, side="right")
    for k, i in enumerate(idx):
        if hi[k] - lo[k] < 3:
            continue  # too few neighbours to call anything a spike
        xs, ws = xv[lo[k] : hi[k]], wv[lo[k] : hi[k]]
        ref = _weighted_median(xs, ws)
        sigma = 1.4826 * _weighted_median(np.abs(xs - ref), ws)
        if abs(xv[k] - ref) > max(OUTLIER_MIN_DEG, 3.0 * sigma):
            kept[i] = False
    return kept


def _fill_gaps(
    t_s: FloatArray, x: FloatArray, c: FloatArray, kept: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """Linear interpolation over gaps of at most MAX_GAP_S between kept samples; nothing is
    extrapolated. Returns (values, confidence) with the filled frames' confidence reduced."""
    out = np.where(kept, x, np.nan)
    conf = np.where(kept, c, 0.0)
    idx = np.flatnonzero(kept)
    if idx.size < 2:
        return out, conf
    for a, b in itertools.pairwise(idx):
        if b - a < 2 or t_s[b] - t_s[a] > MAX_GAP_S:
            continue
        inner = np.arange(a + 1, b)
        out[inner] = np.interp(t_s[inner], [t_s[a], t_s[b]], [x[a], x[b]])
        conf[inner] = FILLED_CONFIDENCE_FACTOR * min(c[a], c[b])
    return out, conf


def _lowpass(t_s: FloatArray, x: FloatArray) -> FloatArray:
    """Zero-phase Butterworth low-pass (LOWPASS_ORDER, LOWPASS_HZ capped at LOWPASS_MAX_NYQUIST_SHARE of
    Nyquist) over each NaN-free run, filtered on a uniform grid at the run's median frame interval (so
    variable frame rates are handled) and read back at the original times. Runs too short to filter
    are returned unchanged."""
    out = x.copy()
    finite = np.isfinite(x)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start < 4:
            continue
        t, v = t_s[start:stop], x[start:stop]
        dt = float(np.median(np.diff(t)))
        if not dt > 0:
            continue
        grid = np.arange(t[0], t[-1] + 0.5 * dt, dt)
        if grid.size < 4:
            continue
        fs = 1.0 / dt
        wn = min(LOWPASS_HZ / (fs / 2), LOWPASS_MAX_NYQUIST_SHARE)
        sos = butter(LOWPASS_ORDER, wn, output="sos")
        padlen = min(3 * (2 * len(sos) + 1), grid.size - 1)
        smooth = sosfiltfilt(sos, np.interp(grid, t, v), padtype="even", padlen=padlen)
        out[start:stop] = np.interp(t, grid, smooth)
    return out


def _neutral(vals: FloatArray) -> tuple[float, float]:
    """(median of vals after dropping those beyond max(3 robust sigmas, NEUTRAL_OUTLIER_MIN_DEG)
    from it, robust sigma of vals); (NaN, NaN) when fewer than NEUTRAL_MIN_FRAMES values are given."""
    if len(vals) < NEUTRAL_MIN_FRAMES:
        return float("nan"), float("nan")
    med = float(np.median(vals))
    sigma = 1.4826 * float(np.median(np.abs(vals - med)))
    spread = max(NEUTRAL_OUTLIER_MIN_DEG, 3.0 * sigma)
    return float(np.median(vals[np.abs(vals - med) <= spread])), sigma


def build_spine_series(
    t_s: FloatArray,
    samples: list[BackSample],
    standing: NDArray[np.bool_],
    fallback: NDArray[np.bool_] | None = None,
) -> SpineSeries:
    """Per-frame samples -> filtered flexion relative to the lifter's own standing neutral.

    t_s (T,) seconds, increasing; samples: T BackSamples; standing (T,) True on the frames where the
    lifter stands tall (from kinematics). Steps, in order:
    1. samples with NaN flexion or confidence < MIN_SAMPLE_CONFIDENCE are missing;
    2. spikes against a confidence-weighted running median (OUTLIER_WINDOW_S) are rejected;
    3. gaps up to MAX_GAP_S are filled linearly (confidence x FILLED_CONFIDENCE_FACTOR), longer stay NaN;
    4. zero-phase 2nd-order Butterworth low-pass at 4 Hz (see _lowpass);
    5. neutral_deg = median of the filtered value over standing frames with confidence >=
       NEUTRAL_MIN_CONFIDENCE, after dropping those beyond max(3 robust sigmas, 3 deg); NaN when fewer
       than NEUTRAL_MIN_FRAMES such frames exist. Then the same is tried on the earliest
       NEUTRAL_FALLBACK_FRAMES such frames with confidence >= NEUTRAL_FALLBACK_MIN_CONFIDENCE among
       the fallback frames (T,) when given
       (kinematics.hinge_band_mask: early in a hinge), and if that fails too, flexion_rel_deg is all
       NaN. neutral_spread_deg is the robust SD of the frames the neutral came from (faults.py
       withholds the back when it is large).
    flexion_abs_deg keeps the raw per-frame values; confidence is 0 where the curve is missing.
    Raises ValueError when the inputs differ in length.
    """
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

    valid = np.isfinite(raw) & (conf >= MIN_SAMPLE_CONFIDENCE)
    kept = _reject_spikes(t, raw, conf, valid)
    filled, conf_out = _fill_gaps(t, raw, conf, kept)
    filtered = _lowpass(t, filled)

    usable = kept & (conf >= NEUTRAL_MIN_CONFIDENCE) & np.isfinite(filtered)
    neutral, sigma = _neutral(filtered[stand & usable])
    from_standing = bool(np.isfinite(neutral))
    if not from_standing:
        clear = back_up & usable & (conf >= NEUTRAL_FALLBACK_MIN_CONFIDENCE)
        neutral, sigma = _neutral(filtered[np.flatnonzero(clear)[:NEUTRAL_FALLBACK_FRAMES]])
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
