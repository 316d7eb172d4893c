"""A named pipe or /dev/zero where the CLI expects a file (issue 24, hangs): `sweep --space` refuses
both, `--data` refuses a device, in one line, exit 2, at once, instead of blocking on the pipe or
reading zeros forever. Each command runs under a timeout: a hang fails the test."""

from __future__ import annotations

import os

import pytest
from support import ridership


@pytest.fixture(params=["fifo", "dev-zero"])
def not_a_file(request, tmp_path):
    if request.param == "dev-zero":
        return "/dev/zero", "a device"
    fifo = tmp_path / "space.toml"
    os.mkfifo(fifo)
    return str(fifo), "a named pipe"


def test_sweep_space_refuses_what_is_not_a_file(not_a_file, tmp_path):
    path, kind = not_a_file
    result = ridership("sweep", "--name", "s", "--space", path, "--runs-db", str(tmp_path / "runs.db"))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert f"--space {path}: is {kind}" in line and "expected a TOML space file" in line


def test_data_refuses_a_device():
    # (A named pipe is read: `cat data.csv | ridership train --data /dev/stdin` is documented.)
    path, kind = "/dev/zero", "a device"
    result = ridership("data", "--data", path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert f"{path}: is {kind}" in line and "expected a CSV file or a .tgz archive" in line
