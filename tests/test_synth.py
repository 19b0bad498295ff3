"""The synthetic lifter generator: motion profiles, fault labels, posing maths, rasterizer, the set.

Torch/anny tests skip where those are not installed (core install and CI)."""

from __future__ import annotations

import csv
import json
import socket
from pathlib import Path

import numpy as np
import pytest

from formcheck.reps import Exercise, Phase
from formcheck.synth import motion as mo
from formcheck.synth import raster as rs
from formcheck.synth import rig
from formcheck.synth.generate import CameraSpec, Clothes, parse_spec, true_angles, vertex_normals

REPO = Path(__file__).resolve().parents[1]
SET_DIR = REPO / "benchmarks" / "synth"


def _tl(exercise: Exercise, n_reps: int = 3, fps: float = 30.0) -> mo.Timeline:
    return mo.build_timeline(exercise, mo.Timing(n_reps=n_reps), fps)


def _rep_peaks(tl: mo.Timeline, curve: mo.SpineCurve) -> list[float]:
    return [float(curve.total_deg[tl.rep == r].max()) for r in range(1, tl.n_reps + 1)]


# ---------------------------------------------------------------------------------------------
# Timeline


def test_squat_timeline_phases_in_order_and_depth_range() -> None:
    tl = _tl(Exercise.SQUAT)
    reps = mo.true_reps(tl)
    assert [r.index for r in reps] == [1, 2, 3]
    assert [p for p, _, _ in reps[0].phases] == ["descent", "bottom", "ascent", "lockout"]
    assert tl.phase[0] == Phase.SETUP.value and tl.depth[0] == 0.0
    assert np.all(tl.depth[tl.phase == "setup"] == 0.0)
    assert tl.depth[reps[0].bottom_frame] == pytest.approx(1.0)
    total = 1.0 + 3 * (1.1 + 0.25 + 0.9 + 0.5) + 0.4
    assert len(tl) == int(total * 30)


def test_deadlift_rep_goes_floor_lockout_floor() -> None:
    tl = _tl(Exercise.DEADLIFT, n_reps=2)
    reps = mo.true_reps(tl)
    assert [p for p, _, _ in reps[0].phases] == ["ascent", "lockout", "descent", "bottom"]
    assert tl.depth[reps[0].start_frame] == pytest.approx(1.0, abs=1e-3)
    assert tl.depth[reps[0].top_frame] == pytest.approx(0.0)
    assert tl.rep[0] == 0 and tl.depth[0] == 0.0  # neutral stand first


def test_bad_fps_and_timing_raise() -> None:
    with pytest.raises(ValueError, match="fps"):
        mo.build_timeline(Exercise.SQUAT, mo.Timing(), 0.0)
    with pytest.raises(ValueError, match="n_reps"):
        mo.Timing(n_reps=0)


# ---------------------------------------------------------------------------------------------
# Spine profiles


def test_every_rep_rounding_peaks_at_the_bottom_with_the_set_size() -> None:
    tl = _tl(Exercise.SQUAT)
    curve = mo.spine_curve(tl, mo.SpineProfile(mo.SpineKind.ROUND, 20.0))
    assert _rep_peaks(tl, curve) == pytest.approx([20.0, 20.0, 20.0], abs=0.05)
    assert np.all(curve.total_deg[tl.phase == "setup"] == 0.0)
    np.testing.assert_allclose(curve.lumbar_deg, 0.6 * curve.total_deg)


def test_last_reps_rounding_only_in_the_last_rep() -> None:
    tl = _tl(Exercise.SQUAT, n_reps=4)
    curve = mo.spine_curve(tl, mo.SpineProfile(mo.SpineKind.ROUND, 25.0, mo.Onset.LAST_REPS))
    assert _rep_peaks(tl, curve) == pytest.approx([0.0, 0.0, 0.0, 25.0], abs=0.05)


def test_deadlift_last_rep_rounding_starts_on_the_lowering_before_it() -> None:
    # The fault factor changes at the top (where the shape is 0), so the last pull's rounding is
    # already there while the bar is lowered after the previous lockout (part of that rep).
    tl = _tl(Exercise.DEADLIFT, n_reps=4)
    curve = mo.spine_curve(tl, mo.SpineProfile(mo.SpineKind.ROUND, 25.0, mo.Onset.LAST_REPS))
    assert _rep_peaks(tl, curve) == pytest.approx([0.0, 0.0, 25.0, 25.0], abs=0.05)
    pulls = [curve.total_deg[(tl.rep == r) & (tl.phase == "ascent")].max() for r in (1, 2, 3, 4)]
    assert pulls == pytest.approx([0.0, 0.0, 0.0, 25.0], abs=0.05)


