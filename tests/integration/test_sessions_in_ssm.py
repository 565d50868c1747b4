"""Network session tokens live in SSM SecureString, never in the table (issue 14, finding 6): a
cycle that signs in to Bluesky and Reddit leaves no token in a table export."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chalicelib.credentials import MOVED
from chalicelib.networks.bluesky.emulator import post_view
from chalicelib.networks.reddit.emulator import post
from chalicelib.store import Store
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import make_config
from tests.integration.test_pipeline import Clock, pipeline_for

pytestmark = pytest.mark.integration
SECRETS = {
    "bluesky-handle": "beanthere.bsky.social", "bluesky-app-password": "abcd-efgh-ijkl-mnop",
    "reddit-client-id": "app-client-id", "reddit-client-secret": "app-client-secret",
    "reddit-username": "beanthere", "reddit-password": "hunter2",
}
SESSIONS = "/social-listening/test/sessions/"  # beside the test stage's signing key


def table_export(stack: LocalStack, table: str) -> str:
    client = stack.client("dynamodb")
    items, request = [], {"TableName": table}
    while True:
        page = client.scan(**request)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return json.dumps(items)
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_cycle_keeps_the_bluesky_and_reddit_sessions_in_ssm_only(
    stack: LocalStack, store: Store, table: str, replay: ReplayServer, tmp_path: Path
) -> None:
    ssm = stack.client("ssm")
    for name, value in SECRETS.items():
        ssm.put_parameter(Name=f"/social-listening/test/{name}", Value=value, Type="SecureString", Overwrite=True)
    store.put_state("bluesky", "session", {"accessJwt": "old-plain-access", "refreshJwt": "old-plain-refresh",
                                           "did": "did:plc:x", "handle": "beanthere.bsky.social"})
    now = int(time.time())
    replay.add_items("bluesky", [post_view(now - 60, "Bean There has lovely pastries")])
    replay.add_items("reddit", [post(1, now - 60, "Bean There is my favourite cafe")])
    networks = (f"  bluesky:\n    base_url: {replay.base_url('bluesky')}\n"
                "    handle_parameter: /social-listening/test/bluesky-handle\n"
                "    app_password_parameter: /social-listening/test/bluesky-app-password\n"
                f"  reddit:\n    base_url: {replay.base_url('reddit')}\n"
                f"    auth_base_url: {replay.base_url('reddit')}\n"
                "    client_id_parameter: /social-listening/test/reddit-client-id\n"
                "    client_secret_parameter: /social-listening/test/reddit-client-secret\n"
                "    username_parameter: /social-listening/test/reddit-username\n"
                "    password_parameter: /social-listening/test/reddit-password\n"
                "    user_agent: 'web:beanthere-listening:0.1 (by /u/beanthere)'\n"
                "    subreddits: [lisbon]\n")
    config = make_config(replay, tmp_path, networks=networks)
    report = pipeline_for(config, store, Clock()).run_cycle()
    assert report.errors == {}, report.errors
    assert report.fetched["bluesky"] > 0 and report.fetched["reddit"] > 0  # both signed in and searched
    session = json.loads(ssm.get_parameter(Name=f"{SESSIONS}bluesky-session", WithDecryption=True)
                         ["Parameter"]["Value"])
    oauth = json.loads(ssm.get_parameter(Name=f"{SESSIONS}reddit-oauth", WithDecryption=True)["Parameter"]["Value"])
    kinds = {p["Name"]: p["Type"] for p in ssm.describe_parameters()["Parameters"]}
    assert kinds[f"{SESSIONS}bluesky-session"] == kinds[f"{SESSIONS}reddit-oauth"] == "SecureString"
    export = table_export(stack, table)
    for secret in (session["accessJwt"], session["refreshJwt"], oauth["access_token"], "old-plain-access",
                   "old-plain-refresh", *SECRETS.values()):
        assert secret not in export
    assert store.get_state("bluesky", "session") == MOVED  # the plain copy of before is overwritten
