"""The Streamlit app, driven headless with streamlit.testing.AppTest: every page, upload to review
on real clips, bad uploads, history across restarts, delete, settings.

The data folder is a temporary one per test (FORMCHECK_DATA_DIR). streamlit-webrtc cannot run inside
AppTest, so the live page's webrtc_streamer is replaced by a stub reporting the camera state.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import numpy as np
import pytest
import reportkit
from streamlit.testing.v1 import AppTest

from formcheck.faults import Fault, FaultCode, Severity
from formcheck.guidance import select_guidance
from formcheck.history import History
from formcheck.notices import Notice, NoticeCode
from formcheck.render import H264Writer
from formcheck.report import SessionReport, atomic_write_text, csv_text
from formcheck.ui.common import fault_title
from formcheck.video import VideoError

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
PAGES = "src/formcheck/ui/pages"
TIMEOUT = 240


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "formcheck-data"
    monkeypatch.setenv("FORMCHECK_DATA_DIR", str(folder))
    return folder


def _camera(playing: bool) -> Any:
    return SimpleNamespace(state=SimpleNamespace(playing=playing, signalling=False))


@pytest.fixture
def camera_off() -> Iterator[None]:
    with mock.patch("streamlit_webrtc.webrtc_streamer", return_value=_camera(False)):
        yield


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page is not None:
        at.switch_page(f"{PAGES}/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in (at.error, at.warning, at.info, at.success) for e in kind]
    parts += [s.value for s in at.subheader] + [t.value for t in at.title]
    parts += [m.label for m in at.metric]
    return "\n".join(str(p) for p in parts)


# --- a stored session made without the pipeline (fast) -----------------------------------------


def store_session(
    data_dir: Path,
    exercise: str = "squat",
    name: str = "set.mp4",
    *,
    flagged: bool = True,
    warnings: tuple[Notice, ...] = (),
    last_partial: bool = False,
    back_judged: bool = True,
) -> int:
    """A stored 3-rep session with rep 2 flagged for back rounding, and its files on disk; rep 3
    stopped short of the full range when last_partial; the back of every unflagged rep not judged
    (an unclear outline) unless back_judged."""
    history = History(data_dir)
    folder = history.new_session_dir(name)
    out = folder / Path(name).stem
    out.mkdir()
    fps, n = 20.0, 160
    t = np.arange(n) / fps
    knee = 50 - 50 * np.cos(2 * np.pi * np.clip(t - 1.0, 0, None) / 2.0)
    knee[t > 7.0] = 0.0
    spine = np.where((t > 3.6) & (t < 4.4), 21.0, 3.0)
    rows = [[i, float(t[i]), 1, "side", "setup", "", 0.5 * float(knee[i]), float(knee[i]),
             float(knee[i]), float(spine[i]), float(spine[i]), 0.9] for i in range(n)]  # fmt: skip
    header = ["frame", "t_s", "detected", "view", "phase", "rep", "trunk_incl_deg",
              "hip_flex_deg", "knee_flex_deg", "spine_flex_abs_deg", "spine_flex_rel_deg",
              "spine_confidence"]  # fmt: skip
    atomic_write_text(out / "angles.csv", csv_text(header, rows))
    video = out / f"{Path(name).stem}.annotated.mp4"
    with H264Writer(video, fps, 160, 120) as writer:
        for i in range(n):
            frame = np.full((120, 160, 3), 40, np.uint8)
            frame[:, : i % 160] = 200
            writer.write(frame)
    fault = Fault(
        FaultCode.BACK_ROUNDING, 2, 3.6, 4.4, 72, 88, 21.0, 15.0, "deg", Severity.MINOR, 0.8,
        "Your lower back rounded 21° past your neutral (limit 15°).",
    )  # fmt: skip

    fault_report = dataclasses.replace(
        reportkit.fault(start_s=3.6), end_s=4.4, message=fault.message,
        cue="Chest up, brace, neutral back",
    )  # fmt: skip
    back = 4.0 if back_judged else None
    reps = [
        reportkit.rep(1, back, start_s=1.0),
        reportkit.rep(2, 21.0 if flagged else back, [fault_report] if flagged else [], start_s=3.0),
        reportkit.rep(3, back, start_s=5.0, partial=last_partial),
    ]
    report = dataclasses.replace(
        reportkit.report(
            reps, list(warnings), exercise=exercise, name=name,
            outputs={"report_json": str(out / "report.json"),
                     "angles_csv": str(out / "angles.csv"), "annotated_video": str(video)},
        ),
        fps=fps, duration_s=float(t[-1]), frames_total=n, frames_analysed=n,
        guidance=dataclasses.asdict(select_guidance([fault] if flagged else [], 3)),
    )  # fmt: skip
    atomic_write_text(out / "report.json", report.to_json())
    return history.add_session(report, folder)


# --- every page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["analyse", "live", "review", "history", "guide", "settings"])
def test_every_page_renders_on_a_fresh_data_folder(
    data_dir: Path, camera_off: None, page: str
) -> None:
    at = _app(None if page == "analyse" else page)
    assert at.title[0].value in {
        "analyse": "Analyse a video", "live": "Live", "review": "Review", "history": "History",
        "guide": "Guide", "settings": "Settings",
    }.values()  # fmt: skip
    assert (data_dir / "formcheck.db").is_file()


def test_empty_review_and_history_point_to_the_upload(data_dir: Path) -> None:
    for page in ("review", "history"):
        at = _app(page)
        assert "Analyse a video" in [p.proto.label for p in at.get("page_link")] or at.info


def test_the_upload_page_states_the_formats_and_the_size_limit(data_dir: Path) -> None:
    at = _app()
    label = at.file_uploader[0].label
    assert "mp4, mov, avi, webm, mkv" in label
    assert "up to 500 MB" in label
    assert at.button[0].disabled  # Analyse waits for a file


# --- review, history, delete (stored sessions) --------------------------------------------------


def test_review_shows_reps_flags_and_guidance(data_dir: Path) -> None:
    store_session(data_dir)
    at = _app("review")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reps"] == "3" and metrics["Flagged"] == "1"
    assert metrics["Peak back rounding"] == "21°"
    table = at.dataframe[0].value
    assert list(table["Rep"]) == [1, 2, 3]
    assert list(table["Result"]) == ["✓ ok", "⚠ flagged: back rounding", "✓ ok"]
    assert table["Back rounding (limit 15°)"][1] == "⚠ 21°"
    assert table["Back rounding (limit 15°)"][0] == "4°"
    assert table["Depth (limit 20° above parallel)"][0] == "2° above parallel"
    text = _texts(at)
    assert "Rep 2: Lower back rounding" in text
    assert "Why it matters." in text
    assert "1 of 3 reps flagged" in text
    cues = [h.value for h in at.get("html") if hasattr(h, "value")]
    assert any("Chest up, brace" in str(c) for c in cues)
    assert at.image, "a key frame of the flagged rep"
    assert "Sources:" in text


def test_a_set_whose_back_could_not_be_judged_is_not_called_good(data_dir: Path) -> None:
    unclear = Notice(
        NoticeCode.SPINE_LOW_CONFIDENCE,
        "The back's outline was too unclear to judge rounding or arching, so no back verdict "
        "was given.",
        "Film from the side in good light.",
        reps=(1, 2, 3),
        checks=("back_rounding", "back_overarch"),
    )
    store_session(data_dir, flagged=False, warnings=(unclear,), back_judged=False)
    at = _app("review")
    text = _texts(at)
    assert "Nothing flagged in 3 reps, but your back could not be judged" in text
    assert "looked good" not in text
    table = at.dataframe[0].value
    assert list(table["Back rounding (limit 15°)"]) == ["not judged"] * 3


def test_a_partial_rep_is_named_as_such(data_dir: Path) -> None:
    store_session(data_dir, last_partial=True)
    at = _app("review")
    text = _texts(at)
    assert "1 of 3 reps (1 partial) flagged: lower back rounding." in text
    assert at.metric[0].value == "2 + 1 partial"


def _video_start(at: AppTest) -> float:
    videos = [e for e in at.get("video")]
    assert videos, "the annotated video is on the page"
    return float(videos[0].proto.start_time)


def test_jump_to_rep_starts_the_video_at_that_rep(data_dir: Path) -> None:
    store_session(data_dir)
    at = _app("review")
    assert _video_start(at) == 0
    at.segmented_control[0].set_value("Rep 2").run()
    # rep 2 starts at 3.0 s; shown from 0.3 s before, and st.video starts on whole seconds
    assert _video_start(at) == 2


def test_sessions_of_one_clip_in_the_same_minute_have_distinct_labels(data_dir: Path) -> None:
    """Three analyses of one clip at the same time are told apart in History and on Review, and
    each opens its own review."""
    from formcheck.ui.components import session_label

    sids = [store_session(data_dir) for _ in range(3)]
    rows = History(data_dir).sessions()
    labels = {session_label(r) for r in rows}
    assert len(labels) == 3 and all(f"#{sid}" in " ".join(labels) for sid in sids)
    history_page = _app("history")
    assert len(set(history_page.selectbox[0].options)) == 3
    assert sorted(history_page.dataframe[0].value["Session"]) == sorted(f"#{s}" for s in sids)
    for sid in sids:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.query_params["session"] = str(sid)
        at.run()
        at.switch_page(f"{PAGES}/review.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert f"session #{sid}" in _texts(at)
        assert len(set(at.selectbox[0].options)) == 3


def test_labels_carry_the_time_to_the_second(data_dir: Path) -> None:
    import dataclasses as dc

    from formcheck.ui.components import session_label

    store_session(data_dir)
    row = History(data_dir).sessions()[0]
    a = dc.replace(row, created_utc="2026-03-01T10:00:05+00:00")
    b = dc.replace(row, created_utc="2026-03-01T10:00:40+00:00")
    assert session_label(a) != session_label(b)
    assert a.created.astimezone().strftime("%H:%M:%S") in session_label(a)


@pytest.mark.parametrize("asked", ["99", "abc"])
def test_an_unknown_session_in_the_address_says_so(data_dir: Path, asked: str) -> None:
    store_session(data_dir)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["session"] = asked
    at.run()
    at.switch_page(f"{PAGES}/review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    text = _texts(at)
    assert f"There is no session '{asked}' on this computer" in text
    assert not at.metric, "no other session is shown in its place"


def test_the_app_start_removes_and_names_an_interrupted_analysis(data_dir: Path) -> None:
    """A staging folder left by a killed app process: removed at the next start, which says so and
    names the clip on the Analyse page; stored sessions stay."""
    import subprocess
    import sys

    sid = store_session(data_dir)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = data_dir / "sessions" / f".20260301-100000-squat-abcdef.staging-{gone.pid}-0123abcd"
    left.mkdir()
    (left / "squat.mp4").write_bytes(b"\0" * 2000)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # the Analyse page is the default
    assert not at.exception, [e.value for e in at.exception]
    assert not left.exists()
    assert History(data_dir).session(sid) is not None
    assert any("removed 1 unfinished item " in str(t.value) for t in at.toast)
    assert "formcheck's server stopped while analysing squat" in _texts(at)
    assert "record the set again on the Live page" in _texts(at)


def test_the_live_page_names_a_set_whose_analysis_stopped_with_its_run(
    data_dir: Path, camera_off: None
) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(f"{PAGES}/live.py")
    at.session_state["live_set_running"] = True  # as a run stopped mid-analysis leaves it
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "recorded set stopped before it finished" in _texts(at)
    assert "Record the set again" in _texts(at)
    at.button(key="dismiss_live_stopped").click().run()
    assert "stopped before it finished" not in _texts(at)


_NOT_A_VIDEO = b"these are my training notes, not a video\n" * 20


def _stopped_mid_analysis(name: str, attach: bool) -> AppTest:
    """The Analyse page in a session whose previous run stopped while analysing `name` (the state
    that run leaves: its upload named as running), with that upload still attached or not."""
    at = _app()
    file_id = "gone"
    if attach:
        at.file_uploader[0].set_value((name, _NOT_A_VIDEO, "video/mp4")).run()
        file_id = at.session_state[at.file_uploader[0].key].file_id
    at.session_state["analysis_running"] = (name, file_id)
    return at.run()


def test_an_analysis_stopped_with_its_run_is_offered_again_while_attached(data_dir: Path) -> None:
    at = _stopped_mid_analysis("set.mp4", attach=True)
    assert "The analysis of **set.mp4** stopped before it finished" in _texts(at)
    assert "The video is still attached" in _texts(at)
    at.button(key="run_again").click().run()
    assert "could not be read as a video" in at.error[0].value  # it was analysed again
    assert "stopped before it finished" not in _texts(at)


def test_an_analysis_stopped_with_its_run_asks_for_the_video_when_gone(data_dir: Path) -> None:
    at = _stopped_mid_analysis("set.mp4", attach=False)
    assert "Upload it again and press Analyse" in _texts(at)
    assert not [b for b in at.button if b.key == "run_again"]
    at.button(key="dismiss_stopped").click().run()
    assert "stopped before it finished" not in _texts(at)


def test_history_filters_by_lift(data_dir: Path) -> None:
    store_session(data_dir, "squat", "squats.mp4")
    store_session(data_dir, "deadlift", "pulls.mp4")
    at = _app("history")
    assert len(at.dataframe[0].value) == 2
    at.multiselect[0].set_value(["deadlift"]).run()
    assert list(at.dataframe[0].value["Video"]) == ["pulls.mp4"]
    assert "1 of 2 sessions" in _texts(at)


def test_history_lists_the_peaks_the_review_shows(data_dir: Path) -> None:
    """The History table's peaks are the values the checks compared (the review's headline and
    table), not the back outline's own peak (27° here)."""
    history = History(data_dir)
    folder = history.new_session_dir("set.mp4")
    (folder / "report.json").write_text("{}")
    reps = [
        reportkit.rep(1, 4.0, peak_flexion=9.0),
        reportkit.rep(2, 21.0, [reportkit.fault()], peak_flexion=27.0),
    ]
    report = reportkit.report(reps, outputs={"report_json": str(folder / "report.json")})
    history.add_session(report, folder)
    table = _app("history").dataframe[0].value
    assert (table["Peak rounding (°)"][0], table["Peak arching (°)"][0]) == (21, 2)
    review = _app("review")
    assert {m.label: m.value for m in review.metric}["Peak back rounding"] == "21°"


