"""Meta's Graph API, shared by the Instagram and Facebook Page networks: the version, one GET
with Meta's error mapping, the usage headers honoured, and paging rebuilt from the cursor.

Errors (https://developers.facebook.com/docs/graph-api/guides/error-handling): the body is
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``. The throttling codes
(4 app, 17 user, 32 page, 613 custom, 80001-80014 business use case) are ``RateLimited`` with a
retry time; 190 (and 102, 463, 467: an expired or invalid token) is ``CredentialsError`` saying
how to reconnect; 10 and 200-299 (a permission missing) likewise.

Usage (https://developers.facebook.com/docs/graph-api/overview/rate-limiting): every answer may
carry ``X-App-Usage`` (``{"call_count", "total_cputime", "total_time"}``, percentages) and
``X-Business-Use-Case-Usage`` (``{business-id: [{"type", "call_count", "total_cputime",
"total_time", "estimated_time_to_regain_access"}]}``, the wait in minutes). Calls are throttled
at 100 %, so a connector stops at ``BACKOFF_PERCENT`` and waits the estimated time (or
``DEFAULT_WAIT``: the window is a rolling hour).

Paging (https://developers.facebook.com/docs/graph-api/results): ``paging.cursors.after`` with
``paging.next`` present means another page (a time-paged feed: ``until`` in ``next``'s query).
``next`` is a full URL from the network: it is never followed; the next request is our own URL
with the cursor (or the time) set.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import requests

from chalicelib.networks.spec import Credential
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    Capabilities,
    CredentialsError,
    Cursor,
    RateLimited,
    SourceBase,
    SourceError,
    payload_time,
    require_secret,
)
from chalicelib.sources.http import decode_json
from chalicelib.webhooks.options import WebhookOptions

GRAPH_VERSION = "v21.0"
GRAPH_URL = "https://graph.facebook.com"
RATE_LIMIT_DOC = "https://developers.facebook.com/docs/graph-api/overview/rate-limiting"
BACKOFF_PERCENT = 90.0  # stop calling at this share of any usage figure, before Meta throttles at 100
DEFAULT_WAIT = 3600.0  # seconds: Meta's usage windows are a rolling hour
RATE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
TOKEN_CODES = frozenset({102, 190, 463, 467})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
GRAPH_ID = re.compile(r"^[0-9]{1,25}(_[0-9]{1,25})?$")  # "17895695668004550" or a Page post "123_456"
CURSOR = re.compile(r"^[A-Za-z0-9_=-]{1,512}$")
_MESSAGE = re.compile(r"[^\w .,:;()#'/-]")
ERROR_STATUSES = (400, 401, 403, 404)


def reconnect_words(label: str, network: str) -> str:
    """What the owner does about a token Meta no longer accepts, in words."""
    return f"reconnect {label}: run `make connect NETWORK={network}`"


def usage_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait before calling again, from the usage headers of an answer: None while
    every figure is under ``BACKOFF_PERCENT`` and no wait is estimated; headers that cannot be
    read are ignored (they are advice, not data)."""
    over = False
    estimates: list[float] = []  # Meta's own estimate wins over the rolling hour
    app = _json_header(headers, "X-App-Usage")
    if isinstance(app, dict) and _over(app):
        over = True
    business = _json_header(headers, "X-Business-Use-Case-Usage")
    if isinstance(business, dict):
        for entries in business.values():
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict):
                    continue
                minutes = _number(entry.get("estimated_time_to_regain_access"))
                if minutes:
                    estimates.append(minutes * 60.0)
                over = over or _over(entry)
    if estimates:
        return max(estimates)
    return DEFAULT_WAIT if over else None


def _json_header(headers: Mapping[str, str], name: str) -> Any:
    value = headers.get(name)
    if not value or len(value) > 4096:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else 0.0


def _over(figures: Mapping[str, Any]) -> bool:
    return any(_number(figures.get(k)) >= BACKOFF_PERCENT for k in ("call_count", "total_cputime", "total_time"))


