"""Local sweeps: trials in worker processes, each a recorded run tagged with its sweep; a crash is
recorded failed and the sweep goes on; a sweep killed with SIGKILL and continued keeps every
finished trial and repeats none."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import forked_cli
import pytest
from support import SMALL, BreaksInAWorker, ridership, small_args

from engine.data.sources import load_path
from engine.store.runstore import RunStore
from engine.sweep import records
from engine.sweep.local import SweepError, SweepPlan, run_local
from engine.sweep.space import parse_space

ROOT = Path(__file__).resolve().parents[2]


def _plan(name, specs, trials, **changes):
    return SweepPlan(name, parse_space(specs), SMALL.replace(**changes), trials=trials, sampler="random")


def _die_on_first_trial(trial: int, params: dict) -> None:
    if trial == 1:
        os._exit(3)  # the worker process dies mid-sweep


def _note_environment(trial: int, params: dict) -> None:
    """A trial hook: the worker's value of RIDERSHIP_TEST_MARK, into the file RIDERSHIP_TEST_MARK_FILE names."""
    Path(os.environ["RIDERSHIP_TEST_MARK_FILE"]).write_text(os.environ.get("RIDERSHIP_TEST_MARK", "-"))


def test_workers_take_the_environment_of_each_sweeps_start(tmp_path, synthetic_csv, monkeypatch):
    """Forked workers come from a server started with an earlier environment (the app's first
    sweep, or an earlier test): each sweep's workers still see this process's environment as it is
    when the sweep starts, as spawned ones did (the cache folder, the checkpoint interval, ...)."""
    data = load_path(synthetic_csv(), "path")
    mark = tmp_path / "mark"
    monkeypatch.setenv("RIDERSHIP_TEST_MARK_FILE", str(mark))
    for n, value in enumerate(("first", "second")):
        monkeypatch.setenv("RIDERSHIP_TEST_MARK", value)
        plan = _plan(f"env{n}", ["lr=0.01,0.02"], trials=1, epochs=1)
        out = run_local(plan, data, tmp_path / "runs.db", workers=1, trial_hook=_note_environment)
        assert out.status == "finished" and mark.read_text() == value


def test_a_crash_in_a_trial_is_recorded_failed_and_the_sweep_goes_on(tmp_path, synthetic_csv):
    data = load_path(synthetic_csv(), "path")
    db = tmp_path / "runs.db"
    # A window longer than the validation split: start_run refuses it before training.
    plan = _plan("crash", ["window_length=14,15,16,200"], trials=4, epochs=1)
    events = []
    out = run_local(plan, data, db, workers=1, on_event=events.append, trial_hook=_die_on_first_trial)
    # The workers' samplers are seeded from the clock, so which windows are drawn varies: when every
    # trial after the crash drew 200 (1 in 64), none trained to the end and the sweep says "failed".
    trained = any(t.state != "failed" for t in out.ran)
    assert out.status == ("finished" if trained else "failed")
    with RunStore.open(db) as store:
        summary = records.sweep_summary(store, "crash")
    by_trial = {t.trial: t for t in summary.trials}
    assert any(e["kind"] == "worker_died" and e["trial"] == 1 for e in events)
    # trial 1's worker died before its run started: failed in Optuna, the sweep replaced the worker
    assert (
        len([t for t in out.ran]) == 4 and out.ran[0].state == "failed" and "worker process died" in out.ran[0].reason
    )
    for t in summary.trials:
        if t.params["window_length"] == 200:
            assert t.status == "failed" and "window" in t.run.reason.lower()
        else:
            assert t.status == "finished" and t.value is not None
    assert 1 not in by_trial or by_trial[1].status == "failed"
    assert summary.record.status == out.status
    # The ask lock's one file beside the store, reused by the next sweep: nothing per sweep left over.
    assert [p.name for p in tmp_path.glob("*.lock")] == ["runs.db.asks.lock"]


def test_workers_that_die_before_any_trial_end_the_sweep_instead_of_respawning_forever(tmp_path, synthetic_csv):
    data = load_path(synthetic_csv(), "path")
    db = tmp_path / "runs.db"
    events = []
    with pytest.raises(SweepError, match="die before their first trial"):
        run_local(
            _plan("broken", ["lr=0.01,0.02"], trials=4, epochs=1),
            data,
            db,
            workers=1,
            on_event=events.append,
            trial_hook=BreaksInAWorker(),
        )
    with RunStore.open(db) as store:
        assert records.get_sweep(store, "broken").status == "stopped"  # not left "running"
        assert store.list_runs() == []  # no trial ran


