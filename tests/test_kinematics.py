"""kinematics.py: the angle conventions, mirrored clips, view detection, standing frames.

The synthetic lifter is a 3-D stick figure posed from known joint angles, turned by a yaw angle in
front of an orthographic camera (0 = facing the camera, +90 = facing image right, 180 = back to the
camera), and projected to pixels; world_m follows MediaPipe (metres, x right, y down, z away from
the camera, origin at the mid-hip).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from formcheck.kinematics import (
    AngleSeries,
    View,
    ViewEstimate,
    compute_angles,
    detect_view,
    hinge_band_mask,
    load_kinematics_params,
    standing_mask,
)
from formcheck.landmarks import LM, N_LANDMARKS, PoseSequence

FPS = 30.0
TOL_DEG = 0.5
ANGLE_FIELDS = (
    "trunk_incl_deg", "hip_flex_deg", "knee_flex_deg", "ankle_dorsi_deg", "neck_flex_deg",
    "thigh_above_horizontal_deg", "knee_width_ratio", "hip_height_norm",
)  # fmt: skip

THIGH_M, SHANK_M, TRUNK_M, NECK_M = 0.45, 0.42, 0.50, 0.22


@dataclass(frozen=True)
class Pose:
    """Sagittal-plane joint angles of the stick figure (kinematics.py conventions), degrees."""

    trunk: float = 0.0
    hip: float = 0.0
    knee: float = 0.0
    neck: float = 0.0
    knee_half_width_m: float = 0.10  # 0.10 = knees straight over the ankles


STANDING = Pose()
HALF_SQUAT = Pose(trunk=25.0, hip=70.0, knee=80.0, neck=5.0)
DEEP_SQUAT = Pose(trunk=40.0, hip=125.0, knee=130.0, neck=10.0)
DEADLIFT_SETUP = Pose(trunk=65.0, hip=100.0, knee=60.0, neck=-15.0)
LEAN_BACK = Pose(trunk=-10.0, hip=-8.0, knee=-3.0, neck=-5.0)


def expected(p: Pose) -> dict[str, float]:
    thigh = p.hip - p.trunk  # thigh swing forward from straight down
    shank = thigh - p.knee  # shank swing forward from straight down
    height = SHANK_M * np.cos(np.radians(shank)) + THIGH_M * np.cos(np.radians(thigh))
    return {
        "trunk_incl_deg": p.trunk,
        "hip_flex_deg": p.hip,
        "knee_flex_deg": p.knee,
        "ankle_dorsi_deg": -shank,
        "neck_flex_deg": p.neck,
        "thigh_above_horizontal_deg": 90.0 - thigh,
        "hip_height_norm": height / (THIGH_M + SHANK_M),
    }


def stick_figure(
    p: Pose, yaw_deg: float, px_per_m: float = 400.0, origin_px: tuple[float, float] = (320, 600)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """33 landmarks: (xy_px (33, 2), world_m (33, 3), visibility (33,)) for one frame."""
    th, ne = np.radians(p.trunk), np.radians(p.trunk + p.neck)
    thigh = np.radians(p.hip - p.trunk)
    shank = thigh - np.radians(p.knee)
    # Body coordinates (forward, up, right), ankles at the origin.
    ankle = np.array([0.0, 0.0])
    knee = ankle + SHANK_M * np.array([-np.sin(shank), np.cos(shank)])
    hip = knee + THIGH_M * np.array([-np.sin(thigh), np.cos(thigh)])
    shoulder = hip + TRUNK_M * np.array([np.sin(th), np.cos(th)])
    ear = shoulder + NECK_M * np.array([np.sin(ne), np.cos(ne)])
    face_fwd = np.array([np.cos(ne), -np.sin(ne)])  # perpendicular to the neck, towards the face
    nose = ear + 0.10 * face_fwd
    eye = ear + 0.07 * face_fwd + 0.03 * np.array([np.sin(ne), np.cos(ne)])
    mouth = ear + 0.08 * face_fwd - 0.04 * np.array([np.sin(ne), np.cos(ne)])
    elbow, wrist = shoulder + np.array([0.05, -0.28]), shoulder + np.array([0.1, -0.52])
    heel, toe = ankle + np.array([-0.06, -0.05]), ankle + np.array([0.16, -0.07])
    points: dict[int, tuple[np.ndarray, float]] = {0: (nose, 0.0)}
    for sign, (eye_i, ear_i, mouth_i, sh, el, wr, hi, kn, an, he, fo) in (
        (-1.0, (2, 7, 9, 11, 13, 15, 23, 25, 27, 29, 31)),
        (+1.0, (5, 8, 10, 12, 14, 16, 24, 26, 28, 30, 32)),
    ):
        points |= {
            eye_i - 1: (eye, sign * 0.02), eye_i: (eye, sign * 0.03), eye_i + 1: (eye, sign * 0.04),
            ear_i: (ear, sign * 0.07), mouth_i: (mouth, sign * 0.025),
            sh: (shoulder, sign * 0.18), el: (elbow, sign * 0.21), wr: (wrist, sign * 0.22),
            hi: (hip, sign * 0.10), kn: (knee, sign * p.knee_half_width_m),
            an: (ankle, sign * 0.10), he: (heel, sign * 0.10), fo: (toe, sign * 0.11),
        }  # fmt: skip
    hands = {17: 15, 19: 15, 21: 15, 18: 16, 20: 16, 22: 16}
    for hand, wrist_i in hands.items():
        w, r = points[wrist_i]
        points[hand] = (w + np.array([0.03, -0.06]), r)
    assert len(points) == N_LANDMARKS
    yaw = np.radians(yaw_deg)
    fwd = np.array([np.sin(yaw), 0.0, -np.cos(yaw)])  # camera axes: x right, y down, z away
    up = np.array([0.0, -1.0, 0.0])
    right = np.cross(fwd, up)
    world = np.zeros((N_LANDMARKS, 3))
    vis = np.zeros(N_LANDMARKS)
    for i, ((f, u), r) in points.items():
        world[i] = f * fwd + u * up + r * right
        depth = r * right[2]  # > 0: behind the body's mid-plane, seen from the camera
        vis[i] = 0.95 - (0.5 * min(1.0, depth / abs(r)) if depth > 0 and r else 0.0)
    face = [0, 1, 2, 3, 4, 5, 6, 9, 10]
    vis[face] = np.clip(vis[face] + 0.5 * min(0.0, np.cos(yaw)), 0.05, 1.0)
    xy = origin_px + px_per_m * world[:, :2]
    mid_hip = (world[LM.LEFT_HIP] + world[LM.RIGHT_HIP]) / 2
    return xy, world - mid_hip, vis


def sequence(
    poses: list[Pose],
    yaw_deg: float | list[float],
    width: int = 640,
    height: int = 720,
    **kw: float,
) -> PoseSequence:
    yaws = yaw_deg if isinstance(yaw_deg, list) else [yaw_deg] * len(poses)
    frames = [stick_figure(p, y, **kw) for p, y in zip(poses, yaws, strict=True)]  # type: ignore[arg-type]
    return PoseSequence(
        t_s=np.arange(len(poses)) / FPS,
        xy_px=np.stack([f[0] for f in frames]),
        visibility=np.stack([f[2] for f in frames]),
        world_m=np.stack([f[1] for f in frames]),
        n_people=np.ones(len(poses), dtype=np.int64),
        width_px=width,
        height_px=height,
    )


def squat_cycle(n: int = 60) -> list[Pose]:
    """Standing -> deep squat -> standing, with the knees kept over the ankles."""
    s = (1 - np.cos(np.linspace(0, 2 * np.pi, n))) / 2
    return [Pose(trunk=40 * a, hip=120 * a, knee=125 * a, neck=10 * a) for a in s]


def angles_of(seq: PoseSequence) -> AngleSeries:
    return compute_angles(seq, detect_view(seq))


# --- angle conventions ----------------------------------------------------------------------------


@pytest.mark.parametrize("pose", [STANDING, HALF_SQUAT, DEEP_SQUAT, DEADLIFT_SETUP, LEAN_BACK])
@pytest.mark.parametrize("yaw", [90.0, -90.0])
def test_side_view_angles_match_the_posed_figure(pose: Pose, yaw: float) -> None:
    # A standing sequence around the pose so hip_height_norm has a standing leg length to refer to.
    angles = angles_of(sequence([STANDING] * 20 + [pose] * 20, yaw))
    for name, value in expected(pose).items():
        got = getattr(angles, name)[30]
        tol = 0.005 if name == "hip_height_norm" else TOL_DEG
        assert got == pytest.approx(value, abs=tol), name


def test_mirrored_clip_gives_identical_numbers() -> None:
    poses = squat_cycle()
    right = angles_of(sequence(poses, 90.0))
    left = angles_of(sequence(poses, -90.0))
    for name in ANGLE_FIELDS:
        np.testing.assert_allclose(
            getattr(left, name), getattr(right, name), atol=1e-9, err_msg=name
        )
    assert np.nanmax(right.trunk_incl_deg) == pytest.approx(40.0, abs=TOL_DEG)


def test_portrait_frame_gives_the_same_angles_as_landscape() -> None:
    poses = [STANDING] * 10 + [DEEP_SQUAT] * 10
    landscape = angles_of(sequence(poses, 90.0, width=1920, height=1080, px_per_m=300))
    portrait = angles_of(
        sequence(poses, 90.0, width=1080, height=1920, px_per_m=700, origin_px=(540, 1700))
    )
    for name in ANGLE_FIELDS:
        np.testing.assert_allclose(
            getattr(portrait, name), getattr(landscape, name), atol=1e-6, err_msg=name
        )
    assert portrait.knee_flex_deg[15] == pytest.approx(DEEP_SQUAT.knee, abs=TOL_DEG)


def test_thigh_parallel_reads_zero_and_below_parallel_negative() -> None:
    parallel = Pose(trunk=45.0, hip=135.0, knee=120.0)  # thigh swung 90 deg forward
    below = Pose(trunk=45.0, hip=145.0, knee=130.0)
    angles = angles_of(sequence([STANDING] * 10 + [parallel] * 10 + [below] * 10, 90.0))
    assert angles.thigh_above_horizontal_deg[15] == pytest.approx(0.0, abs=TOL_DEG)
    assert angles.thigh_above_horizontal_deg[25] == pytest.approx(-10.0, abs=TOL_DEG)
    assert angles.thigh_above_horizontal_deg[5] == pytest.approx(90.0, abs=TOL_DEG)


def test_lean_back_is_negative_and_lean_forward_positive() -> None:
    angles = angles_of(sequence([LEAN_BACK] * 10 + [HALF_SQUAT] * 10, -90.0))
    assert angles.trunk_incl_deg[5] < 0 < angles.trunk_incl_deg[15]
    assert angles.hip_flex_deg[5] < 0 < angles.hip_flex_deg[15]


def test_far_side_errors_do_not_leak_into_side_view_angles() -> None:
    seq = sequence([HALF_SQUAT] * 20, 90.0)  # facing right: the right side is nearer the camera
    xy = seq.xy_px.copy()
    xy[:, LM.LEFT_KNEE] += [40.0, -30.0]  # the model misplaces the hidden knee
    moved_far = compute_angles(replace(seq, xy_px=xy), detect_view(seq))
    assert moved_far.knee_flex_deg[10] == pytest.approx(HALF_SQUAT.knee, abs=TOL_DEG)
    xy = seq.xy_px.copy()
    xy[:, LM.RIGHT_KNEE] += [40.0, -30.0]
    moved_near = compute_angles(replace(seq, xy_px=xy), detect_view(seq))
    assert abs(moved_near.knee_flex_deg[10] - HALF_SQUAT.knee) > 5


def test_near_side_missing_falls_back_to_the_far_side() -> None:
    seq = sequence([HALF_SQUAT] * 20, 90.0)
    xy = seq.xy_px.copy()
    xy[:, LM.RIGHT_ANKLE] = np.nan
    angles = compute_angles(replace(seq, xy_px=xy), detect_view(seq))
    assert angles.knee_flex_deg[10] == pytest.approx(HALF_SQUAT.knee, abs=TOL_DEG)


def test_missing_lifter_gives_nan_never_zero() -> None:
    seq = sequence([HALF_SQUAT] * 40, 90.0)
    xy, world, vis = seq.xy_px.copy(), seq.world_m.copy(), seq.visibility.copy()
    xy[10:20], world[10:20], vis[10:20] = np.nan, np.nan, 0.0
    seq = replace(seq, xy_px=xy, world_m=world, visibility=vis)
    view = detect_view(seq)
    angles = compute_angles(seq, view)
    for name in ANGLE_FIELDS:
        assert np.isnan(getattr(angles, name)[10:20]).all(), name
    assert (view.per_frame[10:20] == View.UNKNOWN).all()
    assert angles.knee_flex_deg[30] == pytest.approx(HALF_SQUAT.knee, abs=TOL_DEG)


@pytest.mark.parametrize(
    ("folded", "kept"),
    [
        (Pose(trunk=10.0, hip=-50.0, knee=20.0), Pose(trunk=10.0, hip=-40.0, knee=20.0)),
        (Pose(trunk=40.0, hip=70.0, knee=-45.0), Pose(trunk=40.0, hip=70.0, knee=-35.0)),
        (Pose(trunk=40.0, hip=120.0, knee=175.0), Pose(trunk=40.0, hip=120.0, knee=168.0)),
    ],
)
def test_a_folded_skeleton_is_missing_not_measured(folded: Pose, kept: Pose) -> None:
    """Joints bent beyond any range (data/kinematics.yaml folded_*: hip outside -45..175, knee
    outside -40..172) are the pose model folding the skeleton up; just inside, they are measured."""
    poses = [HALF_SQUAT] * 10 + [folded] * 3 + [HALF_SQUAT] * 10 + [kept] * 3 + [HALF_SQUAT] * 10
    angles = angles_of(sequence(poses, 90.0))
    for name in ANGLE_FIELDS:
        assert np.isnan(getattr(angles, name)[10:13]).all(), name
        if name != "knee_width_ratio":  # frontal views only
            assert np.isfinite(getattr(angles, name)[23:26]).all(), name
    assert angles.hip_flex_deg[24] == pytest.approx(kept.hip, abs=TOL_DEG)
    assert angles.knee_flex_deg[24] == pytest.approx(kept.knee, abs=TOL_DEG)


def test_hip_height_norm_is_one_standing_and_drops_in_the_squat() -> None:
    angles = angles_of(sequence(squat_cycle(), 90.0))
    assert angles.hip_height_norm[0] == pytest.approx(1.0, abs=0.005)
    bottom = int(np.nanargmin(angles.hip_height_norm))
    assert bottom == pytest.approx(30, abs=1)
    assert angles.hip_height_norm[bottom] == pytest.approx(
        expected(Pose(trunk=40, hip=120, knee=125))["hip_height_norm"], abs=0.01
    )


def test_hip_height_keeps_the_standing_reference_across_a_dropout() -> None:
    # Front view: the legs look shorter in the squat, so the reference must come from standing.
    seq = sequence([STANDING] * 30 + [HALF_SQUAT] * 30, 0.0)
    xy, world, vis = seq.xy_px.copy(), seq.world_m.copy(), seq.visibility.copy()
    xy[30:36], world[30:36], vis[30:36] = np.nan, np.nan, 0.0
    angles = angles_of(replace(seq, xy_px=xy, world_m=world, visibility=vis))
    assert angles.hip_height_norm[45] == pytest.approx(
        expected(HALF_SQUAT)["hip_height_norm"], abs=0.01
    )


# --- front / rear ---------------------------------------------------------------------------------


def test_knee_width_ratio_in_front_view_only() -> None:
    caved = Pose(trunk=20.0, hip=80.0, knee=90.0, knee_half_width_m=0.07)
    front = angles_of(sequence([STANDING] * 20 + [caved] * 20, 0.0))
    assert front.knee_width_ratio[5] == pytest.approx(1.0, abs=0.01)
    assert front.knee_width_ratio[30] == pytest.approx(0.7, abs=0.01)
    rear = angles_of(sequence([caved] * 30, 180.0))
    assert rear.knee_width_ratio[15] == pytest.approx(0.7, abs=0.01)
    side = angles_of(sequence([caved] * 30, 90.0))
    assert np.isnan(side.knee_width_ratio).all()


def test_front_view_angles_are_unsigned_and_mirror_free() -> None:
    poses = squat_cycle()
    seq = sequence(poses, 0.0)
    mirrored = replace(seq, xy_px=np.stack([640 - seq.xy_px[..., 0], seq.xy_px[..., 1]], axis=-1))
    a = compute_angles(seq, detect_view(seq))
    b = compute_angles(mirrored, detect_view(seq))
    for name in ANGLE_FIELDS:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=1e-9, err_msg=name)
    assert np.nanmin(a.trunk_incl_deg) >= 0


# --- view detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaw", "view", "facing", "near"),
    [
        (90.0, View.SIDE, 1, "right"),
        (-90.0, View.SIDE, -1, "left"),
        (75.0, View.SIDE, 1, "right"),
        (-110.0, View.SIDE, -1, "left"),
        (45.0, View.OBLIQUE, 1, "right"),
        (-135.0, View.OBLIQUE, -1, "left"),
        (0.0, View.FRONT, 0, None),
        (20.0, View.FRONT, 0, None),
        (180.0, View.REAR, 0, None),
        (-160.0, View.REAR, 0, None),
    ],
)
def test_detect_view_on_synthetic_figures(
    yaw: float, view: View, facing: int, near: str | None
) -> None:
    est = detect_view(sequence(squat_cycle(), yaw))
    assert est.view is view
    assert est.facing == facing
    if near is not None:
        assert est.near_side == near
    assert (est.per_frame == view.value).all()
    assert est.confidence > 0.5


def test_view_boundaries_just_inside_and_outside() -> None:
    # Off-axis angle 90 - |yaw - 90|: side from 60 deg, front/rear up to 35 deg.
    assert detect_view(sequence([HALF_SQUAT] * 30, 32.0)).view is View.FRONT
    assert detect_view(sequence([HALF_SQUAT] * 30, 38.0)).view is View.OBLIQUE
    assert detect_view(sequence([HALF_SQUAT] * 30, 57.0)).view is View.OBLIQUE
    assert detect_view(sequence([HALF_SQUAT] * 30, 63.0)).view is View.SIDE


def test_view_boundaries_come_from_the_params_passed(tmp_path: Path) -> None:
    """A kinematics.yaml of the user's (load_kinematics_params(path)) takes effect where passed."""
    text = (resources.files("formcheck.data") / "kinematics.yaml").read_text(encoding="utf-8")
    path = tmp_path / "kinematics.yaml"
    path.write_text(text.replace("value: 60.0", "value: 66.0", 1), encoding="utf-8")
    strict = load_kinematics_params(path)
    assert strict.side_min_deg == 66.0
    seq = sequence([HALF_SQUAT] * 30, 63.0)
    assert detect_view(seq).view is View.SIDE
    assert detect_view(seq, strict).view is View.OBLIQUE
    assert detect_view(seq, replace(strict, side_min_deg=60.0)).view is View.SIDE


