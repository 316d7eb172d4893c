"""Bring the data up to date from the City of Chicago's data portal (SODA 2.1), with the standard library only.

``GET {base}/resource/6iiy-9s97.json?$order=service_date&$limit=N&$offset=K`` page by page until a
short page. The first time, the whole table; afterwards only the days after ``last day - 35 days``
(the CTA revises recent days, so those are read again and compared). Every row goes through the
same checks as a file, and the merged table is read back by the file loader before it replaces the
old one (a temporary file in the same folder, then ``os.replace``): an update that is refused or
killed leaves the data exactly as it was.

The optional app token (``$RIDERSHIP_SODA_TOKEN``) travels only in the ``X-App-Token`` header; it is
never part of a URL, a message or a file. Nothing here runs unless the user asks for an update.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import math
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..domain import DAY_TYPES
from ..errors import DataError, RidershipError, printable, quoted
from .freshness import age_in_days, age_words
from .loading import _ISO_MIDNIGHT, DataSource, RidershipData, read_csv_file
from .sources import cached_csv, load_path, portal_csv

DATASET = "6iiy-9s97"
DEFAULT_BASE = "https://data.cityofchicago.org"
PORTAL_ENV = "RIDERSHIP_PORTAL"
TOKEN_ENV = "RIDERSHIP_SODA_TOKEN"
TIMEOUT_ENV = "RIDERSHIP_PORTAL_TIMEOUT"  # seconds per connect and per read (tests shorten it)
BACKOFF_ENV = "RIDERSHIP_PORTAL_BACKOFF"  # first retry's wait in seconds, doubled each time
PAGE_ENV = "RIDERSHIP_PORTAL_PAGE_ROWS"  # rows per page (tests page a small table)
MAX_BYTES_ENV = "RIDERSHIP_PORTAL_MAX_BYTES"  # the cap on one answer
REVISE_DAYS = 35  # the CTA revises recent days: these are read again at every update
PAGE_ROWS = 50_000
TIMEOUT_S = 20.0
RETRIES = 4
BACKOFF_S = 1.0
MAX_WAIT_S = 60.0  # a Retry-After longer than this is cut to it
MAX_RESPONSE_BYTES = 32 << 20  # one page of the real table is about 5 MB as JSON
FIELDS = ("service_date", "day_type", "bus", "rail_boardings")
HEADER = "service_date,day_type,bus,rail_boardings,total_rides"


class PortalError(RidershipError):
    """The portal could not be reached, or answered something that is not the table."""


class PortalUnreachable(PortalError):
    """No usable answer: refused connection, time-out, cut answers, or errors past the retries."""


def portal_dir() -> Path:
    return portal_csv().parent


def provenance_path() -> Path:
    return portal_dir() / "provenance.json"


def read_provenance() -> dict:
    """Where the merged table came from and when ({} when there is none or it cannot be read)."""
    try:
        out = json.loads(provenance_path().read_text())
        return out if isinstance(out, dict) else {}
    except (OSError, ValueError):
        return {}


# -- the client ----------------------------------------------------------------------------------


@dataclass
class Client:
    """A SODA 2.1 reader of one dataset. ``sleep`` is injectable so tests wait on nothing real."""

    base: str = DEFAULT_BASE
    token: str | None = field(default=None, repr=False)
    timeout: float = TIMEOUT_S
    page_rows: int = PAGE_ROWS
    retries: int = RETRIES
    backoff: float = BACKOFF_S
    max_wait: float = MAX_WAIT_S
    max_bytes: int = MAX_RESPONSE_BYTES
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_env(cls, base: str | None = None, **kwargs) -> Client:
        base = (base or os.environ.get(PORTAL_ENV) or DEFAULT_BASE).rstrip("/")
        if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
            raise PortalError(f"portal {quoted(base)} is not an http(s) address (expected e.g. {DEFAULT_BASE})")
        for env, key, kind in (
            (TIMEOUT_ENV, "timeout", float),
            (BACKOFF_ENV, "backoff", float),
            (PAGE_ENV, "page_rows", int),
            (MAX_BYTES_ENV, "max_bytes", int),
        ):
            text = os.environ.get(env)
            if text and key not in kwargs:
                try:
                    kwargs[key] = kind(text)
                    if kwargs[key] <= 0:
                        raise ValueError
                except ValueError:
                    raise PortalError(f"{env}={quoted(text)} is not a positive number") from None
        return cls(base=base, token=os.environ.get(TOKEN_ENV) or None, **kwargs)

    @property
    def resource(self) -> str:
        return f"{self.base}/resource/{DATASET}.json"

    def _clean(self, text: object) -> str:
        """A message part made safe: one line, and never the token."""
        text = printable(text)
        return text.replace(self.token, "***") if self.token else text

    def fetch(self, where: str | None = None, progress: Callable[[int], None] | None = None) -> list[dict]:
        """Every row (``$where`` optional), in service_date order, page by page until a short page."""
        rows: list[dict] = []
        offset = 0
        while True:
            params = {"$order": "service_date", "$limit": str(self.page_rows), "$offset": str(offset)}
            if where:
                params["$where"] = where
            page = self._get_json(f"{self.resource}?{urllib.parse.urlencode(params, quote_via=urllib.parse.quote)}")
            if not isinstance(page, list) or any(not isinstance(r, dict) for r in page):
                raise PortalError(f"{self.resource}: the answer is not a list of rows (expected SODA JSON rows)")
            rows.extend(page)
            if progress:
                progress(len(rows))
            if len(page) < self.page_rows:
                return rows
            offset += len(page)

    def _get_json(self, url: str):
        body = self._get(url)
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise PortalError(f"{self.resource}: the answer is not JSON (expected SODA rows)") from None

    def _get(self, url: str) -> bytes:
        headers = {"Accept": "application/json", "User-Agent": "ridership"}
        if self.token:
            headers["X-App-Token"] = self.token
        attempt = 0
        while True:
            try:
                request = urllib.request.Request(url, headers=headers)
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return self._read_capped(response)
            except urllib.error.HTTPError as exc:
                retry = exc.code == 429 or 500 <= exc.code < 600
                if not retry or attempt >= self.retries:
                    raise PortalUnreachable(
                        f"the portal answered HTTP {exc.code} ({self._clean(exc.reason)})"
                    ) from None
                wait = _retry_after(exc.headers.get("Retry-After"))
                wait = self.backoff * 2**attempt if wait is None else wait
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                # refused, timed out, or an answer cut short (IncompleteRead): try again
                if attempt >= self.retries:
                    reason = getattr(exc, "reason", None) or exc
                    if isinstance(exc, http.client.IncompleteRead):
                        reason = f"the answer was cut short after {len(exc.partial):,} bytes"
                    raise PortalUnreachable(self._clean(reason) or type(exc).__name__) from None
                wait = self.backoff * 2**attempt
            self.sleep(min(max(wait, 0.0), self.max_wait))
            attempt += 1

    def _read_capped(self, response) -> bytes:
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise _TooLarge(self.max_bytes)
        chunks, size = [], 0
        while chunk := response.read(1 << 16):
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge(self.max_bytes)
            chunks.append(chunk)
        if length.isdigit() and size < int(length):  # the connection closed mid-answer
            raise http.client.IncompleteRead(b"".join(chunks), int(length) - size)
        return b"".join(chunks)


class _TooLarge(PortalError):
    def __init__(self, cap: int):
        super().__init__(f"an answer larger than {cap:,} bytes was refused (expected a page of daily rows)")


def _retry_after(text: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not text:
        return None
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


# -- rows ----------------------------------------------------------------------------------------


def rows_frame(rows: list[dict], where: str) -> pd.DataFrame:
    """SODA rows -> a clean frame (index date; day_type, bus, rail), each row checked like a file's:
    the first bad one is named by its date, field and value."""
    dates, kinds, bus, rail = [], [], [], []
    for number, row in enumerate(rows, start=1):
        text = row.get("service_date")
        day = pd.Series([str(text or "").strip()]).str.replace(_ISO_MIDNIGHT, r"\1", regex=True).iloc[0]
        date = pd.to_datetime(day, format="%Y-%m-%d", errors="coerce")
        if pd.isna(date):
            raise DataError(
                f"{where}: row {number}, field service_date: {quoted(text)} is not a date "
                "(expected a day such as 2021-11-30T00:00:00.000)"
            )
        label = f"{where}: the row for {date:%Y-%m-%d}"
        for name in FIELDS[1:]:
            if name not in row:
                raise DataError(f"{label} has no field {name} (expected {', '.join(FIELDS)})")
        kind = str(row["day_type"]).strip()
        if kind not in DAY_TYPES:
            raise DataError(
                f"{label}, field day_type: {quoted(row['day_type'])} is not a day type "
                "(expected W for weekday, A for Saturday or U for Sunday/holiday)"
            )
        counts = []
        for name in ("bus", "rail_boardings"):
            value = row[name]
            try:
                number_ = float(str(value).strip().replace(",", ""))
            except ValueError:
                number_ = float("nan")
            if not math.isfinite(number_) or isinstance(value, bool):
                raise DataError(
                    f"{label}, field {name}: {quoted(value)} is not a number "
                    "(expected a count of riders such as 412345)"
                )
            if number_ < 0:
                raise DataError(f"{label}, field {name}: {quoted(value)} is negative (expected a count of riders >= 0)")
            counts.append(number_)
        dates.append(date)
        kinds.append(kind)
        bus.append(counts[0])
        rail.append(counts[1])
    frame = pd.DataFrame({"day_type": kinds, "bus": bus, "rail": rail}, index=pd.DatetimeIndex(dates, name="date"))
    # identical repeats go, like the file loader's drop_duplicates; a date twice with different values is refused
    frame = frame.reset_index().drop_duplicates().set_index("date")
    twice = frame.index[frame.index.duplicated()]
    if len(twice):
        raise DataError(
            f"{where}: {twice[0]:%Y-%m-%d} appears more than once with different values; expected one row per date"
        )
    return frame.sort_index()


# -- the update ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateResult:
    new_days: int
    revised: int
    largest: tuple | None  # (date, series, old, new) of the largest revision, riders
    last_day: pd.Timestamp
    path: Path
    source: str
    rows: int

    @property
    def age_days(self) -> int:
        return age_in_days(self.last_day)

    def line(self) -> str:
        largest = ""
        if self.largest:
            date, series, old, new = self.largest
            largest = f" (largest: {series} on {date:%Y-%m-%d}, {old:,.0f} -> {new:,.0f})"
        return (
            f"{self.new_days} new day{'s' if self.new_days != 1 else ''}, {self.revised} revised{largest}; "
            f"last day {self.last_day:%Y-%m-%d} ({age_words(self.last_day)})"
        )

    def to_dict(self) -> dict:
        out = {
            "new_days": self.new_days,
            "revised": self.revised,
            "last_day": f"{self.last_day:%Y-%m-%d}",
            "age_days": self.age_days,
            "path": str(self.path),
            "source": self.source,
            "rows": self.rows,
        }
        if self.largest:
            date, series, old, new = self.largest
            out["largest_revision"] = {"date": f"{date:%Y-%m-%d}", "series": series, "old": old, "new": new}
        return out


def base_data() -> RidershipData | None:
    """The table an update starts from: the last update's, else the cached snapshot (None: none yet)."""
    for path, kind in ((portal_csv(), "portal"), (cached_csv(), "cache")):
        if path.is_file():
            return load_path(path, kind)
    return None