def test_history_persists_across_app_restarts(data_dir: Path) -> None:
    store_session(data_dir)
    first = _app("history")
    first.text_input[0].input("120 kg x 3").run()
    again = _app("history")  # a new app session on the same data folder
    assert list(again.dataframe[0].value["Note"]) == ["120 kg x 3"]


def test_delete_asks_first_then_removes_rows_and_files(data_dir: Path) -> None:
    sid = store_session(data_dir)
    row = History(data_dir).session(sid)
    assert row is not None and row.session_dir.is_dir()
    at = _app("history")
    at.button(key="delete_session").click().run()
    assert History(data_dir).session(sid) is not None  # nothing happens before confirming
    at.button(key="confirm_delete_yes").click().run()
    assert History(data_dir).session(sid) is None
    assert History(data_dir).count_rows("reps") == 0
    assert not row.session_dir.exists()
    assert at.info, "the empty history message"


# --- settings and guide -------------------------------------------------------------------------


def test_settings_are_saved_and_survive_a_restart(data_dir: Path) -> None:
    at = _app("settings")
    at.radio[0].set_value("strict").run()
    at.toggle[0].set_value(False).run()
    again = _app("settings")
    assert again.radio[0].value == "strict"
    assert again.toggle[0].value is False
    settings = History(data_dir)
    assert settings.get_setting("preset", "") == "strict"
    assert settings.get_setting("keep_raw_video", "") == "0"


