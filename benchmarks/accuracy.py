"""Accuracy of formcheck against ground truth: rendered lifters with known spines, and labelled real clips.

    python benchmarks/accuracy.py [--set benchmarks/synth] [--no-real | --real] [--jobs 2] [--json]

Synthetic set (benchmarks/synth, made by formcheck.synth.generate): per view group and per lift,
  * spinal flexion error vs truth, relative to neutral (MAE, bias, 95th percentile, degrees), over
    frames where formcheck produced a value;
  * trunk / hip / knee angle MAE (2-D measurement vs the rig's 3-D truth);
  * rep count exact-match rate (full reps: a rep the report marks partial is not counted, as the
    generator's truth counts only whole reps and the CLI says "3 reps + 1 partial");
  * fault precision / recall / F1 per fault code (reps matched by time; borderline labels skipped);
  * for views that cannot support a spine verdict (oblique, front): how often the verdict was withheld
    (a `view_unsuitable_for_spine` / `spine_low_confidence` warning, or no back fault at all) and how often
    a back fault was confidently wrong.
Real clips (../shared/clips/labels.csv, where present; --real: only these): back_rounding and
back_overarch balanced accuracy on the `in_rounding_metric` side-view clips (a withheld verdict counts
as not flagged) with the share judged, good-form clips without a back fault, exercise right, reps exact
where labelled, and every clip's verdicts and readings.

--json prints one object for the side-view subset (|camera yaw| <= 20 deg): spine_mae_deg, spine_p95_deg,
spine_bias_deg, rep_exact_rate, fault_f1 {code: F1}, n_clips, plus the per-group tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing
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
WITHHELD_CODES = {"view_unsuitable", "spine_low_confidence"}
CONFIDENT = 0.5


def _run_clip(video: str) -> dict[str, Any]:
    """Analyse one clip; return its report and the per-frame series the scorer needs."""
    from formcheck.pipeline import AnalysisOptions, analyze

    return run_result(analyze(Path(video), AnalysisOptions(write_video=False)))


# worker processes are spawned, not forked: a fork copies the threads of a pose model the parent may
# hold, and the child can wait forever on a lock one of them held
SPAWN = multiprocessing.get_context("spawn")


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
    with ProcessPoolExecutor(max_workers=jobs, mp_context=SPAWN) as pool:
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
    warnings = {
        n["code"] for n in report["notices"] if BACK_CODES[0] in n.get("checks", BACK_CODES)
    }
    by_index = {r["index"]: r for r in found}
    rounding_errors = [  # the rounding the verdict compared, minus the rep's true peak
        by_index[match[lab["rep_index"]]]["spine"]["rounding_deg"] - lab["value"]
        for lab in truth["labels"]
        if lab["code"] == "back_rounding"
        and lab["rep_index"] in match
        and by_index[match[lab["rep_index"]]]["spine"].get("rounding_deg") is not None
    ]
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
        "rounding_errors": rounding_errors,
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
    rounding_err = np.array([e for s in scores for e in s.get("rounding_errors", [])])
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
        "rep_rounding_bias_deg": _r(np.mean(rounding_err)) if len(rounding_err) else None,
        "rep_rounding_sd_deg": _r(np.std(rounding_err)) if len(rounding_err) > 1 else None,
        "rep_rounding_n": len(rounding_err),
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


# Real clips: ../shared/clips/labels.csv (weak labels: exercise, view, reps, rounding, overarch,
# in_rounding_metric = the side-view clips the back verdict is scored on).
LABELS_FILE = "labels.csv"


def real_labels(clips: Path) -> list[dict[str, str]]:
    """The rows of clips/labels.csv whose video is present, in the file's order."""
    with (clips / LABELS_FILE).open() as fh:
        return [row for row in csv.DictReader(fh) if (clips / row["file"]).is_file()]


def real_clip_names(clips: Path) -> list[str]:
    """The labelled real clips present under clips (paths relative to it)."""
    return [row["file"] for row in real_labels(clips)]


def back_verdict(report: dict[str, Any], code: str = "back_rounding") -> str:
    """A clip's back verdict for one code: 'flagged' (a rep has the fault), 'clear' (that check was
    judged on at least one rep and none has it) or 'withheld' (no rep was judged for it)."""
    reps = report["reps"]
    if any(f["code"] == code for r in reps for f in r["faults"]):
        return "flagged"
    key = "rounding_deg" if code == "back_rounding" else "arching_deg"
    return "clear" if any(r["spine"].get(key) is not None for r in reps) else "withheld"


