"""Every analysed session, kept on this machine in SQLite: browse, filter, trend, export, delete.

Layout of the data folder (default ~/.formcheck, or $FORMCHECK_DATA_DIR):

    formcheck.db                  sessions, reps, faults, settings (WAL mode, schema versioned)
    sessions/<key>/               one folder per session: the raw video (if kept), and the
    sessions/<key>/<stem>/        pipeline's report.json, angles.csv and annotated video
    sessions/.<key>.staging-<pid>-<hex>/   a session being recorded or analysed (safefiles)

A session is analysed into its staging folder; add_session() renames it to sessions/<key>/ inside
the transaction that inserts its row, so a kill leaves either a stored session or a folder the
database does not know; sweep() removes those (and abandoned staging folders and temporary files).
Paths inside the data folder are stored relative to it, so the folder can be moved as a whole.
Deleting a session deletes its rows (reps and faults cascade) and its folder. Nothing here talks to
a network.

Schema versions live in PRAGMA user_version; MIGRATIONS[i] takes a database from version i to i + 1
(SQL, or the name of a Python step such as upgrade_reports, which rewrites stored reports of an older
report schema as the current one).
A database written by a newer formcheck is refused with a clear message rather than guessed at.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import os
import random
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formcheck import safefiles
from formcheck.report import SCHEMA_VERSION as REPORT_SCHEMA_VERSION
from formcheck.report import SessionReport, atomic_write_text

DB_FILE = "formcheck.db"
SESSIONS_DIR = "sessions"
ENV_DATA_DIR = "FORMCHECK_DATA_DIR"

#: MIGRATIONS[i] upgrades schema version i to i + 1 (applied in order, each in one transaction).
MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: sessions, reps and faults
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_utc TEXT NOT NULL,
        origin TEXT NOT NULL,
        source_name TEXT NOT NULL,
        exercise TEXT NOT NULL,
        view TEXT NOT NULL,
        preset TEXT NOT NULL,
        duration_s REAL NOT NULL,
        detection_rate REAL NOT NULL,
        n_reps INTEGER NOT NULL,
        n_flagged INTEGER NOT NULL,
        peak_flexion_rel_deg REAL,
        peak_extension_rel_deg REAL,
        session_dir TEXT NOT NULL,
        report_path TEXT NOT NULL,
        video_path TEXT,
        csv_path TEXT,
        raw_video_path TEXT,
        report_json TEXT NOT NULL
    );
    CREATE INDEX sessions_by_date ON sessions (created_utc);
    CREATE INDEX sessions_by_exercise ON sessions (exercise, created_utc);
    CREATE TABLE reps (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        rep_index INTEGER NOT NULL,
        start_s REAL NOT NULL,
        bottom_s REAL NOT NULL,
        end_s REAL NOT NULL,
        partial INTEGER NOT NULL,
        flagged INTEGER NOT NULL,
        peak_flexion_rel_deg REAL,
        peak_extension_rel_deg REAL,
        spine_confidence REAL,
        PRIMARY KEY (session_id, rep_index)
    );
    CREATE TABLE faults (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        rep_index INTEGER NOT NULL,
        code TEXT NOT NULL,
        severity TEXT NOT NULL,
        confidence REAL NOT NULL,
        value REAL,
        threshold REAL,
        unit TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX faults_by_session ON faults (session_id, rep_index);
    """,
    # 1 -> 2: a free-text note per session (load, how it felt) and app settings
    """
    ALTER TABLE sessions ADD COLUMN note TEXT NOT NULL DEFAULT '';
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2 -> 3: stored reports of schema 1 rewritten as schema 2 (upgrade_reports)
    "upgrade_reports",
    # 3 -> 4: each session's peak back-check values, the numbers its review shows (add_back_peaks)
    "add_back_peaks",
)
SCHEMA_VERSION = len(MIGRATIONS)


def upgrade_reports(con: sqlite3.Connection) -> int:
    """Rewrite every stored report of an older report schema as the current one
    (report.upgrade_v1), and the sessions' flagged-rep counts with it; returns how many."""
    rows = con.execute("SELECT id, report_json FROM sessions").fetchall()
    upgraded = 0
    for session_id, text in rows:
        data = json.loads(text)
        if str(data.get("schema_version")) == REPORT_SCHEMA_VERSION:
            continue
        report = SessionReport.from_dict(data)
        con.execute(
            "UPDATE sessions SET report_json = ?, n_flagged = ? WHERE id = ?",
            (report.to_json(), report.summary["n_flagged_reps"], session_id),
        )
        upgraded += 1
    return upgraded


