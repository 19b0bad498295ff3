"""Train the learned spine read-out (formcheck.readout) on rendered lifters and measure it per frame.

    python benchmarks/spine_model.py features --set DIR [--set DIR ...]
    python benchmarks/spine_model.py train [--train DIR ...] [--dev DIR] [--out models/spine_readout.npz]
    python benchmarks/spine_model.py score [--set DIR]
    python benchmarks/spine_model.py compare [--model NPZ ...] [--dev DIR]
    python benchmarks/spine_model.py depth [--set DIR ...]

`features` reads each clip's pose output from the spine-lab cache (`python benchmarks/spine_lab.py
cache --set DIR` first), takes readout.torso_view of every frame and pairs it with the clip's rendered
truth (lumbar and thoracic flexion per frame); one file per clip under
~/.cache/formcheck/spine-model/ (resumable; a few seconds per clip). `train` fits the multilayer
perceptron with torch (the `synth` extra) on the training sets (TRAIN: the bare lifters of seeds
20000-20193 and the clothed ones of benchmarks/synth_train.py, seeds from 30000) and reports on
the held-out renders (benchmarks/synth_dev.yaml); the weights are written as numpy arrays for
formcheck.readout. `score` prints the per-frame error of the shipped model on a set.
`compare` sets candidate models side by side on the held-out renders and the labelled real deadlifts
(cached by `spine_lab.py cache --real`): pick on both. `depth` prints how far the back lies behind
the hip-shoulder line at a deadlift hinge, rendered against real (what clothes and muscle change).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import itertools

import spine_lab  # benchmarks/ is not a package: imported from beside this file

from formcheck import readout

FEATURES = Path.home() / ".cache" / "formcheck" / "spine-model"
# the training sets: bare lifters (seeds 20000-20193) and clothed ones (benchmarks/synth_train.py)
TRAIN = (
    Path.home() / ".cache" / "formcheck" / "synth-train",
    Path.home() / ".cache" / "formcheck" / "synth-train-clothed",
)
DEV = Path.home() / ".cache" / "formcheck" / "synth-dev"
FEATURES_VERSION = 3
AUGMENT_N = 3  # extra views per training frame, with the hips and shoulders moved (augment)
HIP_JITTER = (0.06, 0.03)  # SD along / across the torso, torso lengths
SHOULDER_JITTER = (0.04, 0.03)
# ... and the mask's edge moved and softened as other clothes, light and cameras move it: the
# probability raised to a power (log-uniform over MASK_GAMMA: > 1 shrinks the person, < 1 grows
# them) after a Gaussian blur of up to MASK_BLUR_FRAC torso lengths
MASK_GAMMA = (0.5, 2.0)
MASK_BLUR_FRAC = 0.02
# training weights: within every hip-flexion band of POSTURE_BAND_DEG, the frames' spinal flexion
# is weighted to the set's overall distribution (FLEXION_BAND_DEG bins), so that how deep the lifter
# hinges says nothing about how round the back is
POSTURE_BAND_DEG = 15.0
FLEXION_BAND_DEG = 5.0
POSTURE_WEIGHT_CLIP = (0.2, 5.0)
# ... and the back made thicker behind the hip-shoulder line, as muscle, fat and loose clothes make
# real lifters': every training view's mask is dilated towards the back by a uniform 0..BACK_DILATE_MAX
# torso lengths, so that how far the back lies behind the landmarks
# says nothing about its curve (one draw per training view)
BACK_DILATE_MAX = 0.12
# ... and the hollow of the lower back filled as a shirt stretched over it and the erector muscles
# fill it on real lifters (the mean real good-form mask at the hinge has a straight back where
# rendered neutral lifters show a hollow): behind the hip-shoulder line, every training view's mask
# is closed along the torso with a segment of 0..BACK_BRIDGE_MAX torso lengths (one draw per view)
BACK_BRIDGE_MAX = 0.0
BRIDGE_FROM_V = 0.05  # torso lengths behind the hip-shoulder line where the closing applies
# `depth`: where the back's edge is measured (along the torso, torso lengths) and at what trunk lean
DEPTH_ROWS = (0.3, 0.7)
DEPTH_LEAN_DEG = (35.0, 60.0)
FRAME_STEP_S = 1 / 30  # frames closer than this to the last kept one are skipped (60 fps clips)


def _feature_file(video: Path) -> Path:
    key = spine_lab._cache_file(spine_lab.DEFAULT_CACHE, video).stem
    return FEATURES / f"{key}-f{FEATURES_VERSION}.npz"


def _jitter(xy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The landmarks with the hip and shoulder points moved as MediaPipe's errors move them."""
    out = xy.copy()
    hip = np.nanmean(xy[[23, 24]], axis=0)
    shoulder = np.nanmean(xy[[11, 12]], axis=0)
    axis = shoulder - hip
    normal = np.array([axis[1], -axis[0]])
    for pair, (sd_u, sd_v) in (((23, 24), HIP_JITTER), ((11, 12), SHOULDER_JITTER)):
        shift = rng.normal(0, sd_u) * axis + rng.normal(0, sd_v) * normal
        out[list(pair)] += shift
    return out