def graph_error(network: str, label: str, resp: requests.Response) -> SourceError:
    """The ``SourceError`` a Graph API error answer stands for (said to the owner: Meta's code
    and a message kept to plain characters, never the token)."""
    status = resp.status_code
    try:
        error = decode_json(network, resp).get("error")
    except (BadPayload, AttributeError):
        error = None
    if not isinstance(error, dict):
        if status in (401, 403):
            return CredentialsError(network, f"access refused (HTTP {status}); {reconnect_words(label, network)}")
        return SourceError(network, f"request refused (HTTP {status})")
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = _MESSAGE.sub("", str(error.get("message", "")))[:160].strip()
    said = f"HTTP {status}, code {code}: {message}" if message else f"HTTP {status}, code {code}"
    if code in RATE_CODES:
        wait = usage_wait(resp.headers) or DEFAULT_WAIT
        return RateLimited(network, f"Meta throttles the calls ({said}); waiting {wait / 60:g} min "
                                    f"({RATE_LIMIT_DOC})", wait)
    if code in TOKEN_CODES:
        return CredentialsError(network, f"access token rejected ({said}); {reconnect_words(label, network)}")
    if code in PERMISSION_CODES:
        return CredentialsError(network, f"a permission is missing ({said}); {reconnect_words(label, network)}")
    return SourceError(network, f"request refused ({said})")


def graph_get(http: Any, network: str, label: str, url: str, params: Mapping[str, Any], token: str,
              budget: Budget | None) -> tuple[Any, float | None]:
    """One Graph API GET (the token as a Bearer header, never in the URL): the decoded body and
    the wait the usage headers ask for (None: carry on). Raises only ``SourceError``."""
    resp = http.request("GET", url, params=dict(params), headers={"Authorization": f"Bearer {token}"},
                        budget=budget, accept=ERROR_STATUSES)
    if resp.status_code in ERROR_STATUSES:
        raise graph_error(network, label, resp)
    return decode_json(network, resp), usage_wait(resp.headers)


def page_of(network: str, body: Any, where: str) -> tuple[list[Any], dict[str, str] | None]:
    """The ``data`` list of a Graph API page and the parameters of the next one (None: the last page)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise BadPayload(network, f"{where} has no 'data' list")
    return body["data"], next_page(network, body.get("paging"), where)


def next_page(network: str, paging: Any, where: str) -> dict[str, str] | None:
    """When ``paging.next`` says there is another page: ``{"after": paging.cursors.after}``, or for
    a time-paged feed (no cursors) the ``until`` and ``__paging_token`` of ``next``'s query, each
    checked; the request is then built on our own URL, never ``next`` itself."""
    if paging is None:
        return None
    if not isinstance(paging, dict):
        raise BadPayload(network, f"{where}.paging is not an object")
    following = paging.get("next")
    if not following:
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    if after is not None or not isinstance(following, str):
        if not isinstance(after, str) or not CURSOR.match(after):
            raise BadPayload(network, f"{where}.paging.cursors.after is not a cursor")
        return {"after": after}
    query = dict(parse_qsl(urlsplit(following).query))
    until, token = query.get("until", ""), query.get("__paging_token")
    if not until.isdigit() or len(until) > 12 or (token is not None and not CURSOR.match(token)):
        raise BadPayload(network, f"{where}.paging.next has neither a cursor nor a time to page by")
    return {"until": until, **({"__paging_token": token} if token else {})}


def graph_id(network: str, value: Any, what: str) -> str:
    """``value`` when it is a Graph API id (digits), else ``BadPayload`` saying ``what`` is not one."""
    if not isinstance(value, str) or not GRAPH_ID.match(value):
        raise BadPayload(network, f"{what} is not a Graph API id")
    return value


# --- tokens that expire ------------------------------------------------------------------------
# A user token lives 60 days and its data access 90 (a Page token from a long-lived user token
# does not expire, but its data access does): ``debug_token`` says when
# (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/debugging: ``expires_at``,
# ``data_access_expires_at``, 0 for never).
TOKEN_CHECK_SECONDS = 86400.0  # debug_token is asked at most once a day
TOKEN_WARNING_SECONDS = 7 * 86400.0  # the owner is told a week before


def token_expiry(network: str, body: Any) -> float | None:
    """The earliest of ``expires_at`` and ``data_access_expires_at`` of a ``debug_token`` answer
    (None: neither expires); ``BadPayload`` when the answer is not that shape."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise BadPayload(network, "debug_token: the answer has no 'data' object")
    times = []
    for name in ("expires_at", "data_access_expires_at"):
        value = data.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadPayload(network, f"debug_token: data.{name} is not a Unix time")
        if value:
            times.append(float(value))
    return min(times) if times else None


def token_words(label: str, network: str, expires: float) -> str:
    """The notice a week before a token can no longer be used, in words."""
    day = dt.datetime.fromtimestamp(expires, tz=dt.UTC)
    return f"{label}: reconnect by running `make connect NETWORK={network}` before {day.day} {day:%b}"


# --- what the Instagram and Facebook Page connectors share -------------------------------------


# The Meta app's id, which `make connect` signs the owner in with (infra/connect.py); not read by the service.
APP_ID = Credential("app_id_parameter", "Meta app id (`make connect` signs in with it)")


