"""signals.py: bounded gap filling, zero-phase low-pass, Hampel, One-Euro, clean_pose."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from formcheck.landmarks import LM, N_LANDMARKS, PoseSequence
from formcheck.signals import (
    CleanParams,
    OneEuroFilter,
    clean_pose,
    fill_gaps,
    filled_neighbours,
    frame_rate,
    hampel,
    load_clean_params,
    lowpass,
)

FPS = 30.0


def _sine(freq_hz: float, seconds: float = 4.0, amp: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * FPS)) / FPS
    return amp * np.sin(2 * np.pi * freq_hz * t)


# --- frame_rate -----------------------------------------------------------------------------------


def test_frame_rate_is_the_median_interval_and_falls_back_without_one() -> None:
    t = np.array([0.0, 0.04, 0.08, 0.20, 0.24])  # one late frame does not move the median
    assert frame_rate(t) == pytest.approx(25.0)
    assert frame_rate(np.array([1.0]), fallback=24.0) == 24.0
    assert frame_rate(np.array([1.0, 1.0]), fallback=24.0) == 24.0


# --- fill_gaps ------------------------------------------------------------------------------------


def _t(n: int) -> np.ndarray:
    return np.arange(n) / FPS


def test_fill_gaps_interpolates_a_short_gap_linearly() -> None:
    x = np.array([0.0, 1.0, np.nan, np.nan, np.nan, 5.0, 6.0])
    np.testing.assert_allclose(fill_gaps(x, _t(7), max_gap_s=4.5 / FPS), [0, 1, 2, 3, 4, 5, 6])


def test_fill_gaps_keeps_a_gap_whose_neighbours_are_just_too_far_apart() -> None:
    x = np.array([0.0, 1.0, np.nan, np.nan, np.nan, 5.0, 6.0])  # neighbours 4 frames apart
    out = fill_gaps(x, _t(7), max_gap_s=3.9 / FPS)
    assert np.isnan(out[2:5]).all()
    np.testing.assert_array_equal(out[[0, 1, 5, 6]], [0.0, 1.0, 5.0, 6.0])
    assert np.isfinite(fill_gaps(x, _t(7), max_gap_s=4.1 / FPS)).all()


def test_fill_gaps_interpolates_in_time_at_a_variable_frame_rate() -> None:
    t = np.array([0.0, 0.1, 0.4, 0.5])  # the missing frame sits a quarter of the way
    x = np.array([0.0, np.nan, 4.0, 5.0])
    t2 = np.array([0.0, 0.1, 0.2, 0.5, 0.6])
    x2 = np.array([0.0, 1.0, np.nan, np.nan, 6.0])  # gap between 0.1 s and 0.6 s: 0.5 s
    assert fill_gaps(x, t, max_gap_s=0.4)[1] == pytest.approx(1.0)
    assert np.isnan(fill_gaps(x2, t2, max_gap_s=0.45)[2:4]).all()
    np.testing.assert_allclose(fill_gaps(x2, t2, max_gap_s=0.55)[2:4], [2.0, 5.0])


def test_fill_gaps_leaves_leading_and_trailing_nan() -> None:
    x = np.array([np.nan, np.nan, 2.0, np.nan, 4.0, np.nan])
    out = fill_gaps(x, _t(6), max_gap_s=1.0)
    assert np.isnan(out[[0, 1, 5]]).all()
    assert out[3] == pytest.approx(3.0)


def test_fill_gaps_works_per_column_on_landmark_arrays() -> None:
    x = np.zeros((6, N_LANDMARKS, 2))
    x[:, :, 0] = np.arange(6)[:, None]
    x[2, LM.LEFT_HIP] = np.nan  # one-frame gap in one landmark
    x[1:5, LM.NOSE] = np.nan  # four-frame gap in another
    out = fill_gaps(x, _t(6), max_gap_s=3.5 / FPS)
    assert out.shape == x.shape
    np.testing.assert_allclose(out[2, LM.LEFT_HIP], [2.0, 0.0])
    assert np.isnan(out[1:5, LM.NOSE]).all()
    assert np.isnan(x[2, LM.LEFT_HIP]).all(), "input must not be modified"


def test_fill_gaps_rejects_bad_arguments() -> None:
    x = np.array([0.0, np.nan, 2.0])
    assert np.isnan(fill_gaps(x, _t(3), 0.0)[1])
    with pytest.raises(ValueError, match="max_gap_s"):
        fill_gaps(x, _t(3), -0.1)
    with pytest.raises(ValueError, match="t_s"):
        fill_gaps(x, _t(4), 1.0)


def test_filled_neighbours_name_the_kept_samples_on_either_side() -> None:
    before, after = filled_neighbours(np.array([False, True, False, False, True, False]))
    assert before.tolist() == [-1, 1, 1, 1, 4, 4]
    assert after.tolist() == [1, 1, 4, 4, 4, -1]


# --- lowpass --------------------------------------------------------------------------------------


def _lowpass(x: np.ndarray, t_s: np.ndarray, cutoff_hz: float = 6.0) -> np.ndarray:
    return lowpass(x, t_s, cutoff_hz=cutoff_hz, order=4, max_nyquist_share=0.95, padtype="odd")


def test_lowpass_keeps_a_1hz_movement() -> None:
    x = _sine(1.0)
    y = _lowpass(x, _t(len(x)))
    assert np.max(np.abs(y - x)) < 0.02


def test_lowpass_is_zero_phase() -> None:
    x = _sine(2.0)
    y = _lowpass(x, _t(len(x)))
    lags = np.arange(-5, 6)
    mid = slice(20, -20)
    corr = [np.dot(x[mid], np.roll(y, -lag)[mid]) for lag in lags]
    assert lags[int(np.argmax(corr))] == 0


def test_lowpass_attenuates_12hz_noise() -> None:
    noise = _sine(12.0, amp=1.0)
    y = _lowpass(_sine(1.0) + noise, _t(len(noise)))
    residual = y - _sine(1.0)
    assert np.sqrt(np.mean(residual[15:-15] ** 2)) < 0.05 * np.sqrt(np.mean(noise**2))


def test_lowpass_filters_finite_runs_separately_and_keeps_nan() -> None:
    x = _sine(1.0, seconds=3.0) + _sine(12.0, seconds=3.0, amp=0.3)
    x[40:50] = np.nan
    y = _lowpass(x, _t(len(x)))
    assert np.isnan(y[40:50]).all()
    assert np.isfinite(y[:40]).all() and np.isfinite(y[50:]).all()
    clean = _sine(1.0, seconds=3.0)
    assert np.max(np.abs(y[55:-5] - clean[55:-5])) < 0.1


def test_lowpass_handles_short_runs_and_clips() -> None:
    short = np.array([0.0, 10.0, 0.0])  # under 4 samples: left alone
    np.testing.assert_array_equal(_lowpass(short, _t(3)), short)
    clip = _sine(1.0, seconds=0.3) + np.array([0.2, -0.2] * 4 + [0.2])  # 9 frames < default padlen
    y = _lowpass(clip, _t(9))
    assert y.shape == clip.shape and np.isfinite(y).all()
    assert np.std(np.diff(y)) < np.std(np.diff(clip))


def test_lowpass_at_a_variable_frame_rate_filters_in_time() -> None:
    """Frames 20-50 ms apart: a 1 Hz movement comes through within 0.02 (taken as evenly spaced
    frames, the uneven sampling looks like jitter and the filter bends it by about 0.05)."""
    rng = np.random.default_rng(4)
    t = np.cumsum(rng.uniform(0.02, 0.05, 120))
    clean = np.sin(2 * np.pi * 1.0 * t)
    y = _lowpass(clean, t)
    assert np.max(np.abs(y - clean)[10:-10]) < 0.02


def test_lowpass_caps_the_cutoff_below_nyquist_at_low_frame_rates() -> None:
    """At 10 fps a 6 Hz cutoff is past Nyquist (5 Hz): the filter runs at 0.95 of Nyquist, which
    keeps a 1 Hz movement and damps what alternates frame to frame."""
    t = np.arange(40) / 10.0
    slow = np.sin(2 * np.pi * 1.0 * t)
    y = _lowpass(slow + 0.5 * (-1.0) ** np.arange(40), t)
    assert np.max(np.abs(y - slow)[5:-5]) < 0.4


def test_lowpass_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="cutoff"):
        _lowpass(np.zeros(10), _t(10), cutoff_hz=-1.0)
    with pytest.raises(ValueError, match="max_nyquist_share"):
        lowpass(np.zeros(10), _t(10), cutoff_hz=6.0, order=4, max_nyquist_share=1.0, padtype="odd")
    with pytest.raises(ValueError, match="t_s"):
        _lowpass(np.zeros(10), _t(9))


# --- hampel ---------------------------------------------------------------------------------------


def test_hampel_replaces_a_spike_by_the_local_median() -> None:
    x = _sine(1.0, seconds=2.0) * 10
    spiked = x.copy()
    spiked[30] += 50.0
    out = hampel(spiked, window=3, n_sigmas=3.0)
    one_frame_step = np.max(np.abs(np.diff(x)))
    assert abs(out[30] - x[30]) <= one_frame_step  # the median of a sloped window is one step off
    np.testing.assert_allclose(np.delete(out, 30), np.delete(x, 30))


def test_hampel_leaves_a_smooth_movement_and_nan_alone() -> None:
    x = _sine(1.0, seconds=2.0) * 10
    x[10] = np.nan
    out = hampel(x, window=3, n_sigmas=3.0)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
    np.testing.assert_allclose(out[np.isfinite(out)], x[np.isfinite(x)])


def test_hampel_rejects_a_zero_window() -> None:
    with pytest.raises(ValueError, match="window"):
        hampel(np.zeros(5), window=0, n_sigmas=3.0)


# --- One-Euro -------------------------------------------------------------------------------------


def test_one_euro_converges_to_a_constant() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    rng = np.random.default_rng(0)
    out = np.zeros(2)
    for i in range(90):
        out = f(np.array([100.0, -5.0]) + rng.normal(0, 1.0, 2) * (i < 30), i / FPS)
    np.testing.assert_allclose(out, [100.0, -5.0], atol=0.5)


def test_one_euro_smooths_jitter_at_rest() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    rng = np.random.default_rng(1)
    raw = 50.0 + rng.normal(0, 2.0, 120)
    out = np.array([f(np.array([v]), i / FPS)[0] for i, v in enumerate(raw)])
    assert np.std(out[30:]) < 0.5 * np.std(raw[30:])


def test_one_euro_lags_less_with_higher_beta() -> None:
    ramp = 300.0 * np.arange(60) / FPS  # 300 px/s
    lag = {}
    for beta in (0.0, 0.05):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta, d_cutoff=1.0)
        out = [f(np.array([v]), i / FPS)[0] for i, v in enumerate(ramp)]
        lag[beta] = ramp[-1] - out[-1]
    assert lag[0.05] < 0.5 * lag[0.0]
    assert lag[0.0] > 0


def test_one_euro_nan_resets_that_element_only() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    for i in range(10):
        f(np.array([0.0, 0.0]), i / FPS)
    out = f(np.array([np.nan, 0.0]), 10 / FPS)
    assert np.isnan(out[0]) and out[1] == pytest.approx(0.0)
    out = f(np.array([100.0, 0.0]), 11 / FPS)
    assert out[0] == pytest.approx(100.0), "a returning landmark starts fresh, not dragged from 0"


def test_one_euro_first_frame_passes_through_and_stalled_time_holds() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.01, d_cutoff=1.0)
    np.testing.assert_array_equal(f(np.array([3.0]), 0.0), [3.0])
    first = f(np.array([10.0]), 1 / FPS)
    np.testing.assert_array_equal(f(np.array([99.0]), 1 / FPS), first)


def test_one_euro_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0.0, beta=0.01, d_cutoff=1.0)
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=1.0, beta=-1.0, d_cutoff=1.0)


# --- clean_pose -----------------------------------------------------------------------------------


def _moving_sequence(t: int = 90) -> PoseSequence:
    ts = np.arange(t) / FPS
    xy = np.zeros((t, N_LANDMARKS, 2))
    xy[:, :, 0] = 300.0 + 40.0 * np.sin(2 * np.pi * 0.5 * ts)[:, None] + np.arange(N_LANDMARKS)
    xy[:, :, 1] = 500.0 + 20.0 * np.cos(2 * np.pi * 0.5 * ts)[:, None]
    world = np.zeros((t, N_LANDMARKS, 3))
    world[:, :, 0] = 0.1 * np.sin(2 * np.pi * 0.5 * ts)[:, None]
    return PoseSequence(
        t_s=ts, xy_px=xy, visibility=np.full((t, N_LANDMARKS), 0.9), world_m=world,
        n_people=np.ones(t, dtype=np.int64), width_px=640, height_px=480,
    )  # fmt: skip


def test_clean_pose_fills_a_short_low_visibility_dip_and_keeps_a_long_one_missing() -> None:
    seq = _moving_sequence()
    vis = seq.visibility.copy()
    vis[20:24, LM.LEFT_KNEE] = 0.1  # 4 frames (0.13 s): bridged
    vis[40:70, LM.RIGHT_KNEE] = 0.1  # 1 s: stays missing
    seq = PoseSequence(seq.t_s, seq.xy_px, vis, seq.world_m, seq.n_people, 640, 480)
    out = clean_pose(seq, replace(load_clean_params(), max_gap_s=0.25, min_visibility=0.3))
    np.testing.assert_allclose(
        out.xy_px[20:24, LM.LEFT_KNEE], seq.xy_px[20:24, LM.LEFT_KNEE], atol=1
    )
    assert np.isnan(out.xy_px[40:70, LM.RIGHT_KNEE]).all()
    assert np.isnan(out.world_m[40:70, LM.RIGHT_KNEE]).all()
    np.testing.assert_array_equal(out.visibility, vis)


def test_clean_pose_removes_a_one_frame_jump() -> None:
    seq = _moving_sequence()
    xy = seq.xy_px.copy()
    xy[45, LM.LEFT_HIP, 1] += 200.0
    seq = PoseSequence(seq.t_s, xy, seq.visibility, seq.world_m, seq.n_people, 640, 480)
    out = clean_pose(seq)
    assert (
        abs(out.xy_px[45, LM.LEFT_HIP, 1] - (xy[44, LM.LEFT_HIP, 1] + xy[46, LM.LEFT_HIP, 1]) / 2)
        < 3
    )


def test_clean_pose_keeps_frames_without_a_lifter_missing() -> None:
    seq = _moving_sequence()
    xy, world, vis = seq.xy_px.copy(), seq.world_m.copy(), seq.visibility.copy()
    xy[30:60] = np.nan
    world[30:60] = np.nan
    vis[30:60] = 0.0
    seq = PoseSequence(seq.t_s, xy, vis, world, seq.n_people, 640, 480)
    out = clean_pose(seq)
    assert not out.detected[30:60].any()
    assert out.detected[:30].all() and out.detected[60:].all()
    assert np.isnan(seq.xy_px[30:60]).all() and np.isfinite(seq.xy_px[:30]).all()


def test_clean_pose_reads_its_numbers_from_the_params() -> None:
    """A gap the packaged params bridge stays missing under params with a shorter max_gap_s."""
    seq = _moving_sequence()
    vis = seq.visibility.copy()
    vis[20:26, LM.LEFT_KNEE] = 0.1  # neighbours 7 frames (0.23 s) apart
    seq = PoseSequence(seq.t_s, seq.xy_px, vis, seq.world_m, seq.n_people, 640, 480)
    assert np.isfinite(clean_pose(seq).xy_px[20:26, LM.LEFT_KNEE]).all()
    short: CleanParams = replace(load_clean_params(), max_gap_s=0.2)
    assert np.isnan(clean_pose(seq, short).xy_px[20:26, LM.LEFT_KNEE]).all()
