"""Every bad input a person can give the CLI ends with one clear line on stderr and exit code 2.

The line names what is wrong and where (file, line, column, value, setting) and what was expected;
no traceback. The bad files are built in tmp_path from the synthetic series.
"""

from __future__ import annotations

import gzip
import json
import tarfile

import pytest
import torch
from support import small_args

from cli.main import main
from engine.device import available


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_error(rc, err, *needles):
    """Exit code 2, exactly one line on stderr, starting like every CLI error, naming each needle."""
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ridership: error: "), err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


# -- the data file ---------------------------------------------------------------------------


def test_missing_file(capsys, tmp_path):
    path = tmp_path / "nope.csv"
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, str(path), "file not found")


def test_folder_instead_of_file(capsys, tmp_path):
    rc, _, err = run(capsys, "data", "--data", tmp_path)
    assert_error(rc, err, str(tmp_path), "folder")


@pytest.mark.parametrize(
    "content, needle",
    [
        (bytes(range(256)) * 8, "binary"),
        (gzip.compress(b"service_date,day_type\n"), "binary"),
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"service_date,day_type,bus,rail_boardings,total_rides\n", "no data rows"),
        ("\u00e9t\u00e9,\u00e9t\u00e9\n".encode("latin-1"), "UTF-8"),
    ],
    ids=["binary", "gzip-bytes", "empty", "blank-lines", "header-only", "latin-1"],
)
def test_not_a_csv(capsys, tmp_path, content, needle):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, str(path), needle)


def test_a_bad_byte_deep_in_the_file(capsys, synthetic_csv):
    path = synthetic_csv()
    blob = path.read_bytes()
    path.write_bytes(blob[:6000] + b"\xe9" + blob[6000:])
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, str(path), "not a readable CSV file", "utf-8")


def test_a_row_with_too_many_fields(capsys, synthetic_csv):
    path = synthetic_csv(edit=lambda rows: rows[:8] + [rows[8] + ["1", "2"]] + rows[9:])
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, str(path), "not a readable CSV file", "Expected 5 fields in line 10, saw 7")


def test_missing_column(capsys, synthetic_csv):
    path = synthetic_csv(header=["service_date", "day_type", "bus", "something", "total_rides"])
    rc, _, err = run(capsys, "data", "--data", path)
    line = assert_error(rc, err, str(path), "missing column", "'rail_boardings'", "'something'")
    assert "misspelled" not in line


def test_misspelled_column(capsys, synthetic_csv):
    path = synthetic_csv(header=["service_date", "daytype", "bus", "rail_boardings", "total_rides"])
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, "missing column 'day_type'", "found 'daytype': misspelled?")


def test_plain_text_is_not_the_cta_csv(capsys, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\neggs\nmilk\n")
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, str(path), "missing column", "service_date")


def _set(row_index, column, value):
    def edit(rows):
        rows[row_index][column] = value

    return edit


@pytest.mark.parametrize(
    "edit, needles",
    [
        (_set(4, 0, "31/31/2018"), ("line 6", "service_date", "'31/31/2018'", "not a date", "MM/DD/YYYY")),
        (_set(9, 0, ""), ("line 11", "service_date", "not a date")),
        (_set(7, 2, "lots"), ("line 9", "column bus", "'lots'", "not a number")),
        (_set(7, 3, ""), ("line 9", "column rail_boardings", "not a number")),
        (_set(7, 3, "nan"), ("line 9", "column rail_boardings", "'nan'", "not a number")),
        (_set(12, 2, "-5"), ("line 14", "column bus", "'-5'", "negative")),
        (_set(3, 1, "X"), ("line 5", "column day_type", "'X'", "W for weekday")),
        (_set(3, 1, ""), ("line 5", "column day_type", "''", "not a day type")),
    ],
    ids=[
        "bad-date",
        "empty-date",
        "text-count",
        "empty-count",
        "nan-count",
        "negative-count",
        "day-type-X",
        "empty-day-type",
    ],
)
def test_bad_values_name_line_column_and_value(capsys, synthetic_csv, edit, needles):
    path = synthetic_csv(edit=edit)
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, str(path), *needles)


def test_same_date_twice_with_different_values(capsys, synthetic_csv):
    def edit(rows):
        clash = list(rows[20])
        clash[2] = str(int(clash[2]) + 1)
        rows.append(clash)

    path = synthetic_csv(edit=edit)
    rc, _, err = run(capsys, "data", "--data", path)
    n = 335  # rows of the default synthetic_csv
    assert_error(rc, err, "2017-12-21 appears 2 times with different values", f"lines 22, {n + 2}")


def test_identical_duplicate_rows_are_dropped_like_the_article(capsys, synthetic_csv):
    path = synthetic_csv(edit=lambda rows: rows + [list(rows[5]), list(rows[6])])
    rc, out, err = run(capsys, "data", "--data", path, "--json")
    assert rc == 0, err
    assert json.loads(out)["rows"] == 335


