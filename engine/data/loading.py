"""Load, validate and clean the ridership CSV into RidershipData.

Loading follows the article (parse dates, short names, sort, drop ``total``, drop duplicate rows)
but checks everything first, so that a bad file fails with a message naming the row and field.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..domain import DAY_TYPES
from ..errors import DataError, printable, quoted
from .calendar import infer_day_types
from .windows import build_features

CSV_COLUMNS = {"service_date": "date", "day_type": "day_type", "bus": "bus", "rail_boardings": "rail"}
OPTIONAL_COLUMNS = {"total_rides": "total"}


@dataclass(frozen=True)
class DataSource:
    kind: str  # "path", "env", "portal", "cache", "download" or "synthetic"
    path: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "synthetic":
            return "synthetic data (demo series, not the CTA's)"
        return f"{self.path} ({self.kind})"


@dataclass(frozen=True, eq=False)
class RidershipData:
    """Clean daily rows (index ``date``; columns ``day_type``, ``bus``, ``rail``) and where they came from."""

    frame: pd.DataFrame
    source: DataSource
    filled_dates: tuple[str, ...] = ()
    fingerprint: str = ""  # sha256 of the file, when there is one

    @property
    def is_synthetic(self) -> bool:
        return self.source.kind == "synthetic"

    @property
    def first_date(self) -> pd.Timestamp:
        return self.frame.index[0]

    @property
    def last_date(self) -> pd.Timestamp:
        return self.frame.index[-1]

    def features(self, inputs: str = "article") -> pd.DataFrame:
        """The model's input columns (engine/data/windows.py), built once per data set and inputs."""
        cache = self.__dict__.setdefault("_features", {})
        if inputs not in cache:
            cache[inputs] = build_features(self.frame, inputs)
        return cache[inputs]

    def feature_values(self, inputs: str = "article"):
        """``features(inputs)`` as a float64 array (rows, features)."""
        cache = self.__dict__.setdefault("_values", {})
        if inputs not in cache:
            cache[inputs] = self.features(inputs).to_numpy(dtype=np.float64)
        return cache[inputs]


def _line(index: int) -> int:
    """File line of a data row when the file has no blank or multi-line rows (line 1 is the header)."""
    return int(index) + 2


MAX_BYTES = 256 << 20  # the real file is about 270 KB
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_EMPTY = "the file is empty, expected a CSV with a header and daily rows"


def _read_bytes(path: Path, name: str) -> bytes:
    """The whole file, read once: a pipe (/dev/stdin, <(...)) cannot be read twice."""
    if not path.exists():
        raise DataError(f"{name}: file not found")
    if path.is_dir():
        raise DataError(f"{name}: is a folder, expected a CSV file")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise DataError(f"{name}: cannot be read ({printable(exc.strerror or exc)})") from None
    if len(data) > MAX_BYTES:
        raise DataError(f"{name}: is larger than {MAX_BYTES >> 20} MB, expected a CSV of daily rows")
    return data


def _sniff(path: Path, data: bytes | None = None, name: str | None = None) -> str:
    """Check the bytes are text and decode them (UTF-8, or UTF-8/16/32 with a byte-order mark)."""
    name = name if name is not None else printable(path)
    if data is None:
        data = _read_bytes(path, name)
    encoding = "utf-8"
    for bom, codec in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom) :], codec
            break
    if encoding == "utf-8" and (b"\x00" in data or data[:2] == b"\x1f\x8b"):
        raise DataError(f"{name}: is not a CSV text file (binary content)")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1 if encoding == "utf-8" else None
        where = f"line {line}, byte {exc.start}" if line else f"byte {exc.start}"
        raise DataError(
            f"{name}: is not a readable CSV file ({where} is not {encoding} text); "
            f"expected {encoding.upper()} text (save it from the spreadsheet as CSV UTF-8)"
        ) from None
    if "\x00" in text:
        raise DataError(f"{name}: is not a CSV text file (binary content)")
    if not text.strip():
        raise DataError(f"{name}: {_EMPTY}")
    return text


