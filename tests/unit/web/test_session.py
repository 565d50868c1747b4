"""Signing in to the inbox (chalicelib.web.session) on the in-memory store and a fake clock:
magic links (single use, 15 minutes, same answer for everyone, rate-limited), sessions (cookie,
absolute and idle expiry, sign-out, sign-out everywhere) and CSRF."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from chalicelib.web.pages import Page
from chalicelib.web.session import (
    ADDRESS_REQUESTS,
    COOKIE_NAME,
    IDLE_SECONDS,
    IP_REQUESTS,
    LINK_SECONDS,
    REFRESH_SECONDS,
    SESSION_SECONDS,
    WINDOW_SECONDS,
    Sessions,
    csrf_field,
    safe_next,
)
from tests.builders import CONFIG, FakeClock, RecordingStore, config

BASE = "https://listen.beanthere.example"
RECIPIENTS = [
    CONFIG["recipients"][0],
    {"name": "Joao", "email": "Joao.Silva@BeanThere.example"},
    {"name": "Rui", "phone": "+351 912 345 679"},
]


class Mailer:
    """The email channel's ``send_message``, recorded (``refuse``: raise instead)."""

    business = "Bean There Café"
    from_address = "alerts@beanthere.example"

    def __init__(self, refuse: Exception | None = None) -> None:
        self.sent: list[tuple[EmailMessage, str]] = []
        self.refuse = refuse

    def send_message(self, message: EmailMessage, to: str) -> str:
        if self.refuse is not None:
            raise self.refuse
        self.sent.append((message, to))
        return f"ses-{len(self.sent)}"

    def links(self) -> list[str]:
        return [re.findall(rf"{re.escape(BASE)}/in/link/\S+", str(m.get_content()))[0] for m, _ in self.sent]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> RecordingStore:
    return RecordingStore(clock=clock)


@pytest.fixture
def mailer() -> Mailer:
    return Mailer()


@pytest.fixture
def sessions(store: RecordingStore, mailer: Mailer, clock: FakeClock) -> Sessions:
    listen = config(recipients=RECIPIENTS, alerts={**CONFIG["alerts"], "action_base_url": BASE})
    return Sessions(listen, store, email=mailer, clock=clock)


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def cookie_header(set_cookie: str) -> dict[str, str]:
    return {"Cookie": set_cookie.split(";", 1)[0]}


def sign_in(sessions: Sessions, mailer: Mailer, address: str = "maria@beanthere.example",
            next_path: str = "") -> tuple[Page, str]:
    sessions.request_link(address, "192.0.2.1", next_path=next_path)
    page, cookie = sessions.consume_link(token_of(mailer.links()[-1]), b"")
    assert cookie is not None
    return page, cookie


# --- the link -----------------------------------------------------------------------------

def test_a_recipient_gets_one_link_that_signs_in_once(sessions: Sessions, mailer: Mailer, clock: FakeClock) -> None:
    page = sessions.request_link(" Maria@BeanThere.example ", "192.0.2.1")
    assert page.status == 200 and "a sign-in link is on its way" in page.body
    ((message, to),) = mailer.sent
    assert to == "maria@beanthere.example"
    assert message["To"] == "Maria <maria@beanthere.example>"
    assert message["Subject"] == "Sign in to the Bean There Café inbox"
    assert message["Date"]
    (link,) = mailer.links()
    assert re.fullmatch(rf"{re.escape(BASE)}/in/link/[A-Za-z0-9_-]{{43}}", link)

    opened = sessions.link_page(token_of(link))  # a GET (a mail scanner) changes nothing
    assert opened.status == 200 and 'method="post"' in opened.body and "Sign in" in opened.body
    assert sessions.link_page(token_of(link)).status == 200

    page, cookie = sessions.consume_link(token_of(link), b"")
    assert page.status == 303 and page.headers["Location"] == "/in/"
    assert cookie is not None
    assert re.fullmatch(rf"{COOKIE_NAME}=[A-Za-z0-9_-]{{43}}; Path=/; Secure; HttpOnly; SameSite=Lax; "
                        rf"Max-Age={SESSION_SECONDS}", cookie)
    viewer = sessions.viewer(cookie_header(cookie))
    assert viewer is not None and (viewer.address, viewer.name) == ("maria@beanthere.example", "Maria")

    again, no_cookie = sessions.consume_link(token_of(link), b"")  # single use
    assert (again.status, no_cookie) == (403, None)
    assert sessions.link_page(token_of(link)).status == 403


