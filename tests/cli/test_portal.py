"""`ridership data --update` against a SODA server on 127.0.0.1 (tests/fake_portal.py), through the CLI
in a subprocess: paging, updates with new and revised days, the failures (cut page, 429, 500s,
time-out, oversize answer, malformed row), the token, and SIGKILL mid-update."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import date, timedelta
from pathlib import Path

import forked_cli
import pandas as pd
import pytest
from fake_portal import FakePortal, revised, table
from support import csv_rows, ridership, write_csv

from engine.data.portal import portal_csv, provenance_path
from engine.data.sources import cached_csv, load_path

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
SNAPSHOT_LAST = "2021-11-30"
TOKEN = "s3cr3t-app-token-4242"


@pytest.fixture(autouse=True)
def _fast_portal(monkeypatch):
    monkeypatch.setenv("RIDERSHIP_PORTAL_TIMEOUT", "0.5")
    monkeypatch.setenv("RIDERSHIP_PORTAL_BACKOFF", "0.01")
    monkeypatch.setenv("RIDERSHIP_PORTAL_PAGE_ROWS", "1000")
    monkeypatch.delenv("RIDERSHIP_SODA_TOKEN", raising=False)
    monkeypatch.delenv("RIDERSHIP_PORTAL", raising=False)


def cli(*argv, timeout: float = 120) -> subprocess.CompletedProcess:
    return ridership(*argv, timeout=timeout)


def snapshot() -> Path:
    """The 2021 snapshot in the cache (what --download leaves there), synthetic rows."""
    from engine.data.synthetic import synthetic_frame

    path = cached_csv()
    path.parent.mkdir(parents=True, exist_ok=True)
    # a prefix of the server's series (the synthetic noise depends on the series' length)
    return write_csv(path, csv_rows(synthetic_frame("2017-12-01", YESTERDAY).loc[:SNAPSHOT_LAST]))


def test_the_first_update_reads_the_whole_table_in_pages_and_becomes_the_data():
    rows = table("2019-01-01", YESTERDAY)
    with FakePortal(rows) as portal:
        done = cli("data", "--update", "--portal", portal.url)
    assert done.returncode == 0, done.stderr
    pages = [r["query"] for r in portal.requests]
    assert [int(q["$offset"]) for q in pages] == list(range(0, len(rows) + 1, 1000))
    assert all(q["$order"] == "service_date" and q["$limit"] == "1000" and "$where" not in q for q in pages)
    line = done.stdout.splitlines()[0]
    assert line.endswith(f"{len(rows)} new days, 0 revised; last day {YESTERDAY} (yesterday)"), line
    data = load_path(portal_csv())
    assert len(data.frame) == len(rows) and f"{data.last_date:%Y-%m-%d}" == YESTERDAY
    made = json.loads(provenance_path().read_text())
    assert made["source"] == f"{portal.url}/resource/6iiy-9s97.json" and made["last_day"] == YESTERDAY
    shown = cli("data", "--json")
    summary = json.loads(shown.stdout)
    assert summary["source"] == "portal" and summary["last_date"] == YESTERDAY and summary["age_days"] == 1


def test_an_update_from_the_snapshot_brings_new_and_revised_days_and_forecast_follows(tmp_path, small_config):
    snapshot()
    model = tmp_path / "m.pt"
    from support import small_args

    trained = cli(
        "train",
        "--data",
        cached_csv(),
        *small_args(small_config),
        "--epochs",
        "1",
        "--save",
        model,
        "--no-record",
        "--quiet",
    )
    assert trained.returncode == 0, trained.stderr
    before = load_path(cached_csv()).frame
    rows = revised(table("2017-12-01", YESTERDAY), "2021-11-20", "bus", 5000)
    rows = revised(rows, "2021-11-25", "rail_boardings", -700)
    with FakePortal(rows) as portal:
        done = cli("data", "--update", "--portal", portal.url)
    assert done.returncode == 0, done.stderr
    (query,) = {r["query"]["$where"] for r in portal.requests}
    assert query == "service_date > '2021-10-26T00:00:00.000'"  # the last 35 days again
    new = (date.fromisoformat(YESTERDAY) - date.fromisoformat(SNAPSHOT_LAST)).days
    old_bus = int(before.at[pd.Timestamp("2021-11-20"), "bus"])
    assert (
        f"{new} new days, 2 revised (largest: bus on 2021-11-20, {old_bus:,} -> {old_bus + 5000:,}); "
        f"last day {YESTERDAY} (yesterday)"
    ) in done.stdout
    data = load_path(portal_csv())
    assert data.frame.at[pd.Timestamp("2021-11-20"), "bus"] == old_bus + 5000
    assert data.frame.loc[:"2021-10-26"].equals(before.loc[:"2021-10-26"])  # older days as they were
    forecast = cli("forecast", "--model", model)
    assert forecast.returncode == 0, forecast.stderr
    after = date.fromisoformat(YESTERDAY) + timedelta(days=1)  # the day after the server's last day
    assert forecast.stdout.startswith(f"Forecast for {after.isoformat()}"), forecast.stdout
    assert "not tomorrow" not in forecast.stdout
    # the live score: the model on the days after its test split (SMALL's ends 2018-10-31), a 1-epoch
    # model worse than naive there, with the offer to train on splits moved forward
    seen = (date.fromisoformat(YESTERDAY) - date(2018, 10, 31)).days
    assert f"  on the {seen:,} days since 2018-10-31 (never seen in training): model " in forecast.stdout
    assert (
        "  warning: since 2018-10-31 this model does worse than repeating last week; do not plan with it "
        "(train it again on splits moved forward: F in the app)"
    ) in forecast.stdout
    live = json.loads(cli("forecast", "--model", model, "--json", "--no-record").stdout)["live"]
    assert live["days"] == seen and live["score"]["ratio"] > 1 and live["worse_than_naive"] is True


def test_a_page_cut_short_is_read_again():
    rows = table("2019-01-01", "2021-12-31")
    with FakePortal(rows) as portal:
        portal.script = [("cut",)]
        done = cli("data", "--update", "--portal", portal.url)
    assert done.returncode == 0, done.stderr
    assert [int(r["query"]["$offset"]) for r in portal.requests][:2] == [0, 0]
    assert len(load_path(portal_csv()).frame) == len(rows)


def test_429_with_retry_after_is_honoured_then_the_update_goes_through():
    rows = table("2021-01-01", "2021-12-31")
    with FakePortal(rows) as portal:
        portal.script = [("status", 429, {"Retry-After": "1"})]
        done = cli("data", "--update", "--portal", portal.url)
    assert done.returncode == 0, done.stderr
    first, second = portal.requests[:2]
    assert second["at"] - first["at"] >= 0.9  # Retry-After: 1, not the 0.01 s backoff
    assert len(load_path(portal_csv()).frame) == len(rows)


def test_two_500s_then_success():
    rows = table("2021-01-01", "2021-12-31")
    with FakePortal(rows) as portal:
        portal.script = [("status", 500), ("status", 503)]
        done = cli("data", "--update", "--portal", portal.url)
    assert done.returncode == 0, done.stderr
    assert [int(r["query"]["$offset"]) for r in portal.requests][:3] == [0, 0, 0]
    assert f"{len(rows)} new days" in done.stdout


def _unchanged(before: bytes) -> None:
    assert cached_csv().read_bytes() == before
    assert not portal_csv().exists() and not provenance_path().exists()
    assert not portal_csv().parent.exists() or not list(portal_csv().parent.glob(".portal-*"))


def test_a_server_that_never_answers_times_out_with_one_line_and_nothing_changed():
    before = snapshot().read_bytes()
    with FakePortal([]) as portal:
        portal.script = [("hang",)] * 10
        done = cli("data", "--update", "--portal", portal.url)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()[-1:]
    assert line == (
        f"ridership: error: could not reach {portal.url}/resource/6iiy-9s97.json (timed out); "
        f"your data is unchanged (last day {SNAPSHOT_LAST})"
    ), done.stderr
    assert "Traceback" not in done.stderr
    _unchanged(before)


def test_an_answer_larger_than_the_cap_is_refused(monkeypatch):
    monkeypatch.setenv("RIDERSHIP_PORTAL_MAX_BYTES", "1000000")
    before = snapshot().read_bytes()
    with FakePortal([]) as portal:
        portal.script = [("huge",)]
        done = cli("data", "--update", "--portal", portal.url)
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "an answer larger than 1,000,000 bytes was refused (expected a page of "
        f"daily rows); your data is unchanged (last day {SNAPSHOT_LAST})"
    )
    _unchanged(before)


def test_a_malformed_row_is_refused_naming_date_field_and_value_and_nothing_changes():
    before = snapshot().read_bytes()
    rows = table("2019-01-01", "2022-01-31")
    bad = next(r for r in rows if r["service_date"].startswith("2021-12-15"))
    bad["rail_boardings"] = "12x4"
    with FakePortal(rows) as portal:
        done = cli("data", "--update", "--portal", portal.url)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()[-1:]
    assert "the row for 2021-12-15, field rail_boardings: '12x4' is not a number" in line, done.stderr
    assert line.endswith(f"the update was refused and your data is unchanged (last day {SNAPSHOT_LAST})")
    _unchanged(before)


def test_the_token_travels_only_as_a_header(monkeypatch):
    monkeypatch.setenv("RIDERSHIP_SODA_TOKEN", TOKEN)
    rows = table("2021-01-01", "2021-12-31")
    with FakePortal(rows) as portal:
        ok = cli("data", "--update", "--portal", portal.url)
        portal.script = [("status", 500)] * 10
        failed = cli("data", "--update", "--portal", portal.url)
    assert ok.returncode == 0 and failed.returncode == 2
    assert all(r["headers"].get("X-App-Token") == TOKEN for r in portal.requests)
    assert all(TOKEN not in json.dumps(r["query"]) and TOKEN not in r["path"] for r in portal.requests)
    for text in (
        ok.stdout,
        ok.stderr,
        failed.stdout,
        failed.stderr,
        provenance_path().read_text(),
        portal_csv().read_text(),
    ):
        assert TOKEN not in text
    assert "HTTP 500" in failed.stderr


def test_sigkill_mid_update_leaves_the_data_as_it_was():
    rows = table("2019-01-01", "2021-12-31")
    with FakePortal(rows) as portal:
        assert cli("data", "--update", "--portal", portal.url).returncode == 0
    before, made = portal_csv().read_bytes(), provenance_path().read_bytes()
    longer = table("2019-01-01", YESTERDAY)
    os.environ["RIDERSHIP_PORTAL_PAGE_ROWS"] = "500"  # restored by the autouse fixture's monkeypatch
    with FakePortal(longer) as portal:
        portal.hold_at = 1000  # the third page waits: pages 1 and 2 have been served
        proc = forked_cli.popen(
            ["data", "--update", "--portal", portal.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=os.environ.copy(),
        )
        try:
            assert portal.holding.wait(60), "the update never asked for page 3"
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        assert [int(r["query"]["$offset"]) for r in portal.requests] == [0, 500, 1000]
    assert portal_csv().read_bytes() == before and provenance_path().read_bytes() == made
    assert not list(portal_csv().parent.glob(".portal-*"))
    with FakePortal(longer) as portal:  # and the next update goes through
        again = cli("data", "--update", "--portal", portal.url)
    assert again.returncode == 0, again.stderr
    assert f"last day {YESTERDAY}" in again.stdout


def test_portal_address_must_be_http():
    done = cli("data", "--update", "--portal", "ftp://example.org")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "ridership: error: portal 'ftp://example.org' is not an http(s) address "
        "(expected e.g. https://data.cityofchicago.org)"
    )
