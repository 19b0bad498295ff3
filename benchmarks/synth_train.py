"""A rendered TRAINING set for a learned spine read-out: many lifters, separate from the benchmark
(seeds 101-236, 901-904) and the held-out set (benchmarks/synth_dev.yaml, seeds 5001-5048).

    python benchmarks/synth_train.py --n 2000 [--out ~/.cache/formcheck/synth-train-clothed] [--jobs 2]

Writes OUT/spec.yaml (clip i has seed FIRST_SEED + i; everything else follows from that seed, so
the same --n always gives the same set) and renders it with formcheck.synth.generate in batches of
--batch clips, resuming where an earlier run stopped (--skip-existing): run it again to go on.
Needs the `synth` extra. About 17 s of two cores per clip here (the first 140 clips in 40 minutes,
2026-12-07), so 2,000 clips take about ten hours; nothing of it is committed. Then cache the pose
output for it with `python benchmarks/spine_lab.py cache --set OUT` (about 4 s per clip with two
jobs).

Each clip draws: the lift; the camera from the lifter's left or right, up to 25 degrees off
side-on, 0.7-1.4 m high, 3.2-4.4 m away, filling 0.7-0.9 of the frame; frame size and rate of phone
clips; a spine profile (neutral, rounded or arched, 2-40 degrees, every onset, lumbar shares 0.3-0.8,
the lumbar bend between the typical distribution and one concentrated at L4-S1)
and 2-4 reps; clothes and muscle over the bare body (generate.Clothes: 0-4 cm of loose shirt,
0-3.5 cm more over the back; real lifters' backs lie further behind their hips and shoulders than
bare rendered ones). Body, colours, plates, lighting and backdrop follow from the seed (generate.py).
The set of clips 20000-20193 without clothes (before this draw) is the earlier training set,
~/.cache/formcheck/synth-train: `git show 12daa27:benchmarks/synth_train.py` renders it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

FIRST_SEED = 30000
DEFAULT_OUT = Path.home() / ".cache" / "formcheck" / "synth-train-clothed"
LOOSE_M = (0.0, 0.04)
BACK_M = (0.0, 0.035)
SIZES = ([360, 480], [480, 640], [640, 360], [480, 854], [720, 1280])
FPS = (24, 25, 30, 30, 60)
ROUND_ONSETS = ("every_rep", "bottom", "last_reps", "progressive")
ARCH_ONSETS = ("lockout", "setup")


def clip(i: int) -> dict[str, Any]:
    """Clip i of the training set, drawn from its own seed."""
    seed = FIRST_SEED + i
    rng = np.random.default_rng(seed)
    lift = str(rng.choice(["squat", "deadlift"]))
    kind = str(rng.choice(["neutral", "round", "round", "arch"]))
    spine: dict[str, Any] = {
        "kind": kind,
        "peak_deg": round(float(rng.uniform(2, 8) if kind == "neutral" else rng.uniform(5, 40)), 1),
        "lumbar_share": round(float(rng.uniform(0.3, 0.8)), 2),
    }
    if kind != "neutral":
        arch_onsets = ARCH_ONSETS if lift == "deadlift" else ARCH_ONSETS[:1]  # no squat setup arch
        spine["onset"] = str(rng.choice(ROUND_ONSETS if kind == "round" else arch_onsets))
    side = float(rng.choice([0.0, 180.0]))
    k = int(rng.integers(len(SIZES)))
    out = {
        "name": f"{lift}_{i:05d}_{kind}",
        "lift": lift,
        "seed": seed,
        "spine": spine,
        "size": SIZES[k],
        "fps": int(rng.choice(FPS)),
        "reps": int(rng.integers(2, 5)),
        "camera": {
            "azimuth_deg": round(side + float(rng.uniform(-25, 25)), 1),
            "height_m": round(float(rng.uniform(0.7, 1.4)), 2),
            "distance_m": round(float(rng.uniform(3.2, 4.4)), 2),
            "fill": round(float(rng.uniform(0.7, 0.9)), 2),
        },
    }
    spine["lumbar_low"] = round(float(rng.uniform(0, 1)), 2)
    out["clothes"] = {
        "loose_m": round(float(rng.uniform(*LOOSE_M)), 3),
        "back_m": round(float(rng.uniform(*BACK_M)), 3),
    }
    return out


def spec(n: int) -> dict[str, Any]:
    return {"clips": [clip(i) for i in range(n)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, required=True, help="how many clips")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=20, help="clips per generator run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    spec_path = args.out / "spec.yaml"
    doc = spec(args.n)
    spec_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    names = [c["name"] for c in doc["clips"]]
    for start in range(0, len(names), args.batch):
        batch = names[start : start + args.batch]
        if all((args.out / f"{name}.json").is_file() for name in batch):
            continue
        command = [sys.executable, "-m", "formcheck.synth.generate", "--spec", str(spec_path)]
        command += ["--out", str(args.out), "--jobs", str(args.jobs), "--skip-existing"]
        subprocess.run([*command, "--only", *batch], check=True)
        print(f"[{min(start + args.batch, len(names))}/{len(names)}]", flush=True)


if __name__ == "__main__":
    main()
