"""Runs and forecasts under odd input, through `ridership` in a subprocess: ids beyond SQLite's
integer, a store on a read-only mount, levels close to 1, a lower-case day type, a run's name and
tags in `runs show`, a deleted checkpoint, a blank name. Exit 2 and one line, or the right output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import SMALL, SMALL_FIRST, SMALL_LAST, csv_rows, ridership, small_args, write_csv

from engine.data.synthetic import synthetic_frame

ROOT = Path(__file__).resolve().parents[2]
HUGE = "99999999999999999999"  # beyond SQLite's 64-bit integer


def error_line(proc: subprocess.CompletedProcess) -> str:
    """Exit 2 and one line: ours ("ridership: error: ..."), or argparse's after its usage."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and lines, (proc.returncode, proc.stderr)
    if lines[0].startswith("usage:"):
        assert ": error: argument " in lines[-1], proc.stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("ridership: error: "), proc.stderr
    return lines[-1]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """A store with one recorded run (and its checkpoint), a sweep with one trial, and a CSV."""
    folder = tmp_path_factory.mktemp("store")
    csv = write_csv(folder / "ridership.csv", csv_rows(synthetic_frame(SMALL_FIRST, SMALL_LAST)))
    db = folder / "runs" / "runs.db"
    proc = ridership(
        "sweep",
        "--name",
        "s",
        "--param",
        "hidden_size=4,8",
        "--trials",
        1,
        "--workers",
        1,
        "--data",
        csv,
        "--runs-db",
        db,
        *small_args(SMALL.replace(epochs=1)),
    )
    assert proc.returncode == 0, proc.stderr
    return {"db": db, "csv": csv}


@pytest.mark.parametrize(
    "argv",
    [
        ["runs", "show", HUGE],
        ["runs", "label", HUGE, "--name", "x"],
        ["runs", "export", HUGE],
        ["runs", "delete", HUGE],
        ["runs", "diff", "1", HUGE],
        ["runs", "resume", HUGE, "--more", "1"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_run_ids_beyond_sqlite_integers_are_one_line(store, argv):
    line = error_line(ridership(*argv, "--runs-db", store["db"]))
    assert HUGE in line and "internal error" not in line


def test_forecast_run_beyond_sqlite_integers_is_one_line(store):
    line = error_line(ridership("forecast", "--run", HUGE, "--data", store["csv"], "--runs-db", store["db"]))
    assert f"run {HUGE} not found" in line


def test_runs_show_shows_the_name_tags_and_note(store, tmp_path):
    db = tmp_path / "runs.db"
    shutil.copy(store["db"], db)
    assert (
        ridership(
            "runs",
            "label",
            1,
            "--name",
            "baseline",
            "--tag",
            "keep",
            "--tag",
            "v2",
            "--note",
            "first try",
            "--runs-db",
            db,
        ).returncode
        == 0
    )
    out = ridership("runs", "show", 1, "--runs-db", db).stdout
    assert "name: baseline; tags: keep, v2; note: first try" in out


def test_a_blank_run_name_is_refused(store, tmp_path):
    db = tmp_path / "runs.db"
    shutil.copy(store["db"], db)
    line = error_line(ridership("runs", "label", 1, "--name", "  ", "--runs-db", db))
    assert "is blank" in line
    assert ridership("runs", "label", 1, "--name", "", "--runs-db", db).returncode == 0  # "" clears it


def test_a_deleted_checkpoint_is_named(store, tmp_path):
    home = tmp_path / "runs"
    shutil.copytree(store["db"].parent, home)
    checkpoint = home / "checkpoints" / "1.pt"
    checkpoint.unlink()
    line = error_line(ridership("forecast", "--run", 1, "--data", store["csv"], "--runs-db", home / "runs.db"))
    assert str(checkpoint) in line and "missing" in line


def test_a_level_close_to_one_keeps_its_digits_and_a_lower_case_day_type_is_taken(store):
    proc = ridership(
        "forecast",
        "--run",
        1,
        "--data",
        store["csv"],
        "--runs-db",
        store["db"],
        "--level",
        "0.9999999",
        "--day-type",
        "w",
    )
    assert proc.returncode == 0, proc.stderr
    assert "99.99999% interval" in proc.stdout and "100% interval" not in proc.stdout
    assert "99.99999% intervals covered" in proc.stdout
    assert "day type W (chosen)" in proc.stdout


def _namespaces_available() -> bool:
    """Whether this process may mount in a private mount namespace (root, unshare, CAP_SYS_ADMIN)."""
    import tempfile

    if not shutil.which("unshare") or os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            ["unshare", "-m", "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", folder], capture_output=True
        )
    return probe.returncode == 0


@pytest.mark.skipif(not _namespaces_available(), reason="needs root and unshare -m for a read-only bind mount")
@pytest.mark.parametrize(
    "argv", [["runs", "list"], ["sweep", "list"], ["forecast", "--run", "1"]], ids=lambda a: " ".join(a[:2])
)
def test_a_store_on_a_read_only_mount_can_be_read(store, tmp_path, argv):
    """A real read-only filesystem (EROFS even for root): the store's folder bind-mounted read-only
    in a private mount namespace, gone when the command ends."""
    folder = tmp_path / "ro"
    shutil.copytree(store["db"].parent, folder)
    db = folder / "runs.db"
    command = [sys.executable, "-m", "cli", *argv, "--runs-db", str(db)]
    if argv[0] == "forecast":
        command += ["--data", str(store["csv"])]
    script = (
        'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && '
        'if touch "$0/probe" 2>/dev/null; then echo "still writable" >&2; exit 9; fi; exec "$@"'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, str(folder), str(folder), *command],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    expected = {"runs": "(1 run in", "sweep": "(1 sweep in", "forecast": "Forecast for"}[argv[0]]
    assert expected in proc.stdout
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in store["db"].parent.iterdir())
