"""The tests' `ridership` commands are forked from a server that has imported the engine
(tests/forked_cli.py): the same commands through the installed `ridership` script, in a fresh
interpreter, answer the same, byte for byte, with the same exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import SMALL, csv_rows, ridership, small_args, write_csv

from engine.data.synthetic import synthetic_frame


def fresh(*args, env: dict) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("ridership")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "cli"]
    return subprocess.run([*command, *map(str, args)], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("both-ways")
    write_csv(folder / "ridership.csv", csv_rows(synthetic_frame("2015-10-01", "2018-10-31")))
    return folder


def test_the_same_commands_answer_the_same_forked_and_fresh(folder):
    env = {**os.environ, "RIDERSHIP_HOME": str(folder / "home"), "RIDERSHIP_CACHE": str(folder / "cache")}
    csv, model = folder / "ridership.csv", folder / "m.pt"
    train = ["train", "--data", csv, *small_args(SMALL.replace(train_start="2016-01")), "--quiet", "--no-record"]
    assert ridership(*train, "--save", model, env=env).returncode == 0
    commands = [
        ["--help"],
        ["forecast", "--bogus"],  # a usage error: exit 2
        ["data", "--data", csv],
        ["data", "--data", folder / "missing.csv"],  # one line naming the file: exit 2
        ["forecast", "--data", csv, "--model", model, "--days", "3", "--json"],
        ["evaluate", "--data", csv, "--model", model],
    ]
    codes = set()
    for args in commands:
        forked, real = ridership(*args, env=env), fresh(*args, env=env)
        assert (forked.returncode, forked.stdout, forked.stderr) == (real.returncode, real.stdout, real.stderr), args
        assert "Traceback" not in forked.stderr
        codes.add(forked.returncode)
    assert codes == {0, 2}
