"""`ridership serve`: browser mode from the command line (tui.serve with textual-serve). Nothing is
served here (the listening socket and aiohttp's run_app are replaced by fakes); tests/cli/test_serve_ws.py
and tests/tui/test_browser.py serve for real."""

from __future__ import annotations

import shlex
import sys

import pytest

from cli.main import main


class FakeSocket:
    def __init__(self, port: int) -> None:
        self.port = port

    def getsockname(self):
        return ("127.0.0.1", self.port)


@pytest.fixture
def fake_serving(monkeypatch):
    """What serve() built: (app argv, host, port, options, server) per call; nothing listens."""
    import aiohttp.web

    import tui.serve

    made, real_make = [], tui.serve.make_server

    def make(argv, host, port, **kw):
        server = real_make(argv, host, port, **kw)
        made.append((argv, host, port, kw, server))
        return server

    monkeypatch.setattr(tui.serve, "listen", lambda host, port: FakeSocket(port))
    monkeypatch.setattr(tui.serve, "make_server", make)
    monkeypatch.setattr(aiohttp.web, "run_app", lambda app, **kw: app.close())  # app: a coroutine
    return made


def test_serve_help_lists_its_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["serve", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--data", "--runs-db", "--public-url", "--max-apps", "no-authentication"):
        assert option in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "serve" in capsys.readouterr().out


def test_serve_on_loopback_passes_data_and_store_through_without_a_warning(fake_serving, tmp_path, capsys):
    data, db = tmp_path / "my data.csv", tmp_path / "runs.db"
    assert main(["serve", "--port", "8123", "--data", str(data), "--runs-db", str(db)]) == 0
    [(argv, host, port, options, server)] = fake_serving
    assert (host, port) == ("127.0.0.1", 8123)
    assert argv == [sys.executable, "-m", "tui", "--data", str(data), "--runs-db", str(db)]
    assert options == {"url": None, "max_apps": 4}
    assert server.public_url == "http://127.0.0.1:8123"
    assert server.origins == {"http://127.0.0.1:8123", "http://localhost:8123", "http://[::1]:8123"}
    assert capsys.readouterr().err == ""


def test_the_served_command_quotes_paths():
    from tui.serve import app_command

    assert shlex.split(app_command("/data/my file.csv", "/tmp/runs.db", python="/usr/bin/python3")) == [
        "/usr/bin/python3",
        "-m",
        "tui",
        "--data",
        "/data/my file.csv",
        "--runs-db",
        "/tmp/runs.db",
    ]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_serve_on_another_address_warns_in_one_line(fake_serving, capsys, host):
    assert main(["serve", "--host", host, "--port", "8124"]) == 0
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("warning: textual-serve has no authentication") and f"{host}:8124" in line
    [(_, _, _, _, server)] = fake_serving
    if host in ("0.0.0.0", "::"):  # every address: the page uses the name the browser used
        assert server.public_url == "" and server.origins is None
    else:
        assert server.origins == {"http://192.168.1.20:8124"}


def test_a_public_url_and_a_bound_on_apps_reach_the_server(fake_serving, capsys):
    assert (
        main(
            ["serve", "--host", "0.0.0.0", "--port", "8126", "--public-url", "https://box.example/", "--max-apps", "2"]
        )
        == 0
    )
    [(_, _, _, options, server)] = fake_serving
    assert options == {"url": "https://box.example", "max_apps": 2}
    assert server.public_url == "https://box.example" and server.origins == {"https://box.example"}
    assert server.max_apps == 2


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--port", "0", "port number"),
        ("--port", "70000", "port number"),
        ("--port", "http", "port number"),
        ("--max-apps", "0", "number of app processes 1..64"),
        ("--max-apps", "x", "number of app processes"),
    ],
)
def test_a_bad_port_or_bound_is_a_usage_error(capsys, option, value, words):
    with pytest.raises(SystemExit) as info:
        main(["serve", option, value])
    assert info.value.code == 2
    assert words in capsys.readouterr().err
