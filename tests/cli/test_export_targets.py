"""`ridership runs export -o PATH` writes what it should where it should (issue 24, escapes): an
unpredictable temp name created exclusively beside the target, so a symlink planted at the old fixed
temp name (.NAME.tmp) redirects nothing; a terminal, pipe or /dev/stdout is written through and never
replaced by a file; `-` is standard output; a pipe nobody reads, a folder, are refused in one line."""

from __future__ import annotations

import os
import stat
import subprocess
import threading

import pytest
from support import (
    CSV_HEADER,
    SMALL,
    SMALL_FIRST,
    SMALL_LAST,
    csv_rows,
    ridership,
    small_args,
    write_csv,
)

from cli.main import main
from engine.data.synthetic import synthetic_frame


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A run store holding one short run (run 1)."""
    folder = tmp_path_factory.mktemp("export")
    data = write_csv(folder / "ridership.csv", csv_rows(synthetic_frame(SMALL_FIRST, SMALL_LAST)), CSV_HEADER)
    db = folder / "runs.db"
    assert main(["train", "--data", str(data), *small_args(SMALL.replace(epochs=1)), "--runs-db", str(db)]) == 0
    return db


def export(db, *args, **kw) -> subprocess.CompletedProcess:
    return ridership("runs", "export", "1", "--runs-db", db, *args, timeout=120, **kw)


def test_a_symlink_planted_at_the_old_temp_name_redirects_nothing(store, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / ".out.csv.tmp").symlink_to(victim)  # where the old code wrote before renaming
    result = export(store, "-o", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    out = tmp_path / "out.csv"
    assert out.is_file() and not out.is_symlink() and out.read_text().startswith("epoch,epochs,")
    assert stat.S_IMODE(out.stat().st_mode) != 0o600  # the umask's mode, not mkstemp's private one
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("victim.txt", ".out.csv.tmp", "out.csv")]
    assert leftovers == []  # no temp file left behind


def test_a_symlink_at_the_target_is_followed_and_kept(store, tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert export(store, "-o", str(link)).returncode == 0
    assert link.is_symlink() and real.read_text().startswith("{")


def test_dev_stdout_and_dash_write_through_to_standard_output(store, tmp_path):
    link = tmp_path / "to-stdout.csv"
    link.symlink_to("/dev/stdout")
    for target in (str(link), "/dev/stdout", "-"):
        result = export(store, "-o", target)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("epoch,epochs,"), target
    assert link.is_symlink() and os.readlink(link) == "/dev/stdout"  # not replaced by a file


def test_dev_null_is_written_through(store):
    result = export(store, "-o", "/dev/null", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_named_pipe_is_written_through_to_its_reader(store, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    try:
        # The reader's open blocks until the writer opens: retry until the reader is there.
        result = None
        for _ in range(50):
            result = export(store, "-o", str(fifo))
            if result.returncode == 0:
                break
    finally:
        if reader.is_alive():  # unblock the reader if the export never opened the pipe
            with open(fifo, "w"):
                pass
        reader.join(30)
    assert result.returncode == 0, result.stderr
    assert got and got[0].startswith("epoch,epochs,")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: os.mkfifo(p), "is a named pipe that nobody reads"),
        (lambda p: p.mkdir(), "is a folder"),
    ],
)
def test_a_pipe_nobody_reads_or_a_folder_is_refused_in_one_line(store, tmp_path, make, words):
    target = tmp_path / "out.csv"
    make(target)
    result = export(store, "-o", str(target))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert str(target) in line and words in line