def test_a_link_older_than_15_minutes_is_refused(sessions: Sessions, mailer: Mailer, clock: FakeClock) -> None:
    sessions.request_link("maria@beanthere.example", "192.0.2.1")
    clock.advance(LINK_SECONDS)
    token = token_of(mailer.links()[0])
    assert sessions.link_page(token).status == 403
    page, cookie = sessions.consume_link(token, b"")
    assert (page.status, cookie) == (403, None)


def test_only_a_hash_of_the_token_and_of_the_session_id_is_stored(sessions: Sessions, mailer: Mailer,
                                                                   store: RecordingStore) -> None:
    _, cookie = sign_in(sessions, mailer)
    token, session_id = token_of(mailer.links()[0]), cookie.split(";")[0].split("=", 1)[1]
    written = repr(store.writes) + repr(store._links) + repr(store._sessions)
    assert token not in written and session_id not in written


def test_a_forged_or_malformed_token_is_refused(sessions: Sessions) -> None:
    for token in ("x" * 43, "short", "<script>", "a" * 500):
        assert sessions.link_page(token).status == 403
        page, cookie = sessions.consume_link(token, b"")
        assert (page.status, cookie) == (403, None)


def test_unknown_and_phone_only_addresses_get_the_same_page_and_no_email(sessions: Sessions,
                                                                         mailer: Mailer) -> None:
    known = sessions.request_link("maria@beanthere.example", "192.0.2.1")
    unknown = sessions.request_link("maria@beanthere.example.evil", "192.0.2.1")
    assert len(mailer.sent) == 1
    assert unknown.status == known.status == 200
    assert unknown.body == known.body.replace("maria@beanthere.example", "maria@beanthere.example.evil")


def test_no_link_goes_to_an_address_that_bounced_or_complained_but_one_that_unsubscribed_from_alerts_gets_it(
        sessions: Sessions, mailer: Mailer, store: RecordingStore, caplog: pytest.LogCaptureFixture) -> None:
    store.suppress("maria@beanthere.example", "bounced")
    store.suppress("joao.silva@beanthere.example", "unsubscribed")
    bounced = sessions.request_link("maria@beanthere.example", "192.0.2.1")
    unsubscribed = sessions.request_link("joao.silva@beanthere.example", "192.0.2.1")
    assert bounced.status == unsubscribed.status == 200
    assert [to for _, to in mailer.sent] == ["Joao.Silva@BeanThere.example"]
    assert "sign-in link not sent to Maria: their address bounced" in caplog.text
    store.suppress("maria@beanthere.example", "complained")
    sessions.request_link("maria@beanthere.example", "192.0.2.1")
    assert len(mailer.sent) == 1


def test_a_casefolded_address_matches_its_recipient(sessions: Sessions, mailer: Mailer) -> None:
    _, cookie = sign_in(sessions, mailer, "joao.silva@beanthere.example")
    assert mailer.sent[0][1] == "Joao.Silva@BeanThere.example"
    viewer = sessions.viewer(cookie_header(cookie))
    assert viewer is not None and (viewer.address, viewer.name) == ("joao.silva@beanthere.example", "Joao")


