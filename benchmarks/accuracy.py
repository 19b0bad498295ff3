"""Accuracy of formcheck against ground truth: rendered lifters with known spines, and labelled real clips.

    python benchmarks/accuracy.py [--set benchmarks/synth] [--no-real] [--jobs 2] [--json]

Synthetic set (benchmarks/synth, made by formcheck.synth.generate): per view group and per lift,
  * spinal flexion error vs truth, relative to neutral (MAE, bias, 95th percentile, degrees), over
    frames where formcheck produced a value;
  * trunk / hip / knee angle MAE (2-D measurement vs the rig's 3-D truth);
  * rep count exact-match rate (full reps: a rep the report marks partial is not counted, as the
    generator's truth counts only whole reps and the CLI says "3 rep(s) + 1 partial");
  * fault precision / recall / F1 per fault code (reps matched by time; borderline labels skipped);
  * for views that cannot support a spine verdict (oblique, front): how often the verdict was withheld
    (a `view_unsuitable_for_spine` / `spine_low_confidence` warning, or no back fault at all) and how often
    a back fault was confidently wrong.
Real clips (../shared/clips, where present): weak labels from the MANIFEST, printed separately.

--json prints one object for the side-view subset (|camera yaw| <= 20 deg): spine_mae_deg, spine_p95_deg,
spine_bias_deg, rep_exact_rate, fault_f1 {code: F1}, n_clips, plus the per-group tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SYNTH = REPO / "benchmarks" / "synth"
CLIPS = REPO.parent / "shared" / "clips"
SIDE_MAX_YAW_DEG = 20.0
BACK_CODES = ("back_rounding", "back_overarch")
WITHHELD_CODES = {"view_unsuitable_for_spine", "spine_low_confidence", "spine_neutral_unsteady"}
CONFIDENT = 0.5


def _run_clip(video: str) -> dict[str, Any]:
    """Analyse one clip; return its report and the per-frame series the scorer needs."""
    from formcheck.pipeline import AnalysisOptions, analyze

    return run_result(analyze(Path(video), AnalysisOptions(write_video=False)))


def run_result(a: Any) -> dict[str, Any]:
    """The parts of a pipeline.Analysis the scorer reads (plain lists: they cross processes)."""
    return {
        "report": a.report.to_dict(),
        "t_s": a.angles.t_s.tolist(),
        "spine_rel": a.spine.flexion_rel_deg.tolist(),
        "trunk": a.angles.trunk_incl_deg.tolist(),
        "hip": a.angles.hip_flex_deg.tolist(),
        "knee": a.angles.knee_flex_deg.tolist(),
    }


def run_all(videos: list[Path], jobs: int) -> list[dict[str, Any]]:
    if jobs <= 1:
        return [_run_clip(str(v)) for v in videos]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_run_clip, [str(v) for v in videos]))


def _truth_frames(path: Path) -> dict[str, np.ndarray]:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    return {
        k: np.array([float(r[k]) for r in rows])
        for k in ("t_s", "spine_flex_deg", "trunk_incl_deg", "hip_flex_deg", "knee_flex_deg")
    }


def _arr(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _match_reps(true_reps: list[dict[str, Any]], found: list[dict[str, Any]]) -> dict[int, int]:
    """true rep index -> found rep index, by largest time overlap (each found rep used once)."""
    pairs = []
    for t in true_reps:
        for f in found:
            overlap = min(t["end_s"], f["end_s"]) - max(t["start_s"], f["start_s"])
            if overlap > 0:
                pairs.append((overlap / (t["end_s"] - t["start_s"]), t["index"], f["index"]))
    out: dict[int, int] = {}
    used: set[int] = set()
    for score, ti, fi in sorted(pairs, reverse=True):
        if score >= 0.3 and ti not in out and fi not in used:
            out[ti] = fi
            used.add(fi)
    return out


def score_clip(
    truth: dict[str, Any], frames: dict[str, np.ndarray], run: dict[str, Any]
) -> dict[str, Any]:
    report = run["report"]
    n = min(len(frames["t_s"]), len(run["t_s"]))
    errors = {}
    for key, truth_key in (
        ("spine_rel", "spine_flex_deg"),
        ("trunk", "trunk_incl_deg"),
        ("hip", "hip_flex_deg"),
        ("knee", "knee_flex_deg"),
    ):
        err = _arr(run[key])[:n] - frames[truth_key][:n]
        errors[key] = err[np.isfinite(err)]
    found = report["reps"]
    match = _match_reps(truth["reps"], found)
    found_codes = {r["index"]: {f["code"]: f for f in r["faults"]} for r in found}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    confidently_wrong = 0
    for label in truth["labels"]:
        if label.get("borderline"):
            continue
        code, ti = label["code"], label["rep_index"]
        fault = found_codes.get(match.get(ti, -1), {}).get(code)
        if label["present"] and fault:
            counts[code][0] += 1
        elif label["present"]:
            counts[code][2] += 1
        elif fault:
            counts[code][1] += 1
            confidently_wrong += int(code in BACK_CODES and fault["confidence"] >= CONFIDENT)
    labelled_codes = {lab["code"] for lab in truth["labels"]}
    matched_found = set(match.values())
    for rep in found:  # faults on reps that match no true rep are false positives
        if rep["index"] not in matched_found:
            for f in rep["faults"]:
                if f["code"] in labelled_codes:
                    counts[f["code"]][1] += 1
    warnings = {w["code"] for w in report["warnings"]}
    back_found = [f for r in found for f in r["faults"] if f["code"] in BACK_CODES]
    withheld = bool(warnings & WITHHELD_CODES) or not back_found
    return {
        "name": truth["name"],
        "lift": truth["lift"],
        "view": truth["view"],
        "yaw": side_yaw_deg(float(truth.get("azimuth_deg", 0.0))),
        "errors": errors,
        "rep_exact": _full_reps(found) == truth["n_reps"],
        "n_found": _full_reps(found),
        "n_true": truth["n_reps"],
        "counts": dict(counts),
        "withheld": withheld,
        "confidently_wrong": confidently_wrong,
        "peak_found": max((r["spine"]["peak_flexion_rel_deg"] or -99 for r in found), default=None),
    }


def _full_reps(reps: list[dict[str, Any]]) -> int:
    return sum(1 for r in reps if not r["partial"])


def side_yaw_deg(azimuth_deg: float) -> float:
    """How far the camera is from side-on, -90..90: the generator's azimuth 0 (the lifter's left)
    and 180 (their right) are both side views, 25 and 155 both 25 degrees off (until 2026-12-02
    the raw azimuth was compared, so every right-side clip counted as 'side_yaw25')."""
    return (azimuth_deg + 90.0) % 180.0 - 90.0


def group_of(s: dict[str, Any]) -> str:
    if s["view"] == "side":
        return "side" if abs(s["yaw"]) <= SIDE_MAX_YAW_DEG else "side_yaw25"
    return s["view"]


def summarise(scores: list[dict[str, Any]]) -> dict[str, Any]:
    def cat(key: str) -> np.ndarray:
        parts = [s["errors"][key] for s in scores if len(s["errors"][key])]
        return np.concatenate(parts) if parts else np.zeros(0)

    spine = cat("spine_rel")
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for s in scores:
        for code, (tp, fp, fn) in s["counts"].items():
            totals[code][0] += tp
            totals[code][1] += fp
            totals[code][2] += fn
    prf = {}
    for code, (tp, fp, fn) in sorted(totals.items()):
        p = tp / (tp + fp) if tp + fp else math.nan
        r = tp / (tp + fn) if tp + fn else math.nan
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan
        prf[code] = {
            "precision": _r(p),
            "recall": _r(r),
            "f1": _r(f1),
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }
    return {
        "n_clips": len(scores),
        "spine_mae_deg": _r(np.mean(np.abs(spine))) if len(spine) else None,
        "spine_bias_deg": _r(np.mean(spine)) if len(spine) else None,
        "spine_p95_deg": _r(np.percentile(np.abs(spine), 95)) if len(spine) else None,
        "spine_coverage": _r(len(spine) / max(sum(len(s["errors"]["trunk"]) for s in scores), 1)),
        "trunk_mae_deg": _r(np.mean(np.abs(cat("trunk")))),
        "hip_mae_deg": _r(np.mean(np.abs(cat("hip")))),
        "knee_mae_deg": _r(np.mean(np.abs(cat("knee")))),
        "rep_exact_rate": _r(np.mean([s["rep_exact"] for s in scores])),
        "faults": prf,
        "fault_f1": {code: v["f1"] for code, v in prf.items()},
        "withheld_rate": _r(np.mean([s["withheld"] for s in scores])),
        "confidently_wrong_back_faults": int(sum(s["confidently_wrong"] for s in scores)),
        "no_back_fault_on_neutral": all(
            s["counts"].get(c, [0, 0, 0])[1] == 0
            for s in scores
            for c in BACK_CODES
            if "neutral" in s["name"]
        ),
    }


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 3)


def evaluate_synth(folder: Path, jobs: int) -> dict[str, Any]:
    clips = json.loads((folder / "index.json").read_text())["clips"]
    return score_runs(folder, clips, run_all([folder / c["video"] for c in clips], jobs))


def score_runs(
    folder: Path, clips: list[dict[str, Any]], runs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Per-group summaries and the per-clip table for runs (run_result dicts) of the index clips."""
    scores = []
    for clip, run in zip(clips, runs, strict=True):
        truth = json.loads((folder / clip["truth_json"]).read_text())
        scores.append(score_clip(truth, _truth_frames(folder / clip["frames_csv"]), run))
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in scores:
        groups[group_of(s)].append(s)
        groups[f"{group_of(s)}/{s['lift']}"].append(s)
    result = {name: summarise(items) for name, items in sorted(groups.items())}
    result["clips"] = [
        {k: s[k] for k in ("name", "n_true", "n_found", "withheld", "peak_found")}
        | {
            "spine_mae_deg": _r(np.mean(np.abs(s["errors"]["spine_rel"])))
            if len(s["errors"]["spine_rel"])
            else None
        }
        for s in scores
    ]
    return result


