"""The app shell: page setup, navigation, and the look shared by every page.

Nothing the page shows is fetched from outside this computer: the favicon is a file of the package
(Streamlit fetches `:material/...` page icons from Google's servers), and the app's words replace
Streamlit's "Are you connected to the internet?" while the server cannot be reached
(assets/connection.js).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from formcheck.history import HistoryError
from formcheck.ui.common import PAGE, history, startup_sweep

_CSS = """
<style>
  .block-container {padding-top: 3.2rem; max-width: 1280px;}
  div[data-testid="stMetricValue"] {font-size: 1.7rem;}
  .fc-verdict {font-size: 1.05rem; font-weight: 600; margin: 0.2rem 0 0.6rem 0;}
  .fc-muted {color: #64748B; font-size: 0.9rem;}
  .fc-cue {background: #ECFDF5; border-left: 4px solid #0F766E; padding: 0.45rem 0.8rem;
           border-radius: 6px; font-weight: 600; margin: 0.3rem 0 0.6rem 0;}
  .fc-src {color: #64748B; font-size: 0.8rem;}
  div[data-testid="stElementContainer"]:has(#fc-connection) {display: none;}
</style>
"""

ASSETS = Path(__file__).resolve().parent / "assets"


def main() -> None:
    st.set_page_config(
        page_title="formcheck",
        page_icon=str(ASSETS / "favicon.svg"),
        layout="wide",
        initial_sidebar_state="collapsed",
    )
    st.html(_CSS)
    script = (ASSETS / "connection.js").read_text(encoding="utf-8")
    st.html(f'<script id="fc-connection">{script}</script>', unsafe_allow_javascript=True)
    try:
        store = history()  # creates or migrates the data folder once, before any page uses it
        cleaned = startup_sweep(store.data_dir)
    except (HistoryError, OSError) as err:
        st.error(f"formcheck cannot open its data folder: {err}")
        st.stop()
    if cleaned.text and not st.session_state.get("sweep_noticed"):
        st.session_state["sweep_noticed"] = True
        st.toast(cleaned.text, icon=":material/cleaning_services:")
    pages = [
        st.Page(PAGE["analyse"], title="Analyse a video", icon=":material/upload:", default=True),
        st.Page(PAGE["live"], title="Live", icon=":material/videocam:"),
        st.Page(PAGE["review"], title="Review", icon=":material/insights:"),
        st.Page(PAGE["history"], title="History", icon=":material/history:"),
        st.Page(PAGE["guide"], title="Guide", icon=":material/menu_book:"),
        st.Page(PAGE["settings"], title="Settings", icon=":material/settings:"),
    ]
    st.navigation(pages, position="top").run()