def test_unsorted_rows_are_sorted(capsys, synthetic_csv):
    path = synthetic_csv(edit=lambda rows: rows[::-1])
    rc, out, err = run(capsys, "data", "--data", path, "--json")
    assert rc == 0, err
    summary = json.loads(out)
    assert (summary["first_date"], summary["last_date"]) == ("2017-12-01", "2018-10-31")


def test_gap_names_the_missing_dates_and_fill_gaps_fills_them(capsys, synthetic_csv):
    path = synthetic_csv(edit=lambda rows: rows[:40] + rows[43:])  # drops 2018-01-10..12
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, str(path), "3 missing dates", "2018-01-10, 2018-01-11, 2018-01-12", "--fill-gaps")

    rc, out, err = run(capsys, "data", "--data", path, "--fill-gaps", "--json")
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["filled_dates"] == ["2018-01-10", "2018-01-11", "2018-01-12"]
    assert summary["rows"] == 335

    rc, _, err = run(capsys, "data", "--data", path, "--fill-gaps")
    assert rc == 0
    assert "filled 3 missing dates" in err


def test_many_missing_dates_are_summarised(capsys, synthetic_csv):
    path = synthetic_csv(edit=lambda rows: rows[:40] + rows[60:])
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, "20 missing dates", "2018-01-10, 2018-01-11", "and 15 more")


def test_corrupt_tgz(capsys, tmp_path):
    path = tmp_path / "ridership.tgz"
    path.write_bytes(b"this is not an archive")
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, str(path), "not a readable .tgz archive")


def test_tgz_without_a_csv(capsys, tmp_path):
    inner = tmp_path / "readme.txt"
    inner.write_text("nothing here")
    path = tmp_path / "ridership.tgz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(inner, arcname="ridership/readme.txt")
    rc, _, err = run(capsys, "data", "--data", path)
    assert_error(rc, err, str(path), "no CSV file")


# -- the data against the settings ------------------------------------------------------------


def train(capsys, path, *extra):
    return run(capsys, "train", "--data", path, *small_args(), "--quiet", "--no-record", *extra)


def test_too_few_rows_for_the_window(capsys, synthetic_csv):
    path = synthetic_csv()
    rc, _, err = train(capsys, path, "--window-length", "62")  # the validation split has 62 rows
    assert_error(rc, err, "valid split", "62 rows", "window_length=62", "at least 63 rows")


def test_too_few_rows_for_a_split(capsys, synthetic_csv):
    path = synthetic_csv(first="2017-12-01", last="2018-07-10")  # ends inside the validation split
    rc, _, err = train(capsys, path)
    assert_error(rc, err, "the valid split 2018-07..2018-08 has 10 rows", "window_length=14", "at least 15 rows")


def test_splits_outside_the_data(capsys, synthetic_csv):
    path = synthetic_csv()
    rc, _, err = train(capsys, path, "--test-start", "2019-01", "--test-end", "2019-06")
    assert_error(rc, err, "the test split 2019-01..2019-06 has no rows", "the data covers 2017-12-01..2018-10-31")


def test_tiny_file(capsys, synthetic_csv):
    path = synthetic_csv(first="2018-01-01", last="2018-01-05")
    rc, _, err = train(capsys, path)
    assert_error(rc, err, "the train split 2018-01..2018-06 has 5 rows", "window_length=14")


@pytest.mark.parametrize(
    "options, needles",
    [
        (["--valid-start", "2018-03"], ("valid_start", "2018-03-01 must come after train_end 2018-06-30")),
        (["--test-start", "2018-08-15"], ("test_start", "must come after valid_end 2018-08-31")),
        (["--train-end", "2017-06"], ("train_end", "2017-06-30 is before train_start 2018-01-01")),
        (["--test-end", "2018-08"], ("test_end", "before test_start")),
        (["--train-start", "January"], ("train_start", "'January' is not a date", "YYYY-MM")),
        (["--valid-end", "2018-13"], ("valid_end", "'2018-13' is not a date")),
        (["--train-start", ""], ("train_start", "is required")),
    ],
    ids=[
        "valid-before-train-end",
        "test-overlaps-valid",
        "train-end-before-start",
        "test-end-before-start",
        "not-a-date",
        "month-13",
        "empty-start",
    ],
)
def test_split_settings(capsys, synthetic_csv, options, needles):
    rc, _, err = train(capsys, synthetic_csv(), *options)
    assert_error(rc, err, *needles)


