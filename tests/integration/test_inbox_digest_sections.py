"""Every digest section's inbox link lists exactly its mentions on DynamoDB Local too (issue 18): the
same mentions and checks as the in-memory twin's (tests/unit/web/test_inbox_digest_links.py), read
through the ``inbox`` index."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.store import Store
from offline.stack import LocalStack
from tests.builders import FakeClock
from tests.unit.web.test_inbox_digest_links import check_sections


@pytest.mark.parametrize("weekly", [False, True], ids=["daily", "weekly"])
def test_every_digest_section_links_to_exactly_its_mentions_on_dynamodb(stack: LocalStack, weekly: bool) -> None:
    name = f"sections-{uuid.uuid4().hex[:12]}"
    stack.create_table(name)
    clock = FakeClock()
    try:
        check_sections(Store(stack.client("dynamodb"), name, clock=clock), clock, weekly=weekly)
    finally:
        stack.client("dynamodb").delete_table(TableName=name)