def _soften(mask: np.ndarray, torso_px: float, rng: np.random.Generator) -> np.ndarray:
    """The mask with its edge moved and blurred (MASK_GAMMA, MASK_BLUR_FRAC)."""
    import cv2

    sigma = float(rng.uniform(0, MASK_BLUR_FRAC)) * torso_px
    out = cv2.GaussianBlur(mask, (0, 0), sigma) if sigma > 0.3 else mask
    gamma = float(np.exp(rng.uniform(*np.log(MASK_GAMMA))))
    return np.asarray(np.clip(out, 0.0, 1.0) ** gamma, dtype=np.float32)


def clip_features(video: Path, truth_csv: Path, augment: bool = False) -> Path | None:
    """Views and truth of one cached clip -> its feature file (None when its poses are not cached).
    augment: AUGMENT_N more views of every frame with jittered hips and shoulders (training sets)."""
    from formcheck import spine

    dst = _feature_file(video)
    if dst.is_file():
        return dst
    cached = spine_lab._cache_file(spine_lab.DEFAULT_CACHE, video)
    if not cached.is_file():
        return None
    with truth_csv.open(newline="") as f:
        truth = {int(r["frame"]): r for r in csv.DictReader(f)}
    data = np.load(cached)
    rows: list[np.ndarray] = []
    targets: list[tuple[float, float, float, float]] = []
    frames: list[int] = []
    old: list[float] = []
    rng = np.random.default_rng(len(truth))
    last_t = -1.0
    for i, (t, xy, vis, m) in enumerate(
        zip(data["t_s"], data["xy"], data["vis"], data["masks"], strict=True)
    ):
        if i not in truth or t - last_t < FRAME_STEP_S * 0.9:
            continue
        mask = None if np.all(m == spine_lab.NO_MASK) else m.astype(np.float32) / 254.0
        view = readout.torso_view(mask, xy, vis)
        if view is None:
            continue
        last_t = float(t)
        r = truth[i]
        target = (
            float(r["lumbar_flex_deg"]),
            float(r["thoracic_flex_deg"]),
            float(r["trunk_incl_deg"]),
            float(r["hip_flex_deg"]),
        )
        views = [view]
        if augment:
            torso_px = float(np.hypot(*(np.nanmean(xy[[11, 12]] - xy[[23, 24]], axis=0))))
            views += [
                readout.torso_view(_soften(mask, torso_px, rng), _jitter(xy, rng), vis)
                for _ in range(AUGMENT_N)
            ]
        for k, v in enumerate(views):
            if v is None:
                continue
            rows.append(readout.features(v))
            targets.append(target)
            frames.append(i if k == 0 else -1 - i)  # augmented views: negative frame numbers
            old.append(spine.measure_back(mask, xy, vis).flexion_deg if k == 0 else np.nan)
    FEATURES.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".part.npz")
    np.savez_compressed(
        tmp,
        x=np.asarray(rows, dtype=np.float32).reshape(
            len(rows), readout.GRID_ROWS * readout.GRID_COLS + readout.GEOMETRY_N
        ),
        y=np.asarray(targets, dtype=np.float32).reshape(len(targets), 4),
        frame=np.asarray(frames, dtype=np.int32),
        old=np.asarray(old, dtype=np.float64),
    )
    tmp.replace(dst)
    return dst


def _clips(folder: Path) -> list[dict[str, Any]]:
    return list(json.loads((folder / "index.json").read_text())["clips"])