def test_a_malformed_address_is_asked_again_and_counts_nothing(sessions: Sessions, store: RecordingStore,
                                                               clock: FakeClock, mailer: Mailer) -> None:
    for address in ("not an address\r\nBcc: x@y.example", "maria@beanthere.example\r\nBcc: x@y.example", "",
                    "a" * 250 + "@beanthere.example"):
        page = sessions.request_link(address, "192.0.2.1")
        assert page.status == 400 and "Enter an email address" in page.body
    assert mailer.sent == [] and requests_counted(store, clock) == (1, 1)


def test_the_sixth_request_in_the_window_is_answered_the_same_but_sends_nothing(
        sessions: Sessions, mailer: Mailer, clock: FakeClock) -> None:
    pages = [sessions.request_link("maria@beanthere.example", f"192.0.2.{i}") for i in range(ADDRESS_REQUESTS + 1)]
    assert len(mailer.sent) == ADDRESS_REQUESTS
    assert {p.body for p in pages} == {pages[0].body} and {p.status for p in pages} == {200}
    clock.advance(3600)  # the next window
    sessions.request_link("maria@beanthere.example", "192.0.2.1")
    assert len(mailer.sent) == ADDRESS_REQUESTS + 1


def test_one_ip_address_asking_for_many_addresses_is_limited(sessions: Sessions, mailer: Mailer) -> None:
    for i in range(IP_REQUESTS):
        sessions.request_link(f"someone{i}@elsewhere.example", "198.51.100.7")
    sessions.request_link("maria@beanthere.example", "198.51.100.7")
    assert mailer.sent == []
    sessions.request_link("maria@beanthere.example", "198.51.100.8")
    assert len(mailer.sent) == 1


def test_a_refused_send_gives_the_same_answer(store: RecordingStore, clock: FakeClock,
                                              caplog: pytest.LogCaptureFixture) -> None:
    listen = config(recipients=RECIPIENTS, alerts={**CONFIG["alerts"], "action_base_url": BASE})
    refusing = Sessions(listen, store, email=Mailer(refuse=RuntimeError("SES said no")), clock=clock)
    page = refusing.request_link("maria@beanthere.example", "192.0.2.1")
    assert page.status == 200 and "a sign-in link is on its way" in page.body
    assert "sign-in link to Maria not sent: RuntimeError" in caplog.text


def test_the_token_is_never_logged(sessions: Sessions, mailer: Mailer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    _, cookie = sign_in(sessions, mailer)
    token = token_of(mailer.links()[0])
    assert token not in caplog.text and cookie.split(";")[0].split("=", 1)[1] not in caplog.text
    assert "sign-in link sent to Maria" in caplog.text


# --- where it leads -------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "kept"), [
    ("/in/?state=new", "/in/?state=new"),
    ("/in/m/hackernews%23201", "/in/m/hackernews%23201"),
    ("https://evil.example/in/", "/in/"),
    ("//evil.example/in/", "/in/"),
    ("/in//evil.example", "/in/"),
    ("/in/../a/x", "/in/"),
    ("/in/\\evil.example", "/in/"),
    ("/a/token", "/in/"),
    ("/in/\r\nSet-Cookie: x=1", "/in/"),
    ("", "/in/"),
])
def test_next_is_only_ever_a_path_of_the_inbox(given: str, kept: str) -> None:
    assert safe_next(given) == kept


def test_after_sign_in_the_browser_goes_to_the_next_path_given(sessions: Sessions, mailer: Mailer) -> None:
    page, _ = sign_in(sessions, mailer, next_path="/in/?network=hackernews")
    assert page.headers["Location"] == "/in/?network=hackernews"
    page, _ = sign_in(sessions, mailer, next_path="https://evil.example/")
    assert page.headers["Location"] == "/in/"


def test_the_sign_in_form_carries_a_safe_next_path_only(sessions: Sessions) -> None:
    assert 'name="next" value="/in/?state=new"' in sessions.sign_in_page(next_path="/in/?state=new").body
    assert 'name="next"' not in sessions.sign_in_page(next_path="https://evil.example/").body


