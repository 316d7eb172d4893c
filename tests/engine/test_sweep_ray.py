"""The Ray backend through the user's door: ``ridership sweep --backend ray`` in a subprocess, with
Ray started by the sweep or a two-node cluster on 127.0.0.1 started by the test (each ``ray start
--block`` in its own process group, ended by the test with killpg: never ``ray stop``, which would
end other people's Ray). Slow: marked so by the module's name (tests/conftest.py)."""

from __future__ import annotations

import builtins
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import forked_cli
import pytest
from support import SMALL, ridership, small_args, still_running

from engine.store.runstore import RunStore
from engine.sweep import records
from engine.sweep.local import SweepError, SweepPlan
from engine.sweep.space import parse_space

ROOT = Path(__file__).resolve().parents[2]
SPACE = ["--param", "lr=log:0.01:0.2", "--param", "hidden_size=4,8"]

pytestmark = pytest.mark.slow  # starts a Ray cluster: deselected by -m "not slow"


def test_without_ray_the_backend_is_a_one_line_error(monkeypatch, tmp_path, synthetic_csv):
    from engine.sweep import ray_backend

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    plan = SweepPlan("r", parse_space(["lr=0.01,0.02"]), SMALL, trials=2)
    with pytest.raises(SweepError, match=r'pip install -e "\.\[ray\]"'):
        ray_backend.run_ray(plan, None, tmp_path / "runs.db")


def _env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def _sweep(name: str, db: Path, csv: Path, *more: str, epochs: int = 3) -> list[str]:
    """The arguments of `ridership sweep --backend ray` for a small sweep."""
    return [
        "sweep",
        "--name",
        name,
        "--backend",
        "ray",
        *SPACE,
        *more,
        "--data",
        str(csv),
        "--runs-db",
        str(db),
        *small_args(SMALL.replace(epochs=epochs)),
    ]


def _trials(db: Path, name: str) -> list[tuple]:
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT t.trial, t.run_id, r.status, t.pruned, r.checkpoint FROM sweep_trials t "
            "JOIN runs r ON r.id = t.run_id WHERE t.sweep = ? ORDER BY t.trial",
            (name,),
        ).fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        con.close()


