"""Shared test fixtures."""

from __future__ import annotations

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