def back_peaks(report: SessionReport) -> tuple[float | None, float | None]:
    """(rounding, arching): the largest value each back check compared in any rep of the report
    (SessionReport.peak), the session's peaks as its review shows them; None where never judged."""
    return report.peak("back_rounding"), report.peak("back_overarch")


def add_back_peaks(con: sqlite3.Connection) -> int:
    """Add the sessions' peak_rounding_deg and peak_arching_deg (back_peaks) and fill them from
    the stored reports; returns how many sessions were filled."""
    con.execute("ALTER TABLE sessions ADD COLUMN peak_rounding_deg REAL")
    con.execute("ALTER TABLE sessions ADD COLUMN peak_arching_deg REAL")
    rows = con.execute("SELECT id, report_json FROM sessions").fetchall()
    for session_id, text in rows:
        report = SessionReport.from_dict(json.loads(text))
        con.execute(
            "UPDATE sessions SET peak_rounding_deg = ?, peak_arching_deg = ? WHERE id = ?",
            (*back_peaks(report), session_id),
        )
    return len(rows)


#: Migration steps written in Python rather than SQL, by the name MIGRATIONS gives them.
_PYTHON_STEPS = {"upgrade_reports": upgrade_reports, "add_back_peaks": add_back_peaks}


#: Opening the history sets it up (WAL, schema version check, migrations) in one BEGIN IMMEDIATE
#: transaction. "database is locked" while another thread or process does the same is retried
#: SETUP_ATTEMPTS times, waiting SETUP_BACKOFF_S, doubled each time up to SETUP_BACKOFF_MAX_S (with
#: jitter); each attempt's connection waits up to SETUP_BUSY_TIMEOUT_S for the lock. Worst case
#: about a minute before a HistoryError says which database stayed locked.
SETUP_ATTEMPTS = 10
SETUP_BACKOFF_S = 0.05
SETUP_BACKOFF_MAX_S = 1.0
SETUP_BUSY_TIMEOUT_S = 5.0


def _setup(db_path: Path) -> None:
    """Create or migrate the database at db_path (see SETUP_ATTEMPTS)."""
    for attempt in range(SETUP_ATTEMPTS):
        try:
            con = sqlite3.connect(db_path, timeout=SETUP_BUSY_TIMEOUT_S)
            try:
                # WAL: readers never block the writer. Changing the journal mode needs the database
                # to itself, and SQLite's busy timeout does not wait for it: retried below.
                con.execute("PRAGMA journal_mode=WAL")
                migrate(con)
                return
            finally:
                con.close()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == SETUP_ATTEMPTS - 1:
                if "locked" in str(exc):
                    raise HistoryError(
                        f"the history database {db_path} stayed locked by another program for "
                        "too long. Close other formcheck windows or processes using this data "
                        "folder and try again."
                    ) from exc
                raise
        delay = min(SETUP_BACKOFF_S * 2**attempt, SETUP_BACKOFF_MAX_S)
        time.sleep(delay * random.uniform(0.5, 1.0))


class HistoryError(RuntimeError):
    """The history database cannot be used (e.g. written by a newer formcheck)."""


