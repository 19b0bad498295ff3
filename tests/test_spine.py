"""spine.py: back outline -> flexion (known-answer synthetic masks) and the neutral-relative series.

Synthetic lifter: a torso drawn with cv2 in a torso frame (u along mid-hip -> mid-shoulder, v towards the
back), whose dorsal outline is two straight pieces meeting at u = KINK_U with a known bend angle, plus
buttocks, head and thighs, then blurred so the mask has soft MediaPipe-like edges. Landmarks are placed
on that body. Tolerance on the known bend: TOL_DEG.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.spine import (
    BackSample,
    SpineSeries,
    build_spine_series,
    empty_back_sample,
    load_spine_params,
    measure_back,
    measure_outline,
)

PARAMS = load_spine_params()
H, W = 720, 1280
TORSO_PX = 260.0
KINK_U = 0.525  # between the lumbar (0.3..0.5) and thoracic (0.55..0.9) spans
BACK_V = 0.30  # dorsal outline distance from the axis at the kink, in torso lengths
FRONT_V = -0.28
TOL_DEG = 2.0


class Lifter:
    """A synthetic side-view lifter. facing +1 = faces image right; lean_deg = trunk lean from vertical
    towards the facing direction; bend_deg = known angle of the dorsal outline (+ rounded, - arched)."""

    def __init__(
        self,
        bend_deg: float = 0.0,
        facing: int = 1,
        lean_deg: float = 0.0,
        torso_px: float = TORSO_PX,
        hip_px: tuple[float, float] = (640.0, 470.0),
    ) -> None:
        self.facing = facing
        self.torso_px = torso_px
        self.hip = np.array(hip_px)
        th = math.radians(lean_deg)
        self.a = np.array([facing * math.sin(th), -math.cos(th)])  # hip -> shoulder
        self.n = facing * np.array([self.a[1], -self.a[0]])  # dorsal
        half = math.radians(bend_deg) / 2
        self.slope_lo, self.slope_hi = math.tan(half), math.tan(-half)
        self.extra_polys: list[np.ndarray] = []
        self.extra_circles: list[tuple[np.ndarray, float]] = []

    def px(self, u: float | np.ndarray, v: float | np.ndarray) -> np.ndarray:
        """Torso-frame (fractions of L) -> image pixels; broadcasts."""
        u_arr, v_arr = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
        return self.hip + self.torso_px * (u_arr[..., None] * self.a + v_arr[..., None] * self.n)

    def back_v(self, u: np.ndarray) -> np.ndarray:
        slope = np.where(u < KINK_U, self.slope_lo, self.slope_hi)
        return BACK_V + (u - KINK_U) * slope

    def outline(self) -> np.ndarray:
        u_back = np.linspace(-0.02, 1.08, 120)
        back = np.stack([u_back, self.back_v(u_back)], axis=1)
        v0 = float(self.back_v(np.array([-0.02]))[0])
        buttocks = np.array(
            [[-0.08, v0 + 0.04], [-0.2, v0 + 0.06], [-0.35, v0 - 0.02], [-0.5, v0 - 0.1]]
        )
        thighs = np.array([[-0.5, FRONT_V + 0.05], [-0.3, FRONT_V], [0.0, FRONT_V]])
        u_front = np.linspace(0.0, 1.08, 40)
        front = np.stack([u_front, np.full_like(u_front, FRONT_V)], axis=1)
        v1 = float(self.back_v(np.array([1.08]))[0])
        top = np.array([[1.15, FRONT_V + 0.1], [1.15, v1 - 0.05]])
        return np.concatenate([back, top, front[::-1], thighs[::-1], buttocks[::-1]])

    def mask(self, blur_px: float = 1.5) -> np.ndarray:
        img = np.zeros((H, W), dtype=np.uint8)
        shift = 4
        polys = [self.px(self.outline()[:, 0], self.outline()[:, 1]), *self.extra_polys]
        for poly in polys:
            pts = np.round(poly * (1 << shift)).astype(np.int32)
            cv2.fillPoly(img, [pts], 255, lineType=cv2.LINE_AA, shift=shift)
        head = self.px(1.35, 0.0)
        cv2.circle(img, tuple(np.round(head).astype(int)), int(0.2 * self.torso_px), 255, -1)
        for centre, radius in self.extra_circles:
            cv2.circle(img, tuple(np.round(centre).astype(int)), int(radius), 255, -1)
        prob = img.astype(np.float32) / 255.0
        if blur_px > 0:
            prob = cv2.GaussianBlur(prob, (0, 0), blur_px)
        return prob

    def landmarks(self) -> tuple[np.ndarray, np.ndarray]:
        xy = np.full((33, 2), np.nan)
        vis = np.full(33, 0.95)
        side = 0.04  # left/right of each pair differ a little, as in a real side view
        xy[11], xy[12] = self.px(1.0, -side), self.px(1.0, side)
        xy[23], xy[24] = self.px(0.0, -side), self.px(0.0, side)
        xy[0] = self.px(1.35, -0.18)  # nose ahead of the ears
        xy[7], xy[8] = self.px(1.35, 0.02), self.px(1.35, 0.04)
        xy[13], xy[14] = self.px(0.6, -0.12), self.px(0.6, -0.1)  # arms hang in front
        xy[15], xy[16] = self.px(0.2, -0.15), self.px(0.2, -0.13)
        # legs straight down the image from the hip; feet point the way the lifter faces
        knee = self.hip + np.array([0.0, 0.9 * self.torso_px])
        ankle = knee + np.array([0.0, 0.9 * self.torso_px])
        xy[25], xy[26], xy[27], xy[28] = knee, knee, ankle, ankle
        xy[29] = xy[30] = ankle + np.array([-self.facing * 0.05 * self.torso_px, 10.0])
        xy[31] = xy[32] = ankle + np.array([self.facing * 0.3 * self.torso_px, 10.0])
        return xy, vis

    def measure(self, **kw: int) -> BackSample:
        xy, vis = self.landmarks()
        return measure_outline(self.mask(), xy, vis, **kw)


def mirrored(mask: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same frame flipped left-right, landmarks included (left/right labels kept as they were)."""
    out = xy.copy()
    out[:, 0] = (mask.shape[1] - 1) - xy[:, 0]
    return np.ascontiguousarray(mask[:, ::-1]), out