def test_lifter_turning_gives_two_segments() -> None:
    poses = squat_cycle(90) * 2
    seq = sequence(poses, [90.0] * 90 + [0.0] * 90)
    est = detect_view(seq)
    change = np.flatnonzero(est.per_frame[1:] != est.per_frame[:-1])
    assert len(change) == 1 and abs(int(change[0]) + 1 - 90) <= 8
    assert est.per_frame[0] == View.SIDE and est.per_frame[-1] == View.FRONT
    assert est.facing_per_frame is not None
    assert (est.facing_per_frame[:80] == 1).all() and (est.facing_per_frame[100:] == 0).all()
    angles = compute_angles(seq, est)
    assert np.isnan(angles.knee_width_ratio[:80]).all()
    assert np.isfinite(angles.knee_width_ratio[100:]).all()


def test_one_frame_glitch_does_not_change_the_label() -> None:
    seq = sequence([HALF_SQUAT] * 60, 90.0)
    glitch = sequence([HALF_SQUAT], 0.0)
    xy, world = seq.xy_px.copy(), seq.world_m.copy()
    xy[30], world[30] = glitch.xy_px[0], glitch.world_m[0]
    est = detect_view(replace(seq, xy_px=xy, world_m=world))
    assert (est.per_frame == View.SIDE).all()


