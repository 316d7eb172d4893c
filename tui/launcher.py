"""The ``ridership`` command: headless subcommands from engine.cli, the app when none is given."""

from __future__ import annotations

import sys


def open_app(data_path: str | None = None, runs_db: str | None = None) -> int:
    from .app import run_app  # textual loads only when the app is really opened

    return run_app(data_path=data_path, runs_db=runs_db)


def main(argv: list[str] | None = None) -> int:
    from engine.cli import main as cli_main

    return cli_main(argv, open_app=open_app)


if __name__ == "__main__":
    sys.exit(main())