def _shown(values, limit: int = 120) -> str:
    text = ", ".join(quoted(v) for v in values)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read_raw(path: Path, text: str | None = None, name: str | None = None) -> pd.DataFrame:
    """Split the text into rows (the csv module, not pandas' tokenizer, so every message can name
    a line); blank rows and rows of empty fields (a spreadsheet's trailing rows) are skipped.
    The frame's ``line`` column holds each row's first line in the file."""
    name = name if name is not None else printable(path)
    if text is None:
        text = _sniff(path, name=name)
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    end = 0
    try:
        for fields in reader:
            first, end = end + 1, reader.line_num  # a quoted field may span lines
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = [f.strip() for f in fields]
                while header[-1] == "":  # a trailing comma on the header line
                    header.pop()
                _check_header(name, header, first)
                continue
            if len(fields) != len(header):
                extra = fields[len(header) :]
                if len(fields) < len(header) or any(f.strip() for f in extra):
                    raise DataError(
                        f"{name}: is not a readable CSV file (Expected {len(header)} fields in line {first}, "
                        f"saw {len(fields)}): every line needs one value per column of the header "
                        f"({_shown(header)})"
                    )
                fields = fields[: len(header)]  # empty trailing fields (a trailing comma)
            rows.append(fields)
            lines.append(first)
    except csv.Error as exc:
        raise DataError(
            f"{name}: is not a readable CSV file (line {reader.line_num}: {printable(exc)}); "
            "expected comma-separated values under a header line"
        ) from None
    if header is None:
        raise DataError(f"{name}: {_EMPTY}")
    if not rows:
        raise DataError(f"{name}: has a header but no data rows")
    raw = pd.DataFrame(rows, columns=header, dtype=str)
    raw["line"] = lines
    return raw


def _check_header(name: str, header: list[str], line: int) -> None:
    twice = [
        c for c in [*CSV_COLUMNS, *OPTIONAL_COLUMNS, "line"] if header.count(c) > 1 or (c == "line" and c in header)
    ]
    if twice:
        raise DataError(
            f"{name}: line {line}: column {quoted(twice[0])} appears {header.count(twice[0])} times "
            "in the header; expected each column once"
        )
    missing = [c for c in CSV_COLUMNS if c not in header]
    if not missing:
        return
    hints = []
    for col in missing:
        close = difflib.get_close_matches(col, header, n=1, cutoff=0.6)
        hints.append(quoted(col) + (f" (found {quoted(close[0])}: misspelled?)" if close else ""))
    where = "" if line == 1 else f" (header on line {line})"
    raise DataError(
        f"{name}: missing column {', '.join(hints)}; expected a CSV whose first line names the columns "
        f"{', '.join(list(CSV_COLUMNS) + list(OPTIONAL_COLUMNS))}, found {_shown(header)}{where}"
    )


# The data portal's API writes 2001-01-01T00:00:00.000; a time of day other than midnight is not a day.
_ISO_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})T00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?$"


def _parse_dates(path, text: pd.Series, lines: pd.Series | None = None) -> pd.Series:
    name = path if isinstance(path, str) else printable(path)
    text = text.str.strip()
    day = text.str.replace(_ISO_MIDNIGHT, r"\1", regex=True)
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        dates = pd.to_datetime(day, format=fmt, errors="coerce")
        if dates.notna().any():
            break
    bad = dates.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        line = int(lines.iloc[i]) if lines is not None else _line(i)
        raise DataError(
            f"{name}: line {line}, column service_date: {quoted(text.iloc[i])} is not a date "
            f"(expected MM/DD/YYYY like 01/31/2019, the format of the rest of the file)"
            + (f"; {int(bad.sum())} rows have this problem" if bad.sum() > 1 else "")
        )
    return dates