def test_short_run_at_the_clip_start_joins_the_next_segment() -> None:
    # The model can need a moment to settle: 20 frontal-looking frames, then 2 s of profile. The
    # smoothing leaves a ~0.3 s frontal run at the start, too short to be a real view.
    seq = sequence([HALF_SQUAT] * 80, [0.0] * 20 + [90.0] * 60)
    est = detect_view(seq)
    assert (est.per_frame == View.SIDE).all()


def test_no_person_is_an_unknown_view_not_an_error() -> None:
    seq = sequence([STANDING] * 10, 90.0)
    empty = replace(
        seq,
        xy_px=np.full_like(seq.xy_px, np.nan),
        world_m=np.full_like(seq.world_m, np.nan),
        visibility=np.zeros_like(seq.visibility),
        n_people=np.zeros(10, dtype=np.int64),
    )
    est = detect_view(empty)
    assert est.view is View.UNKNOWN and est.confidence == 0.0 and est.facing == 0
    angles = compute_angles(empty, est)
    assert all(np.isnan(getattr(angles, name)).all() for name in ANGLE_FIELDS)


def test_empty_sequence() -> None:
    seq = PoseSequence.from_frames([], [], 640, 480)
    est = detect_view(seq)
    assert est.view is View.UNKNOWN and len(est.per_frame) == 0
    assert len(compute_angles(seq, est)) == 0