def update(
    client: Client | None = None, base: RidershipData | None = None, *, progress: Callable[[int], None] | None = None
) -> UpdateResult:
    """Fetch what is new (and the last REVISE_DAYS days again), check it, merge it, write it atomically."""
    client = client or Client.from_env()
    remove_stale_temporaries()
    base = base if base is not None else base_data()
    old = base.frame if base is not None and not base.is_synthetic else None
    where = None
    if old is not None:
        since = old.index[-1] - pd.Timedelta(days=REVISE_DAYS)
        where = f"service_date > '{since:%Y-%m-%d}T00:00:00.000'"
    unchanged = (
        f"your data is unchanged (last day {old.index[-1]:%Y-%m-%d})" if old is not None else "no data was saved"
    )
    try:
        rows = client.fetch(where, progress)
    except PortalUnreachable as exc:
        raise PortalUnreachable(f"could not reach {client.resource} ({exc}); {unchanged}") from None
    except PortalError as exc:
        raise PortalError(f"refused the portal's answer: {exc}; {unchanged}") from None
    try:
        fresh = rows_frame(rows, client.resource)
    except DataError as exc:
        raise DataError(f"{exc}; the update was refused and {unchanged}") from None
    if old is None and fresh.empty:
        raise PortalError(f"{client.resource} holds no rows; {unchanged}")
    merged, new_days, revised, largest = merge(old, fresh)
    path = portal_csv()
    _write_checked(merged, path, unchanged)
    _write_json(
        provenance_path(),
        {
            "source": client.resource,
            "dataset": DATASET,
            "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "first_day": f"{merged.index[0]:%Y-%m-%d}",
            "last_day": f"{merged.index[-1]:%Y-%m-%d}",
            "rows": len(merged),
            "started_from": base.source.label if old is not None else "nothing (the whole table)",
            "new_days": new_days,
            "revised": revised,
        },
    )
    return UpdateResult(new_days, revised, largest, merged.index[-1], path, client.resource, len(merged))


