"""Throughput of `formcheck batch`, and the driver at scale.

    python benchmarks/batch.py [--clips 8] [--jobs 2] [--scale 1000] [--skip-ray] [--json]

1. Real analyses: `formcheck batch` on the first N rendered clips of benchmarks/synth/ (names
   sorted), each engine in its own process with a fresh output folder:
     sequential_s   --engine local --jobs 1
     local_s        --engine local --jobs J
     ray_s          --engine ray --jobs J (a Ray started in the process; skipped without Ray)
   local_speedup / ray_speedup: sequential_s over each (target >= 1.7 with J = 2 on 2 cores);
   ray_overhead: ray_s / local_s - 1 (target <= 0.10), Ray's start-up included.
   Per video, from the sequential run: cpu_s_per_video (the worker's seconds on each, median),
   video_s (the clips' median length) and worker_peak_rss_mb (the largest worker's peak memory):
   the cost model of docs/scale.md.
2. Scale, with a STUB ANALYSIS (no pose model, no video decoding: the driver is what is measured):
   run_batch on SCALE entries of which 5 % are broken files, then again with --resume. The stub
   engine writes each entry's report.json (a copy of one real report), angles.csv and batch.json
   exactly where run_video would, and fails the broken ones. Checks: the summary lists every entry
   with the right status, failures.csv the broken ones, the resumed run analyses only the broken
   ones again (repeats none); driver_peak_rss_mb for SCALE/10 and SCALE entries (flat = close).

Wall times depend on what else the machine runs; load_1min is recorded before each run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SYNTH = REPO / "benchmarks" / "synth"
BROKEN_SHARE = 0.05


def run_cli(args: list[str]) -> dict[str, float]:
    """`python -m formcheck batch ARGS` in a subprocess: wall time and the load before it."""
    load = os.getloadavg()[0]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "formcheck", "batch", *args],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"formcheck batch {' '.join(args)} failed:\n{proc.stderr}")
    return {"wall_s": round(wall, 2), "load_1min": round(load, 2)}


def throughput(n_clips: int, jobs: int, with_ray: bool, work: Path) -> dict[str, object]:
    clips = sorted(SYNTH.glob("*.mp4"))[:n_clips]
    src = work / "clips"
    src.mkdir()
    for clip in clips:
        (src / clip.name).symlink_to(clip)
    out: dict[str, object] = {"clips": [c.name for c in clips], "jobs": jobs}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seq = run_cli([str(src), "--out", str(work / "seq"), "--jobs", "1"])
    worker_rss_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    local = run_cli([str(src), "--out", str(work / "local"), "--jobs", str(jobs)])
    out.update(sequential=seq, local=local)
    out["local_speedup"] = round(seq["wall_s"] / local["wall_s"], 2)
    if with_ray:
        ray = run_cli(
            [str(src), "--out", str(work / "ray"), "--engine", "ray", "--jobs", str(jobs)]
        )
        out["ray"] = ray
        out["ray_speedup"] = round(seq["wall_s"] / ray["wall_s"], 2)
        out["ray_overhead"] = round(ray["wall_s"] / local["wall_s"] - 1, 3)
    summary = json.loads((work / "seq" / "summary.json").read_text())
    seconds = [float(v["seconds"]) for v in summary["videos"]]
    lengths = [
        float(json.loads((work / "seq" / Path(c).stem / "report.json").read_text())["duration_s"])
        for c in out["clips"]  # type: ignore[attr-defined]
    ]
    out["cpu_s_per_video"] = round(statistics.median(seconds), 2)
    out["video_s"] = round(statistics.median(lengths), 2)
    out["worker_peak_rss_mb"] = round(worker_rss_mb, 1)
    return out


# --- 2. scale, STUB ANALYSIS ----------------------------------------------------------------------


class StubEngine:
    """STUB ANALYSIS, for this benchmark only: no video is analysed. Writes a copy of one real
    report (its source name changed) as each entry's result; an entry whose file starts with
    b"broken" fails as an unreadable video does."""

    name = "stub"

    def __init__(self, report: dict[str, object]) -> None:
        self.report = report
        self.analysed: list[str] = []

    def describe(self) -> str:
        return "a STUB ANALYSIS in this process (benchmarks/batch.py)"

    def start(self) -> None:
        return None

    def results(self, tasks: Iterable[object]) -> Iterator[object]:
        from formcheck.batch import (
            EXIT_OK,
            EXIT_UNREADABLE,
            VideoResult,
            VideoTask,
            file_stamp,
            write_sidecar,
        )
        from formcheck.report import atomic_write_text

        for task in tasks:
            assert isinstance(task, VideoTask)
            self.analysed.append(task.name)
            if task.video.read_bytes().startswith(b"broken"):
                message = f"formcheck: {task.video}: not a video file (stub)"
                yield VideoResult(task.index, EXIT_UNREADABLE, None, [message], 0.0)
                continue
            folder = task.out_dir / task.name
            folder.mkdir(parents=True, exist_ok=True)
            report = {**self.report, "source": {**self.report["source"], "name": task.video.name}}  # type: ignore[dict-item]
            atomic_write_text(folder / "angles.csv", "frame\n")
            atomic_write_text(folder / "report.json", json.dumps(report))
            stamp = file_stamp(task.video)
            assert stamp is not None
            write_sidecar(folder, task.video, stamp, task.options)
            yield VideoResult(task.index, EXIT_OK, report, [], 0.0)


def scale_run(n: int, work: Path, report: dict[str, object]) -> dict[str, object]:
    """The stub batch of n entries, then its resume; in this process (run it in its own)."""
    from formcheck.batch import BatchItem, BatchOptions, read_source, run_batch
    from formcheck.pipeline import AnalysisOptions

    src = work / "entries"
    src.mkdir()
    n_broken = int(n * BROKEN_SHARE)
    for k in range(n):
        (src / f"v{k:05d}.mp4").write_bytes(b"broken" if k % (n // n_broken) == 0 else b"ok")
    items: list[BatchItem] = read_source(str(src))
    options = BatchOptions(AnalysisOptions(write_video=False))
    engine = StubEngine(report)
    start = time.perf_counter()
    first = run_batch(items, work / "out", engine, options, io.StringIO())
    first_s = time.perf_counter() - start
    summary = json.loads((work / "out" / "summary.json").read_text())
    failures = (work / "out" / "failures.csv").read_text().splitlines()[1:]
    broken = sum(1 for p in src.iterdir() if p.read_bytes().startswith(b"broken"))
    resumed = StubEngine(report)
    again = run_batch(
        items, work / "out", resumed, BatchOptions(options.analysis, resume=True), io.StringIO()
    )
    summary2 = json.loads((work / "out" / "summary.json").read_text())
    return {
        "entries": n,
        "broken": broken,
        "exit_status": [first, again],
        "first_run_s": round(first_s, 2),
        "summary_complete": len(summary["videos"]) == n
        and summary["done"] == n - broken
        and summary["failed"] == broken == len(failures),
        "resume_analysed": len(resumed.analysed),
        "resume_repeats_none": sorted(resumed.analysed)
        == sorted(p.stem for p in src.iterdir() if p.read_bytes().startswith(b"broken")),
        "resume_from_earlier": sum(v["from_earlier_run"] for v in summary2["videos"]),
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def scale(n: int, work: Path) -> dict[str, object]:
    """scale_run for n/10 and n entries, each in its own process (peak memory is its own)."""
    demo = REPO / "sample_videos" / "squat_good_demo.mp4"
    run_cli([str(demo), "--out", str(work / "sample")])
    report = work / "sample" / demo.stem / "report.json"
    runs = {}
    for size in (max(n // 10, 20), n):
        folder = work / f"scale{size}"
        folder.mkdir()
        proc = subprocess.run(
            [sys.executable, __file__, "--scale-run", str(size), "--work", str(folder),
             "--report", str(report)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        runs[str(size)] = json.loads(proc.stdout)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--scale-run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_run:
        report = json.loads(args.report.read_text())
        print(json.dumps(scale_run(args.scale_run, args.work, report)))
        return
    try:
        import ray  # noqa: F401

        with_ray = not args.skip_ray
    except ImportError:
        with_ray = False
    results: dict[str, object] = {"cpus": os.cpu_count(), "ray": with_ray}
    with tempfile.TemporaryDirectory(prefix="formcheck-batch-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_throughput:
            (work / "t").mkdir()
            results["throughput"] = throughput(args.clips, args.jobs, with_ray, work / "t")
        if args.scale:
            (work / "s").mkdir()
            results["scale_stub_analysis"] = scale(args.scale, work / "s")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key}: {json.dumps(value, indent=2)}")


if __name__ == "__main__":
    main()
