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
    assert replay["report"]["warnings"] == full["report"]["warnings"]
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