def test_progressive_rounding_grows_rep_by_rep() -> None:
    tl = _tl(Exercise.SQUAT, n_reps=4)
    curve = mo.spine_curve(tl, mo.SpineProfile(mo.SpineKind.ROUND, 30.0, mo.Onset.PROGRESSIVE))
    assert _rep_peaks(tl, curve) == pytest.approx([0.0, 10.0, 20.0, 30.0], abs=0.05)


def test_deadlift_off_the_floor_rounding_is_zero_at_the_floor() -> None:
    tl = _tl(Exercise.DEADLIFT)
    curve = mo.spine_curve(tl, mo.SpineProfile(mo.SpineKind.ROUND, 20.0, mo.Onset.BOTTOM))
    at_floor = (tl.phase == "bottom") | (tl.phase == "setup")
    assert np.all(curve.total_deg[at_floor] == 0.0)
    assert curve.total_deg[tl.phase == "ascent"].max() == pytest.approx(20.0, abs=0.2)
    assert np.all(curve.total_deg[tl.phase == "lockout"] == 0.0)


def test_arch_at_lockout_spares_the_first_stand() -> None:
    for ex in (Exercise.SQUAT, Exercise.DEADLIFT):
        tl = _tl(ex)
        curve = mo.spine_curve(tl, mo.SpineProfile(mo.SpineKind.ARCH, 18.0, mo.Onset.LOCKOUT, 0.8))
        assert np.all(curve.total_deg[:10] == 0.0)
        assert curve.total_deg[tl.phase == "lockout"].min() == pytest.approx(-18.0)
        assert curve.total_deg.max() <= 0.0
        assert np.max(np.abs(np.diff(curve.total_deg))) < 3.0  # continuous, no jump at rep 1


def test_arch_in_setup_is_deadlift_only_and_invalid_profiles_raise() -> None:
    with pytest.raises(ValueError, match="deadlift"):
        mo.spine_curve(
            _tl(Exercise.SQUAT), mo.SpineProfile(mo.SpineKind.ARCH, 20.0, mo.Onset.SETUP)
        )
    with pytest.raises(ValueError, match="onset"):
        mo.SpineProfile(mo.SpineKind.ARCH, 20.0, mo.Onset.EVERY_REP)
    with pytest.raises(ValueError, match="peak_deg"):
        mo.SpineProfile(mo.SpineKind.ROUND, -5.0)
    with pytest.raises(ValueError, match="lumbar_low"):
        mo.SpineProfile(mo.SpineKind.ROUND, 20.0, lumbar_low=1.5)


@pytest.mark.parametrize("low", [0.0, 0.4, 1.0])
def test_lumbar_bend_is_shared_by_the_joints_above_the_sacrum(low: float) -> None:
    """The lumbar bend goes into the three joints above the sacrum, more of it at L4-S1 the higher
    lumbar_low is; the shares always add up to the whole bend."""
    profile = mo.SpineProfile(mo.SpineKind.ROUND, 20.0, lumbar_low=low)
    weights = profile.lumbar_weights
    assert len(weights) == len(mo.LUMBAR_BONES) and "spine05" not in mo.LUMBAR_BONES
    assert sum(weights) == pytest.approx(1.0)
    assert weights[0] == pytest.approx(
        mo.LUMBAR_WEIGHTS_TYPICAL[0]
        + low * (mo.LUMBAR_WEIGHTS_LOW[0] - mo.LUMBAR_WEIGHTS_TYPICAL[0])
    )
    assert mo.spine_curve(_tl(Exercise.SQUAT), profile).lumbar_weights == weights


# ---------------------------------------------------------------------------------------------
# Fault labels


def _labels_for_peak(
    kind: mo.SpineKind, peak: float, preset: str = "beginner"
) -> list[mo.FaultLabel]:
    tl = _tl(Exercise.SQUAT, n_reps=1)
    onset = mo.Onset.LOCKOUT if kind is mo.SpineKind.ARCH else mo.Onset.EVERY_REP
    curve = mo.spine_curve(tl, mo.SpineProfile(kind, peak, onset))
    zeros = np.zeros(len(tl))
    return mo.label_faults(
        Exercise.SQUAT,
        mo.true_reps(tl),
        curve.total_deg,
        zeros + 30.0,
        zeros,
        zeros,
        mo.load_thresholds(preset),
    )


