"""How much of the true spine bend a back measurement sees, and how much noise comes with it.

    python benchmarks/spine_snr.py [--set benchmarks/synth] [--cache DIR] [--min-confidence 0.2]

Reads the pose output spine_lab.py cached (run `spine_lab.py cache [--set DIR]` first). For every
side-view frame (camera within 22 degrees of side-on) of every rendered clip, the learned read-out
(spine.measure_back) reads the back, and measure_outline reads its outline with each span pair below
(and the project's outline as curvature too), once with MediaPipe's hip landmarks and once with the
rig's true hip joints in their place. Per lift and
variant the readings are fitted as

    reading = seen * true_flexion + posture * true_hip_flexion + (one offset per clip)

by least squares, so the lifter's neutral, however it is estimated, is out of the picture. Printed:
`seen` (1.0 = the whole bend shows), `posture` (degrees read per degree of hip flexion with a
straight back), the robust SD of what is left (per frame, degrees) and `snr15` = seen x 15 / that SD:
how many noise SDs a 15-degree rounding moves the reading. A rep-level verdict that is right 95 % of
the time at 15 degrees needs the rep's reading several SDs clear of the threshold; on 2026-12-02 no
outline variant reached 3 on both rendered sets (docs/accuracy.md).

This is a measuring instrument for the method's ceiling, not a scorer of the product: the pipeline's
figures are still the ones benchmarks/accuracy.py prints.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy  # benchmarks/ is not a package: imported from beside this file
import spine_lab

FloatArray = NDArray[np.float64]

#: (lumbar span, thoracic span), fractions of the hip -> shoulder length; the project's first
SPANS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "project": ((0.3, 0.5), (0.55, 0.9)),
    "lumbar 0.15": ((0.15, 0.35), (0.55, 0.9)),
    "lumbar 0.05": ((0.05, 0.25), (0.55, 0.9)),
}
#: a curvature read-out over the whole outline: the bend of a parabola fitted robustly to it
#: between these fractions (all stations take part; the tangents use two short spans)
CURVATURE_SPAN = (0.2, 0.9)
MAX_YAW_DEG = 22.0
_HIPS = (23, 24)
_SHOULDERS = (11, 12)


@dataclass(frozen=True)
class Fit:
    """reading = seen * truth + posture * hip + offset[clip]; rsd: robust SD of the rest."""

    seen: float
    posture: float
    rsd: float
    n_frames: int
    n_clips: int

    @property
    def snr15(self) -> float:
        return 15.0 * self.seen / self.rsd if self.rsd > 0 else float("nan")


def fit_readings(
    reading: FloatArray, truth: FloatArray, hip: FloatArray, clip: NDArray[np.int_]
) -> Fit:
    """Least-squares fit of the model above over the finite readings (clip: an id per frame)."""
    ok = np.isfinite(reading) & np.isfinite(truth) & np.isfinite(hip)
    ids, col = np.unique(clip[ok], return_inverse=True)
    x = np.zeros((int(ok.sum()), 2 + len(ids)))
    x[:, 0], x[:, 1] = truth[ok], hip[ok]
    x[np.arange(len(col)), 2 + col] = 1.0
    coef, *_ = np.linalg.lstsq(x, reading[ok], rcond=None)
    rest = reading[ok] - x @ coef
    rsd = 1.4826 * float(np.median(np.abs(rest - np.median(rest))))
    return Fit(float(coef[0]), float(coef[1]), rsd, int(ok.sum()), len(ids))


def curvature_deg(
    contour_px: FloatArray, xy_px: FloatArray, visibility: FloatArray, span: tuple[float, float]
) -> float:
    """The outline's bend read as curvature: in the torso frame (u along hip -> shoulder, v towards
    the back, both / L), v = c0 + c1 u + c2 u^2 is fitted over span with up to 3 rounds of dropping
    points beyond max(3 robust sigmas, 0.02); the turning over the span, -2 c2 (hi - lo), in degrees
    (+ convex towards the back = rounded). NaN with fewer than 8 stations in the span."""
    from formcheck import torso

    vis = np.clip(np.where(np.isfinite(visibility), visibility, 0.0), 0.0, 1.0)
    hip = torso.weighted_point(xy_px, vis, _HIPS)
    axis = torso.weighted_point(xy_px, vis, _SHOULDERS) - hip
    length = float(np.hypot(axis[0], axis[1]))
    if len(contour_px) < 8 or not length > 0:
        return float("nan")
    a = axis / length
    u = (contour_px - hip) @ a / length
    v = (contour_px - hip) @ np.array([a[1], -a[0]]) / length
    v = v * np.sign(np.median(v))  # the outline lies on the back's side of the axis
    inside = (u >= span[0]) & (u <= span[1])
    u, v = u[inside], v[inside]
    keep = np.ones(len(u), dtype=bool)
    coef = np.full(3, np.nan)
    for _ in range(3):
        if keep.sum() < 8:
            return float("nan")
        coef = np.polyfit(u[keep], v[keep], 2)
        rest = v - np.polyval(coef, u)
        mad = float(np.median(np.abs(rest[keep] - np.median(rest[keep]))))
        new_keep = np.abs(rest) <= max(3.0 * 1.4826 * mad, 0.02)
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return float(np.degrees(-2.0 * coef[0] * (span[1] - span[0])))


def _true_hips(row: dict[str, str]) -> FloatArray:
    return np.array(
        [
            [float(row[f"{side}_hip_x_px"]), float(row[f"{side}_hip_y_px"])]
            for side in ("left", "right")
        ]
    )


def _read_clip(
    folder: Path, cache: Path, min_confidence: float, k: int, entry: dict[str, str],
    cols: dict[str, dict[str, list[list[float]]]],
) -> None:  # fmt: skip
    """Append one side-view clip's frames, [reading, truth, hip, k] per variant, to cols[lift]."""
    from formcheck import spine

    truth = json.loads((folder / (Path(entry["video"]).stem + ".json")).read_text())
    if abs(accuracy.side_yaw_deg(truth["azimuth_deg"])) > MAX_YAW_DEG:
        return
    cached = spine_lab._cache_file(cache, folder / entry["video"])
    if not cached.is_file():
        sys.exit(f"not cached yet: {entry['name']} (run: python benchmarks/spine_lab.py cache)")
    data = np.load(cached)
    with (folder / truth["frames_csv"]).open() as fh:
        rows = list(csv.DictReader(fh))
    per_lift = cols.setdefault(truth["lift"], {})
    for xy, vis, m, row in zip(data["xy"], data["vis"], data["masks"], rows, strict=False):
        mask = None if np.all(m == spine_lab.NO_MASK) else m.astype(np.float32) / 254.0
        true_xy = xy.copy()
        true_xy[list(_HIPS)] = _true_hips(row)
        for hips, landmarks in (("MediaPipe hips", xy), ("true hips", true_xy)):
            readings: dict[str, float] = {}
            learned = spine.measure_back(mask, landmarks, vis, facing=int(truth["facing"]))
            readings["learned read-out"] = (
                learned.flexion_deg if learned.confidence >= min_confidence else float("nan")
            )
            for name, (lumbar, thoracic) in SPANS.items():
                spans = dataclasses.replace(
                    spine.load_spine_params(), lumbar_span=lumbar, thoracic_span=thoracic
                )
                s = spine.measure_outline(
                    mask, landmarks, vis, facing=int(truth["facing"]), params=spans
                )
                usable = s.confidence >= min_confidence
                readings[name] = s.flexion_deg if usable else float("nan")
                if name == "project":  # the same outline, read as curvature
                    readings[f"curvature {CURVATURE_SPAN[0]}-{CURVATURE_SPAN[1]}"] = (
                        curvature_deg(s.contour_px, landmarks, vis, CURVATURE_SPAN)
                        if usable
                        else float("nan")
                    )
            for name, value in readings.items():
                per_lift.setdefault(f"{name}, {hips}", []).append(
                    [value, float(row["spine_flex_deg"]), float(row["hip_flex_deg"]), k]
                )