def test_an_adjusted_limit_is_stored_and_used_by_the_next_analysis(data_dir: Path) -> None:
    at = _app("settings")
    at.number_input(key="limit_beginner_back_rounding").set_value(12.0).run()
    from formcheck.ui.common import load_settings

    assert load_settings(History(data_dir)).threshold_overrides == {"back_rounding": 12.0}
    table = _app("settings").dataframe[0].value
    row = table[table["Check"] == "Lower back rounding"].iloc[0]
    assert row["Flagged when"] == "above 12° (yours)"
    valgus = table[table["Check"] == fault_title("knee_valgus")].iloc[0]
    assert valgus["Flagged when"].startswith("below 0.")  # a ratio flagged under its limit
    captured: dict[str, Any] = {}

    def fake_analysis(*args: Any, **kwargs: Any) -> Any:
        captured["options"] = args[3]
        from formcheck.ui.jobs import Outcome

        return Outcome(error="stopped here")

    with mock.patch("formcheck.ui.jobs.analyse_and_store", side_effect=fake_analysis):
        _upload(_app(), "clip.mp4", b"not analysed")  # the page imports it on every run
    assert captured["options"].threshold_overrides == {"back_rounding": 12.0}


def test_the_guide_explains_every_flag_with_its_limits(data_dir: Path) -> None:
    at = _app("guide")
    text = _texts(at)
    assert "Lower back rounding" in " ".join(e.label for e in at.expander)
    assert "beginner 15°, strict 10°" in text
    assert "See a doctor or physiotherapist" in text
    assert at.image, "the filming diagram"