# --------------------------------------------------------------------------------------------------
# measure_outline: the back's outline, known answers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bend", [0.0, 20.0, -15.0, 35.0])
def test_known_bend_is_measured(bend: float) -> None:
    s = Lifter(bend_deg=bend).measure()
    assert s.flexion_deg == pytest.approx(bend, abs=TOL_DEG)
    assert s.confidence > 0.7


@pytest.mark.parametrize("bend", [0.0, 20.0, -15.0])
def test_mirrored_clip_gives_the_same_number(bend: float) -> None:
    lifter = Lifter(bend_deg=bend, facing=1)
    xy, vis = lifter.landmarks()
    mask = lifter.mask()
    right = measure_outline(mask, xy, vis)
    mask_m, xy_m = mirrored(mask, xy)
    left = measure_outline(mask_m, xy_m, vis)
    assert left.flexion_deg == pytest.approx(right.flexion_deg, abs=0.3)
    assert left.confidence == pytest.approx(right.confidence, abs=0.05)
    # and a lifter built facing left reads the known bend too
    assert Lifter(bend_deg=bend, facing=-1).measure().flexion_deg == pytest.approx(
        bend, abs=TOL_DEG
    )


@pytest.mark.parametrize("lean", [45.0, 80.0, -10.0])
def test_trunk_lean_alone_is_not_flexion(lean: float) -> None:
    s = Lifter(bend_deg=0.0, lean_deg=lean).measure()
    assert abs(s.flexion_deg) < TOL_DEG


@pytest.mark.parametrize(("bend", "lean"), [(20.0, 60.0), (-15.0, 45.0), (30.0, 85.0)])
def test_bend_is_measured_at_any_lean(bend: float, lean: float) -> None:
    for facing in (1, -1):
        s = Lifter(bend_deg=bend, lean_deg=lean, facing=facing).measure()
        assert s.flexion_deg == pytest.approx(bend, abs=TOL_DEG)


def test_rounding_reads_positive_and_arching_negative() -> None:
    assert Lifter(bend_deg=12.0).measure().flexion_deg > 8.0
    assert Lifter(bend_deg=-12.0).measure().flexion_deg < -8.0


def test_facing_inferred_from_landmarks_matches_given_facing() -> None:
    lifter = Lifter(bend_deg=20.0, facing=-1, lean_deg=30.0)
    inferred = lifter.measure()
    given = lifter.measure(facing=-1)
    assert inferred.flexion_deg == pytest.approx(given.flexion_deg, abs=1e-9)


def test_wrong_facing_measures_the_front_not_the_back() -> None:
    lifter = Lifter(bend_deg=20.0, facing=1)
    # the ventral outline is straight: measuring it would say ~0, far from the back's 20
    assert abs(lifter.measure(facing=-1).flexion_deg) < 5.0


def test_contour_runs_shoulder_to_hip_along_the_back() -> None:
    lifter = Lifter(bend_deg=20.0, lean_deg=30.0)
    s = lifter.measure()
    assert s.contour_px.ndim == 2 and s.contour_px.shape[1] == 2 and len(s.contour_px) >= 15
    shoulder, hip = lifter.px(1.0, 0.0), lifter.px(0.0, 0.0)
    first, last = s.contour_px[0], s.contour_px[-1]
    assert np.linalg.norm(first - shoulder) < np.linalg.norm(last - shoulder)
    assert np.linalg.norm(last - hip) < np.linalg.norm(first - hip)
    # every contour point lies on the drawn back outline (within ~1 px)
    d = s.contour_px - lifter.hip
    u = d @ lifter.a / lifter.torso_px
    v = d @ lifter.n / lifter.torso_px
    assert np.max(np.abs(v - lifter.back_v(u))) * lifter.torso_px < 1.5
    assert s.upper_tangent_px.shape == (2, 2) and np.all(np.isfinite(s.upper_tangent_px))
    assert s.lower_tangent_px.shape == (2, 2) and np.all(np.isfinite(s.lower_tangent_px))


# --------------------------------------------------------------------------------------------------
# measure_outline: clutter and noise
# --------------------------------------------------------------------------------------------------


