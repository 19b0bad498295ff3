"""benchmarks/spine_lab.py: replaying cached pose output gives what the full pipeline gives."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "sample_videos" / "deadlift_good_demo.mp4"

pytestmark = pytest.mark.slow


def _module(name: str) -> Any:
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    return importlib.import_module(name)


def test_cached_replay_matches_the_pipeline(tmp_path: Path) -> None:
    lab, accuracy = _module("spine_lab"), _module("accuracy")
    cached = lab.cache_clip(DEMO, tmp_path)
    assert cached.is_file() and lab.cache_clip(DEMO, tmp_path) == cached  # cached once
    replay = lab.run_cached(DEMO, tmp_path)
    full = accuracy._run_clip(str(DEMO))
    assert [(r["start_s"], r["end_s"]) for r in replay["report"]["reps"]] == [
        (r["start_s"], r["end_s"]) for r in full["report"]["reps"]
    ]
    assert len(full["report"]["reps"]) == 2
    assert replay["report"]["notices"] == full["report"]["notices"]
    assert replay["report"]["view"] == full["report"]["view"]
    for key in ("trunk", "hip", "knee"):
        np.testing.assert_allclose(replay[key], full[key], atol=1e-9, equal_nan=True)
    # the cache keeps the mask as uint8: now and then an edge moves by a rounding step
    a, b = np.array(replay["spine_rel"], float), np.array(full["spine_rel"], float)
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    assert np.nanmedian(np.abs(a - b)) < 0.05
    assert np.nanmax(np.abs(a - b)) < 1.5


def test_replay_keeps_the_world_landmarks_the_view_detection_reads(tmp_path: Path) -> None:
    """A rendered deadlift 25 degrees off side-on: view and facing come from the metric world
    landmarks; a cache without them (before 2026-12-02) replayed 3 reps where the pipeline found 4."""
    lab, accuracy = _module("spine_lab"), _module("accuracy")
    clip = REPO / "benchmarks" / "synth" / "deadlift_neutral_yaw25.mp4"
    lab.cache_clip(clip, tmp_path)
    replay, full = lab.run_cached(clip, tmp_path), accuracy._run_clip(str(clip))
    assert [(r["start_s"], r["end_s"], r["partial"]) for r in replay["report"]["reps"]] == [
        (r["start_s"], r["end_s"], r["partial"]) for r in full["report"]["reps"]
    ]
    for key in ("trunk", "hip", "knee"):
        np.testing.assert_allclose(replay[key], full[key], atol=1e-9, equal_nan=True)


def test_the_ceiling_fit_recovers_a_known_seen_share_and_posture_term() -> None:
    """spine_snr's model on made-up readings: 0.4 of the bend seen, 0.1 deg per deg of hip
    flexion, an offset per clip (the lifter's neutral) and 2 deg of noise come back out."""
    snr = _module("spine_snr")
    rng = np.random.default_rng(7)
    clip = np.repeat(np.arange(6), 200)
    truth = rng.uniform(-20.0, 30.0, clip.size)
    hip = rng.uniform(0.0, 110.0, clip.size)
    offset = np.array([-14.0, -3.0, 0.0, 5.0, 11.0, 20.0])[clip]
    reading = 0.4 * truth + 0.1 * hip + offset + rng.normal(0.0, 2.0, clip.size)
    reading[::17] = np.nan  # unmeasured frames are left out
    fit = snr.fit_readings(reading, truth, hip, clip)
    assert fit.n_clips == 6 and fit.n_frames == int(np.isfinite(reading).sum())
    assert abs(fit.seen - 0.4) < 0.02 and abs(fit.posture - 0.1) < 0.01
    assert abs(fit.rsd - 2.0) < 0.2
    assert abs(fit.snr15 - 3.0) < 0.4


@pytest.mark.parametrize("c2", [-0.2, 0.0, 0.15])
def test_the_curvature_read_out_measures_a_known_parabola(c2: float) -> None:
    """An outline v = 0.12 + 0.05 u + c2 u^2 (fractions of L behind a vertical torso axis) turns
    by -2 c2 x 0.7 rad over 0.2..0.9; three stations on an arm's edge are dropped as outliers."""
    snr = _module("spine_snr")
    xy, vis = np.full((33, 2), np.nan), np.ones(33)
    xy[[23, 24]] = (200.0, 300.0)  # hips
    xy[[11, 12]] = (200.0, 200.0)  # shoulders: L = 100 px, u up the image
    u = np.linspace(0.0, 0.9, 37)
    v = 0.12 + 0.05 * u + c2 * u**2
    v[[20, 21, 22]] += 0.15  # an arm's edge
    contour = np.c_[200.0 - 100.0 * v, 300.0 - 100.0 * u]  # the back on the image's left
    got = snr.curvature_deg(contour, xy, vis, (0.2, 0.9))
    assert got == pytest.approx(np.degrees(-2 * c2 * 0.7), abs=0.05)