# --- live (camera stubbed) ----------------------------------------------------------------------


def test_live_without_a_camera_explains_how_to_start(data_dir: Path, camera_off: None) -> None:
    at = _app("live")
    text = _texts(at)
    assert "Press **START**" in text
    assert "are a live preview" in text and "analysed in full, as an uploaded video" in text
    start = at.button[0]
    assert start.label == "Start set" and start.disabled


def test_live_with_a_camera_records_a_set(data_dir: Path) -> None:
    with mock.patch("streamlit_webrtc.webrtc_streamer", return_value=_camera(True)) as webrtc:
        at = _app("live")
        kwargs = webrtc.call_args.kwargs
        assert kwargs["frontend_rtc_configuration"] == {"iceServers": []}
        assert kwargs["server_rtc_configuration"] == {"iceServers": []}
        at.button[0].click().run()
        _, proc = at.session_state["live_processor"]
        assert proc.status().recording
        at.button[1].click().run()  # end the set before any frame arrived
    assert "Nothing was recorded" in _texts(at)
    assert not proc.status().recording


def test_live_says_when_the_computer_falls_behind_the_camera(data_dir: Path) -> None:
    """The pose model holds the second frame while the camera keeps sending: one frame analysed,
    many arriving, and the page says the computer is falling behind."""
    import threading

    import av

    from formcheck.landmarks import N_LANDMARKS, PoseFrame

    held, entered = threading.Event(), threading.Semaphore(0)

    class Slow:
        calls = 0

        def detect(self, image_bgr: np.ndarray, t_s: float) -> PoseFrame:
            Slow.calls += 1
            entered.release()
            if Slow.calls > 1:
                held.wait(10.0)
            return PoseFrame(
                xy_px=np.full((N_LANDMARKS, 2), np.nan), visibility=np.zeros(N_LANDMARKS),
                world_m=np.full((N_LANDMARKS, 3), np.nan), mask=None, n_people=0,
            )  # fmt: skip

        def close(self) -> None:
            held.set()

    image = np.zeros((480, 640, 3), np.uint8)
    with (
        mock.patch("streamlit_webrtc.webrtc_streamer", return_value=_camera(True)),
        mock.patch("formcheck.live._default_detector", Slow),
    ):
        at = _app("live")
        _, proc = at.session_state["live_processor"]
        assert "falling behind" not in _texts(at)
        try:
            proc.on_frames([av.VideoFrame.from_ndarray(image, format="bgr24")])
            assert entered.acquire(timeout=10.0) and proc.wait_idle(10.0)
            for _ in range(30):
                proc.on_frames([av.VideoFrame.from_ndarray(image, format="bgr24")])
            assert entered.acquire(timeout=10.0)  # frame 2 is held in the pose model
            at.run()
            assert "falling behind the camera" in _texts(at)
        finally:
            held.set()  # let frame 2 go, so that close() need not wait for it
            proc.close()


