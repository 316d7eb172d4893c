"""Where the data comes from: path > $RIDERSHIP_DATA > cache > (download when asked) > synthetic.

No network: downloads use file:// URLs to archives built in tmp_path, and a closed local port.
(The autouse fixture in tests/conftest.py points $RIDERSHIP_CACHE at a fresh folder.)
"""

from __future__ import annotations

import hashlib
import socket
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from engine.data import load_csv, sources
from engine.errors import DataError, DownloadError


def make_tgz(csv: Path, dest: Path, arcname: str = sources.MEMBER) -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(csv, arcname=arcname)
    return dest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cache_dir_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.CACHE_ENV_VAR, str(tmp_path / "my-cache"))
    assert sources.cache_dir() == tmp_path / "my-cache"
    assert sources.cached_csv() == tmp_path / "my-cache" / "ridership" / sources.CSV_NAME
    monkeypatch.delenv(sources.CACHE_ENV_VAR)
    default = sources.cache_dir()
    assert default != tmp_path / "my-cache" and "ridership" in str(default)


def test_source_order(synthetic_csv, monkeypatch):
    def forbid_download(*args, **kwargs):
        raise AssertionError("no download unless asked for")

    monkeypatch.setattr(sources, "download", forbid_download)

    data = sources.resolve()
    assert data.source.kind == "synthetic" and data.is_synthetic
    assert "synthetic" in data.source.label and data.fingerprint == ""

    cached = sources.cached_csv()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(synthetic_csv(first="2018-01-01", last="2018-03-31", name="c.csv").read_bytes())
    data = sources.resolve()
    assert (data.source.kind, data.source.path) == ("cache", str(cached))
    assert data.last_date == pd.Timestamp("2018-03-31")

    env = synthetic_csv(first="2018-01-01", last="2018-04-30", name="env.csv")
    monkeypatch.setenv(sources.ENV_VAR, str(env))
    data = sources.resolve()
    assert (data.source.kind, data.source.path) == ("env", str(env))
    assert data.last_date == pd.Timestamp("2018-04-30")
    assert data.fingerprint == sha256(env)

    given = synthetic_csv(first="2018-01-01", last="2018-05-31", name="given.csv")
    data = sources.resolve(given)
    assert (data.source.kind, data.source.path) == ("path", str(given))
    assert data.last_date == pd.Timestamp("2018-05-31")
    assert str(given) in data.source.label


def test_a_bad_source_is_an_error_not_a_silent_fallback(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="file not found"):
        sources.resolve(tmp_path / "absent.csv")
    monkeypatch.setenv(sources.ENV_VAR, str(tmp_path / "also-absent.csv"))
    with pytest.raises(DataError, match="also-absent.csv: file not found"):
        sources.resolve()


def test_tgz_path(synthetic_csv, tmp_path):
    csv = synthetic_csv()
    archive = make_tgz(csv, tmp_path / "ridership.tgz")
    data = sources.load_path(archive)
    assert (data.source.kind, data.source.path) == ("path", str(archive))
    expected, _ = load_csv(csv)
    pd.testing.assert_frame_equal(data.frame, expected)
    assert data.fingerprint == sha256(csv)  # the CSV's, whatever it came in
    extracted = list((sources.cache_dir() / "extracted").rglob("*.csv"))
    assert len(extracted) == 1 and extracted[0].read_bytes() == csv.read_bytes()


def test_tgz_member_outside_the_destination_is_refused(synthetic_csv, tmp_path):
    archive = make_tgz(synthetic_csv(), tmp_path / "evil.tgz", arcname="../../escaped.csv")
    with pytest.raises(DataError, match="unsafe archive member"):
        sources.load_path(archive)
    assert not list(tmp_path.parent.rglob("escaped.csv"))


def test_download_from_a_file_url(synthetic_csv, tmp_path):
    csv = synthetic_csv()
    archive = make_tgz(csv, tmp_path / "ridership.tgz")
    calls = []
    path = sources.download(archive.as_uri(), sha256(archive), progress=lambda done, total: calls.append(done))
    assert path == sources.cached_csv()
    assert path.read_bytes() == csv.read_bytes()
    assert calls and calls[-1] == archive.stat().st_size
    assert [p.name for p in sources.cache_dir().iterdir()] == ["ridership"]  # no temporary files left


def test_resolve_downloads_only_when_asked(synthetic_csv, tmp_path, monkeypatch):
    archive = make_tgz(synthetic_csv(), tmp_path / "ridership.tgz")
    real_download = sources.download
    monkeypatch.setattr(
        sources, "download", lambda progress=None: real_download(archive.as_uri(), sha256(archive), progress=progress)
    )
    assert sources.resolve().is_synthetic
    data = sources.resolve(allow_download=True)
    assert data.source.kind == "download" and not data.is_synthetic
    assert sources.resolve().source.kind == "cache"  # the next start finds it in the cache


def test_download_checksum_mismatch(synthetic_csv, tmp_path):
    archive = make_tgz(synthetic_csv(), tmp_path / "ridership.tgz")
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        sources.download(archive.as_uri(), "0" * 64)
    assert sha256(archive) in str(info.value) and "nothing was saved" in str(info.value)
    assert not sources.cached_csv().exists()


def test_download_of_a_missing_file_url(tmp_path):
    url = (tmp_path / "absent.tgz").as_uri()
    with pytest.raises(DownloadError) as info:
        sources.download(url, "0" * 64)
    message = str(info.value)
    assert f"could not download {url}" in message and "--data PATH" in message
    assert not sources.cached_csv().exists()


def test_download_from_an_unreachable_server():
    with socket.socket() as sock:  # a local port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/ridership.tgz"
    with pytest.raises(DownloadError, match=f"could not download {url}.*Offline\\?"):
        sources.download(url, "0" * 64, timeout=2)


def test_downloaded_archive_that_is_not_a_tgz(tmp_path):
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="not a readable .tgz archive"):
        sources.download(junk.as_uri(), sha256(junk))
    assert not sources.cached_csv().exists()
