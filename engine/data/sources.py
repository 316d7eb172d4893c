"""Where the data comes from, in order: a path, $RIDERSHIP_DATA, the portal update's table (engine/data/portal.py),
the cache, a download, synthetic.

Downloading happens only when asked for (``allow_download=True``, the CLI's ``--download`` or the
app's download key): a tool that reaches the network by itself on start-up surprises people on
locked-down GPU boxes, and tests must never touch the network.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from ..errors import DataError, DownloadError, printable, quoted
from ..files import refusal
from .loading import DataSource, RidershipData, read_csv_file
from .synthetic import synthetic_frame

ENV_VAR = "RIDERSHIP_DATA"
CACHE_ENV_VAR = "RIDERSHIP_CACHE"
URL = "https://github.com/ageron/data/raw/main/ridership.tgz"
SHA256 = "0ff99f3dddd886ddea161b68f25f90b56b0468f5c91949b75376fb494516c794"
CSV_NAME = "CTA_-_Ridership_-_Daily_Boarding_Totals.csv"
MEMBER = f"ridership/{CSV_NAME}"
TIMEOUT_S = 10.0
# The real CSV is about 270 KB: an archive claiming more than this is refused, not extracted.
MAX_EXTRACT_BYTES = 64 << 20
MAX_MEMBERS = 1000


def cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ridership", appauthor=False))


def cached_csv() -> Path:
    return cache_dir() / "ridership" / CSV_NAME


def portal_csv() -> Path:
    """The table `ridership data --update` keeps current (engine/data/portal.py writes it)."""
    return cache_dir() / "portal" / CSV_NAME


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def extract_csv(archive: Path, dest: Path) -> Path:
    """Extract the ridership CSV from a .tgz into ``dest``, safely; return the extracted file.

    Members are only ever resolved inside ``dest`` (an absolute or ``..`` name cannot point the
    loader at another file); the sizes the headers claim are added up and refused past
    MAX_EXTRACT_BYTES before anything is decompressed further, and the write itself is capped too.
    On any refusal ``dest`` is removed, so nothing is left in the cache.
    """
    archive = Path(archive)
    dest = Path(dest)
    name = printable(archive)
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = _pick_member(name, tar)
            return _write_member(name, tar, member, dest)
    except BaseException as exc:
        shutil.rmtree(dest, ignore_errors=True)
        if isinstance(exc, DataError):
            raise
        if isinstance(exc, tarfile.FilterError):  # e.g. a member that would land outside ``dest``
            raise DataError(f"{name}: refused an unsafe archive member ({printable(exc)})") from None
        if isinstance(exc, (tarfile.ReadError, tarfile.CompressionError, EOFError, zlib.error)):
            raise DataError(
                f"{name}: is not a readable .tgz archive (expected a gzip-compressed tar file holding {CSV_NAME})"
            ) from None
        if isinstance(exc, (tarfile.TarError, OSError)):
            raise DataError(f"{name}: could not extract the CSV ({_reason(exc)})") from None
        raise


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return printable(text.splitlines()[0] if text else type(exc).__name__)


def _pick_member(name: str, tar: tarfile.TarFile) -> tarfile.TarInfo:
    """The canonical CSV, or the only CSV; refuse an archive whose headers claim too much."""
    csvs: list[tarfile.TarInfo] = []
    total = count = 0
    for member in tar:  # reads header by header: a bomb is refused at its first oversized header
        count += 1
        total += max(member.size, 0)
        if total > MAX_EXTRACT_BYTES or count > MAX_MEMBERS:
            what = (
                f"more than {MAX_MEMBERS} files"
                if count > MAX_MEMBERS
                else f"its files add up to more than {MAX_EXTRACT_BYTES >> 20} MB"
            )
            raise DataError(f"{name}: the archive is too large ({what}); expected a small archive holding {CSV_NAME}")
        if member.isfile() and member.name.lower().endswith(".csv"):
            csvs.append(member)
    if not csvs:
        raise DataError(f"{name}: the archive holds no CSV file (expected {MEMBER})")
    canonical = [m for m in csvs if PurePosixPath(m.name).name == CSV_NAME]
    exact = [m for m in canonical if m.name.lstrip("./") == MEMBER]
    for group in (exact, canonical, csvs):
        if len(group) == 1:
            return group[0]
        if len(group) > 1:
            shown = ", ".join(quoted(m.name) for m in group[:5]) + (
                f" and {len(group) - 5} more" if len(group) > 5 else ""
            )
            raise DataError(
                f"{name}: the archive holds {len(group)} CSV files ({shown}) and none is {MEMBER}: "
                "cannot tell which one is the ridership data"
            )
    raise AssertionError("unreachable")


def _write_member(name: str, tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path) -> Path:
    """Write ``member`` under ``dest`` at its sanitised name, at most MAX_EXTRACT_BYTES."""
    safe = tarfile.data_filter(member, str(dest))  # strips leading "/", refuses ".." escapes
    root = dest.resolve()
    target = (dest / safe.name).resolve()
    if target == root or root not in target.parents:
        raise DataError(f"{name}: refused an unsafe archive member {quoted(member.name)} (it lands outside the folder)")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:
        raise DataError(f"{name}: the archive member {quoted(member.name)} is not a regular file")
    written = 0
    with source, target.open("wb") as out:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > MAX_EXTRACT_BYTES:
                raise DataError(
                    f"{name}: the archive is too large ({quoted(member.name)} holds more than "
                    f"{MAX_EXTRACT_BYTES >> 20} MB); expected a small archive holding {CSV_NAME}"
                )
            out.write(chunk)
    return target


def download(
    url: str = URL,
    sha256: str = SHA256,
    *,
    timeout: float = TIMEOUT_S,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download the archive, check its sha256, extract the CSV into the cache; return its path."""
    target_dir = cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir) as tmp:
        archive = Path(tmp) / "ridership.tgz"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, archive.open("wb") as out:
                length = response.headers.get("Content-Length", "")  # file:// responses have no .length
                total = int(length) if length.isdigit() else None
                done = 0
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(
                f"could not download {url} ({reason}). Offline? Pass --data PATH to a local copy or set {ENV_VAR}"
            ) from None
        actual = sha256_of(archive)
        if actual != sha256:
            raise DownloadError(f"{url}: checksum mismatch (sha256 {actual}, expected {sha256}); nothing was saved")
        extracted = extract_csv(archive, Path(tmp) / "x")
        final = cached_csv()
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(extracted, final)
    return final