def test_view_without_world_landmarks_uses_image_width() -> None:
    seq = sequence([HALF_SQUAT] * 30, 90.0)
    no_world = replace(seq, world_m=np.full_like(seq.world_m, np.nan))
    assert detect_view(no_world).view is View.SIDE
    seq = sequence([HALF_SQUAT] * 30, 0.0)
    assert detect_view(replace(seq, world_m=np.full_like(seq.world_m, np.nan))).view is View.FRONT


def test_clip_level_estimate_used_when_no_per_frame_values() -> None:
    seq = sequence([HALF_SQUAT] * 5, -90.0)
    est = ViewEstimate(View.SIDE, -1, "left", 0.9, np.full(5, "side"))
    angles = compute_angles(seq, est)
    assert angles.trunk_incl_deg[2] == pytest.approx(HALF_SQUAT.trunk, abs=TOL_DEG)
    assert angles.knee_flex_deg[2] == pytest.approx(HALF_SQUAT.knee, abs=TOL_DEG)


# --- standing ------------------------------------------------------------------------------------


def _series(**values: float) -> AngleSeries:
    base = {name: np.array([0.0]) for name in ANGLE_FIELDS}
    base["hip_height_norm"] = np.array([1.0])
    base |= {k: np.array([v]) for k, v in values.items()}
    return AngleSeries(t_s=np.array([0.0]), **base)