def default_data_dir() -> Path:
    """$FORMCHECK_DATA_DIR if set, else ~/.formcheck."""
    env = os.environ.get(ENV_DATA_DIR, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".formcheck"


@dataclass(frozen=True)
class SessionRow:
    """One stored session. Paths are absolute (resolved against the data folder); None when absent.

    flag_rate: flagged reps / reps (NaN for a session without reps).
    """

    id: int
    created_utc: str
    origin: str  # "upload" | "live"
    source_name: str
    exercise: str
    view: str
    preset: str
    duration_s: float
    detection_rate: float
    n_reps: int
    n_flagged: int
    peak_flexion_rel_deg: float | None
    peak_extension_rel_deg: float | None
    #: The largest back rounding / arching any rep was judged on (back_peaks): the review's numbers.
    peak_rounding_deg: float | None
    peak_arching_deg: float | None
    note: str
    session_dir: Path
    report_path: Path
    video_path: Path | None
    csv_path: Path | None
    raw_video_path: Path | None

    @property
    def flag_rate(self) -> float:
        return self.n_flagged / self.n_reps if self.n_reps else math.nan

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created_utc)


@dataclass(frozen=True)
class FaultRow:
    session_id: int
    rep_index: int
    code: str
    severity: str
    confidence: float
    value: float | None
    threshold: float | None
    unit: str
    start_s: float
    end_s: float
    message: str


SESSION_CSV_COLUMNS = (
    "id", "created_utc", "origin", "source_name", "exercise", "view", "preset", "duration_s",
    "detection_rate", "n_reps", "n_flagged", "flag_rate", "peak_rounding_deg", "peak_arching_deg",
    "peak_flexion_rel_deg", "peak_extension_rel_deg", "note",
)  # fmt: skip


