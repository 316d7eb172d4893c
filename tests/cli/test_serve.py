"""`ridership serve`: browser mode from the command line (tui.serve with textual-serve). The server
itself is replaced by a fake here (no port is opened); tests/tui/test_browser.py serves for real."""

from __future__ import annotations

import shlex
import sys

import pytest

from cli.main import main


class FakeServer:
    made: list["FakeServer"] = []

    def __init__(self, command, host, port, title, public_url):
        self.command, self.host, self.port, self.public_url = command, host, port, public_url
        self.served = False
        FakeServer.made.append(self)

    def serve(self):
        self.served = True


@pytest.fixture
def fake_server(monkeypatch):
    import textual_serve.server

    FakeServer.made = []
    monkeypatch.setattr(textual_serve.server, "Server", FakeServer)
    return FakeServer.made


def test_serve_help_lists_its_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["serve", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--data", "--runs-db", "no-authentication"):
        assert option in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "serve" in capsys.readouterr().out


def test_serve_on_loopback_passes_data_and_store_through_without_a_warning(fake_server, tmp_path, capsys):
    data, db = tmp_path / "my data.csv", tmp_path / "runs.db"
    assert main(["serve", "--port", "8123", "--data", str(data), "--runs-db", str(db)]) == 0
    [server] = fake_server
    assert server.served and (server.host, server.port) == ("127.0.0.1", 8123)
    assert shlex.split(server.command) == [sys.executable, "-m", "tui", "--data", str(data), "--runs-db", str(db)]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_serve_on_another_address_warns_in_one_line(fake_server, capsys, host):
    assert main(["serve", "--host", host, "--port", "8124"]) == 0
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("warning: textual-serve has no authentication") and f"{host}:8124" in line
    assert fake_server[0].served


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_a_bad_port_is_a_usage_error(capsys, port):
    with pytest.raises(SystemExit) as info:
        main(["serve", "--port", port])
    assert info.value.code == 2
    assert "port number" in capsys.readouterr().err


def test_a_port_in_use_is_one_line_exit_1(monkeypatch, capsys):
    import textual_serve.server

    class Busy(FakeServer):
        def serve(self):
            raise OSError(98, "Address already in use")

    monkeypatch.setattr(textual_serve.server, "Server", Busy)
    assert main(["serve", "--port", "8125"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "cannot listen on 127.0.0.1:8125: Address already in use" in line
