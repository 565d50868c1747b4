"""HTTP for connectors: timeouts on every request, retries with backoff for 5xx and
connection errors, 429 turned into ``RateLimited`` (never a busy wait), and a shared
time budget so one slow network cannot eat the Lambda's time."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import requests

from chalicelib.sources.base import (
    BadPayload,
    Budget,
    CredentialsError,
    RateLimited,
    SourceError,
    Unavailable,
)

DEFAULT_USER_AGENT = "social-listening/0.1 (small-business mention alerts)"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpClient:
    """A requests session bound to one network, with that network's error mapping."""

    def __init__(
        self,
        network: str,
        *,
        timeout: float = 10.0,
        user_agent: str = DEFAULT_USER_AGENT,
        retries: int = 2,
        backoff_seconds: float = 0.5,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.network = network
        self.timeout = timeout
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self._sleep = sleep
        self.requests_made = 0

    def request(
        self,
        method: str,
        url: str,
        *,
        budget: Budget | None = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        json_body: Any = None,
        accept: Collection[int] = (),
    ) -> requests.Response:
        """Send one request with retries; return a 2xx/3xx response or one whose status is in
        ``accept``; raise a ``SourceError`` subclass for anything else."""
        attempt = 0
        while True:
            timeout = self.timeout
            if budget is not None:
                if budget.exhausted():
                    raise Unavailable(self.network, "the time budget of this cycle ran out")
                timeout = max(0.5, min(timeout, budget.remaining()))
            try:
                self.requests_made += 1
                resp = self.session.request(
                    method, url, params=params, headers=headers, data=data, json=json_body,
                    timeout=timeout, allow_redirects=False,
                )
            except requests.Timeout:
                failure: SourceError = Unavailable(self.network, f"no answer within {timeout:g} s")
            except requests.ConnectionError:
                failure = Unavailable(self.network, "could not connect")
            else:
                if resp.status_code in accept or resp.status_code < 400:
                    return resp
                if resp.status_code < 500:
                    raise self._client_error(resp)
                failure = Unavailable(self.network, f"server error (HTTP {resp.status_code})")
            attempt += 1
            pause = self.backoff_seconds * 2 ** (attempt - 1)
            if attempt > self.retries or (budget is not None and budget.remaining() < pause + 0.5):
                raise failure
            self._sleep(pause)

    def get_json(self, url: str, **kwargs: Any) -> tuple[Any, requests.Response]:
        """GET and decode JSON; a body that is not JSON raises ``BadPayload``."""
        resp = self.request("GET", url, **kwargs)
        return decode_json(self.network, resp), resp

    def _client_error(self, resp: requests.Response) -> SourceError:
        status = resp.status_code
        if status == 429:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
            return RateLimited(self.network, f"rate limited (HTTP 429{wait})", retry_after)
        if status == 401:
            return CredentialsError(self.network, "credentials rejected (HTTP 401)")
        if status == 403:
            return CredentialsError(self.network, "access refused (HTTP 403)")
        return SourceError(self.network, f"request refused (HTTP {status})")


def decode_json(network: str, resp: requests.Response) -> Any:
    """The JSON body of a response, or ``BadPayload`` naming where it broke."""
    try:
        return json.loads(resp.content)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        where = f" at line {err.lineno} column {err.colno}" if isinstance(err, json.JSONDecodeError) else ""
        raise BadPayload(network, f"response is not valid JSON{where}") from None
