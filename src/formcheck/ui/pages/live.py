"""Live: the browser's camera, analysed as you lift (skeleton, back outline, spine gauge, rep
counter, cues), a camera set-up check before the set, and recording: ending the set runs the full
analysis on the recording and opens it in the review.

The camera connects straight to this app (no STUN/TURN server unless one is configured in Settings).
All frame work is formcheck.live.LiveProcessor; this page only wires it to streamlit-webrtc.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any, cast

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from formcheck import live
from formcheck.faults import load_rules
from formcheck.history import History
from formcheck.reps import Exercise
from formcheck.ui import components
from formcheck.ui.common import (
    PAGE,
    Settings,
    fault_title,
    history,
    ice_servers,
    load_settings,
    open_review,
    startup_sweep,
)
from formcheck.ui.jobs import analyse_recorded_set, analysis_options, progress_fraction

_PROC = "live_processor"
_SET_DIR = "live_set_dir"
#: session_state keys: set while this browser session's recorded set is analysed; and set when
#: that analysis stopped with its script run (the connection dropped, another page was opened).
_RUNNING = "live_set_running"
_STOPPED = "live_set_stopped"


def _processor(
    exercise: str, preset: str, overrides: dict[str, float], cooldown: float
) -> live.LiveProcessor:
    """The session's LiveProcessor, rebuilt when the lift or the limits change (not mid-set)."""
    key = (exercise, preset, tuple(sorted(overrides.items())), cooldown)
    current = st.session_state.get(_PROC)
    if current is not None and (current[0] == key or current[1].status().recording):
        return cast(live.LiveProcessor, current[1])
    if current is not None:
        current[1].close()
    proc = live.LiveProcessor(
        Exercise(exercise), load_rules(preset, overrides), cue_cooldown_s=cooldown
    )
    st.session_state[_PROC] = (key, proc)
    return proc


def _checklist(status: live.LiveStatus) -> None:
    if not status.setup.items:
        st.caption("Waiting for the first frames…")
        return
    for item in status.setup.items:
        if item.ok:
            icon = ":green[:material/check_circle:]"
        elif item.ok is None:
            icon = ":gray[:material/pending:]"
        else:
            icon = ":red[:material/cancel:]"
        advice = f" — {item.advice}" if item.advice and not item.ok else ""
        st.markdown(f"{icon} {item.label}{advice}")
    if status.setup_ready:
        st.success("Camera set up well. Start the set when you are ready.", icon=":material/check:")


@st.fragment(run_every=0.5)
def _live_panel() -> None:
    entry = st.session_state.get(_PROC)
    if entry is None:
        return
    status: live.LiveStatus = entry[1].status()
    c1, c2, c3 = st.columns(3)
    c1.metric("Reps", status.reps)
    back = status.spine_rel_deg
    c2.metric(
        "Back vs neutral",
        f"{back:+.0f}°" if math.isfinite(back) else "–",
        help="How far your back is bent past a neutral back (+ rounding, − arching), as the "
        "review reads it.",
    )
    c3.metric("Recording", f"{status.recorded_s:.0f} s" if status.recording else "off")
    if status.stream_stalled:
        st.warning(
            f"No camera frames for {status.stalled_s:.0f} s: the camera stopped or this computer "
            "is falling behind the video stream, so this part of the set is not recorded. Close "
            "other programs, or end the set and record it again.",
            icon=":material/hourglass_top:",
        )
    if status.falling_behind:
        st.warning(
            f"This computer is falling behind the camera: it analyses {status.fps:.0f} of "
            f"{status.camera_fps:.0f} frames a second and the overlay lags by "
            f"{status.latency_ms:.0f} ms. The video keeps going and the recording keeps every "
            "frame, but the live rep count and gauge may miss moments. Close other programs "
            "for a smoother live view; the review after the set analyses every frame.",
            icon=":material/speed:",
        )
    st.markdown("**Camera set-up**")
    _checklist(status)
    if status.cues:
        st.markdown("**Cues this set**")
        for cue in reversed(status.cues):
            st.markdown(f"- {cue.t_s:.0f} s · {fault_title(cue.code)}: *{cue.text}*")
    lag = (
        f" · overlay {status.latency_ms:.0f} ms behind" if math.isfinite(status.latency_ms) else ""
    )
    st.caption(
        f"Poses on {status.frames_with_pose} of {status.frames} analysed frames · "
        f"{status.fps:.0f} of {status.camera_fps:.0f} camera frames a second analysed" + lag
    )


def _finish_set(proc: live.LiveProcessor, exercise: str) -> None:
    store = history()
    settings = load_settings(store)
    session_dir = st.session_state.pop(_SET_DIR, None)
    bar = st.progress(0.0, text="Saving the recording…")
    proc.pause("Analysing your set...")  # leave the CPU to the full analysis
    try:
        _analyse_set(proc, exercise, store, settings, session_dir, bar)
    finally:
        proc.resume()


