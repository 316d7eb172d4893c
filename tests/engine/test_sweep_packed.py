"""A packed group of trials in a sweep worker (engine.sweep.packed), in this process: a member the
pruner stops is recorded pruned at that epoch while the others train on; the sweep's stop stops
every member (recorded stopped), and trials asked for a later group never start (given back, as
are those of a worker that dies)."""

from __future__ import annotations

import os

import pytest
from support import SMALL

from engine.data.sources import load_path
from engine.store.runstore import RunStore
from engine.sweep import records
from engine.sweep.local import SweepPlan, check_and_record, run_local
from engine.sweep.packed import run_asked, train_packed
from engine.sweep.space import parse_space
from engine.sweep.trial import TrialRun

PLAN = SweepPlan("p", parse_space(["lr=0.01,0.02,0.05", "hidden_size=4,8"]), SMALL.replace(epochs=3), trials=3)


@pytest.fixture
def sweep_store(tmp_path, synthetic_csv):
    data = load_path(synthetic_csv(), "path")
    with RunStore.open(tmp_path / "runs.db") as store:
        check_and_record(PLAN, store, data, "local")
        yield store, data


def trial_run(store, number: int, params: dict, report=None) -> TrialRun:
    return TrialRun(
        store=store,
        base=PLAN.base,
        space=PLAN.space,
        params=params,
        sweep=PLAN.name,
        trial=number,
        objective="valid",
        report=report,
    )


def test_a_pruned_member_is_recorded_pruned_and_the_others_train_on(sweep_store):
    store, data = sweep_store
    prune_second = lambda epoch, mae: epoch == 1  # noqa: E731 - the pruner's answer for trial 2
    runs = [
        trial_run(store, 1, {"lr": 0.01, "hidden_size": 8}),
        trial_run(store, 2, {"lr": 0.02, "hidden_size": 8}, report=prune_second),
        trial_run(store, 3, {"lr": 0.05, "hidden_size": 8}),
    ]
    outcomes = train_packed(runs, data, store, lambda: False)
    assert [o.state for o in outcomes] == ["complete", "pruned", "complete"]
    assert outcomes[1].reason == "pruned by the sweep after epoch 1" and outcomes[1].epochs_done == 1
    board = {t.trial: t for t in records.sweep_summary(store, "p").trials}
    assert board[2].status == "pruned" and board[2].value is None and board[2].run.epochs_done == 1
    assert board[2].run.valid_mae is not None  # scored on its best epoch's weights, as a pruned trial alone
    for number in (1, 3):
        assert board[number].status == "finished" and board[number].run.epochs_done == 3
        assert board[number].value == pytest.approx(outcomes[number - 1].value)


def test_a_stop_stops_the_running_pack_and_drops_the_groups_not_started(sweep_store):
    store, data = sweep_store
    stop = {"now": False}

    class Asked:  # what run_asked reads of an Optuna trial
        def __init__(self, number, params):
            self.number, self.params = number - 1, params

    asked = [Asked(1, {"lr": 0.01, "hidden_size": 8}), Asked(2, {"lr": 0.02, "hidden_size": 4})]
    asked.append(Asked(3, {"lr": 0.05, "hidden_size": 8}))
    started, ended, dropped = [], [], []

    def start(trial):
        started.append(trial.number + 1)

        def stop_after_first_epoch(epoch, mae):
            stop["now"] = True  # the user's stop, heard during the pack's first epoch's callbacks
            return False

        return trial_run(store, trial.number + 1, trial.params, report=stop_after_first_epoch)

    run_asked(
        asked,
        PLAN,
        start=start,
        end=lambda trial, outcome: ended.append((trial.number + 1, outcome.state)),
        drop=lambda trial: dropped.append(trial.number + 1),
        data=data,
        store=store,
        halted=lambda: stop["now"],
        deadline=None,
    )
    assert started == [1, 3]  # hidden size 8: one pack, first seen first
    assert ended == [(1, "stopped"), (3, "stopped")] and dropped == [2]
    board = {t.trial: t for t in records.sweep_summary(store, "p").trials}
    assert sorted(board) == [1, 3] and all(t.run.status == "stopped" and t.run.epochs_done == 1 for t in board.values())


def _die_on_first_trial(trial: int, params: dict) -> None:
    if trial == 1:
        os._exit(3)  # the worker process dies as its first pack starts


def test_a_worker_that_dies_mid_pack_gives_back_the_trials_it_had_not_started(tmp_path, synthetic_csv):
    data = load_path(synthetic_csv(), "path")
    # four settings, two shapes: the worker asks all four, then dies starting trial 1
    plan = SweepPlan(
        "die", parse_space(["hidden_size=4,8", "seed=1,2"]), SMALL.replace(epochs=1), trials=4, sampler="random", pack=4
    )
    out = run_local(plan, data, tmp_path / "runs.db", workers=1, trial_hook=_die_on_first_trial)
    assert [t.trial for t in out.ran if t.state == "failed"] == [1] and "worker process died" in out.ran[0].reason
    # the three it had asked and not started went back to the budget: a new worker ran them
    assert sorted(t.state for t in out.ran) == ["complete", "complete", "complete", "failed"]
    with RunStore.open(tmp_path / "runs.db") as store:
        board = records.sweep_summary(store, "die").trials
    assert len(board) == 3 and all(t.status == "finished" for t in board)
    assert len({tuple(sorted(t.params.items())) for t in board}) == 3  # none repeated