class GraphOptions(WebhookOptions):  # app_secret_parameter, verify_token_parameter: chalicelib/webhooks/
    app_id_parameter: str | None = None  # SSM: the Meta app's id, which `make connect` signs in with
    base_url: str = GRAPH_URL
    token_parameter: str | None = None  # SSM SecureString: the access token (a Page token, or a user token)
    first_run_lookback_hours: int = 24
    check_token_expiry: bool = True  # ask debug_token daily; the owner is told a week before it expires


READ_LIMIT = 1000  # ids read above a watermark, remembered so that they come once


class Watermark:
    """A listing's newest time read (``at``), the ids read at it (``ids``) and those read above it
    (``read``: by a walk that stopped early, which leaves ``at`` where it was, or dated after the
    clock), as the cursor keeps them under one key."""

    def __init__(self, state: Any, start: float) -> None:
        state = state if isinstance(state, dict) else {"at": start}
        self.at = float(state["at"])
        self.ids = {str(i) for i in state.get("ids", [])}
        self.read = {str(k): float(v) for k, v in dict(state.get("read", {})).items()}
        self.dated: dict[str, float] = {}  # every new item of this fetch, read or not: its time

    def is_new(self, key: str, when: float) -> bool:
        return (when > self.at or (when == self.at and key not in self.ids)) and key not in self.read

    def saw(self, key: str, when: float) -> None:
        self.dated[key] = when

    def saved(self, now: float, complete: bool) -> Cursor:
        """The cursor's entry after this fetch: the watermark moves to the newest item (never past
        the clock) only when the walk was complete."""
        at, ids = self.at, set(self.ids)
        capped = {k: min(t, now) for k, t in self.dated.items()}
        newest = max(capped.values(), default=None)
        if complete and newest is not None and newest > at:
            at, ids = newest, {k for k, t in capped.items() if t == newest}
        elif complete and newest is not None and newest == at:
            ids |= {k for k, t in capped.items() if t == newest}
        read = {k: t for k, t in {**self.read, **self.dated}.items() if t > at}
        return {"at": at, "ids": sorted(ids), "read": dict(sorted(read.items(), key=lambda kv: -kv[1])[:READ_LIMIT])}


class GraphSource(SourceBase):
    """A connector reading Meta's Graph API with one access token: our own URLs, the token as a
    Bearer header, the usage headers honoured (a pause remembered in the connector's state) and
    the token's expiry asked once a day (``token_notice``)."""

    options: GraphOptions
    # the owner's own account, read whole every cycle (the stream "*"), answered through the API
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=False, replies=True, local_stream=True)

    def _start(self) -> None:
        self._paused_until: float | None = None

    def _url(self, *parts: str) -> str:
        """Our own URL of a Graph API node or edge (ids checked before they get here)."""
        return "/".join([self.options.base_url.rstrip("/"), GRAPH_VERSION, *parts])

    def _token(self) -> str:
        return require_secret(self.name, self._secrets, self.options.token_parameter, self.spec.credentials[0].what)

    def _get(self, url: str, params: dict[str, Any], budget: Budget | None) -> Any:
        """One GET; usage at the back-off mark is remembered so that the next call waits."""
        body, wait = graph_get(self.http, self.name, self.display_name, url, params, self._token(), budget)
        if wait is not None:
            until = self._clock() + wait
            self._paused_until = until
            if self._state is not None:
                self._state.put_state(self.name, "usage", {"until": until})
        return body

    def _check_pause(self) -> None:
        """``RateLimited`` without a call while the usage headers asked to wait."""
        until = self._paused_until
        if until is None and self._state is not None:
            until = float((self._state.get_state(self.name, "usage") or {}).get("until", 0)) or None
        wait = (until or 0) - self._clock()
        self._paused_until = None
        if wait > 0:
            self._paused_until = until
            raise RateLimited(self.name, f"Meta's usage figures were near their limit; waiting {wait / 60:.0f} min "
                                         f"({RATE_LIMIT_DOC})", wait)

    def _begin(self, cursor: Cursor | None, keys: tuple[str, ...]) -> tuple[float, dict[str, Watermark]]:
        """The start of a fetch: the token is there (else no request at all), no usage pause holds,
        and one watermark per listing of the cursor (a first run starts ``first_run_lookback_hours`` ago)."""
        self._token()
        self._check_pause()
        now = self._clock()
        start = int(now) - self.options.first_run_lookback_hours * 3600
        try:
            return now, {key: Watermark((cursor or {}).get(key), start) for key in keys}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise SourceError(self.name, "the stored cursor cannot be read; it starts again from now") from None

    def _basics(self, item: dict[str, Any], what: str, time_field: str, text_field: str,
                when: float | None = None) -> tuple[str, float, str]:
        """The checked id, time (``when`` where the item has none: a webhook's) and text of an item."""
        key = graph_id(self.name, item.get("id"), f"{what}: an id")
        if when is None or time_field in item:
            when = payload_time(self.name, item.get(time_field), f"{key}.{time_field} is not an ISO time")
        text = item.get(text_field, "")
        if not isinstance(text, str):
            raise BadPayload(self.name, f"{key}.{text_field} is not a string")
        return key, when, text.strip()

    def _check_token(self, budget: Budget) -> None:
        """Ask ``debug_token`` when the token expires, at most once a day (kept in the connector's
        state); an answer that cannot be had is tried again next cycle, never an error."""
        if self._state is None or not self.options.check_token_expiry or self._paused_until is not None:
            return
        now = self._clock()
        known = self._state.get_state(self.name, "token") or {}
        if now - float(known.get("checked", 0)) < TOKEN_CHECK_SECONDS:
            return
        try:
            body = self._get(self._url("debug_token"), {"input_token": self._token()}, budget)
            expires = token_expiry(self.name, body)
        except SourceError:
            return
        self._state.put_state(self.name, "token", {**known, "checked": now, "expires": expires})

    def token_notice(self) -> str | None:
        """The words to tell the owner a week before the token can no longer be used, once for
        each expiry ("Instagram: reconnect by running `make connect NETWORK=instagram` before 12 Jan");
        None otherwise. Reads only what ``fetch`` stored."""
        if self._state is None:
            return None
        known = self._state.get_state(self.name, "token") or {}
        expires = known.get("expires")
        if not isinstance(expires, (int, float)) or expires - self._clock() > TOKEN_WARNING_SECONDS:
            return None
        if known.get("told") == expires:
            return None
        self._state.put_state(self.name, "token", {**known, "told": expires})
        return token_words(self.display_name, self.name, float(expires))


