"""Where the data comes from, in order: a path, $RIDERSHIP_DATA, the cache, a download, synthetic.

Downloading happens only when asked for (``allow_download=True``, the CLI's ``--download`` or the
app's download key): a tool that reaches the network by itself on start-up surprises people on
locked-down GPU boxes, and tests must never touch the network.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from .data import DataSource, RidershipData, load_csv
from .errors import DataError, DownloadError
from .synthetic import synthetic_frame

ENV_VAR = "RIDERSHIP_DATA"
CACHE_ENV_VAR = "RIDERSHIP_CACHE"
URL = "https://github.com/ageron/data/raw/main/ridership.tgz"
SHA256 = "0ff99f3dddd886ddea161b68f25f90b56b0468f5c91949b75376fb494516c794"
CSV_NAME = "CTA_-_Ridership_-_Daily_Boarding_Totals.csv"
MEMBER = f"ridership/{CSV_NAME}"
TIMEOUT_S = 10.0


def cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ridership", appauthor=False))


def cached_csv() -> Path:
    return cache_dir() / "ridership" / CSV_NAME


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def extract_csv(archive: Path, dest: Path) -> Path:
    """Extract the ridership CSV from a .tgz safely (tarfile's "data" filter) into ``dest``."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".csv")]
            if not members:
                raise DataError(f"{archive}: the archive holds no CSV file (expected {MEMBER})")
            member = next((m for m in members if m.name.endswith(CSV_NAME)), members[0])
            tar.extractall(path=dest, members=[member], filter="data")
    except tarfile.FilterError as exc:  # e.g. a member that would land outside ``dest``
        raise DataError(f"{archive}: refused an unsafe archive member ({exc})") from None
    except (tarfile.ReadError, tarfile.CompressionError, EOFError):
        raise DataError(
            f"{archive}: is not a readable .tgz archive (expected a gzip-compressed tar file holding {CSV_NAME})"
        ) from None
    except (tarfile.TarError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{archive}: could not extract the CSV ({first})") from None
    return dest / member.name


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
                f"could not download {url} ({reason}). Offline? Pass --data PATH to a local copy "
                f"or set {ENV_VAR}"
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
    csv = path
    if path.suffix in (".tgz", ".gz") or path.name.endswith(".tar.gz"):
        if not path.exists():
            raise DataError(f"{path}: file not found")
        csv = extract_csv(path, cache_dir() / "extracted" / sha256_of(path)[:16])
    frame, filled = load_csv(csv, fill_gaps=fill_gaps)
    return RidershipData(frame, DataSource(kind, str(path)), filled, sha256_of(csv))


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
    if cached_csv().is_file():
        return load_path(cached_csv(), "cache", fill_gaps=fill_gaps)
    if allow_download:
        return load_path(download(progress=progress), "download", fill_gaps=fill_gaps)
    return synthetic()
