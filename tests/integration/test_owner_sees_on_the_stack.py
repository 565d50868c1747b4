"""What the owner sees on the local stack: a failed reply's page says what to do in words."""

from __future__ import annotations

import html
import re

import pytest

from offline.stack import LocalStack
from tests.integration.test_sms_replies_on_the_stack import Texting, github_alert, posted  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def test_a_reply_whose_token_is_missing_says_run_make_secrets_on_the_page(
    github_alert: Texting, stack: LocalStack, replay  # noqa: F811
) -> None:
    from tests.integration.test_assign_and_mute_thread import FORM, link_in

    text = stack.sent_emails()[0].get_body(("plain",)).get_content()
    path = link_in(text, "Reply")
    page = github_alert.client.http.get(path).body.decode()
    key = re.search(r'name="key" value="([A-Za-z0-9_-]+)"', page).group(1)  # type: ignore[union-attr]
    from aws_lambda_powertools.utilities import parameters

    stack.client("ssm").delete_parameter(Name="/social-listening/test/github-token")
    parameters.clear_caches()  # as a new container would (the Lambda keeps a secret 5 minutes)
    failed = github_alert.client.http.post(path, headers=FORM, body=f"text=Sorry&key={key}")
    body = html.unescape(failed.body.decode())
    assert failed.status_code == 502
    assert "GitHub replies need the token: run `make secrets`, then send the reply again." in body
    assert "SSM parameter" not in body and "github:" not in body
    assert posted(replay) == []