@pytest.mark.parametrize(
    ("values", "standing"),
    [
        ({}, True),
        ({"trunk_incl_deg": 14.0}, True),
        ({"trunk_incl_deg": 16.0}, False),
        ({"trunk_incl_deg": -16.0}, False),
        ({"hip_flex_deg": 19.0}, True),
        ({"hip_flex_deg": 21.0}, False),
        ({"hip_flex_deg": -21.0}, False),
        ({"knee_flex_deg": 19.0}, True),
        ({"knee_flex_deg": 21.0}, False),
        ({"hip_height_norm": 0.84}, False),
        ({"hip_height_norm": float("nan")}, True),
        # plates hide the knees of a lifter standing behind the bar: an upright trunk still counts
        ({"knee_flex_deg": float("nan")}, True),
        ({"hip_flex_deg": float("nan"), "knee_flex_deg": float("nan")}, True),
        ({"trunk_incl_deg": float("nan")}, False),
        ({"hip_flex_deg": float("nan"), "trunk_incl_deg": 16.0}, False),
    ],
)
def test_standing_mask_limits(values: dict[str, float], standing: bool) -> None:
    assert bool(standing_mask(_series(**values))[0]) is standing


def test_standing_mask_picks_the_top_of_a_squat_cycle() -> None:
    mask = standing_mask(angles_of(sequence(squat_cycle(60), 90.0)))
    assert mask[0] and mask[-1] and not mask[30]
    assert 10 <= mask.sum() <= 40