def test_a_configured_turn_server_is_used(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORMCHECK_TURN_URL", "turn:relay.example.org:3478")
    with mock.patch("streamlit_webrtc.webrtc_streamer", return_value=_camera(False)) as webrtc:
        _app("live")
    assert webrtc.call_args.kwargs["server_rtc_configuration"] == {
        "iceServers": [{"urls": "turn:relay.example.org:3478"}]
    }


# --- the analysis job (pipeline + history) --------------------------------------------------------

DEMO = REPO / "sample_videos" / "squat_good_demo.mp4"


@pytest.fixture(scope="module")
def demo_analysis() -> Any:
    """The real analysis of the squat demo, made once for the job tests (each test files it
    again, from a copy of the clip in its own staging folder)."""
    from formcheck.pipeline import AnalysisOptions, analyze

    return analyze(DEMO, AnalysisOptions(exercise="squat"))


class VideoGate:
    """Holds the annotated video (the real one is drawn) until release(); `started` is set when
    the drawing is reached."""

    def __init__(self, fail: BaseException | None = None) -> None:
        import threading

        from formcheck import annotate

        self.real = annotate.write_annotated_video
        self.started, self.go = threading.Event(), threading.Event()
        self.fail = fail

    def __call__(self, analysis: Any, path: Path, progress: Any, source: Any = None) -> None:
        self.started.set()
        assert self.go.wait(60.0), "the test never let the video go"
        if self.fail is not None:
            raise self.fail
        self.real(analysis, path, progress, source)

    def release(self) -> None:
        self.go.set()


def _staged_demo(store: History) -> tuple[Path, Path]:
    import shutil

    folder = store.new_session_dir("clip.mp4")
    raw = folder / "clip.mp4"
    shutil.copyfile(DEMO, raw)
    return folder, raw


def _tmp_files(folder: Path) -> list[Path]:
    from formcheck import safefiles

    return [p for p in folder.rglob(".*") if safefiles.is_tmp(p)]


@pytest.mark.parametrize("keep", [True, False])
def test_the_job_stores_the_report_first_and_adds_the_video_when_drawn(
    tmp_path: Path, demo_analysis: Any, keep: bool
) -> None:
    """The session is stored with its report while the annotated video is still being drawn;
    a sweep meanwhile leaves the video in the making (and the clip it is drawn from) alone; the
    video then joins the session, and the clip as filmed stays only when the user keeps it."""
    from formcheck.pipeline import AnalysisOptions
    from formcheck.ui.jobs import analyse_and_store, video_job

    store = History(tmp_path / "data")
    folder, raw = _staged_demo(store)
    gate = VideoGate()
    with (
        mock.patch("formcheck.ui.jobs.analyze", return_value=demo_analysis),
        mock.patch("formcheck.annotate.write_annotated_video", gate),
    ):
        outcome = analyse_and_store(
            store, raw, folder, AnalysisOptions(), origin="upload", keep_raw_video=keep
        )
        assert outcome.session_id is not None and outcome.error == ""
        job = outcome.video
        assert job is not None and video_job(store, outcome.session_id) is job
        assert gate.started.wait(60.0)
        row = store.session(outcome.session_id)
        assert row is not None and not folder.exists()  # moved into place with the row
        assert row.report_path.is_file() and row.csv_path is not None and row.csv_path.is_file()
        assert row.video_path is None and "annotated_video" not in store.report(row.id).outputs
        assert job.source.is_file() and job.source.parent == row.session_dir
        assert (row.raw_video_path is not None) is keep
        assert store.sweep().removed == []  # nothing of a running process is swept
        assert job.source.is_file() and not job.progress().finished
        gate.release()
        assert job.wait(120.0)
    progress = job.progress()
    assert progress.error == "" and progress.video is not None and progress.video.is_file()
    row = store.session(outcome.session_id)
    assert row is not None and row.video_path == progress.video
    stored = store.report(row.id)
    assert stored.outputs["annotated_video"] == str(progress.video)
    on_disk = SessionReport.from_dict(json.loads(row.report_path.read_text()))
    assert Path(on_disk.outputs["annotated_video"]) == progress.video
    assert job.source.is_file() is keep
    assert len(list(row.session_dir.glob("clip.mp4"))) == int(keep)
    assert _tmp_files(row.session_dir) == []


def test_a_failed_video_leaves_the_stored_review_and_says_why(
    tmp_path: Path, demo_analysis: Any
) -> None:
    from formcheck.pipeline import AnalysisOptions
    from formcheck.ui.jobs import analyse_and_store

    store = History(tmp_path / "data")
    folder, raw = _staged_demo(store)
    gate = VideoGate()
    with (
        mock.patch("formcheck.ui.jobs.analyze", return_value=demo_analysis),
        mock.patch("formcheck.annotate.write_annotated_video", gate),
    ):
        outcome = analyse_and_store(
            store, raw, folder, AnalysisOptions(), origin="upload", keep_raw_video=False
        )
        assert outcome.video is not None and gate.started.wait(60.0)
        outcome.video.source.write_bytes(b"damaged while waiting")  # the clip can't be read again
        gate.release()
        assert outcome.video.wait(120.0)
    progress = outcome.video.progress()
    assert progress.video is None and "could not be read again" in progress.error
    assert outcome.session_id is not None
    row = store.session(outcome.session_id)
    assert row is not None and row.video_path is None and row.report_path.is_file()
    assert len(store.report(row.id).reps) == 2
    assert list(row.session_dir.rglob("*.mp4")) == [] and _tmp_files(row.session_dir) == []


def test_no_video_is_drawn_when_the_options_skip_it(tmp_path: Path, demo_analysis: Any) -> None:
    from formcheck.pipeline import AnalysisOptions
    from formcheck.ui.jobs import analyse_and_store

    store = History(tmp_path / "data")
    folder, raw = _staged_demo(store)
    skip = dataclasses.replace(demo_analysis, options=AnalysisOptions(write_video=False))
    with mock.patch("formcheck.ui.jobs.analyze", return_value=skip):
        outcome = analyse_and_store(
            store, raw, folder, skip.options, origin="upload", keep_raw_video=False
        )
    assert outcome.session_id is not None and outcome.video is None
    row = store.session(outcome.session_id)
    assert row is not None and list(row.session_dir.rglob("*.mp4")) == []


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (VideoError(Path("x.mp4"), "not a video file", "Use mp4."), "could not be read"),
        (RuntimeError("a bug"), "internal error"),
    ],
)
def test_a_failed_job_stores_nothing_and_leaves_no_files(
    tmp_path: Path, failure: Exception, message: str
) -> None:
    from formcheck.pipeline import AnalysisOptions
    from formcheck.ui.jobs import analyse_and_store

    store = History(tmp_path / "data")
    folder = store.new_session_dir("clip.mp4")
    (folder / "clip.mp4").write_bytes(b"x")
    with mock.patch("formcheck.ui.jobs.analyze", side_effect=failure):
        outcome = analyse_and_store(
            store, folder / "clip.mp4", folder, AnalysisOptions(), origin="upload",
            keep_raw_video=True,
        )  # fmt: skip
    assert outcome.session_id is None and message in outcome.error
    assert ("a bug" in outcome.detail) is isinstance(failure, RuntimeError)
    assert not folder.exists() and store.sessions() == []


