"""``ridership sweep``: bad specs are one line with exit 2; a tiny sweep, list, show --json, continue."""

from __future__ import annotations

import json

from support import SMALL, small_args

from cli.main import main


def test_a_bad_param_is_one_line(capsys, tmp_path):
    code = main(["sweep", "--name", "x", "--param", "lr=log:0:1", "--runs-db", str(tmp_path / "r.db")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "needs LOW > 0" in err


def test_unknown_action_and_missing_name(capsys, tmp_path):
    assert main(["sweep", "frobnicate", "--runs-db", str(tmp_path / "r.db")]) == 2
    assert main(["sweep", "--param", "lr=0.1,0.2", "--runs-db", str(tmp_path / "r.db")]) == 2
    assert main(["sweep", "show", "nope", "--runs-db", str(tmp_path / "r.db")]) == 2
    err = capsys.readouterr().err
    assert "expected `sweep list`" in err and "give --name NAME" in err and "no sweep named 'nope'" in err


def test_ray_backend_without_ray_says_how_to_install(capsys, tmp_path, synthetic_csv, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    code = main(
        [
            "sweep",
            "--name",
            "r",
            "--param",
            "lr=0.01,0.02",
            "--trials",
            "1",
            "--backend",
            "ray",
            "--data",
            str(synthetic_csv()),
            "--runs-db",
            str(tmp_path / "r.db"),
            *small_args(SMALL),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1] == 'ridership: error: the ray backend needs Ray: pip install -e ".[ray]"'


def test_a_tiny_sweep_then_list_show_and_continue(capsys, tmp_path, synthetic_csv):
    db = str(tmp_path / "r.db")
    args = [
        "sweep",
        "--name",
        "tiny",
        "--param",
        "hidden_size=4,8",
        "--trials",
        "2",
        "--workers",
        "1",
        "--pruner",
        "none",
        "--data",
        str(synthetic_csv()),
        "--runs-db",
        db,
        *small_args(SMALL.replace(epochs=1)),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "sweep tiny finished: 2 trials this time" in out and "hidden_size" in out
    assert main(["sweep", "list", "--runs-db", db]) == 0
    assert "tiny" in capsys.readouterr().out
    assert main(["sweep", "show", "tiny", "--json", "--runs-db", db]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["name"] == "tiny" and len(shown["trials"]) == 2 and shown["best"]["valid_mae_riders"] > 0
    assert all(t["status"] == "finished" for t in shown["trials"])
    # The same name again with the same space continues it: the budget is met, nothing runs.
    assert main(args) == 0
    assert "its 2 trials are done" in capsys.readouterr().out
    # Another space under the same name is refused.
    assert main(["sweep", "--name", "tiny", "--param", "lr=0.1,0.2", "--runs-db", db]) == 2
