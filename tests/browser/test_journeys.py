"""End-to-end journeys in headless Chromium against the real app server.

* upload a real clip -> progress -> review (video playable, rep table, plots), with screenshots;
* two browsers analysing different uploads at the same time each get their own result;
* the live page with Chromium's fake camera fed by a real clip (a .y4m written here from the clip
  with PyAV + OpenCV): poses are found on the returned frames and reps are counted; recording the
  set and ending it opens the offline analysis in the review, which the same recording uploaded
  on the Analyse page matches verdict for verdict.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from review_page import assert_agrees, degrees, read_review

from formcheck.history import History
from formcheck.video import iter_frames

pytestmark = [pytest.mark.browser, pytest.mark.clips, pytest.mark.slow]

SQUAT = ("formfit", "squat.mp4")  # 3 back squats from the side, 8.5 s
DEADLIFT = ("bichraix-deadlift", "good004.mp4")  # 1 deadlift from the side, 3.5 s
REVIEW_TIMEOUT_MS = 300_000  # a loaded 2-core machine can be slow


def _clip(clips_dir: Path, which: tuple[str, str]) -> Path:
    return clips_dir / which[0] / which[1]


def _upload(page: Any, url: str, clip: Path, lift: str | None = None) -> None:
    page.goto(url)
    page.get_by_text("Analyse a video").first.wait_for()
    page.locator('input[type="file"]').set_input_files(str(clip))
    page.get_by_text(clip.name).first.wait_for()
    if lift is not None:
        page.get_by_role("radio", name=lift, exact=True).click()
    page.locator('[data-testid="stBaseButton-primary"]', has_text="Analyse").click()


def _wait_for_review(page: Any) -> None:
    """Until the review page has run to its end (its last section is drawn, the app is idle)."""
    page.get_by_role("heading", name="Rep by rep").wait_for(timeout=REVIEW_TIMEOUT_MS)
    page.get_by_role("heading", name="Export").wait_for(timeout=60_000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)


def test_upload_to_review_journey(
    app_server: Any, launch: Callable[..., Any], clips_dir: Path,
    shoot: Callable[[Any, str], Path],
) -> None:  # fmt: skip
    page = launch().new_page(viewport={"width": 1366, "height": 900})
    clip = _clip(clips_dir, SQUAT)
    _upload(page, app_server.url, clip, lift="Squat")
    page.locator('[data-testid="stProgress"]').wait_for(timeout=60_000)  # the real progress bar
    shoot(page, "1-analysing")
    _wait_for_review(page)
    assert "/review" in page.url and "session=" in page.url
    video = page.locator("video").first
    video.wait_for()
    ready = page.wait_for_function(
        "v => v.readyState >= 1 && v.duration > 0", arg=video.element_handle(), timeout=30_000
    )
    assert ready
    assert page.locator('[data-testid="stMetric"]').first.is_visible()
    charts = page.locator('[data-testid="stPlotlyChart"]')
    page.get_by_role("heading", name="Angles over time").scroll_into_view_if_needed()
    page.keyboard.press("End")  # charts further down mount once the page has been scrolled to
    charts.nth(1).wait_for(state="attached", timeout=60_000)
    assert charts.count() >= 2  # angles + rep trend
    assert page.get_by_text("Squat · squat.mp4").is_visible()
    shoot(page, "2-review")
    (row,) = History(app_server.data_dir).sessions()
    assert row.n_reps == 3
    # the annotated video is drawn in the background; the page reloads itself when it is ready
    expect(page.get_by_text("Annotated video (MP4)")).to_be_visible(timeout=120_000)
    expect(page.get_by_text("is being prepared")).to_have_count(0)
    (row,) = History(app_server.data_dir).sessions()
    assert row.video_path is not None and row.video_path.is_file()

    # the session is in the history, with its trend charts; the other pages render
    page.get_by_role("link", name=re.compile("History")).click()
    page.get_by_role("heading", name="History").wait_for()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=30_000)
    assert page.get_by_text("1 of 1 sessions").is_visible()
    shoot(page, "6-history")
    for name, heading in (("Guide", "Guide"), ("Settings", "Settings")):
        page.get_by_role("link", name=re.compile(name)).click()
        page.get_by_role("heading", name=heading).wait_for()
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=30_000)
        assert not page.locator('[data-testid="stException"]').count()
        shoot(page, f"7-{name.lower()}")


def test_two_browsers_analysing_at_once_get_their_own_results(
    app_server: Any, launch: Callable[..., Any], clips_dir: Path,
    shoot: Callable[[Any, str], Path],
) -> None:  # fmt: skip
    browser = launch()
    pages = [browser.new_context().new_page() for _ in range(2)]
    clips = [_clip(clips_dir, DEADLIFT), _clip(clips_dir, ("bichraix-deadlift", "bad005.mp4"))]
    for page, clip in zip(pages, clips, strict=True):
        _upload(page, app_server.url, clip, lift="Deadlift")
    for page in pages:  # both are analysing at the same time
        page.locator('[data-testid="stProgress"]').wait_for(timeout=60_000)
    for i, (page, clip) in enumerate(zip(pages, clips, strict=True)):
        _wait_for_review(page)
        assert page.get_by_text(f"Deadlift · {clip.name}").is_visible()
        assert not page.locator('[data-testid="stException"]').count()
        shoot(page, f"3-parallel-{i}")
    names = sorted(s.source_name for s in History(app_server.data_dir).sessions())
    assert names == sorted(c.name for c in clips)


# --- live -----------------------------------------------------------------------------------------


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(locator)


def write_y4m(src: Path, dst: Path, start_s: float, end_s: float, size: tuple[int, int]) -> int:
    """Write src's frames between start_s and end_s as a 30 fps 4:2:0 Y4M (Chromium's fake camera
    format), letterboxed into size (w, h). Decoded with PyAV (formcheck.video). Returns frames."""
    w, h = size
    n = 0
    with dst.open("wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode())
        for frame in iter_frames(src):
            if frame.t_s < start_s:
                continue
            if frame.t_s > end_s:
                break
            img = frame.image_bgr
            scale = min(w / img.shape[1], h / img.shape[0])
            small = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                               interpolation=cv2.INTER_AREA)  # fmt: skip
            canvas = np.full((h, w, 3), 235, np.uint8)  # the clip's own white studio wall
            y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
            canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
            fh.write(b"FRAME\n")
            fh.write(cv2.cvtColor(canvas, cv2.COLOR_BGR2YUV_I420).tobytes())
            n += 1
    return n


def _live_numbers(page: Any) -> tuple[int, int, int]:
    """(frames with a pose, frames analysed, reps) from the live panel."""
    text = page.locator('[data-testid="stCaptionContainer"]', has_text="Poses on").last.inner_text()
    m = re.search(r"Poses on (\d+) of (\d+) analysed frames", text)
    assert m, text
    reps = page.locator('[data-testid="stMetric"]', has_text="Reps").first.inner_text()
    return int(m.group(1)), int(m.group(2)), int(re.findall(r"\d+", reps)[-1])


def _verdicts(row: dict[str, str]) -> dict[str, str]:
    """A rep table row without its measured values: its rep, result, time and flags."""
    return {k: v for k, v in row.items() if degrees(v) is None or k == "Time"}


def _close(a: list[dict[str, str]], b: list[dict[str, str]], tolerance_deg: int = 2) -> bool:
    """Every measured value of table a within tolerance_deg of b's."""
    return all(
        abs((degrees(x[k]) or 0) - (degrees(y[k]) or 0)) <= tolerance_deg
        for x, y in zip(a, b, strict=True)
        for k in x
        if k != "Time"
    )