def test_a_job_that_found_nobody_stores_nothing(tmp_path: Path) -> None:
    from formcheck.pipeline import AnalysisOptions
    from formcheck.ui.jobs import analyse_and_store

    store = History(tmp_path / "data")
    folder = store.new_session_dir("clip.mp4")
    _blank_video(folder / "clip.mp4")
    outcome = analyse_and_store(
        store, folder / "clip.mp4", folder, AnalysisOptions(), origin="upload",
        keep_raw_video=True,
    )  # fmt: skip
    assert "No person was found" in outcome.error and "from the side" in outcome.hint
    assert not folder.exists() and store.sessions() == []


@pytest.mark.parametrize(
    ("done", "total", "expected"),
    [(0, 100, 0.0), (50, 100, 0.5), (100, 100, 1.0), (5, 0, 0.0), (150, 100, 1.0)],
)
def test_progress_fraction(done: int, total: int, expected: float) -> None:
    from formcheck.ui.jobs import progress_fraction

    assert progress_fraction(done, total) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(-0.2, "deg", "0°"), (0.4, "deg", "0°"), (-0.6, "deg", "-1°"), (21.5, "deg", "22°"),
     (math.nan, "deg", "–"), (None, "deg", "–"), (0.804, "ratio", "0.80"), (1.25, "s", "1.2 s")],
)  # fmt: skip
def test_values_read_as_whole_degrees_without_a_negative_zero(
    value: float | None, unit: str, text: str
) -> None:
    from formcheck.ui.common import fmt_value

    assert fmt_value(value, unit) == text


