"""Render synthetic squat/deadlift sets with exact ground truth, from a YAML grid.

    python -m formcheck.synth.generate --spec benchmarks/synth_set.yaml --out benchmarks/synth
    python -m formcheck.synth.generate --spec benchmarks/synth_set.yaml --section demos \
        --out sample_videos

Per clip NAME it writes NAME.mp4 (H.264), NAME.json (parameters, reps, fault labels) and NAME.csv
(per-frame truth: phase, rep, spine flexion, trunk/hip/knee angles, joint pixel positions), and an
index.json listing every clip of the section. Everything follows from the spec and each clip's seed.
Needs the optional 'synth' dependencies (torch, anny).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml
from numpy.typing import NDArray

from formcheck.reps import Exercise
from formcheck.synth import motion as mo
from formcheck.synth import raster as rs
from formcheck.synth import rig

FloatArray = mo.FloatArray
BoolArray = NDArray[np.bool_]
SCHEMA_VERSION = 1

SKIN_RGB = [
    (0.96, 0.80, 0.69),
    (0.87, 0.68, 0.52),
    (0.76, 0.55, 0.38),
    (0.55, 0.37, 0.24),
    (0.36, 0.24, 0.17),
    (0.92, 0.74, 0.60),
]
TOP_RGB = [
    (0.12, 0.12, 0.14),
    (0.75, 0.10, 0.12),
    (0.10, 0.25, 0.60),
    (0.85, 0.85, 0.85),
    (0.20, 0.45, 0.25),
    (0.45, 0.45, 0.48),
    (0.90, 0.55, 0.10),
]
BOTTOM_RGB = [(0.08, 0.08, 0.10), (0.20, 0.22, 0.35), (0.30, 0.30, 0.32), (0.15, 0.15, 0.15)]
PLATE_RGB = [(0.08, 0.08, 0.08), (0.70, 0.10, 0.10), (0.10, 0.25, 0.65), (0.10, 0.45, 0.15)]
WALLS = [
    ((0.82, 0.82, 0.78), (0.62, 0.62, 0.58)),
    ((0.55, 0.60, 0.68), (0.38, 0.42, 0.48)),
    ((0.85, 0.80, 0.70), (0.65, 0.58, 0.48)),
    ((0.35, 0.35, 0.36), (0.22, 0.22, 0.23)),
]
FLOORS = [(0.45, 0.40, 0.35), (0.30, 0.30, 0.32), (0.55, 0.45, 0.32), (0.20, 0.20, 0.22)]


@dataclass(frozen=True)
class CameraSpec:
    """azimuth_deg: 0 = camera on the lifter's left (side view, lifter faces image left), 180 =
    right
    side, 90 = in front, 45 = front-left oblique. fill: share of the frame height a 1.9 m tall
    column at the lifter takes."""

    azimuth_deg: float
    height_m: float
    distance_m: float
    fill: float

    @property
    def view(self) -> str:
        a = self.azimuth_deg % 360.0
        off_side = min(abs(a - 0.0), abs(a - 180.0), abs(a - 360.0))
        if off_side <= 30.0:
            return "side"
        if off_side <= 60.0:
            return "oblique"
        return "front" if 0.0 < a < 180.0 else "rear"


#: Clothes: the back's muscle reaches from this far below the hip joints to this far below the neck
#: (metres), and the offsets are averaged over neighbouring faces this many times (a smooth seam).
BACK_MUSCLE_MARGIN_M = 0.05
CLOTHES_SMOOTHING_ROUNDS = 6


@dataclass(frozen=True)
class Clothes:
    """What clothes and muscle add to the bare body, in metres along the surface's normal: loose_m
    over everything the shirt covers (a loose shirt or a hoodie), back_m more over the back between
    the hips and the shoulders (erector and latissimus muscle, a shirt stretched over the hollow of
    the lower back)."""

    loose_m: float = 0.0
    back_m: float = 0.0


@dataclass(frozen=True)
class ClipSpec:
    name: str
    lift: Exercise
    seed: int
    spine: mo.SpineProfile
    camera: CameraSpec
    width: int
    height: int
    fps: float
    n_reps: int
    clothes: Clothes = Clothes()


def _spine(d: dict[str, Any]) -> mo.SpineProfile:
    kind = mo.SpineKind(d.get("kind", "neutral"))
    onset = mo.Onset(d.get("onset", "lockout" if kind is mo.SpineKind.ARCH else "every_rep"))
    share = float(d.get("lumbar_share", 0.8 if kind is mo.SpineKind.ARCH else 0.6))
    return mo.SpineProfile(
        kind,
        float(d.get("peak_deg", 4.0)),
        onset,
        share,
        int(d.get("last_reps", 1)),
        float(d.get("lumbar_low", 0.0)),
    )


def parse_spec(doc: dict[str, Any], section: str) -> list[ClipSpec]:
    """Clip specs of one section of the grid; each clip's keys override the section's defaults."""
    defaults = doc.get("defaults", {})
    out: list[ClipSpec] = []
    names: set[str] = set()
    for raw in doc.get(section, []):
        c = {**defaults, **raw}
        cam = {**defaults.get("camera", {}), **raw.get("camera", {})}
        name = str(c["name"])
        if name in names:
            raise ValueError(f"duplicate clip name {name!r}")
        names.add(name)
        w, h = (int(v) for v in c.get("size", (360, 480)))
        out.append(
            ClipSpec(
                name=name,
                lift=Exercise(c["lift"]),
                seed=int(c["seed"]),
                spine=_spine(c.get("spine", {})),
                camera=CameraSpec(
                    float(cam.get("azimuth_deg", 0.0)),
                    float(cam.get("height_m", 1.0)),
                    float(cam.get("distance_m", 3.6)),
                    float(cam.get("fill", 0.8)),
                ),
                width=w - w % 2,
                height=h - h % 2,
                fps=float(c.get("fps", 30.0)),
                n_reps=int(c.get("reps", 3)),
                clothes=Clothes(**{k: float(v) for k, v in c.get("clothes", {}).items()}),
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# Per-clip random choices (all from the clip's seed)


@dataclass(frozen=True)
class Appearance:
    phenotype: dict[str, float]
    skin: tuple[float, float, float]
    top: tuple[float, float, float]
    bottom: tuple[float, float, float]
    long_pants: bool
    plate: tuple[float, float, float]
    plate_radius_m: float


def _pick(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def choose_appearance(rng: np.random.Generator, lift: Exercise) -> Appearance:
    ph = {
        "gender": float(rng.choice([0.0, 0.15, 0.85, 1.0])),
        "age": float(rng.uniform(0.6, 0.85)),
        "muscle": float(rng.uniform(0.35, 0.9)),
        "weight": float(rng.uniform(0.3, 0.75)),
        "height": float(rng.uniform(0.3, 0.8)),
        "proportions": float(rng.uniform(0.3, 0.7)),
    }
    # Squat plates stay smaller than bumpers so the head is not always hidden in a level side view.
    radius = 0.225 if lift is Exercise.DEADLIFT else float(rng.choice([0.12, 0.14, 0.17]))
    return Appearance(
        ph,
        _pick(rng, SKIN_RGB),
        _pick(rng, TOP_RGB),
        _pick(rng, BOTTOM_RGB),
        bool(rng.random() < 0.3),
        _pick(rng, PLATE_RGB),
        radius,
    )


def choose_keys(rng: np.random.Generator, lift: Exercise) -> mo.LegKeys:
    if lift is Exercise.SQUAT:
        return mo.LegKeys(
            float(rng.uniform(92.0, 102.0)),
            float(rng.uniform(112.0, 124.0)),
            float(rng.uniform(30.0, 42.0)),
        )
    return mo.LegKeys(float(rng.uniform(62.0, 72.0)), float(rng.uniform(72.0, 86.0)), 60.0, 8.0)


def choose_timing(rng: np.random.Generator, n_reps: int) -> mo.Timing:
    def j(seconds: float) -> float:
        return float(seconds * rng.uniform(0.88, 1.12))

    return mo.Timing(
        n_reps=n_reps,
        stand_s=j(1.0),
        hinge_s=j(0.9),
        set_s=j(0.3),
        descent_s=j(1.0),
        bottom_s=j(0.2),
        ascent_s=j(0.85),
        lockout_s=j(0.45),
        end_s=0.3,
    )


def solve_deadlift_pelvis(skel: rig.Skeleton, keys: mo.LegKeys, target_m: float) -> float:
    """Pelvis pitch at the floor that puts straight hanging hands at the bar height target_m."""
    grid = np.linspace(35.0, 85.0, 101)
    n = len(grid)
    tl = mo.Timeline(
        Exercise.DEADLIFT,
        30.0,
        1,
        np.arange(n) / 30.0,
        np.ones(n),
        np.full(n, "ascent"),
        np.ones(n, dtype=np.int64),
        np.zeros(n),
        np.ones(n, dtype=np.int64),
    )
    angles = mo.SagittalAngles(np.full(n, keys.thigh_pitch_deg), np.full(n, keys.knee_deg), grid)
    flat = mo.SpineCurve(np.zeros(n), np.zeros(n))
    posed = rig.pose_lift(
        skel, Exercise.DEADLIFT, tl, angles, flat, rig.BarSpec(plate_radius_m=0.0)
    )
    return float(grid[int(np.argmin(np.abs(posed.bar_m[:, 2] - target_m)))])


def _shirt_and_shorts(
    skel: rig.Skeleton, dominant: mo.IntArray, long_pants: bool
) -> tuple[BoolArray, BoolArray]:
    """(V,) masks of the vertices the shirt and the shorts (or pants) cover."""
    names = np.array(skel.names)[dominant]
    v = skel.rest_vertices_m
    hip_z = skel.heads_m[skel.idx("upperleg01.L"), 2]
    trunk = np.char.startswith(names, "spine") | np.char.startswith(names, "clavicle")
    trunk |= np.char.startswith(names, "shoulder01") | np.char.startswith(names, "upperarm01")
    trunk |= np.char.startswith(names, "pelvis") | (names == "root")
    legs = np.char.startswith(names, "upperleg")
    if long_pants:
        legs |= np.char.startswith(names, "lowerleg")
    shorts = (trunk & (v[:, 2] < hip_z + 0.13)) | legs
    return trunk & ~shorts, shorts


def vertex_normals(vertices: FloatArray, faces: mo.IntArray) -> FloatArray:
    """(V, 3) unit normals, the area-weighted mean of the faces around each vertex."""
    tri = vertices[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    out = np.zeros_like(vertices)
    for k in range(faces.shape[1]):
        out += np.stack(
            [np.bincount(faces[:, k], n[:, j], minlength=len(vertices)) for j in range(3)], axis=1
        )
    return np.asarray(out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-12), dtype=np.float64)


def clothes_offsets(
    skel: rig.Skeleton, dominant: mo.IntArray, faces: mo.IntArray, look: Appearance, c: Clothes
) -> FloatArray:
    """(V,) metres each vertex moves out along its normal (Clothes), smoothed over the mesh so that
    the surface stays closed where a region ends."""
    v = skel.rest_vertices_m
    shirt, _ = _shirt_and_shorts(skel, dominant, look.long_pants)
    hip_z = skel.heads_m[skel.idx("upperleg01.L"), 2]
    neck_z = skel.heads_m[skel.idx("neck01"), 2]
    backward = np.clip(vertex_normals(v, faces)[:, 1], 0.0, None)  # the body faces -y at rest
    margin = BACK_MUSCLE_MARGIN_M
    trunk_height = (v[:, 2] > hip_z - margin) & (v[:, 2] < neck_z - margin)
    upper_arm = np.char.startswith(np.array(skel.names)[dominant], "upperarm")
    offset = c.loose_m * shirt + c.back_m * backward * (trunk_height & ~upper_arm)
    # averaged over each face's corners (a ring of neighbours), a few rounds
    faces_per_vertex = np.maximum(np.bincount(faces.ravel(), minlength=len(v)), 1)
    for _ in range(CLOTHES_SMOOTHING_ROUNDS):
        face_mean = offset[faces].mean(axis=1)
        total = np.bincount(faces.ravel(), np.repeat(face_mean, faces.shape[1]), minlength=len(v))
        offset = total / faces_per_vertex
    return np.asarray(offset, dtype=np.float64)


def vertex_colours(
    skel: rig.Skeleton, dominant: mo.IntArray, faces: mo.IntArray, look: Appearance
) -> FloatArray:
    """(F, 3) albedo per face: shirt, shorts or pants, shoes, hair, skin."""
    names = np.array(skel.names)[dominant]
    v = skel.rest_vertices_m
    eye = skel.heads_m[skel.idx("eye.L")]
    rgb = np.broadcast_to(np.array(look.skin), (len(v), 3)).copy()
    shirt, shorts = _shirt_and_shorts(skel, dominant, look.long_pants)
    rgb[shirt] = look.top
    rgb[shorts] = look.bottom
    rgb[np.char.startswith(names, "foot") | np.char.startswith(names, "toe")] = (0.85, 0.85, 0.87)
    hair = (names == "head") & (v[:, 2] > eye[2] + 0.035) | (names == "head") & (
        v[:, 1] > eye[1] + 0.1
    )
    rgb[hair] = (0.12, 0.09, 0.07)
    return np.asarray(rgb[faces[:, 0]], dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# Ground-truth angles from the posed joints


def _mid(j: dict[str, FloatArray], key: str) -> FloatArray:
    return 0.5 * (j[f"left_{key}"] + j[f"right_{key}"])


def _angle_at(a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    u, v = a - b, c - b
    cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    out: FloatArray = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return out


def true_angles(joints: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """3-D truth in the kinematics.py conventions (mid-points of both sides; the motion is
    sagittal)."""
    sh, hip, knee, ankle = (_mid(joints, k) for k in ("shoulder", "hip", "knee", "ankle"))
    trunk = np.degrees(np.arctan2(-(sh[:, 1] - hip[:, 1]), sh[:, 2] - hip[:, 2]))
    thigh = np.degrees(np.arctan2(hip[:, 2] - knee[:, 2], np.abs(hip[:, 1] - knee[:, 1])))
    return {
        "trunk_incl_deg": trunk,
        "hip_flex_deg": 180.0 - _angle_at(sh, hip, knee),
        "knee_flex_deg": 180.0 - _angle_at(hip, knee, ankle),
        "thigh_above_horizontal_deg": thigh,
    }


# --------------------------------------------------------------------------------------------------
# One clip


def make_camera(spec: ClipSpec, target: FloatArray) -> rs.Camera:
    a = math.radians(spec.camera.azimuth_deg)
    eye = target + spec.camera.distance_m * np.array([math.cos(a), -math.sin(a), 0.0])
    eye[2] = spec.camera.height_m
    focal = spec.camera.fill * spec.height * spec.camera.distance_m / 1.9
    return rs.Camera.look_at(eye, target, focal, spec.width, spec.height)


_MODEL: Any = None


def _model() -> Any:
    global _MODEL
    if _MODEL is None:
        _MODEL = rig.load_anny()
    return _MODEL


@dataclass(frozen=True)
class Prepared:
    """One clip's body, motion and camera, before any frame is posed or drawn (see prepare()).
    rng has drawn the body, timing and camera choices; render_clip draws the scene from it next."""

    rng: np.random.Generator
    model: Any
    look: Appearance
    keys: mo.LegKeys
    skel: rig.Skeleton
    timing: mo.Timing
    timeline: mo.Timeline
    angles: mo.SagittalAngles
    spine: mo.SpineCurve
    bar: rig.BarSpec
    camera: rs.Camera
    target_m: FloatArray
    stature_m: float


def prepare(spec: ClipSpec) -> Prepared:
    """Everything a clip's seed fixes about the lifter, the set and the camera."""
    rng = np.random.default_rng(spec.seed)
    model = _model()
    look = choose_appearance(rng, spec.lift)
    keys = choose_keys(rng, spec.lift)
    timing = choose_timing(rng, spec.n_reps)
    skel = rig.skeleton_for(model, look.phenotype)
    if spec.lift is Exercise.DEADLIFT:
        grip_z = look.plate_radius_m
        keys = mo.LegKeys(
            keys.thigh_pitch_deg,
            keys.knee_deg,
            solve_deadlift_pelvis(skel, keys, grip_z),
            keys.toe_out_deg,
        )
    tl = mo.build_timeline(spec.lift, timing, spec.fps)
    stature = float(skel.rest_vertices_m[:, 2].max() - skel.rest_vertices_m[:, 2].min())
    fwd = -0.15 if spec.lift is Exercise.DEADLIFT else 0.0
    target = np.array([0.0, fwd, 0.5 * stature + 0.05])
    return Prepared(
        rng=rng,
        model=model,
        look=look,
        keys=keys,
        skel=skel,
        timing=timing,
        timeline=tl,
        angles=mo.sagittal_angles(tl.depth, keys),
        spine=mo.spine_curve(tl, spec.spine),
        bar=rig.BarSpec(plate_radius_m=look.plate_radius_m),
        camera=make_camera(spec, target),
        target_m=target,
        stature_m=stature,
    )