def load_path(path: str | Path, kind: str = "path", *, fill_gaps: bool = False) -> RidershipData:
    """Load a CSV, or a .tgz holding one (extracted into the cache)."""
    path = Path(path).expanduser()
    if not path.is_dir() and (why := refusal(path, "a CSV file or a .tgz archive", pipes=True)):
        raise DataError(why)  # /dev/zero would never end (a pipe is read: --data /dev/stdin)
    if path.suffix in (".tgz", ".gz") or path.name.endswith(".tar.gz"):
        if not path.exists():
            raise DataError(f"{printable(path)}: file not found")
        if path.is_dir():
            raise DataError(f"{printable(path)}: is a folder, expected a .tgz archive or a CSV file")
        dest = cache_dir() / "extracted" / sha256_of(path)[:16]
        csv = extract_csv(path, dest)
        try:
            frame, filled, fingerprint = read_csv_file(csv, fill_gaps=fill_gaps)
        except DataError:
            shutil.rmtree(dest, ignore_errors=True)  # nothing refused stays in the cache
            raise
    else:
        frame, filled, fingerprint = read_csv_file(path, fill_gaps=fill_gaps)
    return RidershipData(frame, DataSource(kind, str(path)), filled, fingerprint)


def synthetic() -> RidershipData:
    return RidershipData(synthetic_frame(), DataSource("synthetic"))


def resolve(
    path: str | Path | None = None,
    *,
    allow_download: bool = False,
    fill_gaps: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> RidershipData:
    """The first available source in DESIGN.md's order. A given path that fails is an error,
    never a silent fall-back."""
    if path:
        return load_path(path, "path", fill_gaps=fill_gaps)
    env = os.environ.get(ENV_VAR)
    if env:
        return load_path(env, "env", fill_gaps=fill_gaps)
    if portal_csv().is_file():
        return load_path(portal_csv(), "portal", fill_gaps=fill_gaps)
    if cached_csv().is_file():
        return load_path(cached_csv(), "cache", fill_gaps=fill_gaps)
    if allow_download:
        return load_path(download(progress=progress), "download", fill_gaps=fill_gaps)
    return synthetic()
