"""The app process's memory over repeated analyses (issue 18, item 6).

Runs the Analyse page's code path (formcheck.ui.jobs.analyse_and_store into a History, then reading
the stored report back as the Review page does) N times in this one process on a demo clip, and
prints the resident set size (RSS, from /proc/self/status) after the first and after the last:

    PYTHONPATH=src python benchmarks/app_memory.py [--runs 20] [--clip sample_videos/squat_good_demo.mp4]

Target: growth after the first analysis at most 100 MB. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time
from pathlib import Path

from formcheck.history import History
from formcheck.pipeline import AnalysisOptions
from formcheck.ui.jobs import analyse_and_store

REPO = Path(__file__).resolve().parents[1]
GROWTH_LIMIT_MB = 100.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--clip", type=Path, default=REPO / "sample_videos" / "squat_good_demo.mp4")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="formcheck-memory-"))
    try:
        store = History(data)
        after: list[float] = []
        for k in range(args.runs):
            started = time.perf_counter()
            folder = store.new_session_dir(args.clip.name)
            video = folder / args.clip.name
            shutil.copyfile(args.clip, video)
            outcome = analyse_and_store(
                store, video, folder, AnalysisOptions(), origin="upload", keep_raw_video=False
            )
            if outcome.session_id is None:
                raise SystemExit(f"analysis {k + 1} failed: {outcome.error} {outcome.detail}")
            store.report(outcome.session_id)
            del outcome
            gc.collect()
            after.append(rss_mb())
            print(
                f"analysis {k + 1:2d}: RSS {after[-1]:7.1f} MB ({time.perf_counter() - started:.1f} s)"
            )
    finally:
        shutil.rmtree(data, ignore_errors=True)
    growth = after[-1] - after[0]
    print(
        f"RSS after 1 analysis {after[0]:.0f} MB, after {len(after)}: {after[-1]:.0f} MB, "
        f"growth {growth:+.0f} MB (limit {GROWTH_LIMIT_MB:.0f} MB)"
    )
    return 0 if growth <= GROWTH_LIMIT_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
