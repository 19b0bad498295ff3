"""readout.py: the torso-aligned view of a frame and the learned spine read-out on it.

The view must not depend on where the lifter stands in the image, how large they are or which way they
face; the shipped model must read it, and on rendered lifters it never saw (the committed benchmark
set, benchmarks/synth) its reading must follow the rendered spine.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from test_spine import Lifter, _run_clip, mirrored

from formcheck import readout
from formcheck.spine import measure_back

SYNTH = Path(__file__).resolve().parents[1] / "benchmarks" / "synth"


def _view(lifter: Lifter) -> readout.TorsoView:
    xy, vis = lifter.landmarks()
    view = readout.torso_view(lifter.mask(), xy, vis)
    assert view is not None
    return view


def test_view_is_the_same_for_a_mirrored_frame() -> None:
    lifter = Lifter(bend_deg=20.0, lean_deg=50.0)
    xy, vis = lifter.landmarks()
    mask_m, xy_m = mirrored(lifter.mask(), xy)
    right = _view(lifter)
    left = readout.torso_view(mask_m, xy_m, vis)
    assert left is not None
    assert float(np.abs(right.grid - left.grid).max()) < 0.05
    np.testing.assert_allclose(right.geometry, left.geometry, atol=0.02)


def test_view_does_not_depend_on_image_position_or_size() -> None:
    big = _view(Lifter(bend_deg=15.0, lean_deg=40.0))
    small = _view(Lifter(bend_deg=15.0, lean_deg=40.0, torso_px=130.0, hip_px=(300.0, 500.0)))
    assert float(np.abs(big.grid - small.grid).mean()) < 0.03
    # Lifter's heels and toes sit a fixed 10 px below the ankle, the rest scales with the torso
    np.testing.assert_allclose(big.geometry, small.geometry, atol=0.04)


def test_view_puts_the_back_on_the_dorsal_side() -> None:
    """The back's edge sits at v = +0.30 torso lengths (Lifter.BACK_V): inside on the near side of it,
    outside beyond it, whichever way the lifter faces."""
    for facing in (1, -1):
        grid = _view(Lifter(facing=facing)).grid
        v = (
            readout.GRID_V[0]
            + (np.arange(readout.GRID_COLS) + 0.5)
            * (readout.GRID_V[1] - readout.GRID_V[0])
            / readout.GRID_COLS
        )
        row = grid[readout.GRID_ROWS // 2]
        assert row[np.argmin(np.abs(v - 0.2))] > 0.9, facing
        assert row[np.argmin(np.abs(v - 0.45))] < 0.1, facing


def test_a_frame_without_the_torso_in_the_mask_is_not_read() -> None:
    lifter = Lifter()
    xy, vis = lifter.landmarks()
    assert readout.torso_view(np.zeros((480, 640), np.float32), xy, vis) is None
    assert readout.torso_view(lifter.mask(), xy + np.array([400.0, 0.0]), vis) is None
    assert readout.torso_view(None, xy, vis) is None
    assert readout.torso_view(lifter.mask(), xy[:20], vis) is None


def test_the_shipped_model_reads_the_view() -> None:
    assert readout.MODEL_PATH.stat().st_size <= 10e6
    model = readout.ReadoutModel()
    assert model.layers[0][0].shape[0] == readout.features(_view(Lifter())).size
    reading = model.read(_view(Lifter(bend_deg=10.0, lean_deg=45.0)))
    assert math.isfinite(reading.flexion_deg) and reading.sigma_deg > 0
    assert reading.flexion_deg == pytest.approx(reading.lumbar_deg + reading.thoracic_deg)


def test_measure_back_reports_the_reading_and_keeps_the_outline() -> None:
    lifter = Lifter(bend_deg=20.0, lean_deg=45.0)
    xy, vis = lifter.landmarks()
    s = measure_back(lifter.mask(), xy, vis)
    reading = readout.default_model().read(_view(lifter))
    assert s.flexion_deg == pytest.approx(reading.flexion_deg)
    assert s.sigma_deg == pytest.approx(reading.sigma_deg)
    assert s.outline_bend_deg == pytest.approx(20.0, abs=2.0)
    assert len(s.contour_px) > 10


def _truth(name: str) -> np.ndarray:
    with (SYNTH / f"{name}.csv").open(newline="") as f:
        return np.array([float(r["spine_flex_deg"]) for r in csv.DictReader(f)])


@pytest.mark.slow
def test_reading_follows_the_rendered_spine_of_unseen_lifters() -> None:
    """Two rendered deadlifts of the benchmark set (never trained on): one neutral, one rounding 30
    degrees on every rep. Frames whose truth is within 3 degrees of neutral read near 0; frames bent
    20 degrees or more read most of it."""
    readings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in ("deadlift_neutral_side_r1", "deadlift_round30_every_side"):
        series = _run_clip(SYNTH / f"{name}.mp4")
        truth = _truth(name)
        n = min(len(truth), len(series.flexion_abs_deg))
        readings[name] = (series.flexion_abs_deg[:n], truth[:n])
    x, t = readings["deadlift_neutral_side_r1"]
    ok = np.isfinite(x) & (np.abs(t) <= 3)
    assert ok.sum() > 50
    assert abs(float(np.median(x[ok]))) < 5.0
    x, t = readings["deadlift_round30_every_side"]
    bent = np.isfinite(x) & (t >= 20)
    assert bent.sum() > 20
    assert float(np.median(x[bent] - t[bent])) > -10.0
    assert float(np.median(x[bent])) > 15.0