def load_set(folder: Path, side_only: bool = False, augmented: bool = False) -> dict[str, Any]:
    """Stacked features of every clip of a set whose feature file exists (augmented: with the
    jittered views)."""
    xs, ys, clip_ids, names, olds = [], [], [], [], []
    for clip in _clips(folder):
        if side_only and clip.get("view", "side") != "side":
            continue
        f = _feature_file(folder / clip["video"])
        if not f.is_file():
            continue
        d = np.load(f)
        keep = d["frame"] >= 0 if not augmented else np.ones(len(d["x"]), dtype=bool)
        if not keep.any():
            continue
        xs.append(d["x"][keep])
        ys.append(d["y"][keep])
        olds.append(d["old"][keep])
        clip_ids.append(np.full(int(keep.sum()), len(names)))
        names.append(clip["name"])
    return {
        "x": np.concatenate(xs),
        "y": np.concatenate(ys),
        "clip": np.concatenate(clip_ids),
        "old": np.concatenate(olds),
        "names": names,
    }


def merge_sets(sets: list[dict[str, Any]]) -> dict[str, Any]:
    """One set of several (load_set's layout; clip numbers kept apart)."""
    out: dict[str, Any] = {k: np.concatenate([s[k] for s in sets]) for k in ("x", "y", "old")}
    offsets = np.cumsum([0] + [len(s["names"]) for s in sets[:-1]])
    out["clip"] = np.concatenate([s["clip"] + o for s, o in zip(sets, offsets, strict=True)])
    out["names"] = [n for s in sets for n in s["names"]]
    return out


def cmd_features(sets: list[Path]) -> None:
    for folder in sets:
        clips = _clips(folder)
        done = 0
        for clip in clips:
            augment = folder.resolve() in {t.resolve() for t in TRAIN}
            out = clip_features(folder / clip["video"], folder / clip["frames_csv"], augment)
            done += out is not None
        print(f"{folder}: {done}/{len(clips)} clips with features", flush=True)


def posture_weights(y: np.ndarray) -> np.ndarray:
    """Per frame (y: lumbar, thoracic, trunk inclination, hip flexion): the weight that gives every
    hip-flexion band the set's overall distribution of spinal flexion (POSTURE_BAND_DEG,
    FLEXION_BAND_DEG), clipped to POSTURE_WEIGHT_CLIP."""
    band = np.floor(y[:, 3] / POSTURE_BAND_DEG).astype(int)
    flex = np.floor(y[:, :2].sum(axis=1) / FLEXION_BAND_DEG).astype(int)
    flex -= flex.min()
    overall = np.bincount(flex) / len(flex)
    w = np.ones(len(y))
    for b in np.unique(band):
        sel = band == b
        local = np.bincount(flex[sel], minlength=len(overall)) / sel.sum()
        w[sel] = overall[flex[sel]] / local[flex[sel]]
    return np.clip(w, *POSTURE_WEIGHT_CLIP)


def thicken_back(x: Any, amount: Any) -> Any:
    """Torch (N, F) features -> the same with every view's mask dilated towards the back by amount
    (N,) torso lengths (linear between whole grid cells)."""
    import torch

    rows, cols = readout.GRID_ROWS, readout.GRID_COLS
    n_grid = rows * cols
    grid = x[:, :n_grid].reshape(-1, rows, cols)
    cells = amount * cols / (readout.GRID_V[1] - readout.GRID_V[0])
    whole = torch.floor(cells).long()
    frac = (cells - whole)[:, None, None]
    shifted = [grid]
    for k in range(1, int(whole.max()) + 2):
        shifted.append(torch.nn.functional.pad(grid[:, :, :-k], (k, 0)))
    stack = torch.stack(shifted, dim=1)  # (N, K, rows, cols): the mask moved back by k cells
    upto = torch.cummax(stack, dim=1).values
    idx = torch.arange(len(x))
    lo = upto[idx, whole.clamp(max=len(shifted) - 1)]
    hi = upto[idx, (whole + 1).clamp(max=len(shifted) - 1)]
    out = x.clone()
    out[:, :n_grid] = ((1 - frac) * lo + frac * hi).reshape(-1, n_grid)
    return out