def test_arms_and_bar_behind_the_upper_back_are_ignored() -> None:
    """Back squat: upper arm runs from the shoulder back and down, elbow behind the back, hands up at
    the bar; the arm touches the back near the shoulder."""
    lifter = Lifter(bend_deg=0.0, lean_deg=35.0)
    arm = np.array([[1.0, 0.1], [0.95, 0.33], [0.72, 0.55], [0.62, 0.5], [0.82, 0.25], [0.9, 0.1]])
    lifter.extra_polys.append(lifter.px(arm[:, 0], arm[:, 1]))
    bar = lifter.px(0.97, 0.36)
    lifter.extra_circles.append((bar, 0.05 * lifter.torso_px))
    xy, vis = lifter.landmarks()
    xy[13], xy[14] = lifter.px(0.67, 0.52), lifter.px(0.67, 0.5)
    xy[15], xy[16] = lifter.px(0.97, 0.4), lifter.px(0.97, 0.38)
    s = measure_outline(lifter.mask(), xy, vis)
    assert abs(s.flexion_deg) < TOL_DEG + 1.0


def test_hands_at_the_shoulders_lower_confidence_not_the_reading() -> None:
    """Hands on a bar across the back: the arms may hide the upper back, so the sample is trusted less
    (hands_up_confidence_factor), while what is measured stays the same."""

    lifter = Lifter(bend_deg=20.0, lean_deg=30.0)
    xy, vis = lifter.landmarks()
    mask = lifter.mask()
    hands_down = measure_outline(mask, xy, vis)
    up = xy.copy()
    # wrists beside the shoulders (in front of the back: the forearms cover no station)
    up[15], up[16] = lifter.px(1.05, -0.1), lifter.px(1.05, -0.08)
    hands_up = measure_outline(mask, up, vis)
    assert hands_up.flexion_deg == pytest.approx(hands_down.flexion_deg, abs=1e-9)
    assert hands_up.confidence == pytest.approx(
        PARAMS.hands_up_confidence_factor * hands_down.confidence, rel=1e-6
    )
    low = xy.copy()
    low[15], low[16] = (
        lifter.px(0.5, -0.1),
        lifter.px(0.5, -0.08),
    )  # hands at the hips: not a back bar
    assert measure_outline(mask, low, vis).confidence == pytest.approx(hands_down.confidence)


def test_plate_reaching_behind_the_hips_is_ignored() -> None:
    """Deadlift near lockout: a plate in front of the thighs whose rim reaches hip level and sticks out
    behind the lowest part of the back outline."""
    for bend in (0.0, 20.0):
        lifter = Lifter(bend_deg=bend)
        lifter.extra_circles.append((lifter.px(-0.35, 0.2), 0.43 * lifter.torso_px))
        assert lifter.measure().flexion_deg == pytest.approx(bend, abs=TOL_DEG + 1.0)