class History:
    """The session store in `data_dir` (created on first use).

    Safe to use from several threads and processes: every call opens its own short-lived
    connection, and WAL lets readers run while another session writes.
    """

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = (data_dir or default_data_dir()).expanduser().resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / DB_FILE
        _setup(self.db_path)

    # --- connections and paths -------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.db_path, timeout=15.0)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys=ON")
        try:
            with con:  # one transaction: commit on success, roll back on error
                yield con
        finally:
            con.close()

    def _rel(self, path: Path | str | None) -> str | None:
        if path is None:
            return None
        p = Path(path).resolve()
        try:
            return p.relative_to(self.data_dir).as_posix()
        except ValueError:
            return str(p)

    def _abs(self, stored: str | None) -> Path | None:
        if stored is None:
            return None
        p = Path(stored)
        return p if p.is_absolute() else self.data_dir / p

    def new_session_dir(self, name: str) -> Path:
        """A fresh, empty staging folder for one session, which add_session() moves to
        sessions/<UTC time>-<safe name>-<random>."""
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        safe = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name).stem)[:40].strip("_") or "session"
        final = self.data_dir / SESSIONS_DIR / f"{stamp}-{safe}-{uuid.uuid4().hex[:6]}"
        folder = safefiles.staging_path(final)
        folder.mkdir(parents=True)
        return folder

    def sweep(self) -> safefiles.Sweep:
        """Remove what interrupted work left in sessions/: staging folders whose process is gone,
        session folders without a row, and abandoned temporary files in stored sessions. Holds
        the database's write lock meanwhile, so a session being stored is never mistaken for an
        unknown one."""
        found = safefiles.Sweep()
        root = self.data_dir / SESSIONS_DIR
        if not root.is_dir():
            return found
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            known = {
                p.resolve()
                for (stored,) in con.execute("SELECT session_dir FROM sessions")
                if (p := self._abs(stored)) is not None
            }
            for entry in sorted(root.iterdir()):
                if safefiles.is_staging(entry) or safefiles.is_tmp(entry):
                    if safefiles.abandoned(entry):
                        found.remove(entry)
                        target = safefiles.target_of(entry)
                        if target is not None and not entry.exists():
                            found.interrupted.append(_clip_of(target.name))
                elif entry.resolve() not in known:
                    found.remove(entry)
                elif entry.is_dir():
                    found.add(safefiles.sweep_tmp_files(entry))
        return found

    # --- writing ---------------------------------------------------------------------------------

    def add_session(
        self,
        report: SessionReport,
        session_dir: Path,
        *,
        origin: str = "upload",
        raw_video: Path | None = None,
    ) -> int:
        """Store an analysed session (its report, reps and faults) and return its id.

        session_dir: the folder holding the session's files (deleted with the session). A staging
        folder from new_session_dir() is moved into place in the transaction that inserts the row
        (the paths in the report and its report.json are updated to match).
        raw_video: the original video when it is kept, else None.
        """
        if origin not in ("upload", "live"):
            raise ValueError(f"origin must be 'upload' or 'live', got {origin!r}")
        if "report_json" not in report.outputs:
            raise ValueError(
                "the report has no outputs['report_json']: store reports written to disk"
            )
        staging = Path(session_dir)
        final = safefiles.target_of(staging) or staging
        if final != staging:
            report, raw_video = self._moved(report, raw_video, staging, final)
        try:
            return self._insert(report, staging, final, origin, raw_video)
        except BaseException:
            if final != staging and final.exists() and not staging.exists():
                final.rename(staging)  # the row was not stored: the folder is staged again
            raise

    def _moved(
        self, report: SessionReport, raw_video: Path | None, staging: Path, final: Path
    ) -> tuple[SessionReport, Path | None]:
        """The report and raw video path as they will be once `staging` is renamed to `final`;
        the staged report.json is rewritten with those paths."""

        def moved(path: str | Path) -> Path:
            p = Path(path)
            try:
                return final / p.relative_to(staging)
            except ValueError:
                return p

        outputs = {k: str(moved(v)) for k, v in report.outputs.items()}
        report = dataclasses.replace(report, outputs=outputs)
        staged_json = staging / Path(outputs["report_json"]).relative_to(final)
        if staged_json.is_file():
            atomic_write_text(staged_json, report.to_json())
        return report, moved(raw_video) if raw_video is not None else None

    def _insert(
        self,
        report: SessionReport,
        staging: Path,
        session_dir: Path,
        origin: str,
        raw_video: Path | None,
    ) -> int:
        outputs = report.outputs
        peaks_flex = [r.spine.peak_flexion_rel_deg for r in report.reps]
        peaks_ext = [r.spine.peak_extension_rel_deg for r in report.reps]
        summary = report.summary
        with self._connect() as con:
            cur = con.execute(
                """INSERT INTO sessions (created_utc, origin, source_name, exercise, view, preset,
                       duration_s, detection_rate, n_reps, n_flagged, peak_flexion_rel_deg,
                       peak_extension_rel_deg, peak_rounding_deg, peak_arching_deg, session_dir,
                       report_path, video_path, csv_path, raw_video_path, report_json)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    report.created_utc or _now_utc(),
                    origin,
                    report.source.name,
                    report.exercise,
                    report.view,
                    report.preset,
                    report.duration_s,
                    report.detection_rate,
                    summary["n_reps"],
                    summary["n_flagged_reps"],
                    _max_or_none(peaks_flex),
                    _max_or_none(peaks_ext),
                    *back_peaks(report),
                    self._rel(session_dir),
                    self._rel(outputs["report_json"]),
                    self._rel(outputs.get("annotated_video")),
                    self._rel(outputs.get("angles_csv")),
                    self._rel(raw_video),
                    report.to_json(),
                ),
            )
            session_id = int(cur.lastrowid or 0)
            con.executemany(
                """INSERT INTO reps (session_id, rep_index, start_s, bottom_s, end_s, partial,
                       flagged, peak_flexion_rel_deg, peak_extension_rel_deg, spine_confidence)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (session_id, r.index, r.start_s, r.bottom_s, r.end_s, int(r.partial),
                     int(r.flagged), r.spine.peak_flexion_rel_deg,
                     r.spine.peak_extension_rel_deg, r.spine.confidence)
                    for r in report.reps
                ],
            )  # fmt: skip
            con.executemany(
                """INSERT INTO faults (session_id, rep_index, code, severity, confidence, value,
                       threshold, unit, start_s, end_s, message)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (session_id, r.index, str(f.code), str(f.severity), f.confidence,
                     _finite_or_none(f.value), _finite_or_none(f.threshold), f.unit, f.start_s,
                     f.end_s, f.message)
                    for r in report.reps
                    for f in r.faults
                ],
            )  # fmt: skip
            if staging != session_dir:  # the row commits only once the folder is in place
                staging.rename(session_dir)
        return session_id

    def set_annotated_video(self, session_id: int, video: Path) -> bool:
        """Record a stored session's annotated video, made after the session was stored (its
        row and stored report then list it). False when there is no such session (deleted
        meanwhile)."""
        with self._connect() as con:
            row = con.execute(
                "SELECT report_json FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                return False
            report = SessionReport.from_dict(json.loads(row["report_json"]))
            outputs = {**report.outputs, "annotated_video": str(Path(video).resolve())}
            con.execute(
                "UPDATE sessions SET video_path = ?, report_json = ? WHERE id = ?",
                (
                    self._rel(video),
                    dataclasses.replace(report, outputs=outputs).to_json(),
                    session_id,
                ),
            )
        return True

    def set_note(self, session_id: int, note: str) -> None:
        with self._connect() as con:
            con.execute("UPDATE sessions SET note = ? WHERE id = ?", (note.strip(), session_id))

    def delete_session(self, session_id: int) -> bool:
        """Delete the session's rows and its folder. False if there was no such session.

        Only files inside the data folder are ever deleted.
        """
        row = self.session(session_id)
        if row is None:
            return False
        with self._connect() as con:
            con.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        for path in (row.session_dir, row.raw_video_path, row.video_path, row.csv_path):
            if path is not None and _inside(path, self.data_dir):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        return True

    def discard_raw_video(self, session_id: int) -> None:
        """Delete a session's original video (the report and annotated video stay)."""
        row = self.session(session_id)
        if row is None or row.raw_video_path is None:
            return
        if _inside(row.raw_video_path, self.data_dir):
            row.raw_video_path.unlink(missing_ok=True)
        with self._connect() as con:
            con.execute("UPDATE sessions SET raw_video_path = NULL WHERE id = ?", (session_id,))

    # --- reading ---------------------------------------------------------------------------------

    def sessions(
        self,
        exercises: list[str] | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[SessionRow]:
        """Sessions, newest first; only these lifts (exercises), between UTC dates since..until."""
        where: list[str] = []
        args: list[str] = []
        if exercises:
            where.append(f"exercise IN ({', '.join('?' * len(exercises))})")
            args.extend(exercises)
        if since is not None:
            where.append("created_utc >= ?")
            args.append(since.isoformat())
        if until is not None:
            where.append("created_utc < ?")
            args.append((until + dt.timedelta(days=1)).isoformat())
        sql = "SELECT * FROM sessions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_utc DESC, id DESC"
        with self._connect() as con:
            return [self._session_row(r) for r in con.execute(sql, args)]

    def session(self, session_id: int) -> SessionRow | None:
        with self._connect() as con:
            row = con.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return self._session_row(row) if row is not None else None

    def latest_session_id(self) -> int | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT id FROM sessions ORDER BY created_utc DESC, id DESC"
            ).fetchone()
        return int(row["id"]) if row is not None else None

    def report(self, session_id: int) -> SessionReport:
        """The stored report, with outputs pointing at the files where they are now."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise KeyError(f"no session {session_id}")
        report = SessionReport.from_dict(json.loads(row["report_json"]))
        outputs = dict(report.outputs)
        for key, column in (
            ("report_json", "report_path"),
            ("annotated_video", "video_path"),
            ("angles_csv", "csv_path"),
        ):
            path = self._abs(row[column])
            if path is None:
                outputs.pop(key, None)
            else:
                outputs[key] = str(path)
        return dataclasses.replace(report, outputs=outputs)

    def faults(self, session_id: int | None = None) -> list[FaultRow]:
        sql = "SELECT * FROM faults"
        args: tuple[Any, ...] = ()
        if session_id is not None:
            sql += " WHERE session_id = ?"
            args = (session_id,)
        with self._connect() as con:
            rows = con.execute(sql + " ORDER BY session_id, rep_index, id", args).fetchall()
        return [FaultRow(**{k: r[k] for k in FaultRow.__dataclass_fields__}) for r in rows]

    def count_rows(self, table: str) -> int:
        """Rows in one of the tables (for checks and the settings page)."""
        if table not in ("sessions", "reps", "faults"):
            raise ValueError(f"unknown table {table!r}")
        with self._connect() as con:
            return int(con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def _session_row(self, r: sqlite3.Row) -> SessionRow:
        return SessionRow(
            id=r["id"], created_utc=r["created_utc"], origin=r["origin"],
            source_name=r["source_name"], exercise=r["exercise"], view=r["view"],
            preset=r["preset"], duration_s=r["duration_s"], detection_rate=r["detection_rate"],
            n_reps=r["n_reps"], n_flagged=r["n_flagged"],
            peak_flexion_rel_deg=r["peak_flexion_rel_deg"],
            peak_extension_rel_deg=r["peak_extension_rel_deg"],
            peak_rounding_deg=r["peak_rounding_deg"], peak_arching_deg=r["peak_arching_deg"],
            note=r["note"],
            session_dir=self._abs(r["session_dir"]) or self.data_dir,
            report_path=self._abs(r["report_path"]) or self.data_dir,
            video_path=self._abs(r["video_path"]), csv_path=self._abs(r["csv_path"]),
            raw_video_path=self._abs(r["raw_video_path"]),
        )  # fmt: skip

    # --- export ----------------------------------------------------------------------------------

    def export_csv(self, rows: list[SessionRow]) -> str:
        """One line per session (SESSION_CSV_COLUMNS); missing numbers are empty cells."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(SESSION_CSV_COLUMNS)
        for s in rows:
            values = [getattr(s, c) for c in SESSION_CSV_COLUMNS]
            writer.writerow(
                ["" if v is None or (isinstance(v, float) and v != v) else v for v in values]
            )
        return buf.getvalue()

    def export_json(self, rows: list[SessionRow]) -> str:
        """{"formcheck_history": 1, "sessions": [{id, origin, note, report}]}, full reports."""
        sessions = [
            {"id": s.id, "origin": s.origin, "note": s.note, "report": self.report(s.id).to_dict()}
            for s in rows
        ]
        return json.dumps({"formcheck_history": 1, "sessions": sessions}, indent=2)

    # --- settings --------------------------------------------------------------------------------

    def get_setting(self, key: str, default: str) -> str:
        with self._connect() as con:
            row = con.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(row["value"]) if row is not None else default

    def set_setting(self, key: str, value: str) -> None:
        with self._connect() as con:
            con.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def disk_usage_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.data_dir.rglob("*") if p.is_file())


