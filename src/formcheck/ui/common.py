"""What every page shares: the session store, the user's settings, page paths and small formatters.

No analysis happens here (that is formcheck.pipeline); this module only reads and writes settings
and hands out the History for the data folder.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from formcheck.history import History, default_data_dir

logger = logging.getLogger(__name__)

PAGES_DIR = Path(__file__).resolve().parent / "pages"

#: Page scripts (st.navigation file pages) by name.
PAGE = {
    "live": PAGES_DIR / "live.py",
    "analyse": PAGES_DIR / "analyse.py",
    "review": PAGES_DIR / "review.py",
    "history": PAGES_DIR / "history.py",
    "guide": PAGES_DIR / "guide.py",
    "settings": PAGES_DIR / "settings.py",
}

LIFTS = {"auto": "Detect automatically", "squat": "Squat", "deadlift": "Deadlift"}

#: TURN server for using the live page from another machine; the environment wins over the settings.
ENV_TURN_URL = "FORMCHECK_TURN_URL"
ENV_TURN_USERNAME = "FORMCHECK_TURN_USERNAME"
ENV_TURN_CREDENTIAL = "FORMCHECK_TURN_CREDENTIAL"

DEFAULT_CUE_COOLDOWN_S = 4.0


@dataclass(frozen=True)
class Settings:
    """The user's choices, stored in the history database (settings table)."""

    preset: str = "beginner"
    threshold_overrides: dict[str, float] = field(default_factory=dict)
    keep_raw_video: bool = True
    cue_cooldown_s: float = DEFAULT_CUE_COOLDOWN_S
    turn_url: str = ""
    turn_username: str = ""
    turn_credential: str = ""


def history() -> History:
    """The session store for the data folder ($FORMCHECK_DATA_DIR or ~/.formcheck).

    Cheap to build (it opens short-lived connections), so it is made per run: a test or a user that
    changes FORMCHECK_DATA_DIR gets the new folder without a restart.
    """
    return History(default_data_dir())


@dataclass(frozen=True)
class Cleanup:
    """What the app's start found and removed: text says it in a line (empty when nothing);
    interrupted names the clips whose analysis stopped with the app."""

    text: str = ""
    interrupted: tuple[str, ...] = ()


@functools.cache
def startup_sweep(data_dir: Path) -> Cleanup:
    """Once per app process and data folder: what interrupted analyses left behind is removed
    (History.sweep), logged, and returned for the pages to say."""
    swept = History(data_dir).sweep()
    if not swept:
        return Cleanup()
    text = f"formcheck {swept.message()} in {data_dir}."
    logger.info(text)
    return Cleanup(text, tuple(swept.interrupted))


@functools.cache
def process_key() -> str:
    """A short id of this app process: part of the keys of widgets whose state does not survive
    a restart of the server (an upload), so a restarted server shows them fresh."""
    return uuid.uuid4().hex[:8]


def load_settings(store: History | None = None) -> Settings:
    store = store or history()
    defaults = Settings()
    try:
        overrides = {
            str(k): float(v)
            for k, v in json.loads(store.get_setting("threshold_overrides", "{}")).items()
        }
    except (ValueError, TypeError, AttributeError):
        overrides = {}
    return Settings(
        preset=store.get_setting("preset", defaults.preset),
        threshold_overrides=overrides,
        keep_raw_video=store.get_setting("keep_raw_video", "1") == "1",
        cue_cooldown_s=_float(store.get_setting("cue_cooldown_s", ""), defaults.cue_cooldown_s),
        turn_url=store.get_setting("turn_url", ""),
        turn_username=store.get_setting("turn_username", ""),
        turn_credential=store.get_setting("turn_credential", ""),
    )


def save_settings(settings: Settings, store: History | None = None) -> None:
    store = store or history()
    store.set_setting("preset", settings.preset)
    store.set_setting("threshold_overrides", json.dumps(settings.threshold_overrides))
    store.set_setting("keep_raw_video", "1" if settings.keep_raw_video else "0")
    store.set_setting("cue_cooldown_s", str(settings.cue_cooldown_s))
    store.set_setting("turn_url", settings.turn_url)
    store.set_setting("turn_username", settings.turn_username)
    store.set_setting("turn_credential", settings.turn_credential)


def ice_servers(settings: Settings) -> list[dict[str, str]]:
    """ICE servers for WebRTC: none unless a TURN server is configured (env first, then settings).

    With none, the browser and the app connect over the machine's own addresses (enough on
    localhost), and nothing contacts a public STUN/TURN service.
    """
    url = os.environ.get(ENV_TURN_URL, "").strip() or settings.turn_url.strip()
    if not url:
        return []
    server = {"urls": url}
    username = os.environ.get(ENV_TURN_USERNAME, "") or settings.turn_username
    credential = os.environ.get(ENV_TURN_CREDENTIAL, "") or settings.turn_credential
    if username:
        server["username"] = username
    if credential:
        server["credential"] = credential
    return [server]


def max_upload_mb() -> int:
    """The upload limit (server.maxUploadSize in .streamlit/config.toml)."""
    return int(st.get_option("server.maxUploadSize"))


def open_review(session_id: int) -> None:
    st.session_state["review_session"] = session_id
    st.switch_page(PAGE["review"], query_params={"session": str(session_id)})


# --- formatting ----------------------------------------------------------------------------------


def fmt_deg(value: float | None, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    whole = round(value)
    if signed:
        return f"{whole:+d}°" if whole else "0°"
    return f"{whole}°"


def fmt_value(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if unit == "deg":
        return f"{round(value)}°"  # an int: -0.2 reads "0°", never "-0°"
    if unit == "ratio":
        return f"{value:.2f}"
    return f"{value:.1f} {unit}"


def fmt_duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}" if seconds >= 60 else f"{seconds:.1f} s"


def fault_title(code: str) -> str:
    """Short heading for a fault code from the guidance data (e.g. 'Lower back rounding')."""
    from formcheck.guidance import load_guidance

    try:
        return load_guidance().for_fault(code).title
    except (KeyError, ValueError):
        return code.replace("_", " ").capitalize()


def _float(text: str, default: float) -> float:
    try:
        value = float(text)
    except ValueError:
        return default
    return value if math.isfinite(value) and value >= 0 else default