def _balanced_accuracy(rows: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """Balanced accuracy of verdicts (a withheld verdict counts as not flagged) against rows' yes/no
    label, with the share of clips judged."""
    pos = [r for r in rows if r[label] == "yes"]
    neg = [r for r in rows if r[label] == "no"]
    code = "back_rounding" if label == "rounding" else "back_overarch"
    tpr = sum(r["verdicts"][code] == "flagged" for r in pos) / len(pos) if pos else math.nan
    tnr = sum(r["verdicts"][code] != "flagged" for r in neg) / len(neg) if neg else math.nan
    judged = [r["verdicts"][code] != "withheld" for r in pos + neg]
    return {
        "balanced_accuracy": _r((tpr + tnr) / 2) if pos and neg else None,
        "flagged_of_yes": f"{sum(r['verdicts'][code] == 'flagged' for r in pos)}/{len(pos)}",
        "false_of_no": f"{sum(r['verdicts'][code] == 'flagged' for r in neg)}/{len(neg)}",
        "judged_share": _r(float(np.mean(judged))) if judged else None,
    }


def score_real(labels: list[dict[str, str]], reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Score reports (SessionReport dicts) against their labels.csv rows."""
    rows = []
    for lab, rep in zip(labels, reports, strict=True):
        n_reps = _full_reps(rep["reps"])
        rows.append(
            {
                "clip": lab["file"],
                "exercise_label": lab["exercise"],
                "exercise": rep["exercise"],
                "exercise_right": rep["exercise"] == lab["exercise"],
                "view_label": lab["view"],
                "view": rep["view"],
                "reps_label": int(lab["reps"]) if lab["reps"] else None,
                "reps": n_reps,
                "rounding": lab["rounding"],
                "overarch": lab["overarch"],
                "in_rounding_metric": lab["in_rounding_metric"] == "yes",
                "verdicts": {c: back_verdict(rep, c) for c in BACK_CODES},
                "back_faults": [
                    {
                        "rep": r["index"],
                        "code": f["code"],
                        "value": f["value"],
                        "confidence": f["confidence"],
                    }
                    for r in rep["reps"]
                    for f in r["faults"]
                    if f["code"] in BACK_CODES
                ],
                "back_readings": [r["spine"].get("rounding_deg") for r in rep["reps"]],
                "warnings": [n["code"] for n in rep["notices"]],
            }
        )
    metric = [r for r in rows if r["in_rounding_metric"]]
    good = [r for r in metric if r["rounding"] == "no"]
    with_reps = [r for r in rows if r["reps_label"] is not None]
    return {
        "back_rounding": _balanced_accuracy(metric, "rounding"),
        "back_overarch": _balanced_accuracy(metric, "overarch"),
        "good_form_without_back_fault": f"{sum(not r['back_faults'] for r in good)}/{len(good)}",
        "exercise_right": f"{sum(r['exercise_right'] for r in rows)}/{len(rows)}",
        "exercise_right_rate": _r(float(np.mean([r["exercise_right"] for r in rows]))),
        "reps_exact": f"{sum(r['reps'] == r['reps_label'] for r in with_reps)}/{len(with_reps)}",
        "reps_exact_rate": _r(float(np.mean([r["reps"] == r["reps_label"] for r in with_reps])))
        if with_reps
        else None,
        "clips": rows,
    }


def evaluate_real(
    clips: Path, jobs: int, runner: Callable[[list[Path]], list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """score_real over every labelled clip present; runner(videos) -> run_result dicts (default:
    the whole pipeline, `jobs` at a time; spine_lab passes its cached replay)."""
    labels = real_labels(clips)
    run = runner or (lambda videos: run_all(videos, jobs))
    runs = run([clips / row["file"] for row in labels])
    return score_real(labels, [r["report"] for r in runs])


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
    print("\nrounding a rep's back verdict compared, minus the rep's true peak (side view)")
    for name, s in result.items():
        if name.startswith("side/") and s.get("rep_rounding_n"):
            print(
                f"  {name:<22} bias {s['rep_rounding_bias_deg']} SD {s['rep_rounding_sd_deg']} "
                f"over {s['rep_rounding_n']} reps"
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
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--no-real", action="store_true", help="only the rendered set")
    only.add_argument("--real", action="store_true", help=f"only the real clips in {CLIPS}")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    have_clips = (CLIPS / LABELS_FILE).is_file()
    if args.real and not have_clips:
        sys.exit(f"--real: no labelled clips at {CLIPS} (expected {LABELS_FILE})")
    if not args.real and not (args.set / "index.json").is_file():
        sys.exit(
            f"no benchmark set at {args.set} (expected index.json; see benchmarks/synth/README.md)"
        )
    synth = None if args.real else evaluate_synth(args.set, args.jobs)
    real = evaluate_real(CLIPS, args.jobs) if have_clips and not args.no_real else None
    if args.json:
        out: dict[str, Any] = {}
        if synth is not None:
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
    if synth is not None:
        print("== synthetic set (ground truth) ==")
        _print_table(synth)
    if real is None:
        print(f"\n== real clips: skipped ({CLIPS} not found or --no-real) ==")
        return
    print_real(real)


def print_real(real: dict[str, Any]) -> None:
    print("\n== real clips (../shared/clips/labels.csv; weak labels, never tuned to) ==")
    for code in BACK_CODES:
        b = real[code]
        print(
            f"{code:<14} balanced accuracy {b['balanced_accuracy']} (flagged {b['flagged_of_yes']} "
            f"labelled yes, {b['false_of_no']} labelled no), judged {b['judged_share']}"
        )
    print(f"good-form clips without a back fault: {real['good_form_without_back_fault']}")
    print(
        f"exercise right: {real['exercise_right']}; reps exact where labelled: {real['reps_exact']}"
    )
    for row in real["clips"]:
        mark = "*" if row["in_rounding_metric"] else " "
        print(
            f" {mark}{row['clip']:<44} {row['exercise_label']:>8}->{row['exercise']:<8} "
            f"{row['view_label']:>7}->{row['view']:<7} reps {row['reps_label']}->{row['reps']} "
            f"rounding={row['rounding']:<7} {row['verdicts']['back_rounding']:<8} "
            f"read={row['back_readings']} warnings={row['warnings']}"
        )


if __name__ == "__main__":
    main()
