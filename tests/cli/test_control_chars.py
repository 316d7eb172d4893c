"""Control characters in sweep names, run names, tags and notes (issue 24, escapes): refused on input
(one line, exit 2) and escaped on output (`runs list`, `runs label`, `sweep list`, `sweep show`), so a
store written before the check (or by hand) can neither drive the terminal nor forge a row."""

from __future__ import annotations

import pytest
from support import ridership

from engine.config import TrainConfig
from engine.data import sources
from engine.store import RunStore
from engine.sweep import records

TITLE = "\x1b]0;pwned\x07"  # sets the terminal's title
FORGED = "x\n99  finished  2026-01-01 00:00  50/50  best  0.01  1  0.10"  # a newline forging a row


@pytest.fixture(scope="module")
def old_store(tmp_path_factory):
    """A store with a run and a sweep whose names hold control characters (as before the check)."""
    db = tmp_path_factory.mktemp("ctl") / "runs.db"
    data = sources.synthetic()
    config = TrainConfig(epochs=1)
    with RunStore.open(db) as store:
        run_id = store.start_run(config, data, "cpu", torch_version="2.x")
        store.finish_run(run_id, "finished", "completed")
        store.label_run(run_id, name=FORGED, add_tags=[f"t{TITLE}"], note=f"n{TITLE}\nnote")
        records.save_sweep(
            store,
            name=f"s{TITLE}\nforged",
            backend="local",
            objective="valid",
            space=["hidden_size=8,16"],
            base=config,
            trials=2,
            timeout_s=None,
            settings={},
            data=data,
        )
        records.end_sweep(store, f"s{TITLE}\nforged", "finished")
    return db


@pytest.mark.parametrize("option", ["--name", "--tag", "--note"])
@pytest.mark.parametrize("bad", [TITLE, "two\nlines", "tab\there", "bidi\u202eoverride"])
def test_runs_label_refuses_control_characters_in_one_line(old_store, option, bad):
    result = ridership("runs", "label", "1", option, bad, "--runs-db", str(old_store))
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "contains the control character" in line and "\x1b" not in line and f"the {option[2:]}" in line


def test_a_sweep_name_with_control_characters_is_refused_before_anything_runs(tmp_path):
    result = ridership(
        "sweep",
        "--name",
        f"a{TITLE}",
        "--param",
        "hidden_size=8,16",
        "--trials",
        "1",
        "--runs-db",
        str(tmp_path / "runs.db"),
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        "ridership: error: sweep: the sweep name 'a\\x1b]0;pwned\\x07': contains the control character \\x1b"
    )


def test_names_in_an_old_store_are_escaped_in_every_listing(old_store):
    listing = ridership("runs", "list", "--runs-db", str(old_store))
    assert listing.returncode == 0, listing.stderr
    assert "\x1b" not in listing.stdout and "\x07" not in listing.stdout
    lines = listing.stdout.splitlines()
    assert len(lines) == 3, lines  # header, the one run, the summary: no forged row
    assert "x\\n99  finished" in lines[1] and "t\\x1b]0;pwned\\x07" in lines[1]

    label = ridership("runs", "label", "1", "--runs-db", str(old_store))  # prints the labels back
    assert label.returncode == 0 and "\x1b" not in label.stdout and len(label.stdout.splitlines()) == 1
    assert "note n\\x1b]0;pwned\\x07\\nnote" in label.stdout

    sweeps = ridership("sweep", "list", "--runs-db", str(old_store))
    assert sweeps.returncode == 0, sweeps.stderr
    assert "\x1b" not in sweeps.stdout and "s\\x1b]0;pwned\\x07\\nforged" in sweeps.stdout
    assert len(sweeps.stdout.splitlines()) == 3  # header, the sweep, the summary

    show = ridership("sweep", "show", f"s{TITLE}\nforged", "--runs-db", str(old_store))
    assert show.returncode == 0, show.stderr
    assert "\x1b" not in show.stdout
    assert show.stdout.splitlines()[0].startswith("sweep s\\x1b]0;pwned\\x07\\nforged: finished")
