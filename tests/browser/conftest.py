"""Real-browser fixtures: the app served by `streamlit run` on a free local port with its own data
folder, and Debian's headless Chromium driven by Playwright.

Tests here skip with a reason when Chromium (`chromium` on PATH, e.g. `apt-get install chromium`) or
the playwright package is missing. Screenshots go to the test's tmp folder, and also to
$FORMCHECK_SCREENSHOTS when that is set (to look at them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Flags for headless Chromium on a server: no sandbox (root in CI), no GPU, nothing phoned home,
#: and a fake camera that the browser accepts without asking.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no Chromium on PATH (install Debian's: apt-get install -y chromium)")
    pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppServer:
    """`streamlit run app.py` in a subprocess; .url is its address, .data_dir its data folder.
    port: a free one unless given (a server started again where the last one ran)."""

    def __init__(self, data_dir: Path, log: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "FORMCHECK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early; see {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"streamlit did not become healthy in 60 s; see {log}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


@pytest.fixture
def app_server(tmp_path: Path, chromium_path: str) -> Iterator[AppServer]:
    server = AppServer(tmp_path / "data", tmp_path / "streamlit.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def launch(chromium_path: str) -> Iterator[Callable[..., Any]]:
    """launch(extra_args=[...]) -> a Playwright Browser on Debian's Chromium (closed afterwards)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browsers: list[Any] = []

        def _launch(extra_args: list[str] | None = None) -> Any:
            browser = p.chromium.launch(
                executable_path=chromium_path, args=CHROMIUM_ARGS + (extra_args or [])
            )
            browsers.append(browser)
            return browser

        yield _launch
        for browser in browsers:
            browser.close()


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[Any, str], Path]:
    """shoot(page, name) -> path of a full-page PNG screenshot."""
    extra = os.environ.get("FORMCHECK_SCREENSHOTS")

    def _shoot(page: Any, name: str) -> Path:
        """The whole page: Streamlit scrolls inside its main section, so the viewport is grown to
        the content's height for the shot and restored afterwards."""
        path = tmp_path / f"{name}.png"
        size = page.viewport_size
        height = page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m ? m.scrollHeight : document.body.scrollHeight; }"
        )
        page.set_viewport_size({"width": size["width"], "height": min(max(height, 600), 8000)})
        page.wait_for_timeout(500)
        page.screenshot(path=str(path), full_page=True)
        page.set_viewport_size(size)
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(extra) / path.name)
        return path

    return _shoot
