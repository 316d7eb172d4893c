"""``python -m tui [--data PATH] [--runs-db PATH]``: the app alone (browser mode runs this), without
the command line's subcommands; ``ridership`` (cli/main.py) is the full command."""

import argparse

from engine.exit import exit_now

from .app import run_app

parser = argparse.ArgumentParser(prog="python -m tui", description="The Ridership app.")
parser.add_argument("--data", metavar="PATH", help="data file (CSV or .tgz)")
parser.add_argument("--runs-db", metavar="PATH", help="run store database")
args = parser.parse_args()
exit_now(run_app(data_path=args.data, runs_db=args.runs_db))  # without Python's 1 s teardown
