"""Sweeps under trouble, through `ridership sweep` in a subprocess: two stores in one folder, a lost
study file, changed data, two starts at once, a space file with wrong settings, too many workers,
a hang-up, every trial failing, and a disk that fills up mid-sweep."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import forked_cli
import pytest
from support import SMALL, ridership, small_args, usage_error
from support import cli_env as _env

from engine.sweep.forked_server import SERVER_NAME

ROOT = Path(__file__).resolve().parents[2]
FIXED = small_args(SMALL.replace(epochs=1))  # one-epoch trials: a trial takes about a second


def one_line_error(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code and len(lines) == 1 and lines[0].startswith("ridership: error: "), (
        proc.returncode,
        proc.stdout,
        proc.stderr,
    )
    return lines[0]


def sweep(db: Path, data: Path, *extra, name: str = "s", trials: int = 1) -> subprocess.CompletedProcess:
    return ridership(
        "sweep",
        "--name",
        name,
        "--param",
        "hidden_size=4,8",
        "--trials",
        trials,
        "--workers",
        1,
        "--pruner",
        "none",
        "--data",
        data,
        "--runs-db",
        db,
        *FIXED,
        *extra,
    )


def shown(db: Path, name: str = "s") -> dict:
    proc = ridership("sweep", "show", name, "--json", "--runs-db", db)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# -- data mixed or lost ------------------------------------------------------------------------------


def test_two_stores_in_one_folder_keep_their_studies_apart_and_a_lost_study_is_rebuilt(tmp_path, synthetic_csv):
    """Two stores in one folder keep their own studies. Deleting the study files (or a store whose
    sweeps used the old shared file) continues the budget and the trial numbers from the trials the
    run store recorded."""
    db, data = tmp_path / "a.db", synthetic_csv()
    assert sweep(db, data, trials=2).returncode == 0
    other = sweep(tmp_path / "b.db", data)  # the same sweep name in another store of the folder
    assert other.returncode == 0, other.stderr
    assert "sweep s finished: 1 trial this time, 0 before" in other.stdout
    assert [t["trial"] for t in shown(tmp_path / "b.db")["trials"]] == [1]
    # Numbers may have a gap where a repeated setting was asked and dropped (engine/sweep/asking.py).
    before = sorted(t["trial"] for t in shown(db)["trials"])
    assert len(before) == 2
    lost = [p for p in tmp_path.iterdir() if "optuna" in p.name]
    assert lost
    for path in lost:
        path.unlink()
    again = sweep(db, data, trials=3)
    assert again.returncode == 0, again.stderr
    assert "1 trial this time, 2 before" in again.stdout
    after = sorted(t["trial"] for t in shown(db)["trials"])
    assert after[:2] == before and len(after) == 3 and after[2] > before[-1]  # carried on, none repeated


def test_a_continue_takes_the_recorded_settings_and_data_and_names_what_differs(tmp_path, synthetic_csv):
    """Continuing with the recorded settings is accepted (nothing left to run here); other fixed
    settings, other data, or the recorded file changed since, are each refused in one line."""
    db, data = tmp_path / "runs.db", synthetic_csv()
    assert sweep(db, data).returncode == 0
    proc = ridership("sweep", "--continue", "s", "--epochs", 1, "--runs-db", db)  # the recorded value
    assert proc.returncode == 0, proc.stderr
    assert "its 1 trials are done" in proc.stdout
    line = one_line_error(ridership("sweep", "--continue", "s", "--epochs", 2, "--runs-db", db))
    assert "other fixed settings (epochs)" in line
    other = synthetic_csv(name="other.csv", edit=lambda rows: [r[:2] + [str(int(r[2]) + 1)] + r[3:] for r in rows])
    line = one_line_error(ridership("sweep", "--continue", "s", "--trials", 2, "--data", other, "--runs-db", db))
    assert "sweep 's' ran on" in line and str(other) in line and "same data" in line
    data.write_text(other.read_text())  # the recorded file itself changed
    line = one_line_error(ridership("sweep", "--continue", "s", "--trials", 2, "--runs-db", db))
    assert "the file has changed since" in line
    assert len(shown(db)["trials"]) == 1  # nothing ran on the other data


def test_two_sweeps_started_at_once_under_one_name_run_it_once(tmp_path, synthetic_csv):
    db, data = tmp_path / "runs.db", synthetic_csv()
    assert ridership("runs", "list", "--runs-db", db).returncode == 0  # the store exists: only the sweep races
    argv = [
        "sweep",
        "--name",
        "s",
        "--param",
        "hidden_size=4,8",
        "--trials",
        "1",
        "--workers",
        "1",
        "--pruner",
        "none",
        "--data",
        str(data),
        "--runs-db",
        str(db),
        *FIXED,
    ]
    procs = [
        forked_cli.popen(argv, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)
    ]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    ran = [out for p, out, err in results if p.returncode == 0 and "1 trial this time" in out]
    assert len(ran) == 1, [(p.returncode, out, err) for p, out, err in results]
    for p, _out, err in results:
        assert p.returncode in (0, 2) and "Traceback" not in err
        if p.returncode == 2:
            assert "is still running" in err
    assert len(shown(db)["trials"]) == 1


# -- resources, and the space file's settings -----------------------------------------------------------


def test_workers_from_the_space_file_are_honoured_and_capped_at_the_cores(tmp_path, synthetic_csv):
    space = tmp_path / "space.toml"
    space.write_text('workers = 10000\ntrials = 1\npruner = "none"\n[params]\nhidden_size = [4, 8]\n')
    proc = ridership(
        "sweep", "--name", "w", "--space", space, "--data", synthetic_csv(), "--runs-db", tmp_path / "runs.db", *FIXED
    )
    assert proc.returncode == 0, proc.stderr
    cores = os.cpu_count() or 1
    assert f"note: 10000 workers asked for, but this machine has {cores} core" in proc.stderr
    assert f"using {cores}" in proc.stderr and "Traceback" not in proc.stderr


SPACE_ERRORS = [
    ('trials = "abc"', "trials must be a whole number >= 1, got 'abc'"),
    ('timeout = "x"', "timeout must be a number of seconds > 0, got 'x'"),
    ("base = 5", "base must be a [base] table of training settings, got 5"),
    ("[base]\nfrobnicate = 1", "base.frobnicate is not a training setting"),
    ("[base]\nlr = [[0.1]]", "base.lr must be one value"),
    ("trials = [[[1]]]", "trials must be a whole number >= 1"),
    ("trials = -5", "trials must be a whole number >= 1, got -5"),
    ("trials = 0", "trials must be a whole number >= 1, got 0"),
    ("timeout = -1", "timeout must be a number of seconds > 0, got -1"),
    ("trials = 1.5", "trials must be a whole number >= 1, got 1.5"),
    ("trials = inf", "trials must be a whole number >= 1, got inf"),
    ("trials = 99999999999999999999", "trials must be a whole number >= 1, got 99999999999999999999"),
    ('sampler = "tpee"', "sampler must be one of tpe, random, got 'tpee'"),
    ('pruner = "medain"', "pruner must be one of median, none, got 'medain'"),
    ("trails = 5", "unknown setting 'trails'"),
    ("[sweep]\nworkerz = 2", "unknown setting 'workerz'"),
]


@pytest.mark.parametrize(("setting", "message"), SPACE_ERRORS, ids=[s for s, _ in SPACE_ERRORS])
def test_a_space_file_setting_that_cannot_be_used_is_one_line(tmp_path, synthetic_csv, setting, message):
    space = tmp_path / "space.toml"
    params = "[params]\nhidden_size = [4, 8]\n"
    space.write_text(f"{setting}\n{params}" if not setting.startswith("[") else f"{params}{setting}\n")
    proc = ridership(
        "sweep",
        "--name",
        "x",
        "--space",
        space,
        "--data",
        synthetic_csv(),
        "--runs-db",
        tmp_path / "runs.db",
        *FIXED,
        timeout=120,
    )
    line = one_line_error(proc)
    assert message in line and str(space) in line


def test_nested_choices_in_params_are_one_line(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text('[params]\nnormalize = [["none"], ["week"]]\n')
    line = one_line_error(ridership("sweep", "--name", "x", "--space", space, "--runs-db", tmp_path / "runs.db"))
    assert "each choice must be one value" in line


def test_budgets_beyond_sqlite_integers_are_one_line(tmp_path):
    line = usage_error(
        ridership(
            "sweep",
            "--name",
            "x",
            "--param",
            "hidden_size=4,8",
            "--trials",
            "99999999999999999999",
            "--runs-db",
            tmp_path / "runs.db",
        ),
        "--trials",
    )
    assert "99999999999999999999" in line


# -- continue, names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [" ", "   "])
def test_a_blank_sweep_name_is_refused(tmp_path, name):
    line = one_line_error(
        ridership("sweep", "--name", name, "--param", "hidden_size=4,8", "--runs-db", tmp_path / "runs.db")
    )
    assert "is blank" in line


# -- how sweeps end -----------------------------------------------------------------------------------


def test_every_trial_failing_ends_the_sweep_failed(tmp_path, synthetic_csv):
    db = tmp_path / "runs.db"
    proc = ridership(
        "sweep",
        "--name",
        "f",
        "--param",
        "lr=5e35,1e36",
        "--trials",
        2,
        "--workers",
        1,
        "--data",
        synthetic_csv(),
        "--runs-db",
        db,
        *FIXED,
    )
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "sweep f failed: 2 trials this time" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1].startswith("ridership: error: every trial of sweep f failed")
    record = shown(db, "f")
    assert record["status"] == "failed" and record["counts"] == {"failed": 2}


def _epochs_recorded(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT COUNT(*) FROM epochs").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def _hang_up_when_training(proc: subprocess.Popen, db: Path) -> None:
    """Wait until an epoch is recorded, then hang up on the process group (a closed terminal)."""
    deadline = time.monotonic() + 180
    while _epochs_recorded(db) == 0:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no epoch recorded within 180 s"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGHUP)


def _hung_up(argv: list, db) -> tuple[subprocess.Popen, str, str]:
    """Run the command in its own session, hang it up once it trains, and return what it printed
    (its process group is killed if it outlives the test)."""
    proc = forked_cli.popen(
        argv, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        _hang_up_when_training(proc, db)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc, out, err


def test_a_hang_up_stops_a_sweep_like_ctrl_c(tmp_path, synthetic_csv):
    db = tmp_path / "runs.db"
    argv = [
        "sweep",
        "--name",
        "h",
        "--param",
        "hidden_size=4,8",
        "--trials",
        "2",
        "--workers",
        "1",
        "--data",
        str(synthetic_csv()),
        "--runs-db",
        str(db),
        *small_args(SMALL),
        "--epochs",
        "100000",
    ]
    proc, out, err = _hung_up(argv, db)
    assert "SIGHUP received" in err and "Traceback" not in err
    assert "sweep h stopped" in out
    record = shown(db, "h")
    assert record["status"] == "stopped"
    assert [t["status"] for t in record["trials"]] == ["stopped"]


def test_a_hang_up_stops_training_like_ctrl_c(tmp_path, synthetic_csv):
    db = tmp_path / "runs.db"
    argv = [
        "train",
        "--data",
        str(synthetic_csv()),
        *small_args(SMALL),
        "--epochs",
        "100000",
        "--quiet",
        "--runs-db",
        str(db),
    ]
    proc, out, err = _hung_up(argv, db)
    assert proc.returncode == 1 and "SIGHUP received" in err and "run stopped" in out
    [run] = json.loads(ridership("runs", "list", "--json", "--runs-db", db).stdout)
    assert run["status"] == "stopped" and run["checkpoint"]


# -- a disk that fills up (a real full filesystem: a small tmpfs in a private mount namespace) ---------

# Runs inside `unshare -m`: mounts a 4 MB tmpfs on the store's folder (gone with the namespace),
# starts the sweep, fills the disk as soon as the first trial is reported, then lists the sweep.
DISK_FULL_DRIVER = r"""
import json, subprocess, sys
folder, argv = sys.argv[1], sys.argv[2:]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", folder], check=True)
proc = subprocess.Popen(argv, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out = []
for line in proc.stdout:
    out.append(line)
    if line.startswith("[1/"):
        with open(folder + "/filler", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        break
rest, err = proc.communicate(timeout=300)
listed = subprocess.run(argv[:3] + ["sweep", "show", "d", "--json", "--runs-db", folder + "/runs.db"],
                        text=True, capture_output=True)
print(json.dumps({"code": proc.returncode, "out": "".join(out) + rest, "err": err, "show": listed.stdout}))
"""


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


@pytest.mark.skipif(not _namespaces_available(), reason="needs root and unshare -m to mount a small tmpfs")
def test_a_disk_that_fills_mid_sweep_is_one_line_and_the_sweep_is_not_left_running(tmp_path, synthetic_csv):
    folder = tmp_path / "store"
    folder.mkdir()
    data = synthetic_csv()
    argv = [
        sys.executable,
        "-m",
        "cli",
        "sweep",
        "--name",
        "d",
        "--param",
        "hidden_size=4,8,16",
        "--trials",
        "6",
        "--workers",
        "1",
        "--pruner",
        "none",
        "--data",
        str(data),
        "--runs-db",
        str(folder / "runs.db"),
        *small_args(SMALL),
    ]
    proc = subprocess.run(
        ["unshare", "-m", sys.executable, "-c", DISK_FULL_DRIVER, str(folder), *argv],
        cwd=ROOT,
        env=_env(),
        text=True,
        capture_output=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["code"] == 2, result
    [line] = result["err"].strip().splitlines()
    assert line.startswith("ridership: error: no space left to record sweep 'd'") and "disk is full" in line
    assert "--continue d" in line
    record = json.loads(result["show"])
    assert record["status"] != "running"  # stopped, or interrupted when even that could not be written
    assert record["counts"].get("finished", 0) >= 1


def test_ctrl_c_while_the_workers_start_stops_the_sweep_without_a_traceback_or_a_hang(tmp_path, synthetic_csv):
    """A terminal's Ctrl+C reaches the whole process group, workers still starting included. One
    killed while reading its arguments (the data, more than a pipe holds) left the sweep blocked for
    ever writing them, and printed a KeyboardInterrupt traceback; the workers now start with those
    signals blocked, and the sweep alone decides."""
    psutil = pytest.importorskip("psutil")
    db = tmp_path / "runs.db"
    csv = synthetic_csv(first="2001-01-01", last="2021-11-30")  # twenty years: its pickle outgrows a pipe
    argv = ["sweep", "--name", "i", "--param", "hidden_size=4,8", "--trials", "2"]
    argv += ["--workers", "2", "--pruner", "none", "--data", str(csv), "--runs-db", str(db), *FIXED]
    proc = forked_cli.popen(
        argv, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120

        def worker_started() -> bool:  # a child of the workers' server (the resource tracker has none)
            try:
                helpers = psutil.Process(proc.pid).children()
                return any(helper.children() for helper in helpers if helper.name() == SERVER_NAME)
            except psutil.Error:  # one ended meanwhile
                return False

        while not worker_started():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no worker process started within 120 s"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGINT)  # a worker is starting now
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0 and "SIGINT received" in err and "Traceback" not in err, (proc.returncode, out, err)
    assert shown(db, "i")["status"] == "stopped"


def _servers_seen(argv: list[str], psutil) -> tuple[subprocess.CompletedProcess, dict[int, list[int]]]:
    """Run the command, watching its children: workers' server pid -> the pids of its children (the
    workers). The server is a fork of the command (engine/sweep/forked_server.py): its command line
    is the command's, under its own name; an executed forkserver (what the app starts) is not one."""
    proc = forked_cli.popen(argv, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: dict[int, list[int]] = {}
    try:
        while proc.poll() is None:
            try:
                command = psutil.Process(proc.pid)
                for helper in command.children():
                    if helper.name() == SERVER_NAME and helper.cmdline() == command.cmdline():
                        workers = seen.setdefault(helper.pid, [])
                        workers += [w.pid for w in helper.children() if w.pid not in workers]
            except psutil.Error:  # it ended meanwhile
                pass
            time.sleep(0.02)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), seen


@pytest.mark.slow  # watches real worker processes
def test_the_workers_are_forks_of_one_server_and_the_command_leaves_no_process(tmp_path, synthetic_csv):
    """Linux: two workers forked from one server (the training path imported once, not once per
    worker), itself a fork of the command (what the command imported is not imported again); when
    the command ends, neither the server nor a worker is left. A continue
    with nothing left to run starts no server (its imports alone are seconds of CPU)."""
    psutil = pytest.importorskip("psutil")
    if not sys.platform.startswith("linux"):
        pytest.skip("workers are spawned, not forked, off Linux")
    db = tmp_path / "runs.db"
    argv = ["sweep", "--name", "f", "--param", "lr=0.01,0.02,0.03,0.04", "--trials", "4"]
    argv += ["--workers", "2", "--pruner", "none", "--data", str(synthetic_csv()), "--runs-db", str(db)]
    argv += small_args(SMALL.replace(epochs=6))
    done, seen = _servers_seen(argv, psutil)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert len(seen) == 1, seen  # one server for the sweep
    (server, workers) = next(iter(seen.items()))
    assert len(workers) == 2, workers  # and both workers its children
    # Not even a zombie: the command reaped the server (end_forkserver) rather than leave it to end
    # on its own after the command (about 0.7 s of teardown, measured), orphaned.
    assert [pid for pid in [server, *workers] if psutil.pid_exists(pid)] == []
    assert shown(db, "f")["status"] == "finished"
    again, seen = _servers_seen(["sweep", "--continue", "f", "--runs-db", str(db)], psutil)
    assert again.returncode == 0 and "its 4 trials are done" in again.stdout, (again.stdout, again.stderr)
    assert seen == {}
