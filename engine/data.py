"""Load, validate and clean the ridership CSV; build features, date splits and windows.

Loading follows the article (parse dates, short names, sort, drop ``total``, drop duplicate rows)
but checks everything first, so that a bad file fails with a message naming the row and field.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .calendar import infer_day_types
from .errors import DataError

DAY_TYPES = ("A", "U", "W")  # Saturday, Sunday/holiday, weekday: the fixed one-hot order
FEATURES = ("rail", "bus", "next_day_type_A", "next_day_type_U", "next_day_type_W")
TARGETS = ("rail", "bus")
SCALE = 1e6  # features are in millions of riders, as in the article
CSV_COLUMNS = {"service_date": "date", "day_type": "day_type", "bus": "bus", "rail_boardings": "rail"}
OPTIONAL_COLUMNS = {"total_rides": "total"}


@dataclass(frozen=True)
class DataSource:
    kind: str  # "path", "env", "cache", "download" or "synthetic"
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

    def features(self) -> pd.DataFrame:
        return build_features(self.frame)


def _line(index: int) -> int:
    """File line of a data row (line 1 is the header)."""
    return int(index) + 2


def _sniff(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a CSV file")
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        raise DataError(f"{path}: the file is empty, expected a CSV with a header and daily rows")
    if b"\x00" in head or head[:2] == b"\x1f\x8b":
        raise DataError(f"{path}: is not a CSV text file (binary content)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 4096-byte boundary
            raise DataError(f"{path}: is not a UTF-8 CSV text file (byte {exc.start})") from None


def _read_raw(path: Path) -> pd.DataFrame:
    try:
        # utf-8-sig: a byte-order mark (spreadsheets on Windows add one) is not part of the first column name
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty, expected a CSV with a header and daily rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: is not a readable CSV file ({str(exc).strip().splitlines()[0]})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in CSV_COLUMNS if c not in raw.columns]
    if missing:
        hints = []
        for col in missing:
            close = difflib.get_close_matches(col, raw.columns, n=1, cutoff=0.6)
            hints.append(f"{col!r}" + (f" (found {close[0]!r}: misspelled?)" if close else ""))
        raise DataError(
            f"{path}: missing column {', '.join(hints)}; expected columns "
            f"{', '.join(list(CSV_COLUMNS) + list(OPTIONAL_COLUMNS))}, found {', '.join(map(repr, raw.columns))}"
        )
    if raw.empty:
        raise DataError(f"{path}: has a header but no data rows")
    return raw


def _parse_dates(path: Path, text: pd.Series) -> pd.Series:
    text = text.str.strip()
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        dates = pd.to_datetime(text, format=fmt, errors="coerce")
        if dates.notna().any():
            break
    bad = dates.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: line {_line(i)}, column service_date: {text.iloc[i]!r} is not a date "
            f"(expected MM/DD/YYYY like 01/31/2019, the format of the rest of the file)"
            + (f"; {int(bad.sum())} rows have this problem" if bad.sum() > 1 else "")
        )
    return dates


def _parse_counts(path: Path, raw: pd.DataFrame, column: str) -> pd.Series:
    text = raw[column].str.strip().str.replace(",", "", regex=False)
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: line {_line(i)}, column {column}: {raw[column].iloc[i]!r} is not a number "
            "(expected a count of riders such as 412345)"
        )
    negative = values < 0
    if negative.any():
        i = int(np.flatnonzero(negative.to_numpy())[0])
        raise DataError(
            f"{path}: line {_line(i)}, column {column}: {raw[column].iloc[i]!r} is negative "
            "(expected a count of riders >= 0)"
        )
    return values


def load_csv(path: str | Path, *, fill_gaps: bool = False) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Read and validate a CTA ridership CSV. Returns the clean frame and any dates filled in."""
    path = Path(path)
    _sniff(path)
    raw = _read_raw(path)
    dates = _parse_dates(path, raw["service_date"])
    day_type = raw["day_type"].str.strip()
    bad = ~day_type.isin(DAY_TYPES)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: line {_line(i)}, column day_type: {raw['day_type'].iloc[i]!r} is not a day type "
            "(expected W for weekday, A for Saturday or U for Sunday/holiday)"
        )
    frame = pd.DataFrame(
        {
            "date": dates,
            "day_type": day_type,
            "bus": _parse_counts(path, raw, "bus"),
            "rail": _parse_counts(path, raw, "rail_boardings"),
            "line": np.arange(len(raw)) + 2,
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
            f"{path}: {first:%Y-%m-%d} appears {len(lines)} times with different values "
            f"(lines {', '.join(map(str, lines))}); keep one row per date"
            + (f"; {rows['date'].nunique()} dates have this problem" if rows["date"].nunique() > 1 else "")
        )
    frame = frame.drop(columns="line").sort_values("date", kind="stable").set_index("date")
    return _check_gaps(path, frame, fill_gaps)


def _check_gaps(path: Path, frame: pd.DataFrame, fill_gaps: bool) -> tuple[pd.DataFrame, tuple[str, ...]]:
    full = pd.date_range(frame.index[0], frame.index[-1], freq="D", name="date")
    missing = full.difference(frame.index)
    if missing.empty:
        return frame, ()
    names = [d.strftime("%Y-%m-%d") for d in missing]
    if not fill_gaps:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise DataError(
            f"{path}: {len(names)} missing date{'s' if len(names) > 1 else ''} in the daily series: {shown}. "
            "Add the rows, or fill the gaps by interpolation (--fill-gaps in the CLI)"
        )
    filled = frame.reindex(full)
    filled[["bus", "rail"]] = filled[["bus", "rail"]].interpolate("linear").round()
    filled.loc[missing, "day_type"] = infer_day_types(missing)
    return filled, tuple(names)


def build_features(frame: pd.DataFrame) -> pd.DataFrame:
    """rail and bus in millions, plus the one-hot of the NEXT day's type in the fixed order A, U, W.

    The article's ``get_dummies`` drops a day type a slice lacks; fixed columns avoid that. The last
    row's next day is unknown, so its one-hot is all zeros, as in the article.
    """
    out = pd.DataFrame(index=frame.index)
    out["rail"] = frame["rail"] / SCALE
    out["bus"] = frame["bus"] / SCALE
    next_type = frame["day_type"].shift(-1)
    for kind in DAY_TYPES:
        out[f"next_day_type_{kind}"] = (next_type == kind).astype(float)
    return out


@dataclass(frozen=True, eq=False)
class Split:
    """One date split: the rows [start, stop) of the feature frame, and its windows."""

    name: str
    start: int
    stop: int
    first_date: pd.Timestamp
    last_date: pd.Timestamp
    windows: object = field(repr=False)  # torch.Tensor (N, window, features)
    targets: object = field(repr=False)  # torch.Tensor (N, 2), in millions
    target_positions: np.ndarray = field(repr=False)  # row of each target in the feature frame

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    @property
    def target_dates(self) -> pd.DatetimeIndex:
        return self.first_date + pd.to_timedelta(self.target_positions - self.start, unit="D")


def make_windows(values, window_length: int):
    """All sliding windows of a (rows, features) tensor at once; targets are the next row's rail, bus."""
    windows = values.unfold(0, window_length, 1)[:-1].transpose(1, 2).contiguous()
    targets = values[window_length:, : len(TARGETS)].contiguous()
    return windows, targets


def make_splits(data: RidershipData, config) -> dict[str, Split]:
    """Cut the feature frame at the config's split dates (inclusive, like pandas' date slicing)."""
    import torch

    feats = data.features()
    index = feats.index
    values = feats.to_numpy(dtype=np.float64)
    splits: dict[str, Split] = {}
    span = f"{index[0]:%Y-%m-%d}..{index[-1]:%Y-%m-%d}"
    for name, (start_ts, end_ts) in config.split_bounds().items():
        start = int(index.searchsorted(start_ts, side="left"))
        stop = int(index.searchsorted(end_ts, side="right")) if end_ts is not None else len(index)
        label = f"{getattr(config, name + '_start')}..{getattr(config, name + '_end') or 'end'}"
        if stop <= start:
            raise DataError(f"the {name} split {label} has no rows: the data covers {span}")
        rows = stop - start
        if rows <= config.window_length:
            raise DataError(
                f"the {name} split {label} has {rows} rows; window_length={config.window_length} "
                f"needs at least {config.window_length + 1} rows to make one window"
            )
        tensor = torch.tensor(values[start:stop], dtype=torch.float32)
        windows, targets = make_windows(tensor, config.window_length)
        splits[name] = Split(
            name=name, start=start, stop=stop, first_date=index[start], last_date=index[stop - 1],
            windows=windows, targets=targets,
            target_positions=np.arange(start + config.window_length, stop),
        )
    return splits