def _hip_series(hip_deg: list[float]) -> AngleSeries:
    n = len(hip_deg)
    base = {name: np.zeros(n) for name in ANGLE_FIELDS}
    base["hip_flex_deg"] = np.array(hip_deg, dtype=float)
    return AngleSeries(t_s=np.arange(n) / 30.0, **base)


@pytest.mark.parametrize("margin", [1.0])
def test_hinge_band_limits(margin: float) -> None:
    p = load_kinematics_params()
    lo, hi = p.hinge_band_min_hip_flex_deg, p.hinge_band_max_hip_flex_deg
    hip = [0.0, lo - margin, lo + margin, hi - margin, hi + margin, 140.0, float("nan")]
    assert hinge_band_mask(_hip_series(hip)).tolist() == [
        False, False, True, True, False, False, False
    ]  # fmt: skip


# --- real clips -----------------------------------------------------------------------------------


@pytest.mark.clips
@pytest.mark.slow
@pytest.mark.parametrize(
    ("clip", "view"),
    [
        ("formfit/squat.mp4", View.SIDE),
        ("liftcheck/squat.mp4", View.FRONT),
        ("workouttracker-squat/squat_8.mp4", View.REAR),
        ("gym-tracker/squat.mp4", View.OBLIQUE),
    ],
)
def test_view_of_real_clips(clips_dir: Path, clip: str, view: View) -> None:
    from formcheck.pose import PoseEstimator
    from formcheck.signals import clean_pose
    from formcheck.video import iter_frames, probe

    path = clips_dir / clip
    info = probe(path)
    frames, times = [], []
    with PoseEstimator() as estimator:
        for frame in iter_frames(path):
            frames.append(estimator.detect(frame.image_bgr, frame.t_s))
            times.append(frame.t_s)
    raw = PoseSequence.from_frames(times, frames, info.width, info.height)
    est = detect_view(clean_pose(raw))
    assert est.view is view, f"{clip}: {est}"
