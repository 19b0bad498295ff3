"""pose.py on real frames: the mask is the caller's own array, and bystanders are counted on the frames
the counter is due for, while the tracker runs (the counter works on a helper thread)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formcheck.pose import PoseEstimator, default_model_path, reused_estimator
from formcheck.video import iter_frames

TWO_PEOPLE = "form-guard/squat_bad__h264_transcode.mp4"
ONE_PERSON = "workouttracker-squat/squat_11.mp4"


@pytest.fixture(scope="module", autouse=True)
def _needs_model() -> None:
    if not default_model_path().is_file():
        pytest.skip(f"pose model not found at {default_model_path()}")


def _first_frames(path: Path, n: int) -> list[tuple[float, np.ndarray]]:
    out = []
    for frame in iter_frames(path):
        out.append((frame.t_s, frame.image_bgr))
        if len(out) == n:
            break
    return out


def test_mask_is_an_owned_copy_that_later_frames_do_not_change(clips_dir: Path) -> None:
    frames = _first_frames(clips_dir / ONE_PERSON, 8)
    with PoseEstimator(people_check_s=0) as estimator:
        first = estimator.detect(frames[0][1], frames[0][0])
        assert first.mask is not None
        assert first.mask.flags.owndata and first.mask.flags.writeable
        assert first.mask.shape == frames[0][1].shape[:2]
        kept = first.mask.copy()
        for t_s, image in frames[1:]:
            estimator.detect(image, t_s)
    np.testing.assert_array_equal(first.mask, kept)
    assert 0.5 < float(first.mask.max()) <= 1.0  # a person probability, not freed memory


def test_bystander_counted_on_every_frame_between_checks(clips_dir: Path) -> None:
    frames = _first_frames(clips_dir / TWO_PEOPLE, 45)  # 1.5 s at 30 fps: checks at 0 and 1 s
    with PoseEstimator(people_check_s=1.0) as estimator:
        poses = [estimator.detect(image, t_s) for t_s, image in frames]
        multi = estimator.multi_person_frames
    detected = [p for p in poses if p.detected]
    assert len(detected) >= 40
    assert all(p.n_people == 2 for p in detected)
    assert multi == len(detected)


def test_counting_off_reports_one_person(clips_dir: Path) -> None:
    frames = _first_frames(clips_dir / TWO_PEOPLE, 5)
    with PoseEstimator(people_check_s=0) as estimator:
        poses = [estimator.detect(image, t_s) for t_s, image in frames]
        assert estimator.multi_person_frames == 0
    assert {p.n_people for p in poses if p.detected} == {1}


def test_one_model_per_process_is_reused_video_after_video(clips_dir: Path) -> None:
    """Videos in turn get the same model, each starting its clock from 0 again, with its own
    bystander count; the landmarks of a video do not depend on the video before it (the clock
    jump starts tracking afresh); a video analysed while the model is lent out gets its own."""
    one = _first_frames(clips_dir / ONE_PERSON, 10)
    two = _first_frames(clips_dir / TWO_PEOPLE, 10)
    with PoseEstimator(people_check_s=1.0) as fresh:
        expected = [fresh.detect(image, t_s) for t_s, image in one]
    with reused_estimator(people_check_s=1.0) as first:
        for t_s, image in two:
            first.detect(image, t_s)
        assert first.multi_person_frames > 0
        with reused_estimator(people_check_s=1.0) as meanwhile:
            assert meanwhile is not first
            assert meanwhile.detect(one[0][1], one[0][0]).detected
    with reused_estimator(people_check_s=1.0) as again:
        assert again is first
        poses = [again.detect(image, t_s) for t_s, image in one]
        assert again.multi_person_frames == 0
    body = [11, 12, 23, 24, 25, 26, 27, 28]  # shoulders, hips, knees, ankles (hands jitter ~2 px)
    for pose, want in zip(poses, expected, strict=True):
        assert pose.detected == want.detected
        np.testing.assert_allclose(pose.xy_px[body], want.xy_px[body], atol=1.0)
