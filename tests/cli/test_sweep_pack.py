"""``ridership sweep --pack N`` (issue 22, item 5), in a subprocess on the synthetic series: each
packed trial is recorded as a trial alone is (run, epochs, checkpoint, scores, the study's value),
with the numbers its settings give when trained alone (learning rate and seed differ within a pack);
trials of another hidden size go to another pack; a bad --pack is refused.

That the trials really trained packed is seen in the store: fit_packed gives every member of a pack
the pack's own epoch time, so a pack's runs record the very same seconds for each epoch, which runs
trained one after another never do. The tolerance is float rounding (tests/engine/test_packed_training.py
explains it: the batched products add in another order); rtol 1e-4 on the riders' MAE is far below
what another seed or learning rate changes.
"""

from __future__ import annotations

import pytest
from support import SMALL, SMALL_FIRST, SMALL_LAST, csv_rows, isolate, ridership, small_args, usage_error, write_csv

from engine.config import TrainConfig
from engine.data.sources import load_path
from engine.data.synthetic import synthetic_frame
from engine.session import start_run
from engine.store.runstore import RunStore
from engine.sweep import records
from engine.sweep.study import storage

FIXED = small_args(SMALL.replace(epochs=3))
RTOL = 1e-4
# 6 distinct settings out of these 8 (a sweep repeats none while others are left): at least 2 of each
# hidden size, and within a size each trial its own learning rate or seed
SPACE = ("hidden_size=4,8", "lr=0.003,0.03", "seed=1,2")
TRIALS = PACK = 6


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """One sweep for the module's tests (a sweep's start-up is most of its 6 s): the store's trials
    and each run's epochs."""
    root = tmp_path_factory.mktemp("packed")
    with pytest.MonkeyPatch.context() as patch:
        isolate(patch, root)  # the autouse isolation comes after a module fixture
        csv = write_csv(root / "ridership.csv", csv_rows(synthetic_frame(SMALL_FIRST, SMALL_LAST)))
        db = root / "runs.db"
        proc = ridership(
            "sweep",
            "--name",
            "p",
            *[x for spec in SPACE for x in ("--param", spec)],
            "--trials",
            TRIALS,
            "--workers",
            1,
            "--pack",
            PACK,
            "--sampler",
            "random",
            "--pruner",
            "none",
            "--data",
            csv,
            "--runs-db",
            db,
            *FIXED,
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"1 worker, packs of up to {PACK}" in proc.stdout
    with RunStore.open(db) as store:
        summary = records.sweep_summary(store, "p")
        epochs = {t.run.run_id: list(store.epochs(t.run.run_id)) for t in summary.trials}
    return db, csv, summary, epochs


def pack_of(epochs, run_id) -> tuple:
    """The run's epoch times: a pack's members share them (fit_packed times the pack's epoch)."""
    return tuple(e.seconds for e in epochs[run_id])


def test_packed_trials_are_recorded_each_as_alone_with_its_numbers(packed):
    import optuna

    db, csv, summary, epochs = packed
    assert len(summary.trials) == TRIALS and len({t.run.run_id for t in summary.trials}) == TRIALS
    told = {t.number + 1: t for t in optuna.load_study(study_name="p", storage=storage(db)).get_trials()}
    data = load_path(csv, "path")
    for t in summary.trials:
        run = t.run
        assert t.status == "finished" and run.epochs_done == 3 and len(epochs[run.run_id]) == 3
        assert {k: run.config_dict[k] for k in t.params} == t.params == told[t.trial].params  # its own settings
        assert run.checkpoint is not None and run.checkpoint.exists()
        assert t.value == run.valid_mae and run.test_mae is not None
        assert told[t.trial].state.name == "COMPLETE" and told[t.trial].value == pytest.approx(t.value)
        alone = start_run(TrainConfig.from_dict(run.config_dict), data)  # its settings and seed, unpacked
        assert run.valid_mae == pytest.approx(alone.scores["valid"].mae, rel=RTOL)
        assert run.test_mae == pytest.approx(alone.scores["test"].mae, rel=RTOL)
        for ours, theirs in zip(epochs[run.run_id], alone.history):
            assert ours.valid_mae == pytest.approx(theirs.valid_mae, rel=RTOL)


def test_trials_of_another_hidden_size_go_to_another_pack(packed):
    _, _, summary, epochs = packed
    packs: dict = {}
    for t in summary.trials:
        packs.setdefault(pack_of(epochs, t.run.run_id), []).append(t.run.config_dict)
    assert len(packs) == 2  # one pack per hidden size, each of 2 trials or more
    for members in packs.values():
        assert len(members) >= 2 and len({c["hidden_size"] for c in members}) == 1
    assert {c["hidden_size"] for members in packs.values() for c in members} == {4, 8}


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_a_bad_pack_is_refused_in_one_line(tmp_path, value):
    line = usage_error(
        ridership("sweep", "--name", "x", "--param", "lr=0.1,0.2", "--pack", value, "--runs-db", tmp_path / "runs.db"),
        "--pack",
    )
    assert f"expected a whole number of trials from 1 to 4096, got '{value}'" in line


def test_continue_keeps_the_recorded_pack_unless_given_another(packed):
    from cli.main import build_parser
    from cli.sweep import _plan

    db = str(packed[0])
    with RunStore.open(db) as store:
        assert records.get_sweep(store, "p").settings["pack"] == PACK
        for extra, pack in (([], PACK), (["--pack", "2"], 2)):
            plan, recorded = _plan(
                build_parser().parse_args(["sweep", "--continue", "p", *extra, "--runs-db", db]), store
            )
            assert recorded is not None and plan.pack == pack