def _label(labels: list[mo.FaultLabel], code: str) -> mo.FaultLabel:
    return next(lab for lab in labels if lab.code == code)


@pytest.mark.parametrize(
    ("peak", "present", "severity", "borderline"),
    [
        (12.0, False, "", False),
        (14.9, False, "", True),
        (15.1, True, "minor", True),
        (20.0, True, "minor", False),
        (25.0, True, "major", False),
    ],
)
def test_rounding_label_around_the_beginner_threshold(
    peak: float, present: bool, severity: str, borderline: bool
) -> None:
    lab = _label(_labels_for_peak(mo.SpineKind.ROUND, peak), "back_rounding")
    assert (lab.present, lab.severity, lab.borderline) == (present, severity, borderline)
    assert lab.value == pytest.approx(peak, abs=0.05)
    assert not _label(_labels_for_peak(mo.SpineKind.ROUND, peak), "back_overarch").present


def test_overarch_label_just_under_and_over() -> None:
    assert not _label(_labels_for_peak(mo.SpineKind.ARCH, 14.0), "back_overarch").present
    over = _label(_labels_for_peak(mo.SpineKind.ARCH, 16.0), "back_overarch")
    assert over.present and over.value == pytest.approx(16.0)


def test_strict_preset_flags_what_beginner_allows() -> None:
    assert not _label(_labels_for_peak(mo.SpineKind.ROUND, 12.0), "back_rounding").present
    assert _label(_labels_for_peak(mo.SpineKind.ROUND, 12.0, "strict"), "back_rounding").present
    with pytest.raises(ValueError, match="preset"):
        mo.load_thresholds("expert")


# ---------------------------------------------------------------------------------------------
# Posing maths (numpy only)


def _toy_chain() -> rig.Skeleton:
    heads = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 2.0]])
    return rig.Skeleton(("a", "b", "c"), np.array([-1, 0, 1]), heads, np.zeros((0, 3)))