# --- bad uploads --------------------------------------------------------------------------------


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "video/mp4")).run()
    at.button[0].click().run()
    return at


def test_a_file_that_is_not_a_video_is_refused_clearly(data_dir: Path) -> None:
    at = _upload(_app(), "notes.mp4", b"these are my training notes, not a video\n" * 20)
    assert "could not be read as a video: not a video file" in at.error[0].value
    assert History(data_dir).sessions() == []
    assert not any((data_dir / "sessions").iterdir())


def test_an_empty_file_is_refused_clearly(data_dir: Path) -> None:
    at = _upload(_app(), "empty.mp4", b"")
    assert "empty" in at.error[0].value


def test_a_file_over_the_limit_is_refused_before_analysis(data_dir: Path) -> None:
    from streamlit import config

    old = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    try:
        at = _upload(_app(), "big.mp4", b"\0" * (1024 * 1024 + 1))
    finally:
        config.set_option("server.maxUploadSize", old)
    assert "the limit is 1 MB" in at.error[0].value
    assert History(data_dir).sessions() == []


def _blank_video(path: Path, seconds: float = 2.0) -> bytes:
    with H264Writer(path, 15.0, 320, 240) as writer:
        for i in range(int(15 * seconds)):
            writer.write(np.full((240, 320, 3), 90 + i % 5, np.uint8))
    return path.read_bytes()