@pytest.mark.parametrize(
    "option, value, field",
    [
        ("--epochs", "0", "epochs"),
        ("--epochs", "-3", "epochs"),
        ("--hidden-size", "0", "hidden_size"),
        ("--hidden-size", "-8", "hidden_size"),
        ("--batch-size", "0", "batch_size"),
        ("--window-length", "0", "window_length"),
        ("--window-length", "-1", "window_length"),
        ("--lr", "0", "lr"),
        ("--lr", "-0.01", "lr"),
        ("--lr", "nan", "lr"),
        ("--lr", "inf", "lr"),
        ("--lr", "1e+40", "lr"),  # beyond float32: torch's SGD step could not apply it
        ("--patience", "-1", "patience"),
        ("--factor", "0", "factor"),
        ("--factor", "1", "factor"),
        ("--factor", "1.5", "factor"),
        ("--factor", "-0.5", "factor"),
        ("--momentum", "1", "momentum"),
        ("--momentum", "-0.1", "momentum"),
        ("--momentum", "nan", "momentum"),
    ],
)
def test_invalid_hyperparameters(capsys, synthetic_csv, option, value, field):
    rc, _, err = train(capsys, synthetic_csv(), option, value)
    line = assert_error(rc, err, f"{field}: ", value)
    assert "must" in line


@pytest.mark.parametrize(
    "option, value", [("--lr", "fast"), ("--epochs", "2.5"), ("--device", "tpu"), ("--core", "gru")]
)
def test_values_of_the_wrong_type_are_refused_by_the_parser(capsys, synthetic_csv, option, value):
    with pytest.raises(SystemExit) as exit_info:
        train(capsys, synthetic_csv(), option, value)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert option in err and value in err and "Traceback" not in err


def test_unavailable_device(capsys, synthetic_csv):
    missing = [kind for kind in ("cuda", "mps") if kind not in available()]
    if not missing:
        pytest.skip("both cuda and mps are available here")
    rc, _, err = train(capsys, synthetic_csv(), "--device", missing[0])
    assert_error(rc, err, f"device '{missing[0]}' is not available", "available: ")


# -- model files ------------------------------------------------------------------------------


@pytest.fixture
def good_model(tmp_path, synthetic_csv, capsys):
    path = synthetic_csv()
    model = tmp_path / "model.pt"
    rc, _, err = train(capsys, path, "--epochs", "1", "--save", model)
    assert rc == 0, err
    return path, model


def _foreign_files(tmp_path, good):
    files = {
        "missing": (tmp_path / "absent.pt", "model file not found"),
        "text": (tmp_path / "text.pt", "not a readable ridership model file"),
        "random-bytes": (tmp_path / "random.pt", "not a readable ridership model file"),
        "truncated": (tmp_path / "truncated.pt", "not a readable ridership model file"),
        "foreign-dict": (tmp_path / "foreign.pt", "not a ridership model file"),
        "bare-state-dict": (tmp_path / "state.pt", "not a ridership model file"),
        "other-version": (tmp_path / "v99.pt", "version 99"),
        "folder": (tmp_path, "model file not found"),
    }
    files["text"][0].write_text("hello")
    files["random-bytes"][0].write_bytes(bytes(range(256)) * 4)
    blob = good.read_bytes()
    files["truncated"][0].write_bytes(blob[: len(blob) // 2])
    torch.save({"weights": [1, 2, 3]}, files["foreign-dict"][0])
    payload = torch.load(good, weights_only=True)
    torch.save(payload["state_dict"], files["bare-state-dict"][0])
    torch.save({**payload, "version": 99}, files["other-version"][0])
    return files


@pytest.mark.parametrize("command", ["evaluate", "forecast"])
@pytest.mark.parametrize(
    "kind",
    ["missing", "text", "random-bytes", "truncated", "foreign-dict", "bare-state-dict", "other-version", "folder"],
)
def test_bad_model_files(capsys, tmp_path, good_model, command, kind):
    data, good = good_model
    path, needle = _foreign_files(tmp_path, good)[kind]
    rc, _, err = run(capsys, command, "--data", data, "--model", path)
    assert_error(rc, err, str(path), needle)


def test_model_with_mismatched_weights(capsys, tmp_path, good_model):
    data, good = good_model
    payload = torch.load(good, weights_only=True)
    payload["config"]["hidden_size"] = 16  # the saved weights are for 8 units
    bad = tmp_path / "mismatch.pt"
    torch.save(payload, bad)
    rc, _, err = run(capsys, "forecast", "--data", data, "--model", bad)
    assert_error(rc, err, str(bad), "weights do not fit")


def test_model_longer_window_than_the_data(capsys, synthetic_csv, good_model):
    _, good = good_model
    short = synthetic_csv(first="2018-01-01", last="2018-01-10", name="short.csv")
    rc, _, err = run(capsys, "forecast", "--data", short, "--model", good)
    assert_error(rc, err, "windows of 14 days", "10 rows")
