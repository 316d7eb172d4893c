"""engine.data.portal.Client against the local SODA server, with its sleep recorded: the waits it
chooses (Retry-After, capped; backoff doubling) and the pages it asks for."""

from __future__ import annotations

import pytest
from fake_portal import FakePortal, table

from engine.data.portal import Client, PortalUnreachable


def client(url: str, waits: list, **kw) -> Client:
    return Client(base=url, timeout=2, page_rows=100, backoff=0.5, max_wait=7, sleep=waits.append, **kw)


def test_retry_after_is_honoured_and_capped_and_backoff_doubles():
    rows = table("2021-01-01", "2021-03-31")
    with FakePortal(rows) as portal:
        portal.script = [
            ("status", 429, {"Retry-After": "3"}),
            ("status", 429, {"Retry-After": "3600"}),
            ("status", 502),
            ("status", 500),
        ]
        waits: list = []
        got = client(portal.url, waits).fetch()
    assert waits == [3.0, 7, 0.5 * 2**2, 0.5 * 2**3]  # attempts 0..3: Retry-After, capped, then backoff
    assert got == rows


def test_errors_past_the_retries_and_a_404_are_one_line():
    with FakePortal([]) as portal:
        portal.script = [("status", 503)] * 3
        waits: list = []
        with pytest.raises(PortalUnreachable, match=r"^the portal answered HTTP 503"):
            client(portal.url, waits, retries=2).fetch()
        assert len(waits) == 2
        with pytest.raises(PortalUnreachable, match=r"^the portal answered HTTP 404"):
            Client(base=portal.url + "/nothing-here", sleep=waits.append).fetch()  # not retried
        assert len(waits) == 2