def test_a_video_without_a_person_says_so(data_dir: Path, tmp_path: Path) -> None:
    at = _upload(_app(), "wall.mp4", _blank_video(tmp_path / "wall.mp4"))
    assert "No person was found" in at.error[0].value
    assert "from the side" in at.info[0].value
    assert History(data_dir).sessions() == []


# --- upload to review on real clips -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.clips
def test_upload_a_real_squat_to_review(data_dir: Path, clips_dir: Path) -> None:
    """formfit/squat.mp4: 3 back squats filmed from the side; the review lists 3 reps."""
    clip = clips_dir / "formfit" / "squat.mp4"
    at = _app()
    at.segmented_control[0].set_value("squat")
    at = _upload(at, clip.name, clip.read_bytes())
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Squat")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reps"] == "3"
    table = at.dataframe[0].value
    assert len(table) == 3
    flagged = int(metrics["Flagged"])
    assert flagged == sum(r.startswith("⚠") for r in table["Result"])
    from formcheck.ui.jobs import video_job

    (row,) = History(data_dir).sessions()
    job = video_job(History(data_dir), row.id)
    assert job is not None and job.wait(240.0)  # the annotated video follows the review
    (row,) = History(data_dir).sessions()
    assert row.n_reps == 3 and row.video_path is not None and row.video_path.is_file()
    assert row.raw_video_path is not None and row.raw_video_path.is_file()
    assert not math.isnan(row.flag_rate)


def _shown_video_url(at: AppTest) -> str:
    videos = list(at.get("video"))
    assert videos, "a video is on the page"
    return str(videos[0].proto.url)


@pytest.mark.slow
def test_the_review_opens_before_the_annotated_video_which_replaces_the_clip_when_ready(
    data_dir: Path,
) -> None:
    """Upload the squat demo: the review (reps, table, guidance) is on the page while the annotated
    video is still being drawn, showing the clip as filmed and saying the video is being
    prepared; once it is drawn, the next run of the page shows the annotated video instead."""
    from formcheck.ui.jobs import video_job

    gate = VideoGate()
    with mock.patch("formcheck.annotate.write_annotated_video", gate):
        at = _app()
        at.segmented_control[0].set_value("squat")
        at = _upload(at, DEMO.name, DEMO.read_bytes())
        assert not at.exception, [e.value for e in at.exception]
        assert gate.started.is_set()
        (row,) = History(data_dir).sessions()
        assert row.video_path is None and not list(row.session_dir.rglob("*.annotated.mp4"))
        assert {m.label: m.value for m in at.metric}["Reps"] == "2"
        assert list(at.dataframe[0].value["Rep"]) == [1, 2]
        assert "What to work on" in _texts(at)
        (bar,) = at.get("progress")
        assert "annotated video" in str(bar.proto.text) and "being prepared" in str(bar.proto.text)
        filmed = _shown_video_url(at)
        assert not at.get("download_button") or all(
            "Annotated" not in b.proto.label for b in at.get("download_button")
        )
        gate.release()
        job = video_job(History(data_dir), row.id)
        assert job is not None and job.wait(120.0)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (row,) = History(data_dir).sessions()
    assert row.video_path is not None and row.video_path.is_file()
    assert not at.get("progress") and "being prepared" not in _texts(at)
    assert _shown_video_url(at) != filmed
    assert any("Annotated video" in b.proto.label for b in at.get("download_button"))


@pytest.mark.slow
def test_a_video_that_could_not_be_made_is_said_plainly_and_the_review_stays(
    data_dir: Path,
) -> None:
    from formcheck.ui.jobs import video_job

    gate = VideoGate(fail=OSError(28, "No space left on device"))
    with mock.patch("formcheck.annotate.write_annotated_video", gate):
        at = _upload(_app(), DEMO.name, DEMO.read_bytes())
        (row,) = History(data_dir).sessions()
        gate.release()
        job = video_job(History(data_dir), row.id)
        assert job is not None and job.wait(120.0)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = _texts(at)
    assert "The annotated video could not be made: OSError" in text
    assert "No space left on device" in text and "review, verdicts and curves are complete" in text
    assert {m.label: m.value for m in at.metric}["Reps"] == "2"
    assert at.get("video"), "the clip as filmed (kept by default) is still shown"
