"""The population's neutral back at the hinge, measured on the labelled real clips.

    python benchmarks/calibrate_spine.py [--lift deadlift|squat] [--cache DIR]

Rounding is estimated against what a neutral back reads at the hinge on real lifters with the
learned read-out (`spine_deadlift_population_neutral_deg` and `spine_squat_population_neutral_deg`
in src/formcheck/data/fault_measures.yaml). This prints that reading for every good-form side-view clip
of the lift in ../shared/clips/labels.csv (rounding = no; deadlifts: in_rounding_metric = yes):
each rep's hinge reading (formcheck.faults.hinge_rounding with no reference and no gain), a clip's
median over its reps, and the median over clips, the value to write into the data file. Clips
cached by benchmarks/spine_lab.py are replayed from the cache; the others are analysed by the
pipeline.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy  # benchmarks/ is not a package: imported from beside this file
import spine_lab


def hinge_readings(video: Path, cache: Path) -> list[float]:
    """The hinge reading (degrees of flexion, no reference) of every rep of one clip."""
    from formcheck import faults
    from formcheck.pipeline import AnalysisOptions, analyze

    if spine_lab._cache_file(cache, video).is_file():
        a = spine_lab.analyse_cached(video, cache)
    else:
        a = analyze(video, AnalysisOptions(write_video=False))
    raw = dataclasses.replace(
        faults.load_measure_params(),
        spine_deadlift_population_neutral_deg=0.0,
        spine_squat_population_neutral_deg=0.0,
    )
    out = []
    for rep in a.segmentation.reps:
        m = faults.hinge_rounding(faults.RepData(rep, a.angles, a.spine, raw))
        if m is not None:
            out.append(m.value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=spine_lab.DEFAULT_CACHE)
    parser.add_argument("--lift", choices=("deadlift", "squat"), default="deadlift")
    args = parser.parse_args()
    if not (accuracy.CLIPS / accuracy.LABELS_FILE).is_file():
        sys.exit(f"no labelled clips at {accuracy.CLIPS}")
    rows = [
        r
        for r in accuracy.real_labels(accuracy.CLIPS)
        if r["view"] == "side"
        and r["rounding"] == "no"
        and r["exercise"] == args.lift
        and (r["in_rounding_metric"] == "yes" or args.lift == "squat")
    ]
    medians = []
    for row in rows:
        readings = hinge_readings(accuracy.CLIPS / row["file"], args.cache)
        text = ", ".join(f"{v:.1f}" for v in readings) or "no rep with a hinge reading"
        print(f"{row['file']:<40} {text}")
        if readings:
            medians.append(float(np.median(readings)))
    print(
        f"\nneutral hinge reading over {len(medians)} good-form {args.lift} clips: median "
        f"{np.median(medians):.1f} deg, quartiles {np.percentile(medians, 25):.1f} / "
        f"{np.percentile(medians, 75):.1f} (spine_{args.lift}_population_neutral_deg)"
    )


if __name__ == "__main__":
    main()
