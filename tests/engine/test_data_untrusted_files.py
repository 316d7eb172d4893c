"""Hardening of the data path (engine/data/loading.py, engine/data/sources.py): archives that try to escape or
explode, names that carry terminal escapes, and valid files the loader used to refuse."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from engine.data import load_csv, sources
from engine.errors import DataError


def tgz(dest: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return dest


def one_line_naming(exc: pytest.ExceptionInfo, path) -> str:
    message = str(exc.value)
    assert "\n" not in message and str(path) in message
    return message


# --- messages -----------------------------------------------------------------------------------


def test_printable_escapes_c0_and_c1_controls_and_keeps_the_rest():
    from engine.errors import printable

    assert printable("a\x1b[31mb\x9bc\x07d\ne\tf") == "a\\x1b[31mb\\x9bc\\x07d\\ne\\tf"
    assert printable("ridership/données café.csv") == "ridership/données café.csv"
    assert printable(Path("/tmp/x.csv")) == "/tmp/x.csv"


# --- archives -----------------------------------------------------------------------------------


def test_tgz_member_with_an_absolute_name_is_read_inside_the_extraction_folder(synthetic_csv, tmp_path):
    good = synthetic_csv().read_bytes()
    decoy = synthetic_csv(name="decoy.csv", first="2018-01-01", last="2018-01-31")  # on the real filesystem
    archive = tgz(tmp_path / "abs.tgz", {str(decoy): good})
    data = sources.load_path(archive)
    assert data.last_date == pd.Timestamp("2018-10-31")  # the archive's content, not the decoy's
    extracted = list((sources.cache_dir() / "extracted").rglob("*.csv"))
    assert len(extracted) == 1 and extracted[0].read_bytes() == good


def test_tgz_member_with_an_absolute_name_cannot_read_local_files(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("SECRET-HEADER\n1\n")
    archive = tgz(tmp_path / "peek.tgz", {str(secret): b"service_date,day_type\n"})
    with pytest.raises(DataError) as info:
        sources.load_path(archive)
    assert "SECRET" not in str(info.value)


def test_an_archive_bomb_is_refused_from_its_headers_quickly_and_leaves_nothing(tmp_path):
    archive = tmp_path / "bomb.tgz"
    size = 1 << 30  # 1 GiB of zeros in about 1 MB: gzip members may be concatenated
    info = tarfile.TarInfo(sources.MEMBER)
    info.size = size
    zeros = gzip.compress(bytes(1 << 20), compresslevel=9)
    with archive.open("wb") as out:
        out.write(gzip.compress(info.tobuf()))
        for _ in range(size >> 20):
            out.write(zeros)
        out.write(gzip.compress(bytes(1024)))  # the end-of-archive blocks
    assert archive.stat().st_size < 2 << 20
    start = time.monotonic()
    with pytest.raises(DataError, match="too large") as info:
        sources.load_path(archive)
    assert time.monotonic() - start < 3
    one_line_naming(info, archive)
    extracted = sources.cache_dir() / "extracted"
    assert not extracted.exists() or not any(extracted.iterdir())


def test_extraction_size_is_checked_from_the_headers(synthetic_csv, tmp_path, monkeypatch):
    archive = tgz(tmp_path / "big.tgz", {sources.MEMBER: synthetic_csv().read_bytes()})
    monkeypatch.setattr(sources, "MAX_EXTRACT_BYTES", 1000)
    with pytest.raises(DataError, match="too large"):
        sources.extract_csv(archive, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_extraction_is_capped_while_writing(synthetic_csv, tmp_path, monkeypatch):
    """A member that yields more than its header said (a lying stream) is cut off while writing."""
    archive = tgz(tmp_path / "lie.tgz", {sources.MEMBER: b"small\n"})
    monkeypatch.setattr(
        tarfile.TarFile, "extractfile", lambda self, member: io.BytesIO(b"0" * (sources.MAX_EXTRACT_BYTES + 1))
    )
    with pytest.raises(DataError, match="too large"):
        sources.extract_csv(archive, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_refused_archive_leaves_no_extraction_folder(synthetic_csv, tmp_path):
    archive = tgz(tmp_path / "two.tgz", {"a/one.csv": b"x\n", "b/two.csv": b"y\n"})
    with pytest.raises(DataError):
        sources.extract_csv(archive, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_member_names_with_terminal_escapes_are_escaped_in_messages(tmp_path):
    archive = tgz(tmp_path / "esc.tgz", {"a\x1b[2J.csv": b"x\n", "b\x9b31m.csv": b"y\n"})
    with pytest.raises(DataError) as info:
        sources.load_path(archive)
    message = str(info.value)
    assert "\x1b" not in message and "\x9b" not in message
    assert "a\\x1b[2J.csv" in message and "b\\x9b31m.csv" in message


def test_a_csv_with_an_escape_in_its_header_is_escaped(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("service_date,\x1b]0;pwned\x07day,bus,rail_boardings\n01/01/2019,U,1,2\n")
    with pytest.raises(DataError) as info:
        load_csv(path)
    assert "\x1b" not in str(info.value) and "\x07" not in str(info.value)


def test_a_file_name_with_an_escape_is_escaped(tmp_path):
    path = tmp_path / "bad\x1b[31m.csv"
    path.write_text("nothing,useful\n1,2\n")
    with pytest.raises(DataError) as info:
        load_csv(path)
    assert "\x1b" not in str(info.value) and "bad\\x1b[31m.csv" in str(info.value)


def test_two_csvs_neither_canonical_are_refused_naming_both(tmp_path):
    archive = tgz(tmp_path / "two.tgz", {"x/first.csv": b"a\n", "y/second.csv": b"b\n"})
    with pytest.raises(DataError) as info:
        sources.load_path(archive)
    message = one_line_naming(info, archive)
    assert "x/first.csv" in message and "y/second.csv" in message and sources.CSV_NAME in message


def test_the_canonical_csv_wins_over_others(synthetic_csv, tmp_path):
    archive = tgz(tmp_path / "many.tgz", {"notes.csv": b"junk\n", sources.MEMBER: synthetic_csv().read_bytes()})
    assert sources.load_path(archive).last_date == pd.Timestamp("2018-10-31")


# --- valid files that used to be refused ---------------------------------------------------------


@pytest.fixture
def canonical(synthetic_csv):
    path = synthetic_csv()
    return path, load_csv(path)[0]


def rewrite(path: Path, name: str, transform) -> Path:
    out = path.with_name(name)
    out.write_bytes(transform(path.read_bytes()))
    return out


def test_api_timestamps_in_service_date(canonical):
    path, expected = canonical

    def iso(data: bytes) -> bytes:
        lines = data.decode().splitlines()
        out = [lines[0]]
        for line in lines[1:]:
            m, d, y = line.split(",")[0].split("/")
            out.append(f"{y}-{m}-{d}T00:00:00.000," + line.split(",", 1)[1])
        return ("\n".join(out) + "\n").encode()

    pd.testing.assert_frame_equal(load_csv(rewrite(path, "api.csv", iso))[0], expected)


def test_a_timestamp_with_a_time_of_day_is_not_a_day(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("service_date,day_type,bus,rail_boardings\n2019-01-01T13:00:00.000,U,1,2\n")
    with pytest.raises(DataError, match="line 2, column service_date"):
        load_csv(path)


@pytest.mark.parametrize("tail", [b",,,,\n,,,,\n", b"\n\n\n", b",,,,\r\n\r\n ,  ,,,\r\n", b",,,,"])
def test_trailing_empty_rows_of_a_spreadsheet_export(canonical, tail):
    path, expected = canonical
    pd.testing.assert_frame_equal(load_csv(rewrite(path, "sheet.csv", lambda b: b + tail))[0], expected)


@pytest.mark.parametrize("bom,codec", [(b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")])
def test_utf16_with_a_byte_order_mark(canonical, bom, codec):
    path, expected = canonical
    out = rewrite(path, "u16.csv", lambda b: bom + b.decode().encode(codec))
    pd.testing.assert_frame_equal(load_csv(out)[0], expected)


def test_utf16_without_a_byte_order_mark_is_still_binary(canonical):
    path, _ = canonical
    with pytest.raises(DataError, match="not a CSV text file"):
        load_csv(rewrite(path, "u16.csv", lambda b: b.decode().encode("utf-16-le")))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_read_once(canonical, tmp_path):
    path, expected = canonical
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    content = path.read_bytes() * 1  # more than one 4 KB block
    assert len(content) > 8192

    def write():
        with open(fifo, "wb") as fh:
            fh.write(content)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    frame, _ = load_csv(fifo)
    writer.join(5)
    pd.testing.assert_frame_equal(frame, expected)


def test_stdin_through_a_pipe_and_the_fingerprint_comes_from_the_same_bytes(canonical):
    path, expected = canonical
    code = (
        "from engine.data import sources; d = sources.load_path('/dev/stdin');"
        "print(len(d.frame), d.last_date.date(), d.fingerprint)"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-c", code], input=path.read_bytes(), capture_output=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr.decode()
    rows, last, fingerprint = out.stdout.decode().split()
    assert (int(rows), last) == (len(expected), "2018-10-31")
    assert fingerprint == sources.sha256_of(path)


def test_a_non_csv_file_says_in_plain_words_which_line_is_wrong(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("service_date,day_type,bus,rail_boardings\n01/01/2019,U,1,2\n01/02/2019,W,3,4,5,6\n")
    with pytest.raises(DataError) as info:
        load_csv(path)
    message = one_line_naming(info, path)
    assert "tokeniz" not in message.lower() and "C error" not in message
    assert "line 3, saw 6" in message and "Expected 4 fields" in message and "'rail_boardings'" in message


def test_a_row_with_too_few_fields_names_its_line(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("service_date,day_type,bus,rail_boardings\n01/01/2019,U,1,2\n01/02/2019,W,3\n")
    with pytest.raises(DataError, match="Expected 4 fields in line 3, saw 3"):
        load_csv(path)


def test_a_row_with_one_extra_field_on_every_line_is_not_silently_shifted(tmp_path):
    path = tmp_path / "shift.csv"
    path.write_text("service_date,day_type,bus,rail_boardings\n0,01/01/2019,U,1,2\n1,01/02/2019,W,3,4\n")
    with pytest.raises(DataError, match="line 2"):
        load_csv(path)


def test_html_instead_of_csv(tmp_path):
    path = tmp_path / "page.csv"
    path.write_text("<html><body>\n<p>Not found, sorry, really</p>\n</body></html>\n")
    with pytest.raises(DataError) as info:
        load_csv(path)
    message = one_line_naming(info, path)
    assert "service_date" in message and "tokeniz" not in message.lower()