# --- the session ---------------------------------------------------------------------------------

def test_no_cookie_a_foreign_cookie_or_a_forged_one_is_no_viewer(sessions: Sessions) -> None:
    assert sessions.viewer({}) is None
    assert sessions.viewer({"Cookie": "other=1"}) is None
    assert sessions.viewer({"Cookie": f"{COOKIE_NAME}={'A' * 43}"}) is None
    assert sessions.viewer({"Cookie": f"{COOKIE_NAME}=<script>"}) is None


def test_the_cookie_is_found_among_others_whatever_the_header_case(sessions: Sessions, mailer: Mailer) -> None:
    _, cookie = sign_in(sessions, mailer)
    value = cookie.split(";")[0]
    assert sessions.viewer({"cookie": f"a=1; {value}; b=2"}) is not None


def test_a_session_ends_30_days_after_sign_in_however_used(sessions: Sessions, mailer: Mailer,
                                                             clock: FakeClock) -> None:
    _, cookie = sign_in(sessions, mailer)
    for _ in range(SESSION_SECONDS // 86400 - 1):
        clock.advance(86400)
        assert sessions.viewer(cookie_header(cookie)) is not None
    clock.advance(86400)
    assert sessions.viewer(cookie_header(cookie)) is None


def test_a_session_unused_for_7_days_ends(sessions: Sessions, mailer: Mailer, clock: FakeClock) -> None:
    _, cookie = sign_in(sessions, mailer)
    clock.advance(IDLE_SECONDS - 1)
    assert sessions.viewer(cookie_header(cookie)) is not None  # used: 7 more days
    clock.advance(IDLE_SECONDS - 1)
    assert sessions.viewer(cookie_header(cookie)) is not None
    clock.advance(IDLE_SECONDS)
    assert sessions.viewer(cookie_header(cookie)) is None


def test_the_idle_expiry_is_written_at_most_once_an_hour(sessions: Sessions, mailer: Mailer, clock: FakeClock,
                                                          store: RecordingStore) -> None:
    touched: list[tuple[str, int]] = []
    touch = store.touch_session

    def counted(id_hash: str, idle_until: int) -> bool:
        touched.append((id_hash, idle_until))
        return touch(id_hash, idle_until)

    store.touch_session = counted  # type: ignore[method-assign]
    _, cookie = sign_in(sessions, mailer)
    for _ in range(10):
        clock.advance(REFRESH_SECONDS / 10 - 1)
        assert sessions.viewer(cookie_header(cookie)) is not None
    assert touched == []
    clock.advance(10)
    viewer = sessions.viewer(cookie_header(cookie))
    assert viewer is not None
    assert touched == [(viewer.session_id_hash, int(clock.now) + IDLE_SECONDS)]


def test_a_recipient_removed_from_listen_yaml_is_signed_out(sessions: Sessions, mailer: Mailer,
                                                             store: RecordingStore, clock: FakeClock) -> None:
    _, cookie = sign_in(sessions, mailer)
    without = Sessions(config(recipients=RECIPIENTS[1:]), store, email=mailer, clock=clock)
    assert without.viewer(cookie_header(cookie)) is None


def test_sign_out_ends_this_session_only(sessions: Sessions, mailer: Mailer) -> None:
    _, phone = sign_in(sessions, mailer)
    _, laptop = sign_in(sessions, mailer)
    viewer = sessions.viewer(cookie_header(phone))
    assert viewer is not None
    page, cleared = sessions.sign_out(viewer)
    assert page.status == 200 and "You are signed out." in page.body
    assert cleared == f"{COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"
    assert sessions.viewer(cookie_header(phone)) is None
    assert sessions.viewer(cookie_header(laptop)) is not None


def test_sign_out_everywhere_ends_every_session_of_the_address_only(sessions: Sessions, mailer: Mailer) -> None:
    _, phone = sign_in(sessions, mailer)
    _, laptop = sign_in(sessions, mailer)
    _, joao = sign_in(sessions, mailer, "joao.silva@beanthere.example")
    viewer = sessions.viewer(cookie_header(laptop))
    assert viewer is not None
    page, _ = sessions.sign_out_everywhere(viewer)
    assert "signed out on every device" in page.body
    assert sessions.viewer(cookie_header(phone)) is None
    assert sessions.viewer(cookie_header(laptop)) is None
    assert sessions.viewer(cookie_header(joao)) is not None


# --- CSRF -------------------------------------------------------------------------------------

def test_the_csrf_token_is_the_sessions_own(sessions: Sessions, mailer: Mailer) -> None:
    _, one = sign_in(sessions, mailer)
    _, two = sign_in(sessions, mailer)
    first, second = sessions.viewer(cookie_header(one)), sessions.viewer(cookie_header(two))
    assert first is not None and second is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first.csrf) and first.csrf != second.csrf
    assert sessions.csrf_ok(first, {"csrf": first.csrf})
    assert not sessions.csrf_ok(first, {"csrf": second.csrf})
    assert not sessions.csrf_ok(first, {})
    assert not sessions.csrf_ok(first, {"csrf": "é"})
    assert csrf_field(first) == f'<input type="hidden" name="csrf" value="{first.csrf}">'


