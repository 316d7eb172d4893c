"""Runs as people keep them: names, tags, notes and a filter; the list shows preset and lr; diff shows
results beside the settings; `ridership runs` alone lists."""

from __future__ import annotations

import json

from support import small_args

from cli.main import main


def _train(csv, *extra):
    assert main(["train", "--data", str(csv), *small_args(), "--quiet", *extra]) == 0


def test_label_filter_and_the_default_list(synthetic_csv, capsys):
    csv = synthetic_csv()
    _train(csv)
    _train(csv, "--lr", "0.02")
    assert (
        main(
            [
                "runs",
                "label",
                "1",
                "--name",
                "baseline",
                "--tag",
                "paper",
                "--tag",
                "keep",
                "--note",
                "the article's settings",
            ]
        )
        == 0
    )
    assert main(["runs", "label", "1", "--untag", "keep"]) == 0
    capsys.readouterr()
    assert main(["runs"]) == 0  # no subcommand: the list
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:2] == ["id", "name"] and "preset" in header and "lr" in header
    assert "baseline" in out and "0.02" in out and "0.05" in out
    assert main(["runs", "list", "--tag", "paper", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in listed] == [1]
    assert (
        listed[0]["name"] == "baseline"
        and listed[0]["tags"] == ["paper"]
        and listed[0]["note"] == "the article's settings"
    )
    assert main(["runs", "list", "--filter", "BASE", "--json"]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)] == [1]
    assert main(["runs", "label", "1", "--tag", "a,b"]) == 2
    assert "without commas" in capsys.readouterr().err


def test_diff_shows_results_beside_the_settings(synthetic_csv, capsys):
    csv = synthetic_csv()
    _train(csv)
    _train(csv, "--lr", "0.02")
    capsys.readouterr()
    assert main(["runs", "diff", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "lr" in out and "test MAE" in out and "test/naive" in out
    assert main(["runs", "diff", "1", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["differ"]["lr"] == [0.05, 0.02] and len(report["results_riders"]["test_MAE"]) == 2