def test_forward_kinematics_known_chain() -> None:
    skel = _toy_chain()
    local = np.broadcast_to(np.eye(3), (1, 3, 3, 3)).copy()
    local[0, 1] = rig.rot_x(np.array(90.0))  # bend at b: c swings from up to -y (forward)
    _, heads = rig.forward_kinematics(skel, local)
    np.testing.assert_allclose(heads[0, 2], [0.0, -1.0, 1.0], atol=1e-12)
    local[0, 0] = rig.rot_x(np.array(-90.0))  # root tipped back: b goes to +y, and the two
    _, heads = rig.forward_kinematics(skel, local)  # rotations cancel, so c continues straight up
    np.testing.assert_allclose(heads[0, 1], [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(heads[0, 2], [0.0, 1.0, 1.0], atol=1e-12)


def test_spine_rotations_add_up_to_the_total_bend() -> None:
    skel = rig.Skeleton(
        ("root", "s1", "s2", "s3"),
        np.array([-1, 0, 1, 2]),
        np.array([[0, 0, 0], [0, 0, 0.1], [0, 0, 0.2], [0, 0, 0.3]], dtype=float),
        np.zeros((0, 3)),
    )
    local = np.broadcast_to(np.eye(3), (1, 4, 3, 3)).copy()
    for b, deg in ((1, 10.0), (2, 7.0), (3, 3.0)):
        local[0, b] = rig.rot_x(np.array(deg))
    world, _ = rig.forward_kinematics(skel, local)
    up = world[0, 3] @ np.array([0.0, 0.0, 1.0])
    assert np.degrees(np.arctan2(-up[1], up[2])) == pytest.approx(20.0)  # + = bent forward (-y)


def test_two_bone_ik_reaches_and_bends_towards_pole() -> None:
    root = np.zeros((2, 3))
    target = np.array([[0.0, 0.0, -0.5], [0.0, 0.0, -3.0]])  # reachable, then out of reach
    pole = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    mid, end = rig.two_bone_ik(root, target, 0.3, 0.3, pole)
    np.testing.assert_allclose(end[0], target[0], atol=1e-9)
    assert np.linalg.norm(mid[0]) == pytest.approx(0.3) and mid[0, 1] > 0
    assert np.linalg.norm(end[1]) == pytest.approx(0.6, rel=1e-3)


def test_rotation_between_maps_u_onto_v() -> None:
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    r = rig.rotation_between(u, v)
    out = np.einsum("nij,nj->ni", r, u / np.linalg.norm(u, axis=1, keepdims=True))
    np.testing.assert_allclose(out, v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(r), 1.0)


def test_true_angles_known_pose() -> None:
    # Lifter facing -y: hips at the origin, trunk leaning 45 deg forward, thigh horizontal forward,
    # shank vertical.
    def j(x: float, y: float, z: float) -> np.ndarray:
        return np.array([[x, y, z]])

    joints = {}
    for side, x in (("left", 0.1), ("right", -0.1)):
        joints[f"{side}_shoulder"] = j(x, -0.5, 0.5)
        joints[f"{side}_hip"] = j(x, 0.0, 0.0)
        joints[f"{side}_knee"] = j(x, -0.4, 0.0)
        joints[f"{side}_ankle"] = j(x, -0.4, -0.4)
    a = true_angles(joints)
    assert a["trunk_incl_deg"][0] == pytest.approx(45.0)
    assert a["hip_flex_deg"][0] == pytest.approx(180.0 - 45.0)
    assert a["knee_flex_deg"][0] == pytest.approx(90.0)
    assert a["thigh_above_horizontal_deg"][0] == pytest.approx(0.0)


def test_no_network_blocks_connections() -> None:
    with rig.no_network(), pytest.raises(rig.OfflineError, match="offline"):
        socket.create_connection(("example.com", 80), timeout=1)
    assert socket.create_connection is not None and socket.socket.connect.__name__ == "connect"


# ---------------------------------------------------------------------------------------------
# Rasterizer and camera


def test_camera_view_classes() -> None:
    views = {az: CameraSpec(az, 1.0, 3.0, 0.8).view for az in (0, 25, 155, 180, 45, 135, 90, 270)}
    assert views == {
        0: "side",
        25: "side",
        155: "side",
        180: "side",
        45: "oblique",
        135: "oblique",
        90: "front",
        270: "rear",
    }


def test_nearer_triangle_wins_and_colours_the_pixels() -> None:
    cam = rs.Camera.look_at(np.array([5.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0]), 100.0, 64, 48)
    tri = np.array([[0.0, -1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    near = tri + np.array([1.0, 0.0, 0.2])  # closer to the camera (camera on +x)
    verts = np.vstack([tri, near])
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    pix, face = rs.rasterize(cam, verts, faces, cull_back=False)
    assert len(pix) > 50
    centre = (24 * 64) + 32
    assert face[pix == centre][0] == 1
    mesh = rs.Mesh(verts, faces, np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    img = rs.render(
        cam, mesh, rs.Light(np.array([-1.0, 0.0, 0.0]), 0.5, 0.5), np.zeros((48, 64, 3), np.uint8)
    )
    assert img[24, 32, 0] > 200 and img[24, 32, 2] == 0  # blue (BGR) from the near face
    assert img[0, 0].sum() == 0


def test_parse_spec_defaults_and_duplicates() -> None:
    doc = {
        "defaults": {"fps": 25, "size": [361, 480], "camera": {"height_m": 0.9}},
        "clips": [{"name": "a", "lift": "squat", "seed": 1, "camera": {"azimuth_deg": 45}}],
    }
    (spec,) = parse_spec(doc, "clips")
    assert (spec.width, spec.height, spec.fps) == (360, 480, 25.0)
    assert spec.camera.height_m == 0.9 and spec.camera.view == "oblique"
    assert spec.clothes == Clothes()  # a bare body unless the spec dresses it
    doc["clips"][0]["clothes"] = {"loose_m": 0.02, "back_m": 0.01}
    assert parse_spec(doc, "clips")[0].clothes == Clothes(0.02, 0.01)
    doc["clips"].append(dict(doc["clips"][0]))
    with pytest.raises(ValueError, match="duplicate"):
        parse_spec(doc, "clips")


def test_vertex_normals_point_out_of_a_closed_mesh() -> None:
    """An octahedron: every corner's normal is its own direction from the centre."""
    corners = np.vstack([np.eye(3), -np.eye(3)])
    faces = []
    for sx, sy, sz in np.ndindex(2, 2, 2):
        f = [sx * 3, 1 + sy * 3, 2 + sz * 3]  # one corner on each axis, signs from the octant
        if (1 - 2 * sx) * (1 - 2 * sy) * (1 - 2 * sz) < 0:
            f[1], f[2] = f[2], f[1]  # counter-clockwise seen from outside
        faces.append(f)
    normals = vertex_normals(corners, np.array(faces))
    np.testing.assert_allclose(normals, corners, atol=1e-12)


def test_clothes_thicken_the_back_more_than_the_front() -> None:
    pytest.importorskip("torch", reason="torch is only in the optional 'synth' extra")
    pytest.importorskip("anny", reason="anny is only in the optional 'synth' extra")
    from formcheck.synth.generate import Appearance, clothes_offsets

    model = rig.load_anny()
    skel = rig.skeleton_for(model, dict.fromkeys(rig.PHENOTYPE_KEYS, 0.5))
    faces, dominant = rig.faces_of(model), rig.dominant_bones(model)
    look = Appearance(
        dict.fromkeys(rig.PHENOTYPE_KEYS, 0.5),
        (1, 1, 1),
        (1, 0, 0),
        (0, 0, 1),
        False,
        (0, 0, 0),
        0.2,
    )
    assert not clothes_offsets(skel, dominant, faces, look, Clothes()).any()
    v = skel.rest_vertices_m
    hip_z = skel.heads_m[skel.idx("upperleg01.L"), 2]
    shoulder_z = skel.heads_m[skel.idx("neck01"), 2]
    waist = (v[:, 2] > hip_z + 0.15) & (v[:, 2] < shoulder_z - 0.15) & (np.abs(v[:, 0]) < 0.05)
    back, front = waist & (v[:, 1] > 0), waist & (v[:, 1] < 0)  # the body faces -y at rest
    offsets = clothes_offsets(skel, dominant, faces, look, Clothes(loose_m=0.02, back_m=0.03))
    assert np.median(offsets[front]) == pytest.approx(0.02, abs=0.004)  # the shirt alone
    assert np.median(offsets[back]) == pytest.approx(0.05, abs=0.008)  # shirt and muscle
    assert np.all(offsets[np.char.startswith(np.array(skel.names)[dominant], "foot")] < 1e-3)


# ---------------------------------------------------------------------------------------------
# The committed benchmark set


def _index() -> list[dict[str, object]]:
    path = SET_DIR / "index.json"
    if not path.is_file():
        pytest.skip(f"no generated set at {SET_DIR}")
    clips: list[dict[str, object]] = json.loads(path.read_text())["clips"]
    return clips


def test_set_files_exist_and_labels_match_the_per_frame_truth() -> None:
    thr = mo.load_thresholds("beginner")["back_rounding"].threshold
    for clip in _index():
        name = str(clip["name"])
        for key in ("video", "truth_json", "frames_csv"):
            assert (SET_DIR / str(clip[key])).is_file(), f"{name}: missing {clip[key]}"
        truth = json.loads((SET_DIR / str(clip["truth_json"])).read_text())
        with (SET_DIR / str(clip["frames_csv"])).open() as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == truth["n_frames"]
        flex = np.array([float(r["spine_flex_deg"]) for r in rows])
        for rep in truth["reps"]:
            peak = flex[rep["start_frame"] : rep["end_frame"] + 1].max()
            lab = next(
                x
                for x in truth["labels"]
                if x["code"] == "back_rounding" and x["rep_index"] == rep["index"]
            )
            assert lab["present"] == (peak > thr), f"{name} rep {rep['index']}"


def test_set_neutral_clips_have_no_back_fault() -> None:
    neutral = [c for c in _index() if c["spine"]["kind"] == "neutral"]  # type: ignore[index]
    assert len(neutral) >= 6
    for clip in neutral:
        assert clip["reps_with_fault"] == {"back_rounding": [], "back_overarch": []}, clip["name"]


# ---------------------------------------------------------------------------------------------
# With torch + anny (optional 'synth' extra): the numpy kinematics agree with the body model


@pytest.mark.slow
def test_numpy_kinematics_match_anny_and_feet_stay_planted() -> None:
    pytest.importorskip("torch", reason="torch is only in the optional 'synth' extra")
    pytest.importorskip("anny", reason="anny is only in the optional 'synth' extra")
    import torch

    model = rig.load_anny()
    phenotype = dict.fromkeys(rig.PHENOTYPE_KEYS, 0.5) | {"gender": 1.0, "height": 0.7}
    skel = rig.skeleton_for(model, phenotype)
    tl = mo.build_timeline(Exercise.DEADLIFT, mo.Timing(n_reps=1), 10.0)
    keys = mo.LegKeys(68.0, 80.0, 60.0)
    spine = mo.spine_curve(tl, mo.SpineProfile(mo.SpineKind.ROUND, 25.0))
    posed = rig.pose_lift(
        skel, Exercise.DEADLIFT, tl, mo.sagittal_angles(tl.depth, keys), spine, rig.BarSpec()
    )

    n_b = len(skel.names)
    pose = torch.eye(4, dtype=torch.float64).repeat(len(tl), n_b, 1, 1)
    pose[:, :, :3, :3] = torch.from_numpy(posed.local_rot)
    ph = {k: torch.full((len(tl),), v, dtype=torch.float64) for k, v in phenotype.items()}
    with torch.no_grad():
        out = model(pose_parameters=pose, phenotype_kwargs=ph)
    _, heads = rig.forward_kinematics(skel, posed.local_rot)
    np.testing.assert_allclose(heads, out["bone_poses"][:, :, :3, 3].numpy(), atol=1e-9)

    # the sacrum moves with the pelvis; pelvis to thorax (spine01) is the whole true bend
    world, _ = rig.forward_kinematics(skel, posed.local_rot)
    np.testing.assert_allclose(
        posed.local_rot[:, skel.idx("spine05")], np.eye(3)[None].repeat(len(tl), 0)
    )
    rel = np.swapaxes(world[:, 0], -1, -2) @ world[:, skel.idx("spine01")]
    bend = np.degrees(np.arctan2(rel[:, 2, 1], rel[:, 1, 1]))
    np.testing.assert_allclose(bend, spine.total_deg, atol=1e-6)

    verts = out["vertices"].numpy() + posed.offset_m[:, None, :]
    assert np.abs(verts[:, :, 2].min(axis=1)).max() < 0.01  # soles on the floor in every frame
    ankles = posed.joints_m["left_ankle"]
    assert np.ptp(ankles, axis=0).max() < 1e-9  # and the feet do not slide


def test_generate_resumes_with_skip_existing(tmp_path: Path) -> None:
    """A clip whose truth file and video exist is kept, not rendered again (no torch needed then),
    and index.json lists it with the same entry keys a render returns."""
    import yaml

    from formcheck.synth import generate

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"clips": [{"name": "a", "lift": "squat", "seed": 1}]}))
    truth = {k: f"value of {k}" for k in generate.INDEX_KEYS} | {"name": "a", "seed": 1}
    (tmp_path / "a.json").write_text(json.dumps(truth))
    (tmp_path / "a.mp4").write_bytes(b"")
    assert generate.main(["--spec", str(spec), "--out", str(tmp_path), "--skip-existing"]) == 0
    (entry,) = json.loads((tmp_path / "index.json").read_text())["clips"]
    assert set(entry) == set(generate.INDEX_KEYS) and entry["name"] == "a"
    assert entry["lift"] == "value of lift"  # read from the truth file, not rendered again
    assert (tmp_path / "a.mp4").read_bytes() == b""


def test_training_set_is_reproducible_and_apart_from_the_evaluation_sets() -> None:
    """benchmarks/synth_train.py: the same --n gives the same clips; its seeds never meet the
    benchmark's or the held-out set's, every camera is a side view, every clip parses."""
    import importlib
    import sys

    import yaml

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))
    synth_train = importlib.import_module("synth_train")
    doc = synth_train.spec(200)
    assert doc == synth_train.spec(200)
    taken = {
        c["seed"]
        for name in ("synth_set.yaml", "synth_dev.yaml")
        for section in ("clips", "demos")
        for c in yaml.safe_load((bench / name).read_text()).get(section, [])
    }
    assert not taken & {c["seed"] for c in doc["clips"]}
    specs = parse_spec(doc, "clips")
    assert len(specs) == 200 and {s.camera.view for s in specs} == {"side"}
    assert {s.lift for s in specs} == {Exercise.SQUAT, Exercise.DEADLIFT}
    assert not [s for s in specs if s.lift is Exercise.SQUAT and s.spine.onset is mo.Onset.SETUP]
