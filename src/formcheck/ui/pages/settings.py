"""Settings: threshold preset and your own limits, raw-video keeping, live cues, the data folder
and an optional TURN server for using the live page from another machine."""

from __future__ import annotations

import os
from dataclasses import replace

import streamlit as st

from formcheck.faults import available_presets, load_rules
from formcheck.history import ENV_DATA_DIR
from formcheck.ui.common import (
    ENV_TURN_URL,
    fault_title,
    fmt_value,
    history,
    ice_servers,
    load_settings,
    save_settings,
)


def main() -> None:
    store = history()
    settings = load_settings(store)
    st.title("Settings")

    st.subheader("Thresholds")
    presets = available_presets()
    preset = st.radio(
        "Preset",
        list(presets),
        index=list(presets).index(settings.preset) if settings.preset in presets else 0,
        format_func=lambda p: f"{p.capitalize()} — {presets[p]}",
        key="settings_preset",
    )
    base = load_rules(preset).rules
    overrides = {k: v for k, v in settings.threshold_overrides.items() if k in base}
    st.dataframe(
        [
            {
                "Check": fault_title(str(code)),
                "Lifts": ", ".join(sorted(str(e) for e in rule.exercises)),
                "Flagged when": f"{rule.direction} "
                + fmt_value(overrides.get(str(code), rule.threshold), rule.unit)
                + (" (yours)" if str(code) in overrides else ""),
                "Major when": f"{rule.direction} {fmt_value(rule.severe_at, rule.unit)}",
                "Measures": rule.metric,
            }
            for code, rule in base.items()
        ],
        hide_index=True,
        width="stretch",
    )
    with st.expander("Adjust individual limits", expanded=bool(overrides)):
        st.caption(
            "Your value replaces the preset's limit for new analyses. Leave it equal to the "
            "preset to use the preset."
        )
        cols = st.columns(2)
        for i, (code, rule) in enumerate(base.items()):
            current = overrides.get(str(code), rule.threshold)
            step = 0.05 if rule.unit == "ratio" else 1.0
            value = cols[i % 2].number_input(
                f"{fault_title(str(code))} (preset {fmt_value(rule.threshold, rule.unit)})",
                value=float(current),
                step=step,
                key=f"limit_{preset}_{code}",
                help=rule.rationale,
            )
            if abs(value - rule.threshold) > 1e-9:
                overrides[str(code)] = float(value)
            else:
                overrides.pop(str(code), None)

    st.subheader("Videos")
    keep = st.toggle(
        "Keep the original videos",
        value=settings.keep_raw_video,
        help="Off: after analysis only the report and the annotated video are kept.",
    )

    st.subheader("Live coaching")
    cooldown = st.columns(2)[0].slider(
        "Least time between two live cues (seconds)",
        min_value=2.0, max_value=15.0, value=float(settings.cue_cooldown_s), step=0.5,
        help="A cue fires at most once per rep and never sooner than this after the last one.",
    )  # fmt: skip

    with st.expander("Using the live page from another device (TURN server)"):
        st.markdown(
            "On this computer the camera connects directly and nothing contacts any outside "
            "server. From a phone or another computer, the browser may need a TURN relay you "
            f"run or trust. The environment variable `{ENV_TURN_URL}` (with "
            "`FORMCHECK_TURN_USERNAME`, `FORMCHECK_TURN_CREDENTIAL`) overrides these fields."
        )
        turn_url = st.text_input(
            "TURN URL", value=settings.turn_url, placeholder="turn:turn.example.org:3478"
        )
        turn_user = st.text_input("Username", value=settings.turn_username)
        turn_secret = st.text_input("Credential", value=settings.turn_credential, type="password")

    updated = replace(
        settings, preset=preset, threshold_overrides=overrides, keep_raw_video=keep,
        cue_cooldown_s=cooldown, turn_url=turn_url.strip(), turn_username=turn_user.strip(),
        turn_credential=turn_secret,
    )  # fmt: skip
    if updated != settings:
        save_settings(updated, store)
        st.toast("Settings saved", icon=":material/check:")
    servers = ice_servers(updated)
    st.caption(
        "Live connection: "
        + (f"via TURN {servers[0]['urls']}" if servers else "direct (local only)")
    )

    st.subheader("Your data")
    size_mb = store.disk_usage_bytes() / 1024 / 1024
    n = store.count_rows("sessions")
    st.markdown(
        f"Data folder: `{store.data_dir}` — {n} session{'s' if n != 1 else ''}, "
        f"{size_mb:.1f} MB.  \n"
        f"To use another folder, start the app with `{ENV_DATA_DIR}=/path/to/folder`"
        + (" (set now)." if os.environ.get(ENV_DATA_DIR) else ".")
    )
    st.caption(
        "Everything stays on this computer: videos, reports and history. formcheck sends nothing "
        "anywhere."
    )


main()
