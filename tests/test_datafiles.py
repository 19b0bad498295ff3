"""datafiles: loading a data file and the error messages that name the file and the key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from formcheck.datafiles import Checks, DataFileError, child
from formcheck.faults import FaultConfigError
from formcheck.guidance import GuidanceDataError
from formcheck.kinematics import KinematicsParams, load_kinematics_params
from formcheck.live import load_live_params
from formcheck.reps import RepConfigError
from formcheck.signals import load_clean_params
from formcheck.spine import load_spine_params

check = Checks()


class _OwnError(DataFileError):
    pass


def test_module_errors_are_data_file_errors_and_value_errors() -> None:
    for error in (FaultConfigError, RepConfigError, GuidanceDataError):
        assert issubclass(error, DataFileError)
    assert issubclass(DataFileError, ValueError)


def test_checks_raise_the_bound_error_class() -> None:
    with pytest.raises(_OwnError, match=r"f\.yaml:a: expected a number"):
        Checks(_OwnError).number("x", "f.yaml:a")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"absent\.yaml: cannot read it"):
        check.load("ignored.yaml", tmp_path / "absent.yaml")


def test_missing_packaged_file_names_it() -> None:
    with pytest.raises(DataFileError, match=r"formcheck/data/no_such\.yaml: cannot read it"):
        check.load("no_such.yaml")


def test_broken_yaml_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("a: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"broken\.yaml: not valid YAML"):
        check.load("ignored.yaml", path)


def test_user_file_is_read_and_labelled_by_its_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("a: {value: 1.5, unit: s, rationale: why}\n", encoding="utf-8")
    data, where = check.load("ignored.yaml", path)
    assert where == str(path)
    assert check.values(data, f"{where}:", ["a"]) == {"a": 1.5}


@pytest.mark.parametrize(
    "raw, message",
    [
        ("12", r"f:a\.b: expected a number, got '12'"),
        (True, "expected a number, got True"),
        (float("nan"), "expected a number, got nan"),
        (None, "expected a number, got None"),
    ],
)
def test_non_numbers_are_rejected_with_the_key(raw: object, message: str) -> None:
    with pytest.raises(DataFileError, match=message):
        check.number(raw, "f:a.b")


def test_number_range_is_checked_just_outside_and_allowed_on_the_edge() -> None:
    assert check.number(1, "f:x", low=0, high=1) == 1.0
    with pytest.raises(DataFileError, match=r"f:x: expected a number from 0 to 1, got 1\.01"):
        check.number(1.01, "f:x", low=0, high=1)


def test_whole_numbers() -> None:
    assert check.integer(0, "f:n", low=0) == 0
    with pytest.raises(DataFileError, match=r"f:n: expected a whole number >= 0, got -1"):
        check.integer(-1, "f:n", low=0)
    with pytest.raises(DataFileError, match=r"expected a whole number, got 2\.5"):
        check.integer(2.5, "f:n")


def test_missing_and_unknown_keys_are_both_named() -> None:
    with pytest.raises(DataFileError, match=r"f:t: missing keys \['b'\], unknown keys \['c'\]"):
        check.mapping({"a": 1, "c": 2}, "f:t", {"a", "b"})


@pytest.mark.parametrize(
    "raw, kwargs, message",
    [
        ([1, 2], {}, "f:t: expected a mapping, got list"),
        ([], {"non_empty": True}, "f:t: expected a non-empty mapping, got list"),
        ({}, {"non_empty": True}, "f:t: expected a non-empty mapping, got an empty one"),
        ({1: "a"}, {}, "f:t: expected text keys, got 1"),
    ],
)
def test_bad_mappings_are_rejected(raw: object, kwargs: dict, message: str) -> None:
    with pytest.raises(DataFileError, match=message):
        check.mapping(raw, "f:t", **kwargs)


@pytest.mark.parametrize("raw", ["", "   ", 3, None])
def test_empty_or_non_text_is_rejected(raw: object) -> None:
    with pytest.raises(DataFileError, match="f:s: expected non-empty text"):
        check.text(raw, "f:s")


@pytest.mark.parametrize("raw", [[], "a", {"a": 1}])
def test_empty_or_non_list_is_rejected(raw: object) -> None:
    with pytest.raises(DataFileError, match="f:l: expected a non-empty list"):
        check.items(raw, "f:l")


def test_value_entry_without_rationale_names_the_entry() -> None:
    table = {"gap_s": {"value": 1.0, "unit": "s"}}
    with pytest.raises(DataFileError, match=r"f:gap_s: missing keys \['rationale'\]"):
        check.values(table, "f:", ["gap_s"])
    table = {"gap_s": {"value": "long", "unit": "s", "rationale": "why"}}
    with pytest.raises(DataFileError, match=r"f:sec\.gap_s\.value: expected a number"):
        check.values(table, "f:sec", ["gap_s"])


def test_child_locations() -> None:
    assert child("f.yaml:", "a") == "f.yaml:a"
    assert child("f.yaml:a", "b") == "f.yaml:a.b"


def test_schema_version_mismatch_is_named() -> None:
    with pytest.raises(DataFileError, match="f: schema_version 2 is not 1"):
        check.schema_version({"schema_version": 2}, "f")


# --- kinematics.yaml ------------------------------------------------------------------------------


def test_packaged_kinematics_params_load() -> None:
    params = load_kinematics_params()
    assert isinstance(params, KinematicsParams)
    assert params.front_max_deg < params.side_min_deg


def test_kinematics_file_missing_a_key_names_it(tmp_path: Path) -> None:
    path = tmp_path / "kinematics.yaml"
    path.write_text("schema_version: 1\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"kinematics\.yaml: missing keys \[.*'front_max_deg'"):
        load_kinematics_params(path)


# --- value files with typed fields ----------------------------------------------------------------


@dataclass(frozen=True)
class _Typed:
    gap_s: float
    frames: int
    padtype: str
    ramp: tuple[float, float]


def _entry(value: object) -> str:
    return f"{{value: {value}, unit: u, rationale: why}}"


def _typed_file(tmp_path: Path, **values: object) -> Path:
    entries = {"gap_s": 0.5, "frames": 3, "padtype": "even", "ramp": "[0.3, 0.8]", **values}
    path = tmp_path / "typed.yaml"
    lines = ["schema_version: 1", *(f"{k}: {_entry(v)}" for k, v in entries.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_value_file_reads_each_field_as_its_type(tmp_path: Path) -> None:
    params = check.value_file(_Typed, "typed.yaml", _typed_file(tmp_path))
    assert params == _Typed(0.5, 3, "even", (0.3, 0.8))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("frames", 2.5, r"frames\.value: expected a whole number"),
        ("padtype", "''", r"padtype\.value: expected non-empty text"),
        ("ramp", "[0.3]", r"ramp\.value: expected a list of two numbers"),
        ("ramp", "[0.3, x]", r"ramp\.value\[1\]: expected a number"),
        ("gap_s", "[1, 2]", r"gap_s\.value: expected a number"),
    ],
)
def test_value_file_names_a_value_of_the_wrong_type(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    with pytest.raises(DataFileError, match=message):
        check.value_file(_Typed, "typed.yaml", _typed_file(tmp_path, **{key: value}))


def test_packaged_spine_signals_and_live_params_load() -> None:
    spine = load_spine_params()
    assert spine.lumbar_span[1] < spine.thoracic_span[0]
    assert isinstance(spine.stations_n, int) and spine.lowpass_padtype == "even"
    clean = load_clean_params()
    assert isinstance(clean.order, int) and clean.padtype == "odd"
    live = load_live_params()
    assert live.hip_row_band[0] < live.hip_row_band[1] and isinstance(live.rate_window, int)
