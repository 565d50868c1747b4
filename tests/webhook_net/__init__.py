"""A made-up owned network that takes webhooks ("Hook Net"), for the webhook tests: its folder is
this package, registered by ``register`` (one registry line, monkeypatched), until the Instagram
and Facebook networks land.

Its deliveries keep the shape of Meta's Instagram ``comments`` webhook (``object``, ``entry[].id``,
``entry[].time``, ``entry[].changes[].field`` / ``.value`` with ``id``, ``from.id``,
``from.username``, ``text``, ``media.id``): Meta for Developers, Graph API webhooks reference,
Instagram, https://developers.facebook.com/docs/graph-api/webhooks/reference/instagram and
https://developers.facebook.com/docs/instagram-platform/webhooks/examples (ids and text made up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.networks.spec import NetworkSpec
from chalicelib.webhooks.options import WEBHOOK_CREDENTIALS

if TYPE_CHECKING:
    import pytest

SPEC = NetworkSpec(
    name="hooknet",
    label="Hook Net",
    source="tests.webhook_net.source:HookNet",
    emulator="tests.webhook_net.emulator:HookNetAPI",
    credentials=WEBHOOK_CREDENTIALS,
    owned=True,
    webhook="tests.webhook_net.webhook:parse",
)


def register(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one registry line."""
    from chalicelib import networks

    monkeypatch.setitem(networks.NETWORKS, "hooknet", "tests.webhook_net")