def _parse_counts(path, raw: pd.DataFrame, column: str) -> pd.Series:
    name = path if isinstance(path, str) else printable(path)
    lines = raw["line"] if "line" in raw else pd.Series(np.arange(len(raw)) + 2)
    text = raw[column].str.strip().str.replace(",", "", regex=False)
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{name}: line {int(lines.iloc[i])}, column {column}: {quoted(raw[column].iloc[i])} is not a number "
            "(expected a count of riders such as 412345)"
        )
    negative = values < 0
    if negative.any():
        i = int(np.flatnonzero(negative.to_numpy())[0])
        raise DataError(
            f"{name}: line {int(lines.iloc[i])}, column {column}: {quoted(raw[column].iloc[i])} is negative "
            "(expected a count of riders >= 0)"
        )
    return values


def load_csv(path: str | Path, *, fill_gaps: bool = False) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Read and validate a CTA ridership CSV. Returns the clean frame and any dates filled in."""
    frame, filled, _ = read_csv_file(path, fill_gaps=fill_gaps)
    return frame, filled


def read_csv_file(path: str | Path, *, fill_gaps: bool = False) -> tuple[pd.DataFrame, tuple[str, ...], str]:
    """``load_csv`` plus the sha256 of the bytes it parsed: the file is read exactly once."""
    path = Path(path)
    name = printable(path)
    data = _read_bytes(path, name)
    fingerprint = hashlib.sha256(data).hexdigest()
    frame, filled = _load_text(name, _sniff(path, data, name), fill_gaps)
    return frame, filled, fingerprint


def _load_text(name: str, text: str, fill_gaps: bool) -> tuple[pd.DataFrame, tuple[str, ...]]:
    raw = _read_raw(Path(), text, name)
    dates = _parse_dates(name, raw["service_date"], raw["line"])
    day_type = raw["day_type"].str.strip()
    bad = ~day_type.isin(DAY_TYPES)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{name}: line {int(raw['line'].iloc[i])}, column day_type: {quoted(raw['day_type'].iloc[i])} "
            "is not a day type (expected W for weekday, A for Saturday or U for Sunday/holiday)"
        )
    frame = pd.DataFrame(
        {
            "date": dates,
            "day_type": day_type,
            "bus": _parse_counts(name, raw, "bus"),
            "rail": _parse_counts(name, raw, "rail_boardings"),
            "line": raw["line"],
        }
    )
    # The article's drop_duplicates: identical rows go (the CTA file repeats some days).
    frame = frame.drop_duplicates(subset=["date", "day_type", "bus", "rail"])
    clash = frame["date"].duplicated(keep=False)
    if clash.any():
        rows = frame[clash].sort_values(["date", "line"])
        first = rows["date"].iloc[0]
        lines = rows.loc[rows["date"] == first, "line"].tolist()
        raise DataError(
            f"{name}: {first:%Y-%m-%d} appears {len(lines)} times with different values "
            f"(lines {', '.join(map(str, lines))}); keep one row per date"
            + (f"; {rows['date'].nunique()} dates have this problem" if rows["date"].nunique() > 1 else "")
        )
    frame = frame.drop(columns="line").sort_values("date", kind="stable").set_index("date")
    return _check_gaps(name, frame, fill_gaps)


def _check_gaps(path, frame: pd.DataFrame, fill_gaps: bool) -> tuple[pd.DataFrame, tuple[str, ...]]:
    full = pd.date_range(frame.index[0], frame.index[-1], freq="D", name="date")
    missing = full.difference(frame.index)
    if missing.empty:
        return frame, ()
    names = [d.strftime("%Y-%m-%d") for d in missing]
    if not fill_gaps:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise DataError(
            f"{path if isinstance(path, str) else printable(path)}: {len(names)} missing date{'s' if len(names) > 1 else ''} in the daily series: {shown}. "
            "Add the rows, or fill the gaps by interpolation (--fill-gaps in the CLI)"
        )
    filled = frame.reindex(full)
    filled[["bus", "rail"]] = filled[["bus", "rail"]].interpolate("linear").round()
    filled.loc[missing, "day_type"] = infer_day_types(missing)
    return filled, tuple(names)