# Weak real-world labels (MANIFEST): clips that show a clearly rounded back, and good-form clips.
REAL_ROUNDED = [f"bichraix-deadlift/{n}.mp4" for n in ("bad005", "bad007", "bad014", "bad018")]
REAL_GOOD = [
    "formfit/deadlift.mp4",
    "formfit/squat.mp4",
    "yfgd-deadlift/Good_000001.mp4",
    "yfgd-deadlift/Good_000006.mp4",
] + [f"bichraix-deadlift/good{n:03d}.mp4" for n in (1, 4, 5, 8, 10, 12, 14, 17, 19)]


def real_clip_names(clips: Path) -> list[str]:
    """The labelled real clips present under clips (paths relative to it)."""
    wt = sorted((clips / "workouttracker-squat").glob("*.labels.csv"))
    names = (
        REAL_ROUNDED
        + REAL_GOOD
        + [f"workouttracker-squat/{p.name.replace('.labels.csv', '.mp4')}" for p in wt]
    )
    return [n for n in names if (clips / n).is_file()]


def evaluate_real(
    clips: Path, jobs: int, runner: Callable[[list[Path]], list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The weak-label summary of the real clips; runner(videos) -> run_result dicts (default:
    the whole pipeline, `jobs` at a time; spine_lab passes its cached replay)."""
    wt = sorted((clips / "workouttracker-squat").glob("*.labels.csv"))
    names = real_clip_names(clips)
    run = runner or (lambda videos: run_all(videos, jobs))
    runs = dict(zip(names, run([clips / n for n in names]), strict=True))

    def back(name: str) -> list[str]:
        return sorted(
            {
                f["code"]
                for r in runs[name]["report"]["reps"]
                for f in r["faults"]
                if f["code"] in BACK_CODES
            }
        )

    rows = []
    for name in names:
        rep = runs[name]["report"]
        peaks = [r["spine"]["peak_flexion_rel_deg"] for r in rep["reps"]]
        rows.append(
            {
                "clip": name,
                "view": rep["view"],
                "exercise": rep["exercise"],
                "reps": len(rep["reps"]),
                "back_faults": back(name),
                "spine_peaks": peaks,
                "warnings": [w["code"] for w in rep["warnings"]],
            }
        )
    rounded = [n for n in names if n in REAL_ROUNDED]
    good = [n for n in names if n in REAL_GOOD]
    rep_rows = []
    for p in wt:
        name = f"workouttracker-squat/{p.name.replace('.labels.csv', '.mp4')}"
        with p.open() as fh:
            labelled = sum(1 for r in csv.DictReader(fh) if float(r["label"]) >= 0.999)
        rep_rows.append((name, labelled, _full_reps(runs[name]["report"]["reps"])))
    return {
        "rounded_flagged": f"{sum('back_rounding' in back(n) for n in rounded)}/{len(rounded)}",
        "good_without_back_fault": f"{sum(not back(n) for n in good)}/{len(good)}",
        "rep_count_exact": f"{sum(a == b for _, a, b in rep_rows)}/{len(rep_rows)}",
        "rep_counts": [{"clip": n, "labelled": a, "found": b} for n, a, b in rep_rows],
        "clips": rows,
    }


def _print_table(result: dict[str, Any]) -> None:
    cols = (
        "n_clips",
        "spine_mae_deg",
        "spine_bias_deg",
        "spine_p95_deg",
        "spine_coverage",
        "trunk_mae_deg",
        "hip_mae_deg",
        "knee_mae_deg",
        "rep_exact_rate",
        "withheld_rate",
        "confidently_wrong_back_faults",
    )
    print(
        f"{'group':<22}"
        + "".join(f"{c.replace('_deg', '').replace('spine_', 's_'):>12}" for c in cols)
    )
    for name, s in result.items():
        if name == "clips":
            continue
        print(f"{name:<22}" + "".join(f"{s[c]!s:>12}" for c in cols))
    print("\nfault precision / recall / F1 (tp fp fn) per group")
    for name, s in result.items():
        if name == "clips" or "/" in name:
            continue
        for code, v in s["faults"].items():
            print(
                f"  {name:<12} {code:<20} P={v['precision']} R={v['recall']} F1={v['f1']} "
                f"({v['tp']} {v['fp']} {v['fn']})"
            )
    print(
        "\nper clip: true reps, found reps, verdict withheld, peak spine flexion found, spine MAE"
    )
    for c in result["clips"]:
        print(
            f"  {c['name']:<36} {c['n_true']} {c['n_found']} {c['withheld']!s:<6} "
            f"{c['peak_found']} {c['spine_mae_deg']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=SYNTH)
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.set / "index.json").is_file():
        sys.exit(
            f"no benchmark set at {args.set} (expected index.json; see benchmarks/synth/README.md)"
        )
    synth = evaluate_synth(args.set, args.jobs)
    real = (
        None
        if args.no_real or not (CLIPS / "MANIFEST.md").is_file()
        else evaluate_real(CLIPS, args.jobs)
    )
    if args.json:
        side = synth.get("side", {})
        out = {
            k: side.get(k)
            for k in (
                "spine_mae_deg",
                "spine_p95_deg",
                "spine_bias_deg",
                "rep_exact_rate",
                "fault_f1",
                "n_clips",
                "no_back_fault_on_neutral",
            )
        }
        out["groups"] = {k: v for k, v in synth.items() if k != "clips"}
        out["clips"] = synth["clips"]
        out["real"] = real
        print(json.dumps(out))
        return
    print("== synthetic set (ground truth) ==")
    _print_table(synth)
    if real is None:
        print(f"\n== real clips: skipped ({CLIPS} not found or --no-real) ==")
        return
    print_real(real)


def print_real(real: dict[str, Any]) -> None:
    print("\n== real clips (weak labels; reported, not tuned to) ==")
    print(f"clearly rounded deadlifts flagged for back_rounding: {real['rounded_flagged']}")
    print(f"good-form clips without a back fault:               {real['good_without_back_fault']}")
    print(f"WorkoutTracker squat rep counts exact:               {real['rep_count_exact']}")
    for row in real["clips"]:
        print(
            f"  {row['clip']:<40} {row['view']:<8} {row['exercise']:<9} reps={row['reps']} "
            f"back={row['back_faults']} peaks={row['spine_peaks']} warnings={row['warnings']}"
        )


if __name__ == "__main__":
    main()
