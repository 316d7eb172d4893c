"""The run store stays inside its folder and refuses nonsense: checkpoint paths from the database
are confined to <home>/checkpoints, stale temporaries are tidied, settings have sane bounds."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest

from cli.main import main
from engine.config import TrainConfig
from engine.errors import ConfigError
from engine.store import RunStore
from engine.store.paths import CHECKPOINT_DIR
from support import SMALL


def _run_with_checkpoint(store, data_path):
    from engine.data.sources import load_path
    from engine.session import start_run

    return start_run(SMALL, load_path(data_path, "path"), store=store)


@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_delete_never_touches_a_file_outside_the_store(synthetic_csv, tmp_path, where):
    victim = tmp_path / "precious.pt"
    victim.write_text("keep me")
    db = tmp_path / "home" / "runs.db"
    with RunStore.open(db) as store:
        run = _run_with_checkpoint(store, synthetic_csv())
    named = str(victim) if where == "absolute" else "../precious.pt"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET checkpoint = ? WHERE id = ?", (named, run.run_id))
    with RunStore.open(db) as store:
        assert store.get_run(run.run_id).checkpoint is None  # not ours: no checkpoint at all
        store.delete_run(run.run_id)
    assert victim.read_text() == "keep me"


def test_a_checkpoint_inside_the_store_is_still_found_and_deleted(synthetic_csv, tmp_path):
    db = tmp_path / "home" / "runs.db"
    with RunStore.open(db) as store:
        run = _run_with_checkpoint(store, synthetic_csv())
        assert store.get_run(run.run_id).checkpoint == run.checkpoint.resolve()
        store.delete_run(run.run_id)
    assert not run.checkpoint.exists()


def test_stale_temporaries_are_removed_when_the_store_opens(tmp_path):
    folder = tmp_path / "home" / CHECKPOINT_DIR
    folder.mkdir(parents=True)
    stale, fresh = folder / ".3.pt.0123456789ab.tmp", folder / ".4.pt.ba9876543210.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half a file")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    RunStore.open(tmp_path / "home" / "runs.db").close()
    assert not stale.exists() and fresh.exists()


def test_runs_list_limit_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["runs", "list", "--limit", "0"])
    assert exit_.value.code == 2
    assert "--limit" in capsys.readouterr().err


@pytest.mark.parametrize("changes, field", [({"seed": 2**70}, "seed"), ({"seed": -1}, "seed"),
                                            ({"epochs": 10**12}, "epochs")])
def test_huge_settings_are_refused_by_name(changes, field):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**changes).validate()
    assert err.value.field == field


def test_huge_seed_on_the_command_line_is_one_line(synthetic_csv, capsys):
    assert main(["train", "--data", str(synthetic_csv()), "--seed", str(2**70), "--no-record"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ridership: error: seed:") and len(err.strip().splitlines()) == 1
