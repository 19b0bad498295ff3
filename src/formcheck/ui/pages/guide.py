"""Guide: how to film a lift, what each flag means, prevention, recovery, and when to see a
professional. Every text comes from formcheck's guidance and threshold data."""

from __future__ import annotations

import streamlit as st

from formcheck.faults import available_presets, load_rules
from formcheck.guidance import Tip, load_guidance
from formcheck.ui import components, diagram
from formcheck.ui.common import fmt_value


def _tips(tips: list[Tip]) -> None:
    for tip in tips:
        st.markdown(f"**{tip.title}.** {tip.text}")
    st.caption(components.source_line([t.source for t in tips]))


def main() -> None:
    lib = load_guidance()
    st.title("Guide")
    film, flags, prevent, recover, doctor = st.tabs(
        ["How to film", "What the flags mean", "Prevention", "Soreness and recovery",
         "When to see a professional"]
    )  # fmt: skip

    with film:
        left, right = st.columns([3, 2], gap="large")
        left.image(diagram.filming_svg(640), width="stretch")
        with right:
            st.markdown(
                "formcheck reads your back from your **silhouette**, so it needs to see your "
                "side.\n\n"
                "1. **Side-on.** The camera looks at your left or right side, at 90° to the "
                "direction you face.\n"
                "2. **Whole body in view**, head to feet, for the whole set (portrait works well "
                "on a phone).\n"
                "3. **Camera at hip height and level**, on a stand or a bench, 3–4 m away. Don't "
                "hold it.\n"
                "4. **Light from the front or side**, not a bright window behind you.\n"
                "5. **Fitted clothes** over your back; a loose hoodie hides its shape.\n"
                "6. **Stand tall for a second before the first rep**: formcheck learns your own "
                "standing back from it, which arching is judged against (rounding is read "
                "against a typical lifter's neutral back, so it needs no stand).\n"
                "7. One lifter in view if you can; formcheck follows one person."
            )
            st.info(
                "The live page checks these for you before the set: side view, whole body, "
                "camera height and level.",
                icon=":material/videocam:",
            )

    with flags:
        presets = available_presets()
        rule_sets = {name: load_rules(name).rules for name in presets}
        st.markdown(
            "A rep is flagged when a measure passes its limit. Rounding is how far your back "
            "bent past a typical lifter's neutral back at the same point of the lift; arching is "
            "measured against **your own** standing back, so a naturally curved back is not a "
            "fault."
        )
        for code, fault in lib.faults.items():
            rules = {name: rs[code] for name, rs in rule_sets.items() if code in rs}
            with st.expander(f"{fault.title}  ·  cue: “{fault.cue}”"):
                if rules:
                    any_rule = next(iter(rules.values()))
                    lifts = " and ".join(sorted(str(e) for e in any_rule.exercises))
                    limits = ", ".join(
                        f"{name} {fmt_value(rule.threshold, rule.unit)}"
                        for name, rule in rules.items()
                    )
                    views = ", ".join(sorted(str(v) for v in any_rule.needs_view))
                    st.markdown(
                        f"**Measures** {any_rule.metric} ({lifts}). **Limit:** {limits}. "
                        f"Judged from a {views} view."
                    )
                    st.caption(any_rule.rationale)
                st.markdown(f"**What we look for.** {fault.what_we_saw}")
                st.markdown(f"**Why it matters.** {fault.why_it_matters}")
                st.markdown("**What to change**")
                st.markdown("\n".join(f"- {item}" for item in fault.change_now))
                if fault.drills:
                    st.markdown("**Drills**")
                    st.markdown("\n".join(f"- **{d.name}**: {d.how}" for d in fault.drills))
                st.caption(components.source_line(fault.sources))

    with prevent:
        _tips(lib.prevention)

    with recover:
        st.markdown("#### Soreness or injury?")
        _tips(lib.soreness_vs_injury)
        st.markdown("#### Recovery")
        _tips(lib.recovery)

    with doctor:
        st.error(f"**{lib.red_flags_heading}**", icon=":material/medical_services:")
        st.markdown("\n".join(f"- {flag.text}" for flag in lib.red_flags))
        st.caption(components.source_line([f.source for f in lib.red_flags]))
        st.caption(lib.disclaimer)

    with st.expander("About the sources"):
        for what in lib.sources.values():
            st.markdown(f"- {what}")


main()
