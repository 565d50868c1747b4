"""The inbox's routes through the API on the local stack: without a session every inbox path
answers 303 to the sign-in form with itself as ``next`` (the inbox's own address shows the form),
a bulk POST is refused; signed in, the pages answer as the API function."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from chalice.test import Client

from chalicelib.store import Store
from chalicelib.web.inbox import encode_key
from offline.stack import LocalStack
from tests.integration.test_sessions_sign_in import FORM, client, sign_in  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/in/rules", "/in/health", "/in/deliveries", f"/in/m/{encode_key('hackernews#1')}",
                                  "/in?state=open&q=bean"])
def test_an_inbox_path_without_a_session_leads_to_sign_in_and_back(client: Client, path: str) -> None:  # noqa: F811
    response = client.http.get(path)
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/in/sign-in"
    back = parse_qs(location.query)["next"][0]
    assert back == path.replace("/in?", "/in/?").replace("state=open&q=bean", "q=bean&state=open")
    form = client.http.get(response.headers["Location"]).body.decode()
    assert f'name="next" value="{back.replace("&", "&amp;")}"' in form


def test_the_inbox_itself_without_a_session_is_the_sign_in_form_and_a_bulk_post_is_refused(
        client: Client, store: Store) -> None:  # noqa: F811
    assert 'name="address"' in client.http.get("/in").body.decode()
    refused = client.http.post("/in/bulk", headers=FORM, body=f"action=handled&m={encode_key('hackernews#1')}")
    assert refused.status_code == 403


def test_signed_in_the_pages_answer(client: Client, stack: LocalStack) -> None:  # noqa: F811
    cookie = sign_in(client, stack)
    for path in ("/in", "/in/rules", "/in/health", "/in/deliveries"):
        page = client.http.get(path, headers={"Cookie": cookie})
        assert page.status_code == 200, path
        assert "Signed in as Maria" in page.body.decode()
    bad = client.http.get("/in?state=finished", headers={"Cookie": cookie})
    assert bad.status_code == 400 and "state: &#39;finished&#39; is not one of" in bad.body.decode()
    gone = client.http.get(f"/in/m/{encode_key('hackernews#404')}", headers={"Cookie": cookie})
    assert gone.status_code == 404