def test_no_budget_and_a_running_sweep_are_refused(tmp_path, synthetic_csv):
    data = load_path(synthetic_csv(), "path")
    plan = SweepPlan("nobudget", parse_space(["lr=0.01,0.02"]), SMALL, trials=None, timeout_s=None)
    with pytest.raises(SweepError, match="needs a budget"):
        run_local(plan, data, tmp_path / "runs.db", workers=1)


def _counted(db: Path, name: str) -> dict[int, tuple]:
    """trial -> (run id, status, value) of the trials that ended on their own."""
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT t.trial, t.run_id, r.status, t.pruned, t.value FROM sweep_trials t JOIN runs r "
        "ON r.id = t.run_id WHERE t.sweep = ?",
        (name,),
    ).fetchall()
    con.close()
    return {
        trial: (run_id, "pruned" if pruned else status, value)
        for trial, run_id, status, pruned, value in rows
        if pruned or status in ("finished", "failed")
    }


def _descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, and by those (Linux's /proc; empty elsewhere): the workers
    are the forkserver's children."""
    parent_of = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent_of[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    out, frontier = [], {pid}
    while frontier:
        frontier = {child for child, parent in parent_of.items() if parent in frontier}
        out.extend(sorted(frontier))
    return out


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left to collect


@pytest.mark.slow  # real worker processes killed with SIGKILL
def test_a_sweep_killed_with_sigkill_and_continued_loses_no_trial_and_repeats_none(tmp_path, synthetic_csv, request):
    csv = synthetic_csv()
    db = tmp_path / "runs.db"
    cmd = [
        "sweep",
        "--name",
        "k",
        "--param",
        "lr=log:0.01:0.2",
        "--param",
        "hidden_size=4,8",
        "--trials",
        "6",
        "--workers",
        "2",
        "--pruner",
        "none",
        "--data",
        str(csv),
        "--runs-db",
        str(db),
        *small_args(SMALL.replace(epochs=4)),
    ]
    proc = forked_cli.popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    # The whole sweep is paused (SIGSTOP) before each look at the store, so that what is counted is
    # what the kill leaves: trials of 4 tiny epochs end in a fraction of a second, and a look that
    # ran late on a loaded machine once found all 6 finished.
    request.addfinalizer(lambda: _signal([proc.pid], signal.SIGKILL))  # never left paused by a failure
    deadline = time.time() + 240
    while time.time() < deadline:
        time.sleep(0.1)
        workers = _descendants(proc.pid)
        _signal([proc.pid, *workers], signal.SIGSTOP)
        try:
            if db.exists() and len(_counted(db, "k")) >= 1:
                break
        except sqlite3.OperationalError:  # paused while it was creating its tables
            pass
        _signal([proc.pid, *workers], signal.SIGCONT)
        assert proc.poll() is None, proc.stdout.read().decode()
    else:
        pytest.fail("no trial finished in time")
    proc.send_signal(signal.SIGKILL)  # a stopped process dies of SIGKILL; so do its workers, by PDEATHSIG
    proc.wait()
    _signal(workers, signal.SIGCONT)  # any helper of the sweep that is not killed with it goes on to end
    deadline = time.time() + 120  # the workers die with their parent (PR_SET_PDEATHSIG): wait until they have
    while any(_alive(pid) for pid in workers):
        assert time.time() < deadline, f"sweep workers {workers} outlived their killed parent"
        time.sleep(0.1)
    before = _counted(db, "k")
    assert 1 <= len(before) < 6
    from cli.main import main

    assert main(["sweep", "--continue", "k", "--runs-db", str(db), "--workers", "2"]) == 0
    after = _counted(db, "k")
    assert len(after) == 6  # the budget, finished trials of both sessions together
    for trial, row in before.items():  # nothing finished was lost or redone
        assert after[trial] == row
    con = sqlite3.connect(db)
    numbers = [r[0] for r in con.execute("SELECT trial FROM sweep_trials WHERE sweep = 'k'")]
    statuses = dict(con.execute("SELECT t.trial, r.status FROM sweep_trials t JOIN runs r ON r.id = t.run_id"))
    con.close()
    assert len(numbers) == len(set(numbers))  # no trial number twice
    assert all(statuses[n] in ("finished", "failed", "stopped", "interrupted") for n in numbers)  # none left running


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_parallel_trials_never_repeat_settings_until_the_space_is_exhausted(tmp_path, synthetic_csv, sampler):
    # 12 settings in all, 12 trials on 2 workers: drawn independently, a repeat is all but certain.
    data = load_path(synthetic_csv(), "path")
    db = tmp_path / "runs.db"
    plan = SweepPlan(
        "distinct",
        parse_space(["hidden_size=4,6,8", "lr=0.01,0.02,0.05,0.1"]),
        SMALL.replace(epochs=1),
        trials=12,
        sampler=sampler,
        pruner="none",
    )
    out = run_local(plan, data, db, workers=2)
    assert out.status == "finished" and len(out.ran) == 12
    with RunStore.open(db) as store:
        settings = [tuple(sorted(t.params.items())) for t in records.sweep_summary(store, "distinct").trials]
    assert len(settings) == 12 and len(set(settings)) == 12, settings


@pytest.mark.slow
def test_continue_resumes_trials_killed_mid_way_from_their_checkpoints(tmp_path, synthetic_csv):
    csv = synthetic_csv()
    db = tmp_path / "runs.db"
    # A checkpoint every 0.05 s (RIDERSHIP_CHECKPOINT_EVERY_S), looked for every 0.02 s, in a trial
    # of 0.6 s or more (150 epochs in a quick hour), so one is seen mid-run: with one checkpoint a
    # second a CI run saw none; 400 epochs instead made the continue train 2.7 times as long.
    epochs = 150
    cmd = [
        "sweep",
        "--name",
        "r",
        "--param",
        "lr=log:0.01:0.2",
        "--trials",
        "3",
        "--workers",
        "2",
        "--pruner",
        "none",
        "--data",
        str(csv),
        "--runs-db",
        str(db),
        *small_args(SMALL.replace(epochs=epochs, patience=100)),
    ]
    proc = forked_cli.popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "RIDERSHIP_CHECKPOINT_EVERY_S": "0.05"},
    )

    def checkpointed_mid_run() -> list:
        if not db.exists():
            return []
        con = sqlite3.connect(db)
        try:
            # Early in its trial (under half its epochs): a trial seen at epoch 149 could end
            # before the kill reached its worker (seen once on a loaded machine: nothing to resume).
            return con.execute(
                "SELECT t.trial, r.id FROM sweep_trials t JOIN runs r ON r.id = t.run_id WHERE "
                "r.status = 'running' AND r.checkpoint IS NOT NULL AND "
                "(SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id) < ?",
                (epochs // 2,),
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()

    deadline = time.time() + 300
    while not (mid := checkpointed_mid_run()):
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.time() < deadline, "no trial checkpointed mid-run in time"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = ridership("sweep", "--continue", "r", "--runs-db", db, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    trial, killed_run = mid[0]
    assert f"resuming trial {trial} (run {killed_run}," in done.stdout
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT t.trial, r.id, r.status, r.parent_id, r.origin, r.config, "
        "(SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id) FROM sweep_trials t "
        "JOIN runs r ON r.id = t.run_id WHERE t.sweep = 'r' ORDER BY t.trial"
    ).fetchall()
    killed_params = con.execute("SELECT params FROM sweep_trials WHERE run_id = ?", (killed_run,)).fetchall()
    con.close()
    by_trial = {r[0]: r for r in rows}
    # the budget: 3 finished trials, each number once (a trial killed before its first checkpoint
    # stays "interrupted", not counted, as before)
    assert [r[2] for r in rows].count("finished") == 3 and len(by_trial) == len(rows), rows
    assert all(r[2] in ("finished", "interrupted") for r in rows), rows
    resumed = by_trial[trial]
    assert resumed[3] == killed_run and resumed[4] == "resume" and resumed[6] == epochs  # the epochs left, not anew
    assert killed_params == []  # the killed run is the resumed run's parent, no longer a trial itself


def test_workers_started_and_not_needed_by_the_budget_end_at_once(tmp_path, synthetic_csv):
    """run_local starts as many workers as the plan could use before it opens the study (their
    imports overlap it), then ends those the budget does not need: a continue with one trial left
    runs one worker, and one with none left runs none; no worker process is left either way."""
    from multiprocessing import forkserver

    import psutil

    data = load_path(synthetic_csv(), "path")
    db = tmp_path / "runs.db"
    run_local(_plan("few", ["lr=0.01,0.02,0.03"], trials=3, epochs=1), data, db, workers=1)
    for trials, workers_used in ((4, 1), (4, 0)):
        events = []
        out = run_local(
            _plan("few", ["lr=0.01,0.02,0.03"], trials=trials, epochs=1), data, db, workers=3, on_event=events.append
        )
        started = next(e for e in events if e["kind"] == "sweep_started")
        assert started["workers"] == workers_used and len(out.ran) == workers_used
        assert out.status == "finished"
        # Left: multiprocessing's resource tracker and, on Linux, the forkserver kept for the next
        # sweep (the workers' parent); no worker. (And the server that this test process's earlier
        # `ridership` commands were forked from, tests/forked_cli.py.)
        helpers = {forkserver._forkserver._forkserver_pid, forked_cli.server_pid()}
        assert [
            p
            for p in psutil.Process().children(recursive=True)
            if p.pid not in helpers and "resource_tracker" not in " ".join(p.cmdline())
        ] == []
    with RunStore.open(db) as store:
        assert len(records.sweep_summary(store, "few").trials) == 4
