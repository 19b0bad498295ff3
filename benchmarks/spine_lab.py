"""A fast loop for work on the spine measurement: run the pose model once, re-run everything after it.

    python benchmarks/spine_lab.py cache [--set benchmarks/synth] [--cache DIR] [--real]
    python benchmarks/spine_lab.py eval  [--set benchmarks/synth] [--cache DIR] [--jobs 2] [--clips NAME...]
                                       [--real]

`cache` runs MediaPipe once over every clip of the ground-truth set (about 10 minutes here) and keeps,
per frame, the landmarks, their visibility and the person mask (as uint8) in DIR (default
~/.cache/formcheck/spine-lab; about 85 MB for the committed set, outside the repository). `eval` then
measures the back from those masks with the current formcheck.spine, runs everything after the pose
model exactly as formcheck.pipeline.analyze does (pipeline.analyze_measured) and scores the result with
benchmarks/accuracy.py's scorer: the same tables, in about a minute instead of ten. Edit spine.py (or
the reps, faults and their data files), run `eval`, repeat; the numbers that count are still the ones
`benchmarks/accuracy.py` prints, so run it before writing any figure down.

Tune on lifters the benchmark set does not hold: benchmarks/synth_dev.yaml is a second rendered grid
(other seeds, bodies, cameras and lumbar shares; rendered on demand, not committed). Render it (the
command is in that file), then `cache --set DIR` and `eval --set DIR`; a change counts when it helps
there and then holds on the benchmark set.

With --real, the labelled real clips of ../shared/clips are cached and replayed too, and their
weak-label summary is printed as accuracy.py prints it (another ~5 minutes to cache): a change that
helps the rendered lifters must not add false flags on real good-form lifts.

The cache is keyed by each video's folder, name, size and modification time (and CACHE_VERSION);
a regenerated clip is cached again. Cut times and per-frame people counts are cached with the poses.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy  # benchmarks/ is not a package: imported from beside this file

DEFAULT_CACHE = Path.home() / ".cache" / "formcheck" / "spine-lab"
# uint8 mask value marking "no mask in this frame" (probabilities are stored as 0..254)
NO_MASK = 255
# part of every cache file's name: raise it when what pass 1 produces changes
# (2: pipeline.backfill; 3: cuts and people counts kept, folder in the name; 4: world landmarks
# kept: the view and facing detection reads them, and without them a clip's view could differ)
CACHE_VERSION = 4


def _cache_file(cache: Path, video: Path) -> Path:
    st = video.stat()
    key = f"{video.parent.name}-{video.stem}-{st.st_size}-{int(st.st_mtime)}-v{CACHE_VERSION}"
    return cache / f"{key}.npz"


def cache_clip(video: Path, cache: Path, count_people: bool = False) -> Path:
    """Run pass 1's pose work over one clip and store what the later stages need; returns the file.

    Cut detection, the people counter (count_people: as in the pipeline; off for the rendered
    clips, which show one person) and the backwards tracking are those of
    pipeline.measure_frames; the back is not measured here (eval measures it).
    """
    from formcheck import pipeline
    from formcheck.pose import PoseEstimator
    from formcheck.video import iter_frames, probe

    dst = _cache_file(cache, video)
    if dst.is_file():
        return dst

    def as_uint8(mask: Any, shape: tuple[int, ...]) -> Any:
        if mask is None:
            return np.full(shape[:2], NO_MASK, np.uint8)
        return np.round(np.clip(mask, 0.0, 1.0) * 254).astype(np.uint8)

    t_s, poses, masks, cuts_s = [], [], [], []
    prev_small = None
    with PoseEstimator() if count_people else PoseEstimator(people_check_s=0) as estimator:
        for frame in iter_frames(video):
            pose = estimator.detect(frame.image_bgr, frame.t_s)
            t_s.append(frame.t_s)
            masks.append(as_uint8(pose.mask, frame.image_bgr.shape))
            poses.append(dataclasses.replace(pose, mask=None))  # kept as uint8 above
            small = pipeline._thumbnail(frame.image_bgr)
            if (
                prev_small is not None
                and np.abs(small - prev_small).mean() > pipeline.CUT_DIFF_LEVEL
            ):
                cuts_s.append(frame.t_s)
            prev_small = small
        multi_person_frames = estimator.multi_person_frames
    for i, pose in pipeline.backfill(video, probe(video), t_s, poses, cuts_s):
        poses[i] = pose
        masks[i] = as_uint8(pose.mask, masks[i].shape)
    tmp = dst.with_suffix(".part.npz")
    np.savez_compressed(
        tmp,
        t_s=t_s,
        xy=[p.xy_px for p in poses],
        vis=[p.visibility for p in poses],
        world=[p.world_m for p in poses],
        n_people=[p.n_people for p in poses],
        masks=masks,
        cuts_s=np.asarray(cuts_s, dtype=np.float64),
        multi_person_frames=multi_person_frames,
    )
    tmp.replace(dst)
    return dst


def analyse_cached(video: Path, cache: Path) -> Any:
    """pipeline.Analysis of one clip from the cache instead of the pose model (no annotated video)."""
    from formcheck import spine
    from formcheck.landmarks import PoseFrame
    from formcheck.pipeline import AnalysisOptions, PassOne, analyze_measured
    from formcheck.video import probe

    data = np.load(_cache_file(cache, video))
    frames, back = [], []
    for xy, vis, world, people, m in zip(
        data["xy"], data["vis"], data["world"], data["n_people"], data["masks"], strict=True
    ):
        mask = None if np.all(m == NO_MASK) else m.astype(np.float32) / 254.0
        frames.append(PoseFrame(xy, vis, world, None, int(people)))
        back.append(spine.measure_back(mask, xy, vis))
    measured = PassOne(
        t_s=[float(t) for t in data["t_s"]],
        frames=frames,
        back=back,
        cuts_s=[float(t) for t in data["cuts_s"]],
        multi_person_frames=int(data["multi_person_frames"]),
    )
    return analyze_measured(probe(video), AnalysisOptions(write_video=False), measured)


def run_cached(video: Path, cache: Path) -> dict[str, Any]:
    """The same per-clip result as accuracy._run_clip, from the cache instead of the pose model."""
    return accuracy.run_result(analyse_cached(video, cache))


def _run_job(args: tuple[str, str]) -> dict[str, Any]:
    return run_cached(Path(args[0]), Path(args[1]))


def evaluate(folder: Path, cache: Path, jobs: int, names: list[str] | None) -> dict[str, Any]:
    """accuracy.evaluate_synth on the cached pose output."""
    index = json.loads((folder / "index.json").read_text())
    clips = [c for c in index["clips"] if not names or c["name"] in names]
    missing = [c["name"] for c in clips if not _cache_file(cache, folder / c["video"]).is_file()]
    if missing:
        sys.exit(f"not cached yet: {', '.join(missing)} (run: python {sys.argv[0]} cache)")
    work = [(str(folder / c["video"]), str(cache)) for c in clips]
    with ProcessPoolExecutor(max_workers=max(jobs, 1), mp_context=accuracy.SPAWN) as pool:
        runs = list(pool.map(_run_job, work))
    return accuracy.score_runs(folder, clips, runs)


def evaluate_real(clips: Path, cache: Path, jobs: int) -> dict[str, Any]:
    """accuracy.evaluate_real on the cached pose output of the labelled real clips."""
    missing = [
        n for n in accuracy.real_clip_names(clips) if not _cache_file(cache, clips / n).is_file()
    ]
    if missing:
        sys.exit(f"not cached yet: {', '.join(missing)} (run: python {sys.argv[0]} cache --real)")

    def replay(videos: list[Path]) -> list[dict[str, Any]]:
        with ProcessPoolExecutor(max_workers=max(jobs, 1), mp_context=accuracy.SPAWN) as pool:
            return list(pool.map(_run_job, [(str(v), str(cache)) for v in videos]))

    return accuracy.evaluate_real(clips, jobs, runner=replay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("cache", "eval"))
    parser.add_argument("--set", type=Path, default=accuracy.SYNTH)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--clips", nargs="*", help="only these clip names")
    parser.add_argument(
        "--real",
        action="store_true",
        help=f"also the labelled real clips in {accuracy.CLIPS} (weak labels, as accuracy.py)",
    )
    args = parser.parse_args()
    if not (args.set / "index.json").is_file():
        sys.exit(f"no benchmark set at {args.set} (expected index.json)")
    if args.real and not (accuracy.CLIPS / "MANIFEST.md").is_file():
        sys.exit(f"--real: no clips at {accuracy.CLIPS} (expected MANIFEST.md)")
    if args.command == "cache":
        args.cache.mkdir(parents=True, exist_ok=True)
        clips = json.loads((args.set / "index.json").read_text())["clips"]
        for k, clip in enumerate(clips, 1):
            if args.clips and clip["name"] not in args.clips:
                continue
            cache_clip(args.set / clip["video"], args.cache)
            print(f"[{k}/{len(clips)}] {clip['name']}", flush=True)
        if args.real:
            names = accuracy.real_clip_names(accuracy.CLIPS)
            for k, name in enumerate(names, 1):
                cache_clip(accuracy.CLIPS / name, args.cache, count_people=True)
                print(f"[{k}/{len(names)}] {name}", flush=True)
        return
    accuracy._print_table(evaluate(args.set, args.cache, args.jobs, args.clips))
    if args.real:
        accuracy.print_real(evaluate_real(accuracy.CLIPS, args.cache, args.jobs))


if __name__ == "__main__":
    main()
