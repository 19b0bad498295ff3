"""Reading and checking the YAML data files (src/formcheck/data/*.yaml, or a user's copy).

Every error is a DataFileError (a ValueError) whose message starts with the place to fix:
"<file>:<key path>: <what is wrong>". Each module raises its own subclass (faults.FaultConfigError,
reps.RepConfigError, guidance.GuidanceDataError) through a Checks bound to it:

    _check = Checks(RepConfigError)
    raw, where = _check.load("reps.yaml", path)            # where = "formcheck/data/reps.yaml"
    top = _check.mapping(raw, where, {"schema_version", "segmentation"})
    seconds = _check.number(top["max_gap_s"], f"{where}:max_gap_s")

The packaged files are parsed once and cached: callers must not mutate what load() returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import numpy as np
import yaml

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    Params = TypeVar("Params", bound=DataclassInstance)

PACKAGE = "formcheck.data"
#: The keys of one documented tunable: {value: 0.5, unit: s, rationale: "why this number"}.
VALUE_KEYS = frozenset({"value", "unit", "rationale"})


class DataFileError(ValueError):
    """A data file is missing, not YAML, or malformed; the message names the file and the key."""


def packaged_label(name: str) -> str:
    """How error messages name a packaged data file."""
    return f"formcheck/data/{name}"


def child(where: str, key: str) -> str:
    """The location of `key` inside `where` ("file:a" + "b" -> "file:a.b"; "file" -> "file:b")."""
    return f"{where}{key}" if where.endswith(":") else f"{where}.{key}"


def _parse(text: str) -> Any:
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def _packaged_text(name: str) -> str:
    return resources.files(PACKAGE).joinpath(name).read_text(encoding="utf-8")


@cache
def _packaged_yaml(name: str) -> Any:
    return _parse(_packaged_text(name))


def value_file(
    cls: type[Params],
    name: str,
    path: Path | None = None,
    error: type[DataFileError] = DataFileError,
) -> Params:
    """Checks(error).value_file: the file at `path`, else the packaged `name`, which is read and
    validated once per process (the dataclass is frozen; callers share it)."""
    if path is not None:
        return Checks(error).value_file(cls, name, path)
    key = (cls, name)
    if key not in _PACKAGED_VALUES:
        _PACKAGED_VALUES[key] = Checks(error).value_file(cls, name)
    return cast("Params", _PACKAGED_VALUES[key])


_PACKAGED_VALUES: dict[tuple[type, str], object] = {}


def _type_name(annotation: object) -> str:
    """A dataclass field's type as written ("float", "tuple[float, float]"), whether or not the
    module postpones its annotations."""
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


@dataclass(frozen=True)
class Checks:
    """Loading and type checks that raise `error` (a DataFileError subclass) naming the location."""

    error: type[DataFileError] = DataFileError

    def fail(self, where: str, message: str) -> NoReturn:
        raise self.error(f"{where}: {message}")

    def parse(self, text: str, where: str) -> Any:
        """YAML text -> Python data; `where` names the text in the error."""
        try:
            return _parse(text)
        except yaml.YAMLError as exc:
            self.fail(where, f"not valid YAML ({exc})")

    def load(self, name: str, path: Path | None = None) -> tuple[Any, str]:
        """(parsed data, label for errors) of the file at `path`, else of the packaged `name`."""
        where = str(path) if path is not None else packaged_label(name)
        try:
            if path is None:
                return _packaged_yaml(name), where
            text = path.read_text(encoding="utf-8")
        except yaml.YAMLError as exc:
            self.fail(where, f"not valid YAML ({exc})")
        except OSError as exc:
            self.fail(where, f"cannot read it ({exc})")
        return self.parse(text, where), where

    def mapping(
        self, raw: Any, where: str, keys: Iterable[str] | None = None, *, non_empty: bool = False
    ) -> dict[str, Any]:
        """raw as a mapping with text keys; exactly `keys` when given; at least one when non_empty."""
        if not isinstance(raw, Mapping):
            what = "a non-empty mapping" if non_empty else "a mapping"
            self.fail(where, f"expected {what}, got {type(raw).__name__}")
        if bad := [k for k in raw if not isinstance(k, str)]:
            self.fail(where, f"expected text keys, got {bad[0]!r}")
        if non_empty and not raw:
            self.fail(where, "expected a non-empty mapping, got an empty one")
        if keys is not None:
            wanted = set(keys)
            missing, unknown = sorted(wanted - set(raw)), sorted(set(raw) - wanted)
            if missing or unknown:
                self.fail(
                    where,
                    f"missing keys {missing}, unknown keys {unknown}; expected {sorted(wanted)}",
                )
        return dict(raw)

    def number(
        self, raw: Any, where: str, *, low: float | None = None, high: float | None = None
    ) -> float:
        """raw as a finite float (bool is not a number), within [low, high] when given."""
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not np.isfinite(raw):
            self.fail(where, f"expected a number, got {raw!r}")
        if (low is not None and raw < low) or (high is not None and raw > high):
            self.fail(where, f"expected a number from {low} to {high}, got {raw!r}")
        return float(raw)

    def integer(self, raw: Any, where: str, *, low: int | None = None) -> int:
        """raw as a whole number (bool is not one), at least `low` when given."""
        if isinstance(raw, bool) or not isinstance(raw, int) or (low is not None and raw < low):
            at_least = "" if low is None else f" >= {low}"
            self.fail(where, f"expected a whole number{at_least}, got {raw!r}")
        return int(raw)

    def text(self, raw: Any, where: str) -> str:
        """raw as a string with something other than white space in it."""
        if not isinstance(raw, str) or not raw.strip():
            self.fail(where, f"expected non-empty text, got {raw!r}")
        return raw

    def items(self, raw: Any, where: str) -> list[Any]:
        """raw as a non-empty list."""
        if not isinstance(raw, list) or not raw:
            self.fail(where, f"expected a non-empty list, got {raw!r:.60}")
        return raw

    def values(
        self, table: Mapping[str, Any], where: str, names: Iterable[str]
    ) -> dict[str, float]:
        """{name: number} from entries {value, unit, rationale} of `table` (at `where`)."""
        out = {}
        for name in names:
            entry = self.mapping(table[name], child(where, name), VALUE_KEYS)
            out[name] = self.number(entry["value"], child(child(where, name), "value"))
        return out

    def value_file(self, cls: type[Params], name: str, path: Path | None = None) -> Params:
        """A file of schema_version 1 plus one {value, unit, rationale} entry per field of the
        dataclass `cls` (exactly those keys) -> cls(field=value, ...). A field annotated float takes
        a number, int a whole number, str a text and tuple[float, float] a list of two numbers."""
        raw, where = self.load(name, path)
        names = {f.name: _type_name(f.type) for f in fields(cls)}
        top = self.mapping(raw, where, {"schema_version", *names})
        self.schema_version(top, where)
        out: dict[str, Any] = {}
        for key, kind in names.items():
            at = child(f"{where}:", key)
            value = self.mapping(top[key], at, VALUE_KEYS)["value"]
            out[key] = self._typed(value, child(at, "value"), kind)
        return cls(**out)

    def _typed(self, raw: Any, where: str, kind: str) -> Any:
        if kind == "float":
            return self.number(raw, where)
        if kind == "int":
            return self.integer(raw, where)
        if kind == "str":
            return self.text(raw, where)
        if kind == "tuple[float, float]":
            items = self.items(raw, where)
            if len(items) != 2:
                self.fail(where, f"expected a list of two numbers, got {raw!r}")
            return tuple(self.number(v, f"{where}[{i}]") for i, v in enumerate(items))
        raise TypeError(f"{where}: a value file cannot hold a field of type {kind}")

    def schema_version(self, top: Mapping[str, Any], where: str, version: int = 1) -> None:
        if top["schema_version"] != version:
            self.fail(where, f"schema_version {top['schema_version']!r} is not {version}")