def bridge_back(x: Any, length: Any) -> Any:
    """Torch (N, F) features -> the same with every view's mask closed along the torso (a
    morphological closing with a segment of length (N,) torso lengths) behind BRIDGE_FROM_V, so
    that hollows of the back's edge shorter than the segment are filled."""
    import torch

    rows, cols = readout.GRID_ROWS, readout.GRID_COLS
    n_grid = rows * cols
    grid = x[:, :n_grid].reshape(-1, rows, cols)
    half = torch.round(length * rows / (readout.GRID_U[1] - readout.GRID_U[0]) / 2).long()
    v = (
        readout.GRID_V[0]
        + (torch.arange(cols) + 0.5) * (readout.GRID_V[1] - readout.GRID_V[0]) / cols
    )
    dorsal = v >= BRIDGE_FROM_V
    out = x.clone()
    for r in torch.unique(half).tolist():
        if r <= 0:
            continue
        sel = half == r
        g = grid[sel].transpose(1, 2).reshape(-1, 1, rows)  # (n * cols, 1, rows)
        k = 2 * r + 1
        dil = torch.nn.functional.max_pool1d(g, k, stride=1, padding=r)
        closed = -torch.nn.functional.max_pool1d(-dil, k, stride=1, padding=r)
        closed = closed.reshape(-1, cols, rows).transpose(1, 2)
        new = grid[sel].clone()
        new[:, :, dorsal] = torch.maximum(new[:, :, dorsal], closed[:, :, dorsal])
        out[sel, :n_grid] = new.reshape(-1, n_grid)
    return out