def _started(args: list[str], **kwargs) -> subprocess.Popen:
    """`ridership ARGS` in its own process group (Ctrl+C and SIGKILL reach it and what it started),
    its output read as text (forked from the tests' command server: tests/forked_cli.py)."""
    kwargs = {"env": _env(), "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True, **kwargs}
    return forked_cli.popen(args, start_new_session=True, **kwargs)


def _descendants(pid: int) -> dict[int, float]:
    """pid -> create time of the processes under ``pid`` now (Ray's workers and daemons)."""
    import psutil

    try:
        return {p.pid: p.create_time() for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return {}


def _wait_gone(procs: dict[int, float], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := still_running(procs)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_ctrl_c_stops_a_ray_sweep_within_seconds_leaving_nothing_running(tmp_path, synthetic_csv):
    pytest.importorskip("ray")
    pytest.importorskip("psutil")
    db = tmp_path / "runs.db"
    proc = _started(
        _sweep("rs", db, synthetic_csv(), "--trials", "40", "--workers", "2", "--pruner", "none", epochs=40)
    )
    seen: dict[int, float] = {}
    deadline = time.monotonic() + 240
    try:
        while not any(r[2] == "running" for r in _trials(db, "rs")):  # a trial is training
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "no trial started"
            seen.update(_descendants(proc.pid))
            time.sleep(0.2)
        seen.update(_descendants(proc.pid))
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C reaches the terminal's whole process group
        asked = time.monotonic()
        proc.wait(timeout=60)
        took = time.monotonic() - asked
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out = proc.stdout.read()
    assert proc.returncode == 0, out
    assert took < 30, f"the sweep took {took:.1f} s to stop"
    assert "sweep rs stopped" in out and "Traceback" not in out
    assert not _wait_gone(seen, 30), "Ray processes left behind"
    rows = _trials(db, "rs")
    assert rows and all(r[2] != "running" for r in rows)
    with RunStore.open(db) as store:
        assert records.get_sweep(store, "rs").status == "stopped"


def test_continue_resumes_a_killed_ray_sweeps_trials_from_their_checkpoints(tmp_path, synthetic_csv):
    pytest.importorskip("ray")
    pytest.importorskip("psutil")
    db, csv = tmp_path / "runs.db", synthetic_csv()
    # A checkpoint every 0.05 s (RIDERSHIP_CHECKPOINT_EVERY_S), looked for every 0.02 s, in a trial
    # of 0.6 s or more (150 epochs in a quick hour), so one is seen mid-run: with one checkpoint a
    # second a CI run saw none; 400 epochs instead made the continue train 2.7 times as long.
    epochs = 150
    cmd = _sweep("rk", db, csv, "--trials", "2", "--workers", "2", "--pruner", "none", epochs=epochs)
    cmd[cmd.index("--patience") + 1] = "100"
    proc = _started(
        cmd, env=_env(RIDERSHIP_CHECKPOINT_EVERY_S="0.05"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seen: dict[int, float] = {}
    deadline = time.monotonic() + 300
    try:
        while not (mid := [r for r in _trials(db, "rk") if r[2] == "running" and r[4]]):
            assert proc.poll() is None and time.monotonic() < deadline, "no trial checkpointed mid-run"
            seen.update(_descendants(proc.pid))
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep and the Ray it started, killed outright
        proc.wait()
    assert not _wait_gone(seen, 30)
    trial, killed_run = mid[0][0], mid[0][1]
    # The continue runs to its end: the Ray it started ends with it, nothing left running.
    cont = _started(["sweep", "--continue", "rk", "--backend", "ray", "--runs-db", str(db)])
    seen = {}
    while cont.poll() is None:
        seen.update(_descendants(cont.pid))
        time.sleep(0.2)
    out = cont.stdout.read()
    assert cont.returncode == 0, out
    assert f"resuming trial {trial} (run {killed_run}," in out and "internal error" not in out
    assert seen and not _wait_gone(seen, 30), "Ray processes left behind"
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT t.trial, r.status, r.parent_id, r.origin, (SELECT COUNT(*) FROM epochs e "
        "WHERE e.run_id = r.id) FROM sweep_trials t JOIN runs r ON r.id = t.run_id "
        "WHERE t.sweep = 'rk'"
    ).fetchall()
    con.close()
    assert [r[1] for r in rows].count("finished") == 2, rows
    resumed = next(r for r in rows if r[0] == trial)
    assert resumed[1:] == ("finished", killed_run, "resume", epochs), rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_that_refuses_is_one_line_within_seconds_and_the_sweep_is_not_left_running(tmp_path, synthetic_csv):
    pytest.importorskip("ray")
    db = tmp_path / "runs.db"
    started = time.monotonic()
    done = ridership(
        *_sweep("rc", db, synthetic_csv(), "--trials", "2", "--address", f"127.0.0.1:{_free_port()}"),
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Ray cluster" in err[0] and "refused" in err[0], done.stderr
    assert time.monotonic() - started < 60
    with RunStore.open(db) as store:
        assert records.get_sweep(store, "rc").status == "stopped"


def test_a_silent_address_obeys_sigterm(tmp_path, synthetic_csv):
    pytest.importorskip("ray")
    db = tmp_path / "runs.db"
    # 192.0.2.1 (TEST-NET-1) never answers: without a stop the connect would wait its timeout.
    proc = forked_cli.popen(
        _sweep("rt", db, synthetic_csv(), "--trials", "2", "--address", "192.0.2.1:6379"),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while records_status(db, "rt") != "running":
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    err = proc.stderr.read().strip().splitlines()
    assert proc.returncode == 2 and err[-1].startswith("ridership: error:") and "stopped while connecting" in err[-1]
    assert records_status(db, "rt") == "stopped"


def records_status(db: Path, name: str) -> str | None:
    if not db.exists():
        return None
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT status FROM sweeps WHERE name = ?", (name,)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()
    return row[0] if row else None


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--address", "not an address", "expected HOST:PORT"),
        ("--gpus-per-trial", "nan", "expected a number of GPUs >= 0"),
        ("--gpus-per-trial", "-1", "expected a number of GPUs >= 0"),
        ("--cpus-per-trial", "0", "expected a number of CPUs > 0"),
    ],
)
def test_bad_ray_options_are_one_line_exit_2(tmp_path, synthetic_csv, option, value, expected):
    done = ridership(*_sweep("rb", tmp_path / "runs.db", synthetic_csv(), "--trials", "2", option, value), env=_env())
    err = done.stderr.strip().splitlines()
    # argparse's usage lines (as for every option's bad value), then the one line that says what is wrong
    assert done.returncode == 2 and "error:" in err[-1] and expected in err[-1], done.stderr
    assert "Traceback" not in done.stderr and "sweep rb: starting" not in done.stdout


# -- a two-node cluster on 127.0.0.1 ---------------------------------------------------------------
# Ray resolves --node-ip-address 127.0.0.1 to the machine's routable address and its servers bind
# every interface. So the cluster, and the sweep that joins it, run in a private network namespace
# whose only interface is the loopback (``unshare --net``, entered with ``nsenter``): there Ray's
# node address is 127.0.0.1 and its servers bind 127.0.0.1, which the test checks.

HEAD_PORT = 6379  # the namespace is private: no one else's port


def _namespace() -> subprocess.Popen:
    holder = subprocess.Popen(
        ["unshare", "--net", "--", "sh", "-c", "ip link set lo up && echo up && exec sleep 100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    if holder.stdout.readline().strip() != "up":
        holder.wait(timeout=10)
        pytest.skip(f"needs a private network namespace (unshare --net): {holder.stderr.read().strip()}")
    return holder


def _inside(holder: subprocess.Popen, cmd: list[str]) -> list[str]:
    return ["nsenter", "-t", str(holder.pid), "-n", "--", *cmd]


def _cluster_env() -> dict:
    # Token authentication needs a token shared by every node and driver (~/.ray/auth_token or
    # RAY_AUTH_TOKEN); a cluster only the loopback of a private namespace reaches does without.
    return _env(RAY_AUTH_MODE="disabled", RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO="0")


def _ray_start(holder, *args: str, temp_dir: str) -> subprocess.Popen:
    ray_bin = str(Path(sys.executable).with_name("ray"))
    return subprocess.Popen(
        _inside(
            holder,
            [
                ray_bin,
                "start",
                *args,
                "--node-ip-address",
                "127.0.0.1",
                "--num-cpus",
                "1",
                "--num-gpus",
                "0",
                "--block",
                "--disable-usage-stats",
                "--temp-dir",
                temp_dir,
            ],
        ),
        env=_cluster_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _nodes_alive(holder, address: str) -> int:
    done = subprocess.run(
        _inside(
            holder,
            [
                sys.executable,
                "-c",
                (
                    f"import ray; ray.init(address={address!r}, log_to_driver=False, configure_logging=False);"
                    "print(sum(1 for n in ray.nodes() if n['Alive']))"
                ),
            ],
        ),
        env=_cluster_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        return int(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return 0


def _listening(groups: list[int], netns_pid: int) -> list[str]:
    """Listening TCP sockets of the processes in these process groups, as ``name ip:port``. Read
    from /proc/NETNS_PID/net/tcp{,6} (psutil reads the caller's own namespace's tables)."""
    import ipaddress

    import psutil

    owners: dict[str, str] = {}  # socket inode -> process name
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) not in groups:
                continue
            for fd in os.listdir(f"/proc/{p.pid}/fd"):
                target = os.readlink(f"/proc/{p.pid}/fd/{fd}")
                if target.startswith("socket:["):
                    owners[target[8:-1]] = p.name()
        except (psutil.Error, OSError):
            continue
    out = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{netns_pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in owners:  # 0A: LISTEN
                continue
            hex_ip, hex_port = local.split(":")
            raw = bytes.fromhex(hex_ip)
            # the kernel prints each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            out.append(f"{owners[inode]} {ipaddress.ip_address(raw)}:{int(hex_port, 16)}")
    return out


def _loopback(entry: str) -> bool:
    import ipaddress

    ip = ipaddress.ip_address(entry.split(" ")[-1].rpartition(":")[0])
    return ip.is_loopback or bool(getattr(ip, "ipv4_mapped", None) and ip.ipv4_mapped.is_loopback)


def test_a_sweep_on_a_two_node_cluster_records_every_trial_usable(tmp_path, synthetic_csv):
    """Four trials on two nodes with the median pruner: each recorded, finished or pruned, each with
    its checkpoint; the best one forecasts; Ray listens on the loopback only. (The pruner's checks
    had a test and a Ray of their own; the end of a Ray started by the sweep is the continue's.)"""
    pytest.importorskip("ray")
    pytest.importorskip("psutil")
    holder = _namespace()
    address = f"127.0.0.1:{HEAD_PORT}"
    # Short temp folders: Ray's unix sockets live there and their paths have a length limit.
    head_tmp, node_tmp = tempfile.mkdtemp(prefix="rh"), tempfile.mkdtemp(prefix="rn")
    nodes = [_ray_start(holder, "--head", "--port", str(HEAD_PORT), "--include-dashboard", "false", temp_dir=head_tmp)]
    try:
        deadline = time.monotonic() + 240
        while _nodes_alive(holder, address) < 1:
            assert nodes[0].poll() is None and time.monotonic() < deadline, "the head did not start"
        nodes.append(_ray_start(holder, "--address", address, temp_dir=node_tmp))
        while _nodes_alive(holder, address) < 2:
            assert nodes[1].poll() is None and time.monotonic() < deadline, "the second node did not join"
        db, csv = tmp_path / "runs.db", synthetic_csv()
        done = subprocess.run(
            _inside(
                holder,
                [sys.executable, "-m", "cli"]  # a fresh interpreter: it runs in the cluster's network namespace
                + _sweep(
                    "rn",
                    db,
                    csv,
                    "--trials",
                    "4",
                    "--workers",
                    "2",
                    "--pruner",
                    "median",
                    "--address",
                    address,
                    epochs=3,
                ),
            ),
            cwd=ROOT,
            env=_cluster_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        listening = _listening([n.pid for n in nodes], holder.pid)
        assert any(e.startswith("gcs_server") for e in listening), listening  # the check sees Ray's servers
        assert all(_loopback(e) for e in listening), listening
    finally:
        for n in [*nodes, holder]:
            try:
                os.killpg(n.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            n.wait(timeout=30)
    assert "sweep rn finished: 4 trials this time" in done.stdout and "internal error" not in done.stdout
    rows = _trials(db, "rn")
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    with RunStore.open(db) as store:
        assert records.get_sweep(store, "rn").status == "finished"
        for _trial, run_id, status, pruned, checkpoint in rows:  # a pruned trial too keeps its best weights
            assert status == "finished" or (pruned and status == "stopped"), rows
            assert checkpoint and store.get_run(run_id).checkpoint.is_file()
    best = min(rows, key=lambda r: r[1])[1]
    forecast = ridership("forecast", "--run", best, "--data", csv, "--runs-db", db, env=_env(), timeout=120)
    assert forecast.returncode == 0 and "validation: model" in forecast.stdout, forecast.stderr


def test_a_trial_folder_left_by_a_process_that_is_gone_is_removed_by_the_next_trial(tmp_path):
    """A Ray actor killed mid-trial never removes its temporary folder; the next trial on the node does."""
    from engine.sweep.ray_backend import TRIAL_FOLDER_PREFIX, remove_orphaned_trial_folders

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid no longer names a process (reaped)
    dead = tmp_path / f"{TRIAL_FOLDER_PREFIX}{gone.pid}-abc"
    alive = tmp_path / f"{TRIAL_FOLDER_PREFIX}{os.getpid()}-def"
    unnamed = tmp_path / f"{TRIAL_FOLDER_PREFIX}xyz"
    for folder in (dead, alive, unnamed):
        (folder / "runs").mkdir(parents=True)
    assert remove_orphaned_trial_folders(tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and unnamed.exists()