# --- webhook deliveries ------------------------------------------------------------------------
MAX_CHANGES = 1000  # Meta batches at most 1000 updates a delivery


def delivery_changes(network: str, payload: Any, kind: str, account: str) -> list[tuple[str, str, dict[str, Any],
                                                                                       float]]:
    """The changes of a verified webhook delivery ``{"object": kind, "entry": [{"id", "time",
    "changes": [{"field", "value"}]}]}`` for ``account``, as (where, field, value, entry time in
    seconds); entries of another account are left out; ``BadPayload`` names where the shape breaks."""
    if not isinstance(payload, Mapping):
        raise BadPayload(network, "the delivery is not a JSON object")
    if payload.get("object") != kind:
        raise BadPayload(network, f"the delivery's 'object' is not {kind!r}")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise BadPayload(network, "the delivery has no 'entry' list")
    found: list[tuple[str, str, dict[str, Any], float]] = []
    for i, entry in enumerate(entries):
        where = f"entry[{i}]"
        if not isinstance(entry, dict):
            raise BadPayload(network, f"{where} is not an object")
        owner = graph_id(network, entry.get("id"), f"{where}.id")
        when = entry.get("time")
        if not isinstance(when, int) or isinstance(when, bool) or when <= 0:
            raise BadPayload(network, f"{where}.time is not a Unix time")
        seconds = when / 1000 if when > 10**11 else float(when)  # some deliveries count milliseconds
        if seconds > dt.datetime(2200, 1, 1, tzinfo=dt.UTC).timestamp():
            raise BadPayload(network, f"{where}.time is not a Unix time")
        changes = entry.get("changes", [])
        if not isinstance(changes, list) or len(changes) > MAX_CHANGES:
            raise BadPayload(network, f"{where}.changes is not a list of at most {MAX_CHANGES}")
        if owner != account:
            continue
        for j, change in enumerate(changes):
            at = f"{where}.changes[{j}]"
            if not isinstance(change, dict) or not isinstance(change.get("field"), str):
                raise BadPayload(network, f"{at} has no 'field'")
            if not isinstance(change.get("value"), dict):
                raise BadPayload(network, f"{at}.value is not an object")
            found.append((at, change["field"], change["value"], seconds))
    return found


def account_id(value: str, what: str, example: str) -> str:
    """``value`` when it is a Graph id of digits (an account's, a Page's), else a ValueError saying ``what``."""
    if not re.fullmatch(r"[0-9]{1,25}", value):
        raise ValueError(f"{value!r} is not {what} (digits only, e.g. {example})")
    return value
