"""The CLI trains and resumes through engine.session, like the app (tests/tui has the app half), and
its training options are generated from TrainConfig: a new setting needs no CLI edit."""

from __future__ import annotations

import dataclasses
import math

import pytest
from support import small_args

import engine.session
from cli.main import build_parser, config_from, main
from cli.options import add_config_options, given_settings
from engine.config import TrainConfig, setting
from engine.events import EpochEvent
from engine.session import RunResult


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def _result(self, config, parent_id=None, origin="new") -> RunResult:
        event = EpochEvent(1, config.epochs, 0.05, 0.04, 0.03, config.lr, 0.1, 1, 0.03)
        return RunResult(
            run_id=7,
            status="stopped",
            reason="stopped by the fake",
            config=config,
            device="cpu",
            data_label="fake",
            history=[event],
            best_epoch=1,
            best_valid_mae=30_000.0,
            weights_epoch=0,
            parent_id=parent_id,
            origin=origin,
        )

    def start_run(self, config, data, **kw):
        self.calls.append(("start_run", (config, data), kw))
        return self._result(config)

    def resume_run(self, store, run_id, more, data, **kw):
        self.calls.append(("resume_run", (store, run_id, more, data), kw))
        return self._result(store.get_config(run_id), run_id, "resume")


@pytest.fixture
def recorder(monkeypatch) -> Recorder:
    fake = Recorder()
    monkeypatch.setattr(engine.session, "start_run", fake.start_run)
    monkeypatch.setattr(engine.session, "resume_run", fake.resume_run)
    return fake


def test_train_calls_the_session(recorder, synthetic_csv, capsys):
    code = main(["train", "--data", str(synthetic_csv()), *small_args(), "--lr", "0.02", "--quiet"])
    assert code == 1  # the fake run "stopped" without a model
    ((name, (config, data), kw),) = recorder.calls
    assert name == "start_run" and config.lr == 0.02 and len(data.frame) > 0
    assert kw["store"] is not None and callable(kw["should_stop"])


def test_runs_resume_calls_the_session(synthetic_csv, monkeypatch, capsys):
    csv = str(synthetic_csv())
    assert main(["train", "--data", csv, *small_args(), "--quiet"]) == 0  # a real run to resume
    recorder = Recorder()
    monkeypatch.setattr(engine.session, "start_run", recorder.start_run)
    monkeypatch.setattr(engine.session, "resume_run", recorder.resume_run)
    main(["runs", "resume", "1", "--more", "2", "--quiet"])
    ((name, (store, run_id, more, data), kw),) = recorder.calls
    assert (name, run_id, more) == ("resume_run", 1, 2) and callable(kw["should_stop"])


@dataclasses.dataclass(frozen=True)
class WithDropout(TrainConfig):
    dropout: float = setting(0.0, "dropout between the LSTM and the output", None)
    scheduler: str = setting("plateau", "learning-rate schedule", ("plateau", "cosine"))


def test_a_new_setting_becomes_an_option_with_no_other_edit(monkeypatch):
    import argparse

    import cli.options

    monkeypatch.setattr(cli.options, "TrainConfig", WithDropout)
    monkeypatch.setattr(cli.options, "DEFAULTS", WithDropout())
    monkeypatch.setattr(cli.options, "STARTS", WithDropout())  # the default preset's values, shown in the help
    parser = argparse.ArgumentParser()
    add_config_options(parser)
    args = parser.parse_args(["--dropout", "0.25", "--scheduler", "cosine", "--hidden-size", "16"])
    assert given_settings(args) == {"dropout": 0.25, "scheduler": "cosine", "hidden_size": 16}
    assert "dropout between the LSTM" in parser.format_help()
    with pytest.raises(SystemExit):
        parser.parse_args(["--scheduler", "linear"])  # choices come from the field's metadata


def test_every_trainconfig_field_is_a_train_option():
    parser = build_parser()
    args = parser.parse_args(["train"])
    for f in dataclasses.fields(TrainConfig):
        assert hasattr(args, f.name), f.name
    help_text = parser._subparsers._group_actions[0].choices["train"].format_help()
    for f in dataclasses.fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in help_text
    assert config_from(parser.parse_args(["train", "--restore-best"])).restore_best is True
    assert not math.isnan(config_from(parser.parse_args(["train"])).lr)