def read_set(
    folder: Path, cache: Path, min_confidence: float
) -> dict[str, dict[str, tuple[FloatArray, FloatArray, FloatArray, NDArray[np.int_]]]]:
    """{lift: {variant: (reading, truth, hip, clip id)}} over the side-view frames of the set."""

    index = json.loads((folder / "index.json").read_text())
    cols: dict[str, dict[str, list[list[float]]]] = {}
    for k, entry in enumerate(index["clips"]):
        _read_clip(folder, cache, min_confidence, k, entry, cols)
    out: dict[str, dict[str, tuple[FloatArray, FloatArray, FloatArray, NDArray[np.int_]]]] = {}
    for lift, variants in cols.items():
        out[lift] = {}
        for name, values in variants.items():
            a = np.asarray(values, dtype=np.float64)
            out[lift][name] = (a[:, 0], a[:, 1], a[:, 2], a[:, 3].astype(np.int_))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=accuracy.SYNTH)
    parser.add_argument("--cache", type=Path, default=spine_lab.DEFAULT_CACHE)
    parser.add_argument("--min-confidence", type=float, default=0.2)
    args = parser.parse_args()
    if not (args.set / "index.json").is_file():
        sys.exit(f"no benchmark set at {args.set} (expected index.json)")
    print(f"{'lift':9s} {'variant':36s} {'frames':>6s} {'clips':>5s} {'seen':>6s} "
          f"{'posture':>8s} {'rsd':>5s} {'snr15':>5s}")  # fmt: skip
    for lift, variants in read_set(args.set, args.cache, args.min_confidence).items():
        for name, series in variants.items():
            f = fit_readings(*series)
            print(f"{lift:9s} {name:36s} {f.n_frames:6d} {f.n_clips:5d} {f.seen:+6.2f} "
                  f"{f.posture:+8.3f} {f.rsd:5.2f} {f.snr15:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