def train_model(
    train: dict[str, Any],
    dev: dict[str, Any] | None,
    hidden: tuple[int, ...] = (256, 128),
    epochs: int = 40,
    seed: int = 0,
    weight_decay: float = 1e-4,
    dropout: float = 0.1,
    posture: bool = True,
    back_dilate: float = BACK_DILATE_MAX,
    back_bridge: float = BACK_BRIDGE_MAX,
) -> dict[str, np.ndarray]:
    """Fit the perceptron; returns its arrays in readout.ReadoutModel's layout."""
    import torch

    torch.manual_seed(seed)
    x = train["x"]
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-3
    xt = torch.tensor(x, dtype=torch.float32)
    if back_dilate > 0:
        amount = torch.rand(len(xt), generator=torch.Generator().manual_seed(seed)) * back_dilate
        for start in range(0, len(xt), 4096):
            part = slice(start, start + 4096)
            xt[part] = thicken_back(xt[part], amount[part])
    if back_bridge > 0:
        length = (
            torch.rand(len(xt), generator=torch.Generator().manual_seed(seed + 1)) * back_bridge
        )
        for start in range(0, len(xt), 4096):
            part = slice(start, start + 4096)
            xt[part] = bridge_back(xt[part], length[part])
    xt = (xt - torch.tensor(mean)) / torch.tensor(scale)
    yt = torch.tensor(train["y"][:, :2], dtype=torch.float32)
    # every clip weighs the same, however many frames it has; posture says nothing about flexion
    counts = np.bincount(train["clip"])
    w = (posture_weights(train["y"]) if posture else 1.0) / counts[train["clip"]]
    wt = torch.tensor(w / w.mean(), dtype=torch.float32)
    dims = [x.shape[1], *hidden]
    mods: list[Any] = []
    for a, b in itertools.pairwise(dims):
        mods += [torch.nn.Linear(a, b), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
    mods.append(torch.nn.Linear(dims[-1], 3))
    net = torch.nn.Sequential(*mods)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    n = len(xt)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(n)
        total = 0.0
        for start in range(0, n, 256):
            idx = perm[start : start + 256]
            out = net(xt[idx])
            err = out[:, :2] - yt[idx]
            s = err.sum(dim=1)
            logvar = out[:, 2].clamp(-4, 8)
            nll = 0.5 * (logvar + s.detach() ** 2 * torch.exp(-logvar))
            loss = ((err**2).mean(dim=1) + 0.1 * nll) * wt[idx]
            opt.zero_grad()
            loss.mean().backward()
            opt.step()
            total += float(loss.detach().sum())
        sched.step()
        if dev is not None and (epoch % 10 == 9 or epoch == epochs - 1):
            arrays = _export(net, mean, scale)
            print(f"epoch {epoch + 1}: train loss {total / n:.1f}; dev {frame_scores(arrays, dev)}")
    return _export(net, mean, scale)


def _export(net: Any, mean: np.ndarray, scale: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    linear = [m for m in net if isinstance(m, torch.nn.Linear)]
    arrays: dict[str, np.ndarray] = {
        "mean": mean.astype(np.float32),
        "scale": scale.astype(np.float32),
        "n_layers": np.asarray(len(linear)),
    }
    for k, m in enumerate(linear):
        arrays[f"w{k}"] = m.weight.detach().numpy().T.copy()
        arrays[f"b{k}"] = m.bias.detach().numpy().copy()
    return arrays


def _predict(arrays: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    return readout.ReadoutModel.from_arrays(arrays).predict(x)


def frame_scores(arrays: dict[str, np.ndarray], data: dict[str, Any]) -> dict[str, float]:
    """Per-frame errors: MAE of lumbar, thoracic and their sum; share of sum errors within 2 sigma."""
    out = _predict(arrays, data["x"])
    err = out[:, :2] - data["y"][:, :2]
    s = err.sum(axis=1)
    sigma = np.exp(0.5 * out[:, 2])
    bent = np.abs(data["y"][:, :2].sum(axis=1)) >= 10
    return {
        "zero_mae": round(float(np.abs(data["y"][:, :2].sum(axis=1)).mean()), 2),
        "bent_mae": round(float(np.abs(s[bent]).mean()), 2) if bent.any() else float("nan"),
        "bent_zero_mae": round(float(np.abs(data["y"][bent, :2].sum(axis=1)).mean()), 2),
        "lumbar_mae": round(float(np.abs(err[:, 0]).mean()), 2),
        "thoracic_mae": round(float(np.abs(err[:, 1]).mean()), 2),
        "sum_mae": round(float(np.abs(s).mean()), 2),
        "sum_bias": round(float(s.mean()), 2),
        "within_2sigma": round(float((np.abs(s) <= 2 * sigma).mean()), 3),
    }


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def hinge_views(video: Path, min_lean_deg: float, max_lean_deg: float = 180.0) -> list[Any]:
    """readout.torso_view of every cached frame of a clip whose trunk leans min_lean_deg to
    max_lean_deg from vertical ([] when its poses are not cached)."""
    cached = spine_lab._cache_file(spine_lab.DEFAULT_CACHE, video)
    if not cached.is_file():
        return []
    data = np.load(cached)
    views = []
    for xy, vis, m in zip(data["xy"], data["vis"], data["masks"], strict=True):
        if np.all(m == spine_lab.NO_MASK):
            continue
        view = readout.torso_view(m.astype(np.float32) / 254.0, xy, vis)
        lean = np.degrees(np.arcsin(np.clip(view.geometry[-5], -1, 1))) if view else 0.0
        if view is not None and min_lean_deg <= lean <= max_lean_deg:
            views.append(view)
    return views


def real_deadlifts() -> list[tuple[Path, str]]:
    """(video, rounding label) of the labelled real side-view deadlifts of the rounding metric."""
    import accuracy

    return [
        (accuracy.CLIPS / row["file"], row["rounding"])
        for row in accuracy.real_labels(accuracy.CLIPS)
        if row["in_rounding_metric"] == "yes" and row["exercise"] == "deadlift"
    ]


def real_hinge_readings(min_lean_deg: float = 20.0) -> list[tuple[str, str, np.ndarray]]:
    """(file, rounding label, features of its hinge frames) for every labelled real side-view
    deadlift of the rounding metric whose poses benchmarks/spine_lab.py has cached. Hinge frames: the
    trunk leans min_lean_deg or more from vertical (the verdict's own hinge test also asks for a
    confident reading; this is the model-selection shortcut, not the verdict)."""
    out = []
    for video, label in real_deadlifts():
        views = hinge_views(video, min_lean_deg)
        if views:
            name = f"{video.parent.name}/{video.name}"
            out.append((name, label, np.asarray([readout.features(v) for v in views])))
    return out


def back_depth(views: list[Any]) -> float:
    """Median over the views of how far the back's edge lies behind the hip-shoulder line (torso
    lengths): per view, the furthest mask cell (probability > 0.5) between DEPTH_ROWS of the torso."""
    v = np.linspace(*readout.GRID_V, readout.GRID_COLS + 1)
    v = 0.5 * (v[1:] + v[:-1])
    u = np.linspace(*readout.GRID_U, readout.GRID_ROWS + 1)
    u = 0.5 * (u[1:] + u[:-1])
    rows = (u >= DEPTH_ROWS[0]) & (u <= DEPTH_ROWS[1])
    depths = []
    for view in views:
        inside = view.grid[rows] > 0.5
        if inside.any():
            depths.append(float(v[np.nonzero(inside.any(axis=0))[0].max()]))
    return float(np.median(depths)) if depths else float("nan")


def cmd_depth(sets: list[Path]) -> None:
    """Per deadlift clip (rendered sets by back kind, then the labelled real ones): back_depth at
    the hinge (DEPTH_LEAN_DEG), and the median per group."""
    groups: dict[str, list[float]] = {}
    for folder in sets:
        for clip in _clips(folder):
            if clip["lift"] != "deadlift" or clip.get("view", "side") != "side":
                continue
            d = back_depth(hinge_views(folder / clip["video"], *DEPTH_LEAN_DEG))
            groups.setdefault(f"{folder.name} {clip['spine']['kind']}", []).append(d)
    for video, label in real_deadlifts():
        d = back_depth(hinge_views(video, *DEPTH_LEAN_DEG))
        print(f"    {video.parent.name}/{video.name:32} rounding={label:4} depth {d:.3f}")
        groups.setdefault(f"real rounding={label}", []).append(d)
    for name, values in groups.items():
        x = np.asarray(values)
        x = x[np.isfinite(x)]
        print(
            f"  {name:40} {len(x):3} clips: median {np.median(x):.3f}, "
            f"range {x.min():.3f}-{x.max():.3f} torso lengths"
        )


def cmd_compare(models: list[Path], dev: Path) -> None:
    """Per model: per-frame errors on the held-out renders; on the real deadlifts, each clip's 90th
    percentile hinge reading, the good-form clips' median of it and how well it ranks the clips
    labelled rounded above the good-form ones (AUC)."""
    dev_set = load_set(dev, side_only=True)
    real = real_hinge_readings()
    for path in models:
        arrays = _load_arrays(path)
        print(f"{path}: dev {frame_scores(arrays, dev_set)}")
        good, bad = [], []
        for name, label, x in real:
            p90 = float(np.percentile(_predict(arrays, x)[:, :2].sum(axis=1), 90))
            (bad if label == "yes" else good).append(p90)
            print(f"    {name:40} rounding={label:4} hinge p90 {p90:5.1f}")
        pairs = [(b > g) + 0.5 * (b == g) for b in bad for g in good]
        print(
            f"  real: good-form median {np.median(good):.1f}, rounded {np.round(sorted(bad), 1)}, "
            f"AUC {np.mean(pairs):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("features", "train", "score", "compare", "depth"))
    parser.add_argument("--model", type=Path, action="append", default=[])
    parser.add_argument("--set", type=Path, action="append", default=[])
    parser.add_argument("--train", type=Path, action="append", default=[], help="(repeatable)")
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--out", type=Path, default=readout.MODEL_PATH)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument(
        "--hidden", default="256,128", help="hidden layer widths; '' for a linear read-out"
    )
    parser.add_argument("--no-posture-weights", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--back-dilate", type=float, default=BACK_DILATE_MAX, help="torso lengths; 0 for none"
    )
    parser.add_argument(
        "--back-bridge", type=float, default=BACK_BRIDGE_MAX, help="torso lengths; 0 for none"
    )
    args = parser.parse_args()
    if args.command == "features":
        cmd_features(args.set or [*TRAIN, args.dev])
        return
    if args.command == "depth":
        cmd_depth(args.set or [*TRAIN, args.dev])
        return
    if args.command == "compare":
        cmd_compare(args.model or [readout.MODEL_PATH], args.dev)
        return
    if args.command == "score":
        arrays = _load_arrays(readout.MODEL_PATH)
        for folder in args.set or [args.dev]:
            print(folder, frame_scores(arrays, load_set(folder, side_only=True)))
        return
    t0 = time.perf_counter()
    train = merge_sets([load_set(t, augmented=True) for t in args.train or TRAIN if t.is_dir()])
    dev = load_set(args.dev, side_only=True)
    print(
        f"train: {len(train['names'])} clips, {len(train['x'])} frames; dev: {len(dev['names'])} "
        f"clips, {len(dev['x'])} frames"
    )
    hidden = tuple(int(h) for h in args.hidden.split(",") if h)
    arrays = train_model(
        train,
        dev,
        hidden=hidden,
        epochs=args.epochs,
        seed=args.seed,
        posture=not args.no_posture_weights,
        back_dilate=args.back_dilate,
        back_bridge=args.back_bridge,
    )
    tmp = args.out.with_suffix(".part.npz")
    np.savez(tmp, **arrays)
    tmp.replace(args.out)
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
