"""Shared test fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CLIPS = REPO.parent / "shared" / "clips"


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    """The real lifting clips (../shared/clips); tests using them skip where the folder is absent."""
    if not (SHARED_CLIPS / "MANIFEST.md").is_file():
        pytest.skip(
            f"real clips not found at {SHARED_CLIPS} (only present on the developers' machines and CI)"
        )
    return SHARED_CLIPS


@pytest.fixture(autouse=True)
def _keep_the_main_module() -> Iterator[None]:
    """Streamlit's AppTest runs app.py as sys.modules["__main__"] and leaves it there; a later
    "spawn" worker pool (batch, benchmarks) would then start every worker by running app.py.
    Each test gets the test process's own __main__ back."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main