def merge(old: pd.DataFrame | None, fresh: pd.DataFrame):
    """(merged frame, new days, revised days, largest revision) — the portal's rows win."""
    if old is None:
        return fresh, len(fresh), 0, None
    old = old[["day_type", "bus", "rail"]]
    common = fresh.index.intersection(old.index)
    before, after = old.loc[common], fresh.loc[common]
    changed = (
        (before["day_type"] != after["day_type"]) | (before["bus"] != after["bus"]) | (before["rail"] != after["rail"])
    )
    largest = None
    if changed.any():
        diff = pd.DataFrame({s: (after[s] - before[s]).abs() for s in ("bus", "rail")})[changed]
        date, series = diff.stack().idxmax()
        largest = (date, series, float(before.at[date, series]), float(after.at[date, series]))
    new_days = int((~fresh.index.isin(old.index)).sum())
    merged = pd.concat([old.drop(index=common), fresh]).sort_index()
    return merged, new_days, int(changed.sum()), largest


def _write_checked(frame: pd.DataFrame, path: Path, unchanged: str) -> None:
    """Write the CTA file format to a temporary file, read it back through the file loader (gaps,
    duplicates, counts), then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [HEADER] + [
        f"{d:%m/%d/%Y},{r.day_type},{r.bus:.0f},{r.rail:.0f},{r.bus + r.rail:.0f}"
        for d, r in zip(frame.index, frame.itertuples())
    ]
    fd, tmp = tempfile.mkstemp(prefix=".portal-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(lines) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            read_csv_file(tmp)
        except DataError as exc:
            reason = str(exc).split(": ", 1)[-1]
            raise DataError(f"the merged table was refused ({reason}); {unchanged}") from None
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, payload: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".portal-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(payload, out, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(older_than_s: float = 3600.0) -> None:
    """Temporary files of an update that was killed (never read); an hour old, so not a running one's."""
    folder = portal_dir()
    if folder.is_dir():
        for tmp in folder.glob(".portal-*.tmp"):
            try:
                if time.time() - tmp.stat().st_mtime > older_than_s:
                    tmp.unlink()
            except OSError:
                pass


__all__ = [
    "Client",
    "DataSource",
    "PortalError",
    "UpdateResult",
    "update",
    "portal_csv",
    "read_provenance",
    "age_in_days",
    "age_words",
]
