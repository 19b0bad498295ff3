"""What the back's outline can show of the rendered lifter's spine bend, with nothing else in the way.

    python benchmarks/silhouette_probe.py [--clips NAME...] [--arms] [--span LO HI LO HI ...]

Needs the generator's optional dependencies (pip install -e '.[synth]': torch, anny). For each side-view
clip of benchmarks/synth_set.yaml (or the ones named), the lifter is posed twice from the same seed:
with the clip's spine curve and with a straight (zero) spine. At one standing frame and at the frame of
each rep where the true bend peaks, the EXACT silhouette is rasterised (body faces only, arms removed
unless --arms; no MediaPipe mask) and measured by formcheck.spine.measure_back with the rig's true
shoulder and hip joints (and elbows and wrists with --arms) as the landmarks. Printed per clip and span
pair (lumbar LO HI, thoracic LO HI, fractions of the hip->shoulder length; the project's spans first):

* seen: reading(clip's spine) - reading(zero spine) at the peak frames, and its ratio to the true bend
  (1.0 would be a method that sees the whole bend);
* posture: reading(zero spine) at those frames minus at the standing frame: what a neutral back reads
  at that posture relative to standing (0 would be a method blind to posture).

So the geometry of the method is separated from the pose model: measured on 2026-12-01, the project's
spans see 0.25-0.33 of the rig's bend with a posture term within +-2 deg, while MediaPipe's hip
landmark, which rides up the back by ~0.18 of the torso length at a deep hinge, adds a reading that
grows with depth (README, Accuracy).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "benchmarks" / "synth_set.yaml"
JOINTS = {
    "left_shoulder": 11,
    "right_shoulder": 12,
    "left_hip": 23,
    "right_hip": 24,
}
ARM_JOINTS = {"left_elbow": 13, "right_elbow": 14, "left_wrist": 15, "right_wrist": 16}
ARM_BONES = ("upperarm", "lowerarm", "wrist", "finger", "metacarpal", "thumb")


def probe_clip(
    spec: Any, spans: list[tuple[tuple[float, float], tuple[float, float]]], arms: bool
) -> None:
    from formcheck import spine
    from formcheck.synth import generate, motion, raster, rig

    prep = generate.prepare(spec)
    faces = rig.faces_of(prep.model)
    if not arms:
        names = np.array(prep.skel.names)
        on_arm = np.zeros(len(names), dtype=bool)
        for prefix in ARM_BONES:
            on_arm |= np.char.startswith(names, prefix)
        faces = faces[~np.any(on_arm[rig.dominant_bones(prep.model)][faces], axis=1)]
    landmarks = JOINTS | (ARM_JOINTS if arms else {})
    facing = -1 if math.cos(math.radians(spec.camera.azimuth_deg)) >= 0 else 1
    tl, total = prep.timeline, prep.spine.total_deg
    frames = [int(np.argmin(np.where(tl.rep == 0, tl.depth, np.inf)))]  # standing, before rep 1
    for r in range(1, tl.n_reps + 1):
        idx = np.flatnonzero(tl.rep == r)
        if idx.size:
            frames.append(int(idx[np.argmax(np.abs(total[idx]))]))
    zero = motion.SpineCurve(np.zeros(len(tl)), np.zeros(len(tl)))

    def readings(curve: Any) -> dict[int, list[float]]:
        posed = rig.pose_lift(
            prep.skel, spec.lift, tl, prep.angles, curve, prep.bar, prep.keys.toe_out_deg
        )
        out: dict[int, list[float]] = {}
        skinned = rig.skin(prep.model, prep.look.phenotype, posed.local_rot[frames])
        for k, verts in zip(frames, skinned, strict=True):
            cam = prep.camera
            pix, _ = raster.rasterize(cam, verts + posed.offset_m[k], faces)
            mask = np.zeros(cam.width * cam.height, np.float32)
            mask[pix] = 1.0
            xy, vis = np.full((33, 2), np.nan), np.zeros(33)
            for joint, i in landmarks.items():
                xy[i], vis[i] = cam.project(posed.joints_m[joint][k])[0], 1.0
            row = []
            for lumbar, thoracic in spans:
                params = dataclasses.replace(
                    spine.load_spine_params(), lumbar_span=lumbar, thoracic_span=thoracic
                )
                sample = spine.measure_back(
                    mask.reshape(cam.height, cam.width), xy, vis, facing, params
                )
                row.append(sample.flexion_deg)
            out[k] = row
        return out

    bent, straight = readings(prep.spine), readings(zero)
    peaks = frames[1:]
    print(f"{spec.name}: true bend at the peaks {np.round(total[peaks], 1).tolist()}")
    for j, (lumbar, thoracic) in enumerate(spans):
        seen = np.array([bent[k][j] - straight[k][j] for k in peaks])
        posture = np.array([straight[k][j] - straight[frames[0]][j] for k in peaks])
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(np.abs(total[peaks]) > 1.0, seen / total[peaks], np.nan)
        print(
            f"  spans {lumbar} {thoracic}: seen {np.round(seen, 1).tolist()} "
            f"(ratio {np.round(ratio, 2).tolist()}), posture {np.round(posture, 1).tolist()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", help="clip names (default: every side-view clip)")
    parser.add_argument("--arms", action="store_true", help="keep the arms in the silhouette")
    parser.add_argument(
        "--span",
        nargs=4,
        type=float,
        action="append",
        metavar=("LO", "HI", "LO2", "HI2"),
        help="another lumbar and thoracic span pair to try (repeatable)",
    )
    args = parser.parse_args()
    try:
        import anny  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        sys.exit("needs the generator's dependencies: pip install -e '.[synth]'")
    from formcheck import spine
    from formcheck.synth import generate

    project = spine.load_spine_params()
    spans = [(project.lumbar_span, project.thoracic_span)]
    spans += [((a, b), (c, d)) for a, b, c, d in args.span or []]
    specs = generate.parse_spec(yaml.safe_load(SPEC.read_text()), "clips")
    chosen = [
        s
        for s in specs
        if (s.name in args.clips if args.clips else s.camera.view == "side" and "yaw" not in s.name)
    ]
    for spec in chosen:
        probe_clip(spec, spans, args.arms)


if __name__ == "__main__":
    main()
