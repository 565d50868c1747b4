"""The payload time readers every connector shares (chalicelib/sources/base.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.sources.base import BadPayload, payload_time, zoned_time


def test_zoned_time_reads_an_offset_time_as_utc_and_nothing_else() -> None:
    assert zoned_time("2025-11-24T17:00:00+02:00") == dt.datetime(2025, 11, 24, 15, 0, tzinfo=dt.UTC)
    assert zoned_time("2025-11-24T15:00:00.123Z") == dt.datetime(2025, 11, 24, 15, 0, 0, 123000, tzinfo=dt.UTC)
    assert zoned_time("2025-11-24T15:00:00") is None  # no offset: which zone is unknown
    assert zoned_time("yesterday") is None
    assert zoned_time(1732460400) is None
    assert zoned_time(None) is None
    assert zoned_time("9999-12-31T23:59:59-01:00") is None  # in UTC past year 9999


def test_payload_time_gives_unix_seconds_or_says_what_is_wrong() -> None:
    assert payload_time("devto", "2025-11-24T15:00:00Z", "x") == 1_763_996_400.0
    for bad in ("2025-11-24T15:00:00", "not a time", 5, "2300-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
                "9999-12-31T23:59:59-01:00"):
        with pytest.raises(BadPayload) as raised:
            payload_time("devto", bad, "items[2].published_at is not an ISO time with a zone")
        assert (raised.value.network, raised.value.message) == (
            "devto", "items[2].published_at is not an ISO time with a zone")
