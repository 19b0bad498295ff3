"""Posing the anny body model for a lift: legs, pelvis, spine, head, arms (IK) and the barbell.

World frame (anny's): metres, z up, the lifter faces -y, +x is the lifter's LEFT. The floor is z = 0
and the midpoint of the ankles stays fixed at (0, 0, ankle height): the feet are planted.

Pose parameters use anny's 'local-ref' parameterization: one rotation per bone, in world-aligned
axes, about the bone's head in the identity pose, applied after its parent's. So a bone's world
rotation is R_child = R_parent @ D_child and its head moves as h_child = h_parent + R_parent
(q_child - q_parent), where q are the identity-pose heads (checked against anny to 1e-15). Spine
bones: +x = flexion, so the true total spinal bend relative to neutral is exactly the sum of the
five spine rotations.

Only load_anny() and skin() need torch and anny; they are imported there, so the rest of this module
(forward kinematics, IK, the pose recipe) runs and is tested on numpy alone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from formcheck.reps import Exercise, Phase
from formcheck.synth.motion import (
    LUMBAR_BONES,
    THORACIC_BONES,
    SagittalAngles,
    SpineCurve,
    Timeline,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

PHENOTYPE_KEYS = ("gender", "age", "muscle", "weight", "height", "proportions")


class OfflineError(RuntimeError):
    """Raised when building the body model tries to reach the network."""


@contextmanager
def no_network() -> Iterator[None]:
    """Block every outgoing connection (and tell Hugging Face tools to stay offline) in the
    block."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OfflineError(
            "synthetic generation must run offline, but something tried to open a network "
            f"connection ({args[1:] if len(args) > 1 else args}). The anny body model ships its "
            "data in its wheel; if it wants to download optional assets, this generator does not "
            "use them."
        )

    saved_env = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    saved_connect = socket.socket.connect
    saved_create = socket.create_connection
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket.connect = saved_connect  # type: ignore[method-assign]
        socket.create_connection = saved_create
        if saved_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved_env


def load_anny() -> Any:
    """The default anny body (linear blend skinning on the CPU), built with the network blocked.

    The first build on a machine takes a few minutes (anny caches it under ~/.cache/anny)."""
    try:
        import anny  # type: ignore[import-untyped,import-not-found,unused-ignore]
        import torch  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the synthetic generator needs torch and anny: pip install -e '.[synth]'"
        ) from exc
    torch.set_num_threads(1)
    with no_network():
        model = anny.Anny(skinning_method="lbs")
    return model.double().eval()


# --------------------------------------------------------------------------------------------------
# Rotations


