"""Property: any mutation of a small valid CSV either loads exactly as a plain model of the format
says it should (for harmless mutations: exactly like the original) or is refused with a one-line
DataError naming the file; never another exception, never a different parse.

The oracle below is a deliberately simple, independent reading of the format: strip each cell,
dates MM/DD/YYYY (or the API's YYYY-MM-DDT00:00:00.000), day types W/A/U, counts as plain decimal
numbers (thousands commas allowed), identical repeated rows dropped, one row per date, no gaps.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CSV_HEADER, csv_rows

from engine.data import DAY_TYPES, load_csv
from engine.data.synthetic import synthetic_frame
from engine.errors import DataError

BASE = csv_rows(synthetic_frame("2018-01-01", "2018-01-10"))
N = len(BASE)
NUMBER = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})T00:00(:00(\.0+)?)?$")

cell_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")) | st.sampled_from('0123456789/,.-WAU "'),
    max_size=12,
)
row = st.integers(0, N - 1)
column = st.integers(0, len(CSV_HEADER) - 1)
mutation = st.one_of(
    st.tuples(st.just("delete"), row),
    st.tuples(st.just("duplicate"), row),
    st.tuples(st.just("swap"), row, row),
    st.tuples(st.just("cell"), row, column, cell_text),
    st.tuples(st.just("pad"), row, column, st.text(" \t", min_size=1, max_size=3), st.booleans()),
    st.tuples(st.just("iso_dates")),
    st.tuples(st.just("thousands"), row, st.sampled_from([2, 3])),
    st.tuples(st.just("reorder"), st.permutations(range(len(CSV_HEADER)))),
    st.tuples(st.just("blank_line"), st.integers(1, N + 1)),
    st.tuples(st.just("trailing"), st.sampled_from(["\n", ",,,,\n", ",,,,", "\n\n", " , ,,,\n"])),
    st.tuples(st.just("line_ending"), st.sampled_from(["\r\n", "\r", "\n"])),
    st.tuples(st.just("bom"), st.sampled_from(["utf-8", "utf-16-le", "utf-16-be"])),
    st.tuples(st.just("quote_all")),
)


def build(mutations) -> tuple[bytes, list[list[str]]]:
    header = list(CSV_HEADER)
    rows = [list(r) for r in BASE]
    text_ops = []
    for m in mutations:
        kind = m[0]
        if kind == "delete" and m[1] < len(rows):
            del rows[m[1]]
        elif kind == "duplicate" and m[1] < len(rows):
            rows.insert(m[1], list(rows[m[1]]))
        elif kind == "swap" and max(m[1], m[2]) < len(rows):
            rows[m[1]], rows[m[2]] = rows[m[2]], rows[m[1]]
        elif kind == "cell" and m[1] < len(rows):
            rows[m[1]][m[2]] = m[3]
        elif kind == "pad" and m[1] < len(rows):
            rows[m[1]][m[2]] = (m[3] + rows[m[1]][m[2]]) if m[4] else (rows[m[1]][m[2]] + m[3])
        elif kind == "iso_dates":
            for r in rows:
                d = _date(r[0])
                if d is not None:
                    r[0] = f"{d:%Y-%m-%d}T00:00:00.000"
        elif kind == "thousands" and m[1] < len(rows) and rows[m[1]][m[2]].strip().isdigit():
            rows[m[1]][m[2]] = f"{int(rows[m[1]][m[2]]):,}"
        elif kind == "reorder":
            order = list(m[1])
            header = [header[i] for i in order]
            rows = [[r[i] for i in order] for r in rows]
        else:
            text_ops.append(m)
    quoting = csv.QUOTE_ALL if any(m[0] == "quote_all" for m in text_ops) else csv.QUOTE_MINIMAL
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    lines = out.getvalue().split("\n")[:-1]  # a quoted cell may hold no newline: cell_text has none
    tail = ""
    ending = "\n"
    encoding = None
    for m in text_ops:
        if m[0] == "blank_line":
            lines.insert(min(m[1], len(lines)), "")
        elif m[0] == "trailing":
            tail += m[1]
        elif m[0] == "line_ending":
            ending = m[1]
        elif m[0] == "bom":
            encoding = m[1]
    text = ending.join(lines) + ending + tail.replace("\n", ending)
    if encoding is None:
        data = text.encode()
    else:
        data = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding] + text.encode(
            encoding
        )
    records = [dict(zip(header, r)) for r in rows]
    return data, records


def _date(text: str):
    text = text.strip()
    m = ISO.match(text)
    try:
        if m:
            return datetime.strptime(m.group(1), "%Y-%m-%d")
        return datetime.strptime(text, "%m/%d/%Y")
    except ValueError:
        return None


def _count(text: str):
    text = text.strip().replace(",", "")
    if not NUMBER.match(text):
        return None
    value = float(text)
    return value if value >= 0 and value != float("inf") else None


def oracle(records) -> pd.DataFrame | None:
    parsed = []
    if not records:
        return None
    iso = [bool(ISO.match(r["service_date"].strip())) for r in records]
    if any(iso) and not all(iso):  # one date format per file
        return None
    for r in records:
        d, t = _date(r["service_date"]), r["day_type"].strip()
        bus, rail = _count(r["bus"]), _count(r["rail_boardings"])
        if d is None or t not in DAY_TYPES or bus is None or rail is None:
            return None
        parsed.append((pd.Timestamp(d), t, bus, rail))
    unique = list(dict.fromkeys(parsed))
    dates = [p[0] for p in unique]
    if len(set(dates)) != len(dates):
        return None
    frame = pd.DataFrame(unique, columns=["date", "day_type", "bus", "rail"]).sort_values("date").set_index("date")
    if len(pd.date_range(frame.index[0], frame.index[-1])) != len(frame):
        return None
    return frame


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(mutation, max_size=4))
def test_a_mutated_csv_loads_as_the_oracle_says_or_is_refused_in_one_line(tmp_path, mutations):
    data, records = build(mutations)
    path = tmp_path / "mutated.csv"
    path.write_bytes(data)
    expected = oracle(records)
    try:
        frame, filled = load_csv(path)
    except DataError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message and str(path) in message, message
        assert expected is None, f"refused a valid file: {message}"
        return
    assert expected is not None, "loaded a file the format does not allow"
    assert filled == ()
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False, check_index_type=False)
    if expected["bus"].eq(expected["bus"].round()).all() and expected["rail"].eq(expected["rail"].round()).all():
        original = oracle([dict(zip(CSV_HEADER, r)) for r in BASE])
        if expected.equals(original):
            assert list(frame.columns) == ["day_type", "bus", "rail"] and frame.index.name == "date"


def test_the_unmutated_file_matches_the_oracle(tmp_path):
    data, records = build([])
    path = tmp_path / "plain.csv"
    path.write_bytes(data)
    pd.testing.assert_frame_equal(load_csv(path)[0], oracle(records), check_dtype=False)