def test_a_post_without_or_with_a_wrong_csrf_or_from_another_site_is_refused(sessions: Sessions,
                                                                              mailer: Mailer) -> None:
    _, cookie = sign_in(sessions, mailer)
    headers = cookie_header(cookie)
    viewer = sessions.viewer(headers)
    assert viewer is not None
    assert sessions.checked_post(headers, f"csrf={viewer.csrf}".encode()) == viewer
    for body, extra in ((b"", {}), (b"csrf=wrong", {}), (f"csrf={viewer.csrf}&csrf=x".encode(), {}),
                        (f"csrf={viewer.csrf}".encode(), {"Sec-Fetch-Site": "cross-site"}),
                        (f"csrf={viewer.csrf}".encode(), {"Origin": "https://evil.example"})):
        refused = sessions.checked_post({**headers, **extra}, body)
        assert isinstance(refused, Page) and refused.status == 403
    signed_out = sessions.checked_post({}, f"csrf={viewer.csrf}".encode())
    assert isinstance(signed_out, Page) and signed_out.status == 403


def test_a_link_request_from_another_site_is_refused_before_anything_is_counted(
        sessions: Sessions, mailer: Mailer, store: RecordingStore, clock: FakeClock) -> None:
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        page = sessions.request_link("maria@beanthere.example", "192.0.2.1", headers=headers)
        assert page.status == 403 and "sent from another site" in page.body
    assert mailer.sent == []
    same_site = {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}
    assert sessions.request_link("maria@beanthere.example", "192.0.2.1", headers=same_site).status == 200
    assert len(mailer.sent) == 1
    assert requests_counted(store, clock) == (2, 2)  # the refused ones counted nothing: this one and the same-site one


def requests_counted(store: RecordingStore, clock: FakeClock) -> tuple[int, int]:
    """(Maria's, 192.0.2.1's) requests in this window, counting one more of each to read them."""
    window = str(int(clock()) // WINDOW_SECONDS)
    return (store.count_sign_in_request("address:maria@beanthere.example", window),
            store.count_sign_in_request("ip:192.0.2.1", window))


def test_a_sign_in_post_from_another_site_is_refused_and_keeps_the_link(sessions: Sessions,
                                                                        mailer: Mailer) -> None:
    sessions.request_link("maria@beanthere.example", "192.0.2.1")
    token = token_of(mailer.links()[0])
    page, cookie = sessions.consume_link(token, b"", headers={"Origin": "https://evil.example"})
    assert (page.status, cookie) == (403, None)
    page, cookie = sessions.consume_link(token, b"", headers={"Origin": BASE})
    assert page.status == 303 and cookie is not None