def rot_x(deg: FloatArray) -> FloatArray:
    """(..., 3, 3) rotations about +x by deg (...)."""
    a = np.radians(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((*a.shape, 3, 3))
    out[..., 0, 0] = 1.0
    out[..., 1, 1], out[..., 1, 2] = c, -s
    out[..., 2, 1], out[..., 2, 2] = s, c
    return out


def rot_z(deg: FloatArray) -> FloatArray:
    a = np.radians(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((*a.shape, 3, 3))
    out[..., 2, 2] = 1.0
    out[..., 0, 0], out[..., 0, 1] = c, -s
    out[..., 1, 0], out[..., 1, 1] = s, c
    return out


def rotation_between(u: FloatArray, v: FloatArray) -> FloatArray:
    """(N, 3, 3) smallest rotations taking directions u (N, 3) onto v (N, 3)."""
    u = u / np.linalg.norm(u, axis=-1, keepdims=True)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    axis = np.cross(u, v)
    s = np.linalg.norm(axis, axis=-1)
    c = np.clip(np.sum(u * v, axis=-1), -1.0, 1.0)
    k = np.zeros((len(u), 3, 3))
    k[:, 0, 1], k[:, 0, 2] = -axis[:, 2], axis[:, 1]
    k[:, 1, 0], k[:, 1, 2] = axis[:, 2], -axis[:, 0]
    k[:, 2, 0], k[:, 2, 1] = -axis[:, 1], axis[:, 0]
    factor = np.where(s > 1e-12, (1.0 - c) / np.maximum(s * s, 1e-24), 0.5)
    return np.eye(3) + k + (k @ k) * factor[:, None, None]


# --------------------------------------------------------------------------------------------------
# Skeleton and forward kinematics


@dataclass(frozen=True)
class Skeleton:
    """names (B,), parents (B,) (-1 for the root, parents before children), heads_m (B, 3) bone
    heads in the identity pose; rest_vertices_m (V, 3) the identity-pose mesh (empty when not
    loaded)."""

    names: tuple[str, ...]
    parents: IntArray
    heads_m: FloatArray
    rest_vertices_m: FloatArray

    def __post_init__(self) -> None:
        if not all(0 <= int(self.parents[b]) < b for b in range(1, len(self.names))):
            raise ValueError("bones must be ordered parents first")

    def idx(self, name: str) -> int:
        return self.names.index(name)


def forward_kinematics(skel: Skeleton, local_rot: FloatArray) -> tuple[FloatArray, FloatArray]:
    """local_rot (T, B, 3, 3) -> world rotations (T, B, 3, 3) and posed heads (T, B, 3), the root
    rotating about the origin."""
    n_t, n_b = local_rot.shape[:2]
    world = np.empty_like(local_rot)
    heads = np.empty((n_t, n_b, 3))
    world[:, 0] = local_rot[:, 0]
    heads[:, 0] = local_rot[:, 0] @ skel.heads_m[0]
    for b in range(1, n_b):
        p = int(skel.parents[b])
        world[:, b] = world[:, p] @ local_rot[:, b]
        heads[:, b] = heads[:, p] + world[:, p] @ (skel.heads_m[b] - skel.heads_m[p])
    return world, heads


def posed_point(
    skel: Skeleton, world: FloatArray, heads: FloatArray, bone: int, rest_pt: FloatArray
) -> FloatArray:
    """(T, 3) position of a point rigidly attached to `bone`, given at rest_pt (3,) in the identity
    pose."""
    out: FloatArray = heads[:, bone] + world[:, bone] @ (rest_pt - skel.heads_m[bone])
    return out


def two_bone_ik(
    root: FloatArray, target: FloatArray, len_a: float, len_b: float, pole: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Middle joint (T, 3) and reachable end (T, 3) of a two-segment chain from root towards target,
    bending towards pole (T, 3) (a direction). Out-of-reach targets give a straight chain."""
    d_vec = target - root
    dist = np.linalg.norm(d_vec, axis=-1)
    reach = np.clip(dist, abs(len_a - len_b) + 1e-6, (len_a + len_b) * 0.9999)
    u = d_vec / np.maximum(dist, 1e-9)[:, None]
    v = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
    cos_a = np.clip((len_a**2 + reach**2 - len_b**2) / (2 * len_a * reach), -1.0, 1.0)
    mid = root + len_a * (cos_a[:, None] * u + np.sqrt(1.0 - cos_a**2)[:, None] * v)
    end = root + reach[:, None] * u
    return mid, end


# --------------------------------------------------------------------------------------------------
# The pose recipe


@dataclass(frozen=True)
class BarSpec:
    """plate_radius_m (bumper plates are 0.225), grip_half_width_m (hand to body centre,
    lateral)."""

    plate_radius_m: float = 0.225
    grip_half_width_m: float = 0.26


@dataclass(frozen=True)
class PosedSet:
    """Everything the renderer and the ground truth need, world frame, per frame (T, ...).

    local_rot (T, B, 3, 3) the pose parameters; offset_m (T, 3) translation added to the skinned
    body (feet planted); joints_m: name -> (T, 3) posed joint positions (offset included); bar_m (T,
    3) bar centre; bar_on_back: squat."""

    local_rot: FloatArray
    offset_m: FloatArray
    joints_m: dict[str, FloatArray]
    bar_m: FloatArray


JOINTS = {
    "shoulder": "upperarm01",
    "elbow": "lowerarm01",
    "wrist": "wrist",
    "hip": "upperleg01",
    "knee": "lowerleg01",
    "ankle": "foot",
    "toe": "toe3-1",
}


def _hand_rest_point(skel: Skeleton, side: str) -> FloatArray:
    """The palm centre in the identity pose (between the wrist and the middle knuckle)."""
    wrist = skel.heads_m[skel.idx(f"wrist.{side}")]
    knuckle = skel.heads_m[skel.idx(f"finger3-1.{side}")]
    return np.asarray(wrist + 0.55 * (knuckle - wrist), dtype=np.float64)


def floor_clearance_m(skel: Skeleton) -> float:
    """Ankle height above the sole in the identity pose."""
    feet = skel.rest_vertices_m
    ankle_z = skel.heads_m[skel.idx("foot.L"), 2]
    if len(feet) == 0:
        return 0.08
    return float(ankle_z - feet[:, 2].min())


def _squat_bar_rest_point(skel: Skeleton) -> FloatArray:
    """Where a high-bar squat bar sits in the identity pose: on the upper traps, just behind the
    back surface below the neck."""
    neck = skel.heads_m[skel.idx("neck01")]
    z = neck[2] - 0.035
    back_y = neck[1] + 0.07
    v = skel.rest_vertices_m
    if len(v):
        slab = v[(np.abs(v[:, 2] - z) < 0.02) & (np.abs(v[:, 0]) < 0.06)]
        if len(slab):
            back_y = float(slab[:, 1].max())
    return np.array([0.0, back_y + 0.005, z])


def pose_lift(
    skel: Skeleton,
    exercise: Exercise,
    tl: Timeline,
    angles: SagittalAngles,
    spine: SpineCurve,
    bar: BarSpec,
    toe_out_deg: float = 12.0,
) -> PosedSet:
    """Pose every frame of the set: feet planted flat, legs and pelvis from `angles`, spine from
    `spine`, the head kept looking ahead, arms reaching the bar by IK, and the bar's path."""
    n_t, n_b = len(tl), len(skel.names)
    local = np.broadcast_to(np.eye(3), (n_t, n_b, 3, 3)).copy()
    i = skel.idx
    local[:, 0] = rot_x(angles.pelvis_deg)
    for name, weight in zip(LUMBAR_BONES, spine.lumbar_weights, strict=True):
        local[:, i(name)] = rot_x(spine.lumbar_deg * weight)
    for name in THORACIC_BONES:
        local[:, i(name)] = rot_x(spine.thoracic_deg / len(THORACIC_BONES))
    look_ahead = 0.45 if exercise is Exercise.DEADLIFT else 0.35
    neck = -(look_ahead * angles.pelvis_deg + 0.4 * spine.total_deg)
    local[:, i("neck01")] = rot_x(neck * 0.6)
    local[:, i("neck02")] = rot_x(neck * 0.4)

    thigh_w = rot_x(-angles.thigh_pitch_deg)
    shank_w = rot_x(-angles.thigh_pitch_deg + angles.knee_deg)
    root_w = local[:, 0]
    for side, sign in (("L", 1.0), ("R", -1.0)):
        foot_w = np.broadcast_to(rot_z(np.array(sign * toe_out_deg)), (n_t, 3, 3))
        local[:, i(f"upperleg01.{side}")] = np.swapaxes(root_w, -1, -2) @ thigh_w
        local[:, i(f"lowerleg01.{side}")] = np.swapaxes(thigh_w, -1, -2) @ shank_w
        local[:, i(f"foot.{side}")] = np.swapaxes(shank_w, -1, -2) @ foot_w

    world, heads = forward_kinematics(skel, local)
    ankle_mid = 0.5 * (heads[:, i("foot.L")] + heads[:, i("foot.R")])
    anchor = np.array([0.0, 0.0, floor_clearance_m(skel)])
    offset = anchor[None, :] - ankle_mid

    # Hand targets and the bar path.
    shoulders = {s: heads[:, i(f"upperarm01.{s}")] + offset for s in ("L", "R")}
    upper = {
        s: float(
            np.linalg.norm(skel.heads_m[i(f"lowerarm01.{s}")] - skel.heads_m[i(f"upperarm01.{s}")])
        )
        for s in ("L", "R")
    }
    fore = {
        s: float(np.linalg.norm(_hand_rest_point(skel, s) - skel.heads_m[i(f"lowerarm01.{s}")]))
        for s in ("L", "R")
    }
    targets: dict[str, FloatArray] = {}
    poles: dict[str, FloatArray] = {}
    if exercise is Exercise.SQUAT:
        spine01 = i("spine01")
        bar_m = posed_point(skel, world, heads, spine01, _squat_bar_rest_point(skel)) + offset
        back_down = world[:, spine01] @ np.array([0.0, 0.5, -1.0])
        for s, sign in (("L", 1.0), ("R", -1.0)):
            targets[s] = bar_m + np.array([sign * bar.grip_half_width_m * 1.5, 0.0, 0.0])
            poles[s] = back_down + np.array([sign * 0.6, 0.0, 0.0])
    else:
        hang = {}
        for s, sign in (("L", 1.0), ("R", -1.0)):
            reach = (upper[s] + fore[s]) * 0.985
            hang[s] = shoulders[s] + np.array([sign * 0.05, 0.0, -reach])
        hang_mid = 0.5 * (hang["L"] + hang["R"])
        held = (tl.rep >= 1) | ((tl.phase == Phase.SETUP.value) & (tl.depth > 0.985))
        bar_m = np.empty((n_t, 3))
        bar_m[:, 0] = 0.0
        bar_m[:, 1] = hang_mid[:, 1]
        bar_m[:, 2] = np.maximum(bar.plate_radius_m, hang_mid[:, 2])
        first_held = int(np.argmax(held)) if held.any() else n_t - 1
        bar_m[~held] = [0.0, hang_mid[first_held, 1], bar.plate_radius_m]
        for s, sign in (("L", 1.0), ("R", -1.0)):
            grip = bar_m + np.array([sign * bar.grip_half_width_m, 0.0, 0.0])
            targets[s] = np.where(held[:, None], grip, hang[s])
            poles[s] = np.broadcast_to(np.array([sign * 0.3, 1.0, 0.0]), (n_t, 3))

    for s in ("L", "R"):
        ua, la = i(f"upperarm01.{s}"), i(f"lowerarm01.{s}")
        elbow, hand = two_bone_ik(shoulders[s], targets[s], upper[s], fore[s], poles[s])
        parent_w = world[:, int(skel.parents[ua])]
        a_rest = skel.heads_m[la] - skel.heads_m[ua]
        b_rest = _hand_rest_point(skel, s) - skel.heads_m[la]
        carried = parent_w @ a_rest
        ua_w = rotation_between(carried, elbow - shoulders[s]) @ parent_w
        fa_w = rotation_between(ua_w @ b_rest, hand - elbow) @ ua_w
        local[:, ua] = np.swapaxes(parent_w, -1, -2) @ ua_w
        local[:, la] = np.swapaxes(ua_w, -1, -2) @ fa_w

    world, heads = forward_kinematics(skel, local)
    joints: dict[str, FloatArray] = {}
    for key, bone in JOINTS.items():
        for s, word in (("L", "left"), ("R", "right")):
            joints[f"{word}_{key}"] = heads[:, i(f"{bone}.{s}")] + offset
    joints["head"] = heads[:, i("head")] + offset
    joints["neck"] = heads[:, i("neck01")] + offset
    return PosedSet(local, offset, joints, bar_m)


# --------------------------------------------------------------------------------------------------
# anny glue (torch)


def skeleton_for(model: Any, phenotype: dict[str, float]) -> Skeleton:
    """Identity-pose skeleton and mesh of one body shape."""
    import torch

    n_b = len(model.bone_labels)
    eye = torch.eye(4, dtype=torch.float64).repeat(1, n_b, 1, 1)
    ph = {k: torch.tensor([float(phenotype[k])], dtype=torch.float64) for k in PHENOTYPE_KEYS}
    with torch.no_grad():
        out = model(pose_parameters=eye, phenotype_kwargs=ph)
    return Skeleton(
        names=tuple(model.bone_labels),
        parents=np.array([-1, *list(model.bone_parents)[1:]], dtype=np.int64),
        heads_m=out["bone_poses"][0, :, :3, 3].numpy().astype(np.float64),
        rest_vertices_m=out["vertices"][0].numpy().astype(np.float64),
    )


def skin(
    model: Any, phenotype: dict[str, float], local_rot: FloatArray, batch: int = 48
) -> Iterator[FloatArray]:
    """Yield posed vertices (V, 3), frame by frame (offset NOT included)."""
    import torch

    n_t, n_b = local_rot.shape[:2]
    for start in range(0, n_t, batch):
        chunk = local_rot[start : start + batch]
        m = len(chunk)
        pose = torch.eye(4, dtype=torch.float64).repeat(m, n_b, 1, 1)
        pose[:, :, :3, :3] = torch.from_numpy(np.ascontiguousarray(chunk))
        ph = {k: torch.full((m,), float(phenotype[k]), dtype=torch.float64) for k in PHENOTYPE_KEYS}
        with torch.no_grad():
            verts = model(pose_parameters=pose, phenotype_kwargs=ph)["vertices"].numpy()
        yield from verts


def dominant_bones(model: Any) -> IntArray:
    """(V,) index of the bone with the largest skinning weight of each vertex."""
    w = model.vertex_bone_weights.numpy()
    idx = model.vertex_bone_indices.numpy()
    return np.asarray(idx[np.arange(len(idx)), np.argmax(w, axis=1)], dtype=np.int64)


def faces_of(model: Any) -> IntArray:
    return np.asarray(model.faces.numpy(), dtype=np.int64)