def _analyse_set(
    proc: live.LiveProcessor,
    exercise: str,
    store: History,
    settings: Settings,
    session_dir: Path | None,
    bar: DeltaGenerator,
) -> None:
    recorded = proc.stop_recording()
    if recorded is None or session_dir is None:
        if session_dir is not None:
            shutil.rmtree(session_dir, ignore_errors=True)
        bar.empty()
        st.warning("Nothing was recorded: start the camera, then start the set.")
        return

    def progress(done: int, total: int, stage: str) -> None:
        bar.progress(
            progress_fraction(done, total), text="Analysing your set: measuring every frame…"
        )

    options = analysis_options(exercise, settings.preset, settings.threshold_overrides)
    st.session_state.pop(_STOPPED, None)
    st.session_state[_RUNNING] = True
    outcome = analyse_recorded_set(
        store, recorded, session_dir, options, keep_raw_video=settings.keep_raw_video,
        progress=progress,
    )  # fmt: skip
    st.session_state.pop(_RUNNING, None)  # not reached when the run is stopped meanwhile
    bar.empty()
    if outcome.session_id is None:
        components.failure(outcome.error, outcome.hint, outcome.detail)
        return
    open_review(outcome.session_id)


def main() -> None:
    store = history()
    settings = load_settings(store)
    st.title("Live")
    if st.session_state.pop(_RUNNING, None):  # the run analysing the set ended before it did
        st.session_state[_STOPPED] = True
    if st.session_state.get(_STOPPED):
        st.warning(
            "The analysis of your recorded set stopped before it finished, so it was not saved "
            "and its recording was removed: the page lost its connection to formcheck's server, "
            "or another page was opened meanwhile. Record the set again.",
            icon=":material/restart_alt:",
        )
        if st.button("Dismiss", key="dismiss_live_stopped"):
            st.session_state.pop(_STOPPED, None)
            st.rerun()
    components.lost_by_restart(startup_sweep(store.data_dir))
    top = st.columns([2, 3])
    exercise = top[0].segmented_control(
        "Lift", ["squat", "deadlift"], default="squat", required=True,
        format_func=str.capitalize, key="live_lift",
    )  # fmt: skip
    top[1].caption(
        "Stand side-on, whole body in view, and stand tall for a second so formcheck learns your "
        "neutral back. Then start the set."
    )
    proc = _processor(
        exercise or "squat", settings.preset, settings.threshold_overrides,
        settings.cue_cooldown_s,
    )  # fmt: skip

    async def on_frames(frames: list[Any]) -> list[Any]:
        return list(proc.on_frames(frames))

    servers = ice_servers(settings)
    video_col, panel_col = st.columns([3, 2], gap="large")
    with video_col:
        ctx = webrtc_streamer(
            key="formcheck-live",
            mode=WebRtcMode.SENDRECV,
            queued_video_frames_callback=on_frames,
            media_stream_constraints={
                "video": {
                    "width": {"ideal": 640},
                    "height": {"ideal": 480},
                    "frameRate": {"ideal": 30},
                },
                "audio": False,
            },
            frontend_rtc_configuration={"iceServers": servers},
            server_rtc_configuration={"iceServers": servers},
            async_processing=True,
            video_html_attrs={"style": {"width": "100%"}, "autoPlay": True, "muted": True},
        )
        st.caption(
            "The skeleton, back gauge, rep count and cues on the video are a live preview. When "
            "you end the set, its recording is analysed in full, as an uploaded video is, and "
            "that review gives the verdicts."
        )
    playing = bool(ctx.state.playing)
    recording = proc.status().recording
    with panel_col:
        b1, b2 = st.columns(2)
        start = b1.button(
            "Start set", type="primary", disabled=not playing or recording,
            icon=":material/fiber_manual_record:", width="stretch",
        )  # fmt: skip
        end = b2.button(
            "End set & analyse", disabled=not recording, icon=":material/stop:", width="stretch"
        )
        if start:
            session_dir = store.new_session_dir(f"live-{exercise}")
            st.session_state[_SET_DIR] = session_dir
            proc.start_recording(session_dir / f"live-{exercise}.mp4")
            st.rerun()
        if end:
            _finish_set(proc, exercise or "squat")
        if not playing and not recording:
            st.info(
                "Press **START** under the video to turn on your camera. The video stays on this "
                "computer.",
                icon=":material/videocam:",
            )
        if not playing and recording:
            st.warning("The camera stopped. End the set to analyse what was recorded.")
        _live_panel()
    st.page_link(PAGE["guide"], label="How to film a lift", icon=":material/menu_book:")


main()