def migrate(con: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to schema version `target`; returns the version it was at.

    One write transaction (BEGIN IMMEDIATE) reads the version and applies every step, so that
    several threads or processes opening a new data folder at once migrate it exactly once: the
    others wait for the lock (the connection's busy timeout) and then find it up to date."""
    con.commit()  # no transaction of the caller's may be open around ours
    level = con.isolation_level
    con.isolation_level = None  # explicit BEGIN / COMMIT below, none implied by the module
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise HistoryError(
                    f"the history database is schema version {version}, newer than this "
                    f"formcheck understands ({SCHEMA_VERSION}). Update formcheck, or point "
                    "FORMCHECK_DATA_DIR at another folder."
                )
            for step in range(version, target):
                if MIGRATIONS[step] in _PYTHON_STEPS:
                    _PYTHON_STEPS[MIGRATIONS[step]](con)
                    continue
                for statement in _statements(MIGRATIONS[step]):
                    con.execute(statement)
            if target > version:
                con.execute(f"PRAGMA user_version = {target}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.isolation_level = level
    return version


def _statements(script: str) -> list[str]:
    """A migration script split into its SQL statements."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


def _clip_of(session_key: str) -> str:
    """The clip's name in a session folder's name (<UTC time>-<safe name>-<random>)."""
    match = re.fullmatch(r"\d{8}-\d{6}-(?P<name>.+)-[0-9a-f]{6}", session_key)
    return match["name"] if match else session_key


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return path.resolve() != folder.resolve()


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _max_or_none(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return max(finite) if finite else None


def _now_utc() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
