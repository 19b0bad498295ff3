"""The app as a program of this computer, in headless Chromium against the real server, on the
sample videos (no real clips needed):

* nothing the pages load comes from outside this computer (every request is recorded, and any to
  another host is refused and fails the test);
* the review's headline, metrics, rep table, jump-to marks and flagged-rep cards say the same;
* a dropped connection names the analysis it stopped and offers to run it again;
* a stopped server is said plainly (not "Are you connected to the internet?"), and once started
  again the page names the lost analysis and asks for the video.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import REPO, AppServer
from review_page import assert_agrees, read_review, wait_for_review

from formcheck.history import SESSIONS_DIR, History

pytestmark = [pytest.mark.browser]

DEMOS = REPO / "sample_videos"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS


def _outside_requests(context: Any) -> list[str]:
    """Record (and refuse) every request of the context's pages to a host other than this
    computer; returns the list, filled as the pages load."""
    outside: list[str] = []

    def route(r: Any) -> None:
        if _local(r.request.url):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return outside


def _upload(page: Any, url: str, video: Path, lift: str | None = None) -> None:
    page.goto(url)
    page.get_by_text("Analyse a video").first.wait_for()
    page.locator('input[type="file"]').set_input_files(str(video))
    page.locator('[data-testid="stFileChip"]').wait_for()
    if lift is not None:
        page.get_by_role("radio", name=lift, exact=True).click()
    analyse = page.locator('[data-testid="stBaseButton-primary"]', has_text="Analyse")
    analyse.wait_for()
    analyse.click()


def _open(page: Any, name: str, heading: str | None = None) -> None:
    page.get_by_role("link", name=re.compile(name)).click()
    page.get_by_role("heading", name=heading or name).first.wait_for(timeout=60_000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
    assert not page.locator('[data-testid="stException"]').count()


def test_the_app_loads_nothing_from_outside_this_computer(
    app_server: Any, launch: Callable[..., Any]
) -> None:
    context = launch().new_context(viewport={"width": 1366, "height": 900})
    outside = _outside_requests(context)
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url))
    page = context.new_page()
    _upload(page, app_server.url, DEMOS / "squat_rounded_demo.mp4", lift="Squat")
    wait_for_review(page)
    page.locator("video").first.wait_for()
    for name in ("History", "Guide", "Settings", "Live"):
        _open(page, name)
    page.frame_locator('iframe[title*="webrtc"]').first.get_by_role(
        "button", name="START"
    ).wait_for(timeout=60_000)
    _open(page, "Review", "Rep by rep")
    wait_for_review(page)
    icon = page.evaluate("() => document.querySelector('link[rel*=\"icon\"]')?.href ?? ''")
    assert _local(icon), f"the page icon comes from {icon}"
    assert len(seen) > 20, "the recorder saw the page's own requests"
    assert outside == [], f"requests left this computer: {outside}"


@pytest.mark.parametrize(
    ("demo", "lift"), [("squat_rounded_demo", "Squat"), ("deadlift_rounded_demo", "Deadlift")]
)
def test_the_headline_table_and_flags_of_every_rep_agree(
    app_server: Any, launch: Callable[..., Any], shoot: Callable[[Any, str], Path],
    demo: str, lift: str,
) -> None:  # fmt: skip
    page = launch().new_page(viewport={"width": 1366, "height": 900})
    _upload(page, app_server.url, DEMOS / f"{demo}.mp4", lift=lift)
    wait_for_review(page)
    shoot(page, f"agree-{demo}")
    review = read_review(page)
    assert review.cards, "the rounded demo has flagged reps to compare"
    assert len(review.checks()) == 4, "every check of the lift has its column"
    assert_agrees(review)


def test_a_dropped_connection_offers_the_stopped_analysis_again(
    app_server: Any, launch: Callable[..., Any]
) -> None:
    """The connection to the server is cut while an analysis runs (as a sleeping laptop or a
    network hiccup would): the page reconnects by itself, says the analysis stopped, and runs it
    again on the upload that is still attached."""
    page = launch().new_page(viewport={"width": 1366, "height": 900})
    sockets: list[tuple[Any, Any]] = []

    def relay(ws: Any) -> None:
        sockets.append((ws, ws.connect_to_server()))

    page.route_web_socket(re.compile(r"/_stcore/stream"), relay)
    video = DEMOS / "squat_good_demo.mp4"
    _upload(page, app_server.url, video)
    page.locator('[data-testid="stProgress"]').wait_for(timeout=60_000)
    browser_side, server_side = sockets[-1]
    server_side.close()
    browser_side.close()
    notice = page.get_by_text("stopped before it finished")
    notice.wait_for(timeout=90_000)
    assert "squat_good_demo.mp4" in notice.inner_text()
    assert "still attached" in notice.inner_text()
    assert History(app_server.data_dir).sessions() == []
    page.get_by_role("button", name="Analyse squat_good_demo.mp4 again").click()
    wait_for_review(page)
    (row,) = History(app_server.data_dir).sessions()
    assert row.source_name == video.name and row.n_reps == 2
    assert not page.get_by_text("stopped before it finished").count()


def test_a_stopped_server_is_named_and_the_restarted_one_asks_for_the_video(
    tmp_path: Path, chromium_path: str, launch: Callable[..., Any],
    shoot: Callable[[Any, str], Path],
) -> None:  # fmt: skip
    data = tmp_path / "data"
    server = AppServer(data, tmp_path / "first.log")
    try:
        page = launch().new_page(viewport={"width": 1366, "height": 900})
        _upload(page, server.url, DEMOS / "squat_good_demo.mp4")
        page.locator('[data-testid="stProgress"]').wait_for(timeout=60_000)
        server.proc.send_signal(signal.SIGKILL)  # the app is killed mid-analysis
        server.proc.wait()
        dialog = page.get_by_role("dialog")
        dialog.wait_for(timeout=60_000)
        page.get_by_text("formcheck's server stopped").wait_for(timeout=10_000)
        shoot(page, "server-stopped")
        text = dialog.inner_text()
        assert "make app" in text and "internet" not in text and "yourscript" not in text, text
    finally:
        server.stop()
    again = AppServer(data, tmp_path / "second.log", port=server.port)
    try:
        notice = page.get_by_text("formcheck's server stopped while analysing squat_good_demo")
        notice.wait_for(timeout=90_000)  # the page reconnected by itself
        assert "Upload the video again" in notice.inner_text()
        assert not page.locator('[data-testid="stFileChip"]').count(), "no stale upload is shown"
        analyse = page.locator('[data-testid="stBaseButton-primary"]', has_text="Analyse")
        assert analyse.is_disabled()
        assert History(data).sessions() == []
        assert list((data / SESSIONS_DIR).iterdir()) == []
        shoot(page, "server-restarted")
    finally:
        again.stop()
