"""Crash-safe files: unfinished work carries the id of the process writing it, a finished set of
files moves into place in one rename, and what a killed process left behind is swept.

Names of unfinished work (always hidden, always beside where the result goes):

    .<name>.staging-<pid>-<hex>/     a folder being filled; renamed to <name> when complete
    .<name>.old-<pid>-<hex>/         the set a publish_dir() is replacing, for the instant of the swap
    .<name>.<pid>-<random>.tmp       a file being written (the annotated video)
    .<name>.<pid>-<random>.part      a file being written (report.py's atomic writes)

Such an entry is abandoned when the process <pid> no longer runs (it was killed, or crashed), or,
for a temporary file without a process id (written by an older formcheck), when it has not been
modified for LEGACY_TMP_AGE_S. Work of a running process is never swept.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from formcheck.notices import count_words

#: A temporary file whose name carries no process id is abandoned after this long untouched.
LEGACY_TMP_AGE_S = 600.0

_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>staging|old)-(?P<pid>\d+)-[0-9a-f]+$")
_TMP = re.compile(r"^\..+\.(?:(?P<pid>\d+)-)?[A-Za-z0-9_]+\.(?:tmp|part)$")


def tmp_name(name: str) -> str:
    """Prefix for a temporary file of this process beside a file called `name`; the caller appends
    something random and ".tmp" or ".part"."""
    return f".{name}.{os.getpid()}-"


def staging_path(target: Path) -> Path:
    """A fresh staging folder name beside `target` (not created)."""
    return target.with_name(f".{target.name}.staging-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def target_of(staging: Path) -> Path | None:
    """Where the staging folder `staging` goes when complete; None if it is not a staging name."""
    match = _STAGING.match(staging.name)
    if match is None or match["kind"] != "staging":
        return None
    return staging.with_name(match["name"])


def is_staging(path: Path) -> bool:
    return _STAGING.match(path.name) is not None


def is_tmp(path: Path) -> bool:
    return _TMP.match(path.name) is not None


def pid_running(pid: int) -> bool:
    """True while a process with this id exists (POSIX: signal 0 tests without sending)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def abandoned(path: Path) -> bool:
    """True for a staging folder or temporary file whose writer is gone (see the module doc)."""
    match = _STAGING.match(path.name) or _TMP.match(path.name)
    if match is None:
        return False
    if match["pid"] is not None:
        return not pid_running(int(match["pid"]))
    try:
        return time.time() - path.stat().st_mtime > LEGACY_TMP_AGE_S
    except FileNotFoundError:
        return False


def publish_dir(staging: Path, target: Path, replaces: frozenset[str]) -> None:
    """Move the complete folder `staging` to `target`. An existing `target` is replaced as a set:
    its entries named in `replaces` go with it, any other entry (the user's own files) is moved
    into the new folder first. The swap is two renames; a kill between them leaves the old set
    in .<name>.old-<pid>-<hex>/, which sweep_folder() puts back."""
    if not target.exists():
        staging.rename(target)
        return
    for entry in target.iterdir():
        if entry.name not in replaces and not (staging / entry.name).exists():
            entry.rename(staging / entry.name)
    old = target.with_name(f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


@dataclass
class Sweep:
    """What a sweep removed or put back (paths as they were found); interrupted: the names of the
    clips whose unfinished analysis was removed, where the caller knows them."""

    removed: list[Path] = field(default_factory=list)
    restored: list[Path] = field(default_factory=list)
    freed_bytes: int = 0
    interrupted: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.removed or self.restored)

    def add(self, other: Sweep) -> None:
        self.removed += other.removed
        self.restored += other.restored
        self.freed_bytes += other.freed_bytes
        self.interrupted += other.interrupted

    def remove(self, path: Path) -> None:
        """Delete a file or folder and count it."""
        size = _size(path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        if not path.exists():
            self.removed.append(path)
            self.freed_bytes += size

    def message(self) -> str:
        """One line for the user; empty when nothing was found."""
        parts = []
        if self.removed:
            names = ", ".join(p.name for p in self.removed[:3])
            more = f" and {len(self.removed) - 3} more" if len(self.removed) > 3 else ""
            parts.append(
                f"removed {count_words(len(self.removed), 'unfinished item')} left by an "
                f"interrupted analysis ({names}{more}; {self.freed_bytes / 1e6:.1f} MB)"
            )
        if self.restored:
            parts.append(
                "put back the previous results of "
                + ", ".join(p.name for p in self.restored)
                + " (their replacement was interrupted)"
            )
        return "; ".join(parts)


def sweep_folder(folder: Path) -> Sweep:
    """Sweep `folder` and the files directly in its sub-folders (the CLI's OUT/<video name>/):
    abandoned staging folders and temporary files are removed; an abandoned old set whose
    replacement never arrived is put back."""
    found = Sweep()
    if not folder.is_dir():
        return found
    for entry in sorted(folder.iterdir()):
        match = _STAGING.match(entry.name)
        if match is not None:
            if not abandoned(entry):
                continue
            target = entry.with_name(match["name"])
            if match["kind"] == "old" and not target.exists():
                entry.rename(target)
                found.restored.append(target)
            else:
                found.remove(entry)
        elif entry.is_dir():
            for path in sorted(entry.glob(".*")):
                if path.is_file() and is_tmp(path) and abandoned(path):
                    found.remove(path)
        elif is_tmp(entry) and abandoned(entry):
            found.remove(entry)
    return found


def sweep_tmp_files(folder: Path) -> Sweep:
    """Remove abandoned temporary files anywhere under `folder`."""
    found = Sweep()
    for path in sorted(folder.rglob(".*")):
        if path.is_file() and is_tmp(path) and abandoned(path):
            found.remove(path)
    return found


def _size(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0