def render_clip(spec: ClipSpec, out_dir: Path, preset: str = "beginner") -> dict[str, Any]:
    """Render one clip and write its video and ground truth; returns its index entry."""
    from formcheck.render import H264Writer

    t0 = time.perf_counter()
    prep = prepare(spec)
    rng, model, look, keys, skel = prep.rng, prep.model, prep.look, prep.keys, prep.skel
    tl, angles, spine, cam, target = (
        prep.timeline,
        prep.angles,
        prep.spine,
        prep.camera,
        prep.target_m,
    )
    posed = rig.pose_lift(skel, spec.lift, tl, angles, spine, prep.bar, keys.toe_out_deg)

    faces, dominant = rig.faces_of(model), rig.dominant_bones(model)
    body_rgb = vertex_colours(skel, dominant, faces, look)
    offsets = None
    if spec.clothes != Clothes():
        offsets = clothes_offsets(skel, dominant, faces, look, spec.clothes)
    bell = rs.barbell(look.plate_radius_m, np.array(look.plate), np.array([0.72, 0.72, 0.75]))
    all_faces = np.vstack([faces, bell.faces + len(skel.rest_vertices_m)])
    all_rgb = np.vstack([body_rgb, bell.face_rgb])

    wall_top, wall_bottom = _pick(rng, WALLS)
    floor = np.array(_pick(rng, FLOORS))
    scene = rs.Scene(
        np.array(wall_top), np.array(wall_bottom), floor, floor * 0.45, float(rng.uniform(2.0, 4.0))
    )
    backdrop = rs.background(cam, scene, rng, target)
    la = math.radians(float(rng.uniform(0, 360)))
    el = math.radians(float(rng.uniform(35, 70)))
    light = rs.Light(
        -np.array([math.cos(el) * math.cos(la), math.cos(el) * math.sin(la), math.sin(el)]),
        float(rng.uniform(0.4, 0.55)),
        float(rng.uniform(0.45, 0.65)),
    )
    gain = float(rng.uniform(0.9, 1.1))

    out_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / f"{spec.name}.mp4"
    with H264Writer(video, spec.fps, spec.width, spec.height, crf=26, preset="medium") as writer:
        for k, verts in enumerate(rig.skin(model, look.phenotype, posed.local_rot)):
            if offsets is not None:
                verts = verts + offsets[:, None] * vertex_normals(verts, faces)
            mesh = rs.Mesh(
                np.vstack([verts + posed.offset_m[k], bell.vertices + posed.bar_m[k]]),
                all_faces,
                all_rgb,
            )
            img = cv2.GaussianBlur(rs.render(cam, mesh, light, backdrop), (3, 3), 0.6)
            writer.write(np.asarray(cv2.convertScaleAbs(img, alpha=gain), dtype=np.uint8))

    truth_angles = true_angles(posed.joints_m)
    reps = mo.true_reps(tl)
    labels = mo.label_faults(
        spec.lift,
        reps,
        spine.total_deg,
        truth_angles["trunk_incl_deg"],
        truth_angles["thigh_above_horizontal_deg"],
        truth_angles["hip_flex_deg"],
        mo.load_thresholds(preset),
    )
    _write_frames_csv(out_dir / f"{spec.name}.csv", tl, spine, truth_angles, posed, cam)
    near = "left" if math.cos(math.radians(spec.camera.azimuth_deg)) >= 0 else "right"
    facing = -1 if near == "left" else 1
    entry: dict[str, Any] = {
        "name": spec.name,
        "video": video.name,
        "truth_json": f"{spec.name}.json",
        "frames_csv": f"{spec.name}.csv",
        "lift": spec.lift.value,
        "view": spec.camera.view,
        "azimuth_deg": spec.camera.azimuth_deg,
        "near_side": near if spec.camera.view in ("side", "oblique") else "",
        "facing": facing if spec.camera.view in ("side", "oblique") else 0,
        "width": spec.width,
        "height": spec.height,
        "fps": spec.fps,
        "n_frames": len(tl),
        "n_reps": spec.n_reps,
        "spine": {
            "kind": spec.spine.kind.value,
            "peak_deg": spec.spine.peak_deg,
            "onset": spec.spine.onset.value,
        },
        "faults": sorted({lab.code for lab in labels if lab.present}),
        "reps_with_fault": {
            code: [lab.rep_index for lab in labels if lab.code == code and lab.present]
            for code in ("back_rounding", "back_overarch")
        },
        "borderline_reps": sorted(
            {lab.rep_index for lab in labels if lab.borderline and lab.code.startswith("back")}
        ),
    }
    truth = {
        "schema_version": SCHEMA_VERSION,
        **entry,
        "seed": spec.seed,
        "preset": preset,
        "conventions": (
            "spine_flex_deg = lumbar + thoracic bend of the rig relative to its neutral standing "
            "spine, "
            "+ flexion (rounding), - extension (arching); angles are 3-D truths in kinematics.py "
            "conventions; frames are 0-based; joint pixels are x right, y down, NaN off-screen"
        ),
        "camera": {
            **asdict(spec.camera),
            "focal_px": cam.focal_px,
            "position_m": cam.position_m.round(3).tolist(),
        },
        "body": {k: round(v, 3) for k, v in look.phenotype.items()},
        "appearance": {
            "skin_rgb": look.skin,
            "top_rgb": look.top,
            "bottom_rgb": look.bottom,
            "long_pants": look.long_pants,
            "plate_rgb": look.plate,
            "plate_radius_m": look.plate_radius_m,
            "clothes": asdict(spec.clothes),
        },
        "stature_m": round(prep.stature_m, 3),
        "leg_keys": asdict(keys),
        "timing": asdict(prep.timing),
        "spine_profile": {
            **asdict(spec.spine),
            "kind": spec.spine.kind.value,
            "onset": spec.spine.onset.value,
        },
        "peak_spine_flex_deg": round(float(spine.total_deg.max()), 2),
        "peak_spine_ext_deg": round(float(-spine.total_deg.min()), 2),
        "reps": [r.to_json() for r in reps],
        "labels": [lab.to_json() for lab in labels],
        "render_s": round(time.perf_counter() - t0, 1),
    }
    (out_dir / f"{spec.name}.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return entry


def _write_frames_csv(
    path: Path,
    tl: mo.Timeline,
    spine: mo.SpineCurve,
    angles: dict[str, FloatArray],
    posed: rig.PosedSet,
    cam: rs.Camera,
) -> None:
    joint_names = [k for k in posed.joints_m if k not in ("neck",)]
    px = {k: cam.project(posed.joints_m[k])[0] for k in joint_names}
    header = [
        "frame",
        "t_s",
        "phase",
        "rep",
        "depth",
        "spine_flex_deg",
        "lumbar_flex_deg",
        "thoracic_flex_deg",
    ]
    header += list(angles)
    header += [f"{k}_{c}_px" for k in joint_names for c in ("x", "y")]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(len(tl)):
            row: list[Any] = [
                i,
                f"{tl.t_s[i]:.4f}",
                tl.phase[i],
                int(tl.rep[i]),
                f"{tl.depth[i]:.3f}",
            ]
            row += [
                f"{spine.total_deg[i]:.2f}",
                f"{spine.lumbar_deg[i]:.2f}",
                f"{spine.thoracic_deg[i]:.2f}",
            ]
            row += [f"{angles[k][i]:.2f}" for k in angles]
            for k in joint_names:
                x, y = px[k][i]
                inside = 0 <= x < cam.width and 0 <= y < cam.height
                row += [f"{x:.1f}", f"{y:.1f}"] if inside else ["nan", "nan"]
            w.writerow(row)


def _worker(args: tuple[ClipSpec, str, str]) -> dict[str, Any]:
    spec, out, preset = args
    entry = render_clip(spec, Path(out), preset)
    print(f"  {spec.name}: {entry['n_frames']} frames", flush=True)
    return entry


#: The keys of a clip's index.json entry (render_clip's return value; its NAME.json holds them too).
INDEX_KEYS = (
    "name", "video", "truth_json", "frames_csv", "lift", "view", "azimuth_deg", "near_side",
    "facing", "width", "height", "fps", "n_frames", "n_reps", "spine", "faults",
    "reps_with_fault", "borderline_reps",
)  # fmt: skip


def _rendered(out: Path, spec: ClipSpec) -> bool:
    """A clip is complete once its truth file exists: it is written after the video and the CSV."""
    return (out / f"{spec.name}.json").is_file() and (out / f"{spec.name}.mp4").is_file()


def _entry_of(truth_json: Path) -> dict[str, Any]:
    truth = json.loads(truth_json.read_text(encoding="utf-8"))
    return {k: truth[k] for k in INDEX_KEYS}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m formcheck.synth.generate", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--spec", required=True, type=Path, help="YAML grid (e.g. benchmarks/synth_set.yaml)"
    )
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--section", default="clips", help="list in the spec to render (clips, demos)")
    ap.add_argument("--only", nargs="*", default=None, help="render only these clip names")
    ap.add_argument("--jobs", type=int, default=1, help="parallel processes")
    ap.add_argument("--preset", default="beginner", help="threshold preset for the fault labels")
    ap.add_argument(
        "--skip-existing",
        action="store_true",
        help="resume: keep the clips already rendered in --out (NAME.json written last)",
    )
    args = ap.parse_args(argv)

    doc = yaml.safe_load(args.spec.read_text(encoding="utf-8"))
    specs = parse_spec(doc, args.section)
    if args.only:
        unknown = set(args.only) - {s.name for s in specs}
        if unknown:
            print(f"error: no clips named {sorted(unknown)} in {args.spec}", file=sys.stderr)
            return 2
        specs = [s for s in specs if s.name in args.only]
    if not specs:
        print(f"error: section {args.section!r} of {args.spec} lists no clips", file=sys.stderr)
        return 2
    kept: list[dict[str, Any]] = []
    if args.skip_existing:
        kept = [_entry_of(args.out / f"{s.name}.json") for s in specs if _rendered(args.out, s)]
        specs = [s for s in specs if not _rendered(args.out, s)]
    t0 = time.perf_counter()
    jobs = [(s, str(args.out), args.preset) for s in specs]
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            entries = list(pool.map(_worker, jobs))
    else:
        entries = [_worker(j) for j in jobs]
    index_path = args.out / "index.json"
    old: list[dict[str, Any]] = []
    if args.only and index_path.is_file():
        old = [
            e
            for e in json.loads(index_path.read_text(encoding="utf-8"))["clips"]
            if e["name"] not in args.only
        ]
    order = {s.name: k for k, s in enumerate(parse_spec(doc, args.section))}
    merged = sorted(old + kept + entries, key=lambda e: order.get(e["name"], len(order)))
    index = {
        "schema_version": SCHEMA_VERSION,
        "generator": "python -m formcheck.synth.generate",
        "spec": args.spec.name,
        "section": args.section,
        "preset": args.preset,
        "clips": merged,
    }
    index_path.write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(entries)} clips to {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
