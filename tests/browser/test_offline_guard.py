"""The guard every browser test relies on: a watched context reaches 127.0.0.1 only, and a
page that tries the internet is caught (so "no external request" assertions mean something)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.conftest import Watched

pytestmark = pytest.mark.browser


def test_requests_beyond_loopback_are_refused_and_recorded(contexts: Callable[..., Watched]) -> None:
    watched = contexts()
    page = watched.new_page()
    page.set_content('<link rel="stylesheet" href="https://fonts.example/css">'
                     '<img src="http://tracker.example/pixel.gif?u=maria">'
                     '<img src="http://127.0.0.1:9/local.gif">', wait_until="load")
    assert sorted(watched.external) == ["http://tracker.example/pixel.gif?u=maria", "https://fonts.example/css"]


def test_dialogs_are_dismissed_and_recorded(contexts: Callable[..., Watched]) -> None:
    watched = contexts()
    page = watched.new_page()
    page.set_content("<p>hi</p>")
    assert page.evaluate("() => confirm('sure?')") is False
    assert watched.dialogs == ["sure?"]