def test_live_page_with_a_fake_camera(
    app_server: Any, launch: Callable[..., Any], clips_dir: Path, tmp_path: Path,
    shoot: Callable[[Any, str], Path],
) -> None:  # fmt: skip
    y4m = tmp_path / "camera.y4m"
    # 3 squats (1.2 s - 8.1 s of the clip), played by Chromium in a loop as the webcam
    write_y4m(_clip(clips_dir, SQUAT), y4m, 1.0, 8.2, (640, 480))
    browser = launch([f"--use-file-for-fake-video-capture={y4m}"])
    page = browser.new_page(viewport={"width": 1366, "height": 950})
    page.goto(f"{app_server.url}/live")
    frame = page.frame_locator('iframe[title*="webrtc"]').first
    frame.get_by_role("button", name="START").click(timeout=60_000)
    page.get_by_text("Poses on").wait_for(timeout=60_000)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found, total, reps = _live_numbers(page)
        if total >= 60:
            break
        time.sleep(1.0)
    assert total >= 60, f"only {total} frames reached the processor"
    assert found >= 0.8 * total, f"poses on {found} of {total} returned frames"
    assert reps == 0  # squats before "Start set" are not counted

    # a recorded set: start, let the looping clip play a little over one pass (3 squats in
    # 7.2 s; the recording starts anywhere in the loop), end -> offline analysis -> review
    page.get_by_role("button", name=re.compile("Start set")).click()
    expect(page.get_by_role("button", name=re.compile("End set"))).to_be_enabled(timeout=30_000)
    time.sleep(9)
    shoot(page, "4-live")
    assert _live_numbers(page)[2] >= 1, "the live preview counted no rep of the set"
    page.get_by_role("button", name=re.compile("End set")).click()
    try:
        _wait_for_review(page)
    finally:
        shoot(page, "5-live-review")
    (row,) = History(app_server.data_dir).sessions()
    assert row.origin == "live" and row.exercise == "squat"
    assert row.n_reps >= 2
    # the review opened with the report; the annotated video follows from the background
    deadline = time.monotonic() + 120
    while row.video_path is None and time.monotonic() < deadline:
        time.sleep(1.0)
        (row,) = History(app_server.data_dir).sessions()
    assert row.video_path is not None and row.video_path.is_file()
    page.get_by_role("heading", name="Export").wait_for(timeout=60_000)
    expect(page.get_by_text("Annotated video (MP4)")).to_be_visible(timeout=30_000)
    live_review = read_review(page)
    assert_agrees(live_review)

    # the same footage uploaded (the set's recording, kept as filmed) gets the same verdicts
    assert row.raw_video_path is not None and row.raw_video_path.is_file()
    _upload(page, app_server.url, row.raw_video_path, lift="Squat")
    _wait_for_review(page)
    shoot(page, "5-live-recording-uploaded")
    uploaded = read_review(page)
    # the same verdicts; the app's one pose model carries a little state from the analysis
    # before, so a value may differ by a degree or two (never a verdict)
    assert uploaded.headline == live_review.headline
    assert [_verdicts(r) for r in uploaded.table] == [_verdicts(r) for r in live_review.table]
    assert _close(uploaded.table, live_review.table)
    assert uploaded.metrics.keys() == live_review.metrics.keys()
    assert uploaded.cards.keys() == live_review.cards.keys()
    assert sorted(s.origin for s in History(app_server.data_dir).sessions()) == ["live", "upload"]