def _holding_plate(
    lifter: Lifter, centre_uv: tuple[float, float], radius: float = 0.45
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mask and landmarks of a lifter holding a bar whose plate (a disc of radius x L) is centred at
    centre_uv (torso frame); the wrists sit at the bar, as MediaPipe places them."""
    centre = lifter.px(*centre_uv)
    lifter.extra_circles.append((centre, radius * lifter.torso_px))
    xy, vis = lifter.landmarks()
    xy[15], xy[16] = centre + np.array([-3.0, 2.0]), centre + np.array([3.0, -2.0])
    return lifter.mask(), xy, vis, centre


def test_a_held_plate_is_found_in_the_mask() -> None:
    from formcheck import spine

    lifter = Lifter()
    mask, xy, vis, centre = _holding_plate(lifter, (0.05, -0.1))
    found = spine._find_plate(mask, xy, vis, lifter.torso_px, PARAMS)
    assert found is not None
    assert np.hypot(*(found[0] - centre)) < 0.05 * lifter.torso_px
    assert found[1] == pytest.approx(0.45 * lifter.torso_px, rel=0.1)
    plain, xy_plain = Lifter().mask(), Lifter().landmarks()[0]
    assert spine._find_plate(plain, xy_plain, vis, lifter.torso_px, PARAMS) is None


def test_plate_rim_behind_the_lower_back_is_not_read_as_the_back() -> None:
    """Deadlift near lockout: the plate's rim runs behind the lowest part of the lumbar span. Without
    the plate check the rim reads as the lumbar outline (several degrees of phantom bend)."""
    for bend in (0.0, 20.0):
        lifter = Lifter(bend_deg=bend)
        mask, xy, vis, centre = _holding_plate(lifter, (0.0, 0.05), radius=0.42)
        s = measure_outline(mask, xy, vis)
        assert s.flexion_deg == pytest.approx(bend, abs=TOL_DEG + 1.0)
        for point in s.contour_px:  # nothing of the outline lies on the plate's rim
            assert np.hypot(*(point - centre)) > 0.42 * lifter.torso_px


def test_plate_at_the_shins_changes_nothing() -> None:
    """Deadlift setup: the bar is at the shins, far from the back; the reading and its confidence
    are those of the same frame without a plate."""
    for bend in (0.0, 20.0):
        lifter = Lifter(bend_deg=bend, lean_deg=60.0)
        mask, xy, vis, _ = _holding_plate(lifter, (-0.9, -0.6))
        with_plate = measure_outline(mask, xy, vis)
        bare = Lifter(bend_deg=bend, lean_deg=60.0)
        without = measure_outline(bare.mask(), xy, vis)
        assert with_plate.flexion_deg == pytest.approx(without.flexion_deg, abs=0.2)
        assert with_plate.confidence == pytest.approx(without.confidence, abs=0.02)
        assert with_plate.flexion_deg == pytest.approx(bend, abs=TOL_DEG)


def test_detached_object_behind_the_back_is_ignored() -> None:
    lifter = Lifter(bend_deg=15.0)
    upright = np.array([[-0.5, 0.45], [1.2, 0.45], [1.2, 0.55], [-0.5, 0.55]])
    lifter.extra_polys.append(lifter.px(upright[:, 0], upright[:, 1]))
    assert lifter.measure().flexion_deg == pytest.approx(15.0, abs=TOL_DEG)


def test_thin_crease_inside_the_back_is_bridged() -> None:
    """A 3 px dropout line (shirt crease, strap) running obliquely just inside the lower back outline."""
    lifter = Lifter(bend_deg=10.0)
    xy, vis = lifter.landmarks()
    mask = lifter.mask()
    a = lifter.px(-0.05, float(lifter.back_v(np.array([-0.05]))[0]) - 0.01)
    b = lifter.px(0.4, float(lifter.back_v(np.array([0.4]))[0]) - 0.07)
    cv2.line(mask, tuple(np.round(a).astype(int)), tuple(np.round(b).astype(int)), 0.0, 3)
    s = measure_outline(mask, xy, vis)
    assert s.flexion_deg == pytest.approx(10.0, abs=TOL_DEG)
    assert s.confidence > 0.7


def test_noisy_mask_still_measures_within_tolerance() -> None:
    rng = np.random.default_rng(7)
    lifter = Lifter(bend_deg=20.0, lean_deg=50.0)
    xy, vis = lifter.landmarks()
    clean = lifter.mask(blur_px=3.0)
    clean_sample = measure_outline(clean, xy, vis)
    readings = []
    for _ in range(10):
        noisy = clean + rng.normal(0.0, 0.12, clean.shape).astype(np.float32)
        holes = rng.random(clean.shape) < 0.002  # pepper: single-pixel dropouts inside the body
        noisy[holes] = 0.0
        noisy = np.clip(noisy, 0.0, 1.0).astype(np.float32)
        noisy_xy = xy + rng.normal(0.0, 3.0, xy.shape)  # landmark jitter, ~1 % of the torso
        s = measure_outline(noisy, noisy_xy, vis)
        readings.append(s.flexion_deg)
        assert s.confidence > 0.5
    assert clean_sample.flexion_deg == pytest.approx(20.0, abs=TOL_DEG)
    assert np.median(readings) == pytest.approx(20.0, abs=TOL_DEG)
    assert np.max(np.abs(np.array(readings) - 20.0)) < 4.0


# --------------------------------------------------------------------------------------------------
# measure_back: bad inputs and confidence
# --------------------------------------------------------------------------------------------------


def _assert_not_measured(s: BackSample) -> None:
    assert math.isnan(s.flexion_deg)
    assert s.confidence == 0.0
    assert s.contour_px.shape == (0, 2)
    assert np.all(np.isnan(s.upper_tangent_px)) and np.all(np.isnan(s.lower_tangent_px))


def test_no_mask_is_not_measured() -> None:
    xy, vis = Lifter().landmarks()
    _assert_not_measured(measure_back(None, xy, vis))


def test_missing_landmarks_are_not_measured() -> None:
    lifter = Lifter(bend_deg=20.0)
    mask = lifter.mask()
    xy, vis = lifter.landmarks()
    _assert_not_measured(measure_back(mask, np.full((33, 2), np.nan), np.zeros(33)))
    no_hips = xy.copy()
    no_hips[[23, 24]] = np.nan
    _assert_not_measured(measure_back(mask, no_hips, vis))
    no_shoulders = xy.copy()
    no_shoulders[[11, 12]] = np.nan
    _assert_not_measured(measure_back(mask, no_shoulders, vis))


def test_empty_mask_is_not_measured() -> None:
    xy, vis = Lifter().landmarks()
    _assert_not_measured(measure_back(np.zeros((H, W), np.float32), xy, vis))


def test_person_outside_the_frame_is_not_measured() -> None:
    lifter = Lifter()
    xy, vis = lifter.landmarks()
    _assert_not_measured(measure_back(lifter.mask(), xy + np.array([5000.0, 0.0]), vis))


def test_malformed_inputs_are_not_measured_and_do_not_raise() -> None:
    lifter = Lifter()
    mask = lifter.mask()
    xy, vis = lifter.landmarks()
    _assert_not_measured(measure_back(mask, xy[:20], vis))
    _assert_not_measured(measure_back(mask, xy, vis[:20]))
    _assert_not_measured(measure_back(np.zeros((0, 0), np.float32), xy, vis))
    _assert_not_measured(measure_back(np.zeros((H, W, 3), np.float32), xy, vis))
    no_feet_or_head = xy.copy()
    no_feet_or_head[[0, 7, 8, 29, 30, 31, 32]] = np.nan  # facing cannot be told and is not given
    _assert_not_measured(measure_back(mask, no_feet_or_head, vis))


def test_mask_with_channel_axis_is_accepted() -> None:
    lifter = Lifter(bend_deg=20.0)
    xy, vis = lifter.landmarks()
    s = measure_back(lifter.mask()[:, :, None], xy, vis)
    assert s.flexion_deg == measure_back(lifter.mask(), xy, vis).flexion_deg
    assert s.outline_bend_deg == pytest.approx(20.0, abs=TOL_DEG)


def test_tiny_torso_has_no_confidence() -> None:
    lo, _ = PARAMS.readout_torso_px_ramp
    small = Lifter(bend_deg=20.0, torso_px=lo - 2.0, hip_px=(640.0, 400.0))
    assert measure_back(small.mask(), *small.landmarks()).confidence == 0.0
    tiny = Lifter(torso_px=15.0, hip_px=(640.0, 400.0))
    _assert_not_measured(measure_back(tiny.mask(), *tiny.landmarks()))


def test_confidence_grows_with_torso_size() -> None:
    lo, hi = PARAMS.readout_torso_px_ramp
    mid, big = Lifter(torso_px=(lo + hi) / 2, hip_px=(640.0, 400.0)), Lifter(torso_px=hi + 20.0)
    mid_conf = measure_back(mid.mask(), *mid.landmarks()).confidence
    big_conf = measure_back(big.mask(), *big.landmarks()).confidence
    assert 0.0 < mid_conf < big_conf


def test_low_landmark_visibility_lowers_confidence() -> None:
    lifter = Lifter(bend_deg=20.0)
    xy, vis = lifter.landmarks()
    low = vis.copy()
    low[[11, 12, 23, 24]] = 0.4
    assert (
        measure_back(lifter.mask(), xy, low).confidence
        < 0.5 * measure_back(lifter.mask(), xy, vis).confidence
    )


def test_undecided_mask_lowers_the_outlines_confidence() -> None:
    """A mask whose probabilities hover around 0.5 (the model is unsure where the person ends)."""
    lifter = Lifter(bend_deg=20.0)
    xy, vis = lifter.landmarks()
    clean = lifter.mask()
    unsure = (0.5 + 0.3 * (clean - 0.5)).astype(np.float32)  # 0.35 outside, 0.65 inside
    sure = measure_outline(clean, xy, vis)
    vague = measure_outline(unsure, xy, vis)
    assert vague.flexion_deg == pytest.approx(20.0, abs=TOL_DEG)  # the 0.5 crossing has not moved
    assert vague.confidence < 0.3 * sure.confidence


def test_front_view_gives_the_outline_no_confidence() -> None:
    """Shoulders and hips spread across the image: the camera sees the chest, there is no profile.
    (The learned reading is not gated per frame: a front-view clip's back is not judged at all,
    faults.evaluate.)"""
    lifter = Lifter()
    xy, vis = lifter.landmarks()
    xy[11], xy[12] = lifter.px(1.0, -0.4), lifter.px(1.0, 0.4)
    xy[23], xy[24] = lifter.px(0.0, -0.3), lifter.px(0.0, 0.3)
    assert measure_outline(lifter.mask(), xy, vis).confidence == 0.0


# --------------------------------------------------------------------------------------------------
# build_spine_series
# --------------------------------------------------------------------------------------------------


def _sample(flexion: float, confidence: float = 0.9) -> BackSample:
    if math.isnan(flexion):
        return empty_back_sample()
    seg = np.zeros((2, 2))
    return BackSample(np.zeros((5, 2)), float(flexion), seg, seg.copy(), confidence)


def _series(
    values: np.ndarray,
    fps: float = 30.0,
    conf: np.ndarray | None = None,
    standing: np.ndarray | None = None,
) -> SpineSeries:
    t = np.arange(len(values)) / fps
    c = np.full(len(values), 0.9) if conf is None else conf
    st = np.zeros(len(values), bool) if standing is None else standing
    return build_spine_series(t, [_sample(v, ci) for v, ci in zip(values, c, strict=True)], st)


def _stand_lift_stand(
    neutral: float, peak: float, fps: float = 30.0
) -> tuple[np.ndarray, np.ndarray]:
    """1 s standing at neutral, a 2 s smooth excursion to peak, 1 s standing again."""
    n1, n2 = int(fps), int(2 * fps)
    bump = neutral + (peak - neutral) * np.sin(np.linspace(0, np.pi, n2)) ** 2
    values = np.concatenate([np.full(n1, neutral), bump, np.full(n1, neutral)])
    standing = np.concatenate([np.ones(n1, bool), np.zeros(n2, bool), np.ones(n1, bool)])
    return values, standing


def test_neutral_is_the_standing_median_and_relative_is_measured_from_it() -> None:
    values, standing = _stand_lift_stand(neutral=-12.0, peak=18.0)
    s = _series(values, standing=standing)
    assert s.neutral_deg == pytest.approx(-12.0, abs=0.3) and s.neutral_from_standing
    assert np.nanmax(s.flexion_rel_deg) == pytest.approx(30.0, abs=1.0)
    assert np.nanmedian(s.flexion_rel_deg[standing]) == pytest.approx(0.0, abs=0.3)
    np.testing.assert_array_equal(s.flexion_abs_deg, values)  # raw values are kept as measured


def test_arching_reads_negative_relative_to_neutral() -> None:
    values, standing = _stand_lift_stand(neutral=-5.0, peak=-25.0)
    assert np.nanmin(_series(values, standing=standing).flexion_rel_deg) == pytest.approx(
        -20.0, abs=1.0
    )


def test_no_standing_frames_gives_nan_neutral_and_relative() -> None:
    values, _ = _stand_lift_stand(neutral=0.0, peak=20.0)
    s = _series(values)
    assert math.isnan(s.neutral_deg)
    assert np.all(np.isnan(s.flexion_rel_deg))
    assert np.all(np.isfinite(s.flexion_abs_deg))


def test_hinge_frames_set_the_neutral_when_no_standing_frame_is_usable() -> None:
    values, standing = _stand_lift_stand(neutral=-8.0, peak=22.0)
    hinge = np.zeros(len(values), bool)
    hinge[30:36] = True  # the start of the excursion, close to neutral
    t = np.arange(len(values)) / 30.0
    samples = [
        _sample(v, 0.1 if st else 0.9) for v, st in zip(values, standing, strict=True)
    ]  # standing frames unusable (arms over the back)
    s = build_spine_series(t, samples, standing, hinge)
    assert s.neutral_deg == pytest.approx(float(np.median(values[30:36])), abs=0.5)
    assert not s.neutral_from_standing
    assert np.nanmax(s.flexion_rel_deg) == pytest.approx(22.0 - s.neutral_deg, abs=1.0)


def test_the_hinge_neutral_takes_the_earliest_usable_frames() -> None:
    """A clip starting at the floor: its first hinge frames are unusable (plates over the hips at
    the top of the pull), later ones are usable; only the earliest of those set the neutral."""

    n = 120
    values = np.full(n, 20.0)  # late, rounded reps
    values[40 : 40 + PARAMS.neutral_fallback_frames] = -6.0  # the earliest usable hinge frames
    conf = np.full(n, 0.9)
    conf[10:20] = 0.1
    hinge = np.zeros(n, bool)
    hinge[10:20] = hinge[40:100] = True
    t = np.arange(n) / 30.0
    samples = [_sample(v, c) for v, c in zip(values, conf, strict=True)]
    s = build_spine_series(t, samples, np.zeros(n, bool), hinge)
    assert s.neutral_deg == pytest.approx(-6.0, abs=1.0)


@pytest.mark.parametrize("delta", [-0.02, 0.02])
def test_hinge_frames_need_a_clear_back_to_set_the_neutral(delta: float) -> None:
    """Just under neutral_fallback_min_confidence no neutral is set from them; just over, it is."""

    n = 60
    values = np.full(n, -4.0)
    hinge = np.zeros(n, bool)
    hinge[10:40] = True
    conf = np.full(n, PARAMS.neutral_fallback_min_confidence + delta)
    t = np.arange(n) / 30.0
    samples = [_sample(v, c) for v, c in zip(values, conf, strict=True)]
    s = build_spine_series(t, samples, np.zeros(n, bool), hinge)
    assert bool(np.isfinite(s.neutral_deg)) is (delta > 0)


def test_the_neutral_says_how_steady_its_frames_were() -> None:
    """Standing at -8 before the lift and at +4 after it (an arm swinging past the back, say): the
    neutral's spread is the robust SD of those frames, about 1.4826 x 6 deg; a steady stance, ~0."""
    values, standing = _stand_lift_stand(neutral=-8.0, peak=22.0)
    steady = _series(values, standing=standing)
    assert steady.neutral_spread_deg < 0.5
    lift = ~standing
    ramp = np.linspace(0.0, 1.0, int(lift.sum()))
    values[lift] = values[lift] + 12.0 * ramp  # the lift ends where the second stance is: +4
    values[len(values) // 2 :][standing[len(values) // 2 :]] = 4.0
    scattered = _series(values, standing=standing)
    assert scattered.neutral_spread_deg == pytest.approx(1.4826 * 6.0, abs=1.5)
    assert math.isnan(_series(values, standing=np.zeros(len(values), bool)).neutral_spread_deg)


def test_usable_standing_frames_win_over_the_hinge_frames() -> None:
    values, standing = _stand_lift_stand(neutral=-8.0, peak=22.0)
    hinge = np.zeros(len(values), bool)
    hinge[40:50] = True
    t = np.arange(len(values)) / 30.0
    s = build_spine_series(t, [_sample(v) for v in values], standing, hinge)
    assert s.neutral_deg == pytest.approx(-8.0, abs=0.3)


def test_low_confidence_standing_frames_do_not_set_the_neutral() -> None:
    values, standing = _stand_lift_stand(neutral=-10.0, peak=20.0)
    conf = np.where(standing, 0.3, 0.9)
    assert math.isnan(_series(values, conf=conf, standing=standing).neutral_deg)


def test_neutral_ignores_a_few_odd_standing_frames() -> None:
    values, standing = _stand_lift_stand(neutral=-10.0, peak=20.0)
    values[[3, 4, 5]] = 25.0  # three bad standing frames in a row (too wide to be a lone spike)
    s = _series(values, standing=standing)
    assert s.neutral_deg == pytest.approx(-10.0, abs=1.0)


def test_single_frame_spike_is_rejected() -> None:
    values = np.full(90, 5.0)
    values[45] = 60.0
    s = _series(values, standing=np.ones(90, bool))
    assert np.nanmax(np.abs(s.flexion_rel_deg)) < 1.0
    assert s.flexion_abs_deg[45] == 60.0


def test_low_confidence_samples_are_treated_as_missing() -> None:
    values = np.full(90, 5.0)
    values[40:44] = 50.0
    conf = np.full(90, 0.9)
    conf[40:44] = 0.05
    s = _series(values, conf=conf, standing=np.ones(90, bool))
    assert np.nanmax(np.abs(s.flexion_rel_deg)) < 1.0


def test_short_gaps_are_filled_and_long_gaps_stay_missing() -> None:
    fps = 30.0
    values = np.linspace(0.0, 30.0, 150)
    values[30:36] = np.nan  # 0.2 s
    values[80:120] = np.nan  # 1.33 s
    s = _series(values, fps=fps, standing=np.ones(150, bool))
    rel = s.flexion_rel_deg + s.neutral_deg
    assert np.all(np.isfinite(rel[30:36]))
    np.testing.assert_allclose(rel[30:36], np.linspace(0.0, 30.0, 150)[30:36], atol=0.5)
    assert np.all(s.confidence[30:36] > 0.0) and np.all(s.confidence[30:36] < 0.9)
    assert np.all(np.isnan(rel[80:120]))
    assert np.all(s.confidence[80:120] == 0.0)


def test_lowpass_removes_jitter_without_shifting_or_shrinking_the_peak() -> None:
    fps = 30.0
    t = np.arange(int(6 * fps)) / fps
    truth = 20.0 * np.sin(np.pi * t / 2.0) ** 2  # slow reps, peaks at 1 s, 3 s, 5 s
    rng = np.random.default_rng(3)
    noisy = truth + rng.normal(0.0, 2.0, t.size)
    s = _series(noisy, fps=fps, standing=truth < 0.5)
    est = s.flexion_rel_deg + s.neutral_deg
    rms_noisy = float(np.sqrt(np.mean((noisy - truth) ** 2)))
    rms_est = float(np.sqrt(np.mean((est - truth) ** 2)))
    assert (
        rms_est < 0.6 * rms_noisy
    )  # white noise: a 4 Hz cutoff at 30 fps keeps ~half its amplitude
    peak = slice(int(0.5 * fps), int(1.5 * fps))
    assert np.max(est[peak]) == pytest.approx(20.0, abs=1.5)


def test_lowpass_is_zero_phase() -> None:
    """A quick 0.3 s rounding event: the filtered peak stays on the same frame (a causal filter would
    lag it by several frames) and keeps most of its height."""
    fps = 30.0
    t = np.arange(90) / fps
    truth = 25.0 * np.exp(-0.5 * ((t - 1.5) / 0.1) ** 2)
    s = _series(truth, fps=fps, standing=truth < 0.1)
    est = s.flexion_rel_deg + s.neutral_deg
    assert int(np.argmax(est)) == int(np.argmax(truth))
    assert np.max(est) > 0.8 * 25.0


def test_variable_frame_rate_is_handled() -> None:
    rng = np.random.default_rng(5)
    t = np.cumsum(rng.uniform(0.02, 0.05, 150))
    truth = 15.0 * np.sin(2 * np.pi * 0.4 * (t - t[0])) ** 2
    s = build_spine_series(t, [_sample(v) for v in truth], truth < 0.5)
    np.testing.assert_allclose(s.flexion_rel_deg + s.neutral_deg, truth, atol=1.0)


def test_low_frame_rate_still_filters() -> None:
    values, standing = _stand_lift_stand(neutral=0.0, peak=20.0, fps=6.0)
    s = _series(values, fps=6.0, standing=standing)
    assert np.all(np.isfinite(s.flexion_rel_deg))
    assert np.nanmax(s.flexion_rel_deg) == pytest.approx(20.0, abs=2.0)


def test_empty_and_mismatched_inputs() -> None:
    s = build_spine_series(np.zeros(0), [], np.zeros(0, bool))
    assert s.flexion_rel_deg.shape == (0,) and math.isnan(s.neutral_deg)
    with pytest.raises(ValueError, match="same length"):
        build_spine_series(np.arange(3.0), [_sample(0.0)] * 2, np.zeros(3, bool))
    with pytest.raises(ValueError, match="same length"):
        build_spine_series(np.arange(3.0), [_sample(0.0)] * 3, np.zeros(2, bool))
    with pytest.raises(ValueError):
        build_spine_series(np.arange(3.0), [_sample(0.0)] * 3, np.zeros(3, bool), np.zeros(2, bool))


def test_all_missing_gives_nan_curve_and_zero_confidence() -> None:
    s = _series(np.full(30, np.nan), standing=np.ones(30, bool))
    assert math.isnan(s.neutral_deg)
    assert np.all(np.isnan(s.flexion_rel_deg)) and np.all(s.confidence == 0.0)


# --------------------------------------------------------------------------------------------------
# real clips (MediaPipe), slow
# --------------------------------------------------------------------------------------------------

MODEL = Path(__file__).resolve().parents[1] / "models" / "pose_landmarker_full.task"


def _run_clip(path: Path) -> SpineSeries:
    """MediaPipe on a clip -> spine series; standing = trunk within 12 degrees of vertical.

    Calls MediaPipe directly (Tasks API, VIDEO mode) so this test does not depend on pose.py.
    """
    mp = pytest.importorskip("mediapipe")
    from mediapipe.tasks import python as mpt
    from mediapipe.tasks.python import vision

    if not MODEL.is_file():
        pytest.skip(f"pose model not found at {MODEL}")
    opts = vision.PoseLandmarkerOptions(
        base_options=mpt.BaseOptions(model_asset_path=str(MODEL)),
        running_mode=vision.RunningMode.VIDEO,
        output_segmentation_masks=True,
        num_poses=1,
    )
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    t_s: list[float] = []
    frames: list[tuple[np.ndarray | None, np.ndarray, np.ndarray]] = []
    with vision.PoseLandmarker.create_from_options(opts) as lm:
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            h, w = bgr.shape[:2]
            image = mp.Image(
                image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            )
            res = lm.detect_for_video(image, round(1000 * i / fps))
            t_s.append(i / fps)
            i += 1
            if not res.pose_landmarks:
                frames.append((None, np.full((33, 2), np.nan), np.zeros(33)))
                continue
            p = res.pose_landmarks[0]
            xy = np.array([[q.x * w, q.y * h] for q in p])
            vis = np.array([q.visibility for q in p])
            m = np.array(
                res.segmentation_masks[0].numpy_view(), dtype=np.float32
            )  # copy: view dies
            frames.append((m[:, :, 0] if m.ndim == 3 else m, xy, vis))
    cap.release()
    samples = [measure_back(m, xy, vis) for m, xy, vis in frames]
    axis = np.array(
        [np.nanmean(xy[[11, 12]], 0) - np.nanmean(xy[[23, 24]], 0) for _, xy, _ in frames]
    )
    incl = np.nan_to_num(np.degrees(np.arctan2(np.abs(axis[:, 0]), -axis[:, 1])), nan=90.0)
    hinge = (incl >= 15.0) & (incl <= 35.0)  # the neutral's second source: early in a hinge
    return build_spine_series(np.array(t_s), samples, incl < 12.0, hinge)


@pytest.mark.slow
@pytest.mark.clips
def test_good_deadlift_stays_near_its_neutral(clips_dir: Path) -> None:
    """formfit/deadlift.mp4, a neutral-back demo: the curve stays near the lifter's own neutral through
    the hinge. Measured 2026-11-22: 95th percentile +5.8, peak +8.8 (the span from u = 0 read +15 / +22,
    the glutes reshaping the lowest outline)."""
    good = _run_clip(clips_dir / "formfit" / "deadlift.mp4")
    assert np.isfinite(good.neutral_deg)
    assert float(np.nanpercentile(good.flexion_rel_deg, 95)) < 12.0


@pytest.mark.slow
@pytest.mark.clips
def test_coach_rounding_demos_read_far_more_flexion_than_a_neutral_one(clips_dir: Path) -> None:
    """bichraix bad007/bad018, a coach demonstrating a rounded back, mostly in the lower lumbar (below
    0.3 of the torso, where the outline's tangents do not look); formfit's deadlift, a neutral one."""
    good = _run_clip(clips_dir / "formfit" / "deadlift.mp4")
    good_peak = float(np.nanpercentile(good.flexion_rel_deg, 95))
    for name in ("bad007", "bad018"):
        bad = _run_clip(clips_dir / "bichraix-deadlift" / f"{name}.mp4")
        assert np.isfinite(bad.neutral_deg)
        bad_peak = float(np.nanpercentile(bad.flexion_rel_deg, 95))
        assert bad_peak > 25.0
        assert bad_peak > good_peak + 15.0


def test_forearm_reaching_behind_the_lower_back_is_ignored() -> None:
    """Arms hanging back past the hips (a lean-back at lockout): the elbow is near the torso axis, but
    the forearm's silhouette sticks out behind the lower back and would stand in for it (read as
    15 degrees of arching when only arms with the elbow well behind the axis counted). The stations
    the arm may cover are dropped: the frame is either measured right or not at all."""
    elbow, wrist = (0.6, 0.05), (0.2, 0.3)
    for bend in (0.0, 15.0):
        lifter = Lifter(bend_deg=bend)
        reference = lifter.measure().flexion_deg
        t = np.linspace(0.0, 1.0, 24)
        centre = np.array(elbow) + t[:, None] * (np.array(wrist) - np.array(elbow))
        across = np.array([0.625, 1.0]) / np.hypot(0.625, 1.0)  # unit normal to the forearm (u, v)
        arm = np.concatenate([centre + 0.1 * across, (centre - 0.1 * across)[::-1]])
        lifter.extra_polys.append(lifter.px(arm[:, 0], arm[:, 1]))
        xy, vis = lifter.landmarks()
        xy[13], xy[14] = lifter.px(*elbow), lifter.px(elbow[0], elbow[1] - 0.02)
        xy[15], xy[16] = lifter.px(*wrist), lifter.px(wrist[0], wrist[1] - 0.02)
        s = measure_outline(lifter.mask(), xy, vis)
        if np.isfinite(s.flexion_deg):
            assert s.flexion_deg == pytest.approx(reference, abs=1.0), bend
        else:
            assert s.confidence == 0.0
