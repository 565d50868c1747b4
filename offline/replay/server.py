"""A local HTTP server that speaks each network's API over a corpus of items in the
network's real payload shape, with the real headers, and faults that tests inject.

Each network is served under ``/<network>/`` by the emulation class its spec names
(``chalicelib/networks/<network>/emulator.py``); it implements the API's own filtering and paging so that
connectors are exercised exactly as against the real thing.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from offline.replay.websocket import header_pairs, serve_websocket, upgrade_requested


@dataclass(frozen=True)
class Request:
    """One request as the replay server received it (for assertions)."""

    method: str
    path: str  # below the network prefix, e.g. "/search_by_date"
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return default

    def params(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, all_headers, json.dumps(payload).encode())


@dataclass(frozen=True)
class Fault:
    """What the next request to a network gets instead of the emulated answer."""

    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_seconds: float = 0.0  # sleep before answering (a timeout, seen from the client)
    passthrough: bool = False  # after the delay, answer normally


class NetworkAPI(Protocol):
    """The emulation of one network's API over its corpus."""

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response: ...


class ReplayServer:
    """Start with ``start()``; every network lives under ``base_url(network)``."""

    def __init__(self, apis: dict[str, NetworkAPI], host: str = "127.0.0.1", port: int = 0) -> None:
        self.apis = apis
        self.items: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.received: dict[str, list[Request]] = defaultdict(list)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def base_url(self, network: str) -> str:
        return f"http://127.0.0.1:{self.port}/{network}"

    def start(self) -> ReplayServer:
        # A short poll interval: stop() waits for it (0.5 s by default, once per test module).
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), name="replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_items(self, network: str, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self.items[network].extend(items)

    def inject(self, network: str, *faults: Fault) -> None:
        """Queue faults: each is used by exactly one following request to the network."""
        with self._lock:
            self.faults[network].extend(faults)

    def reset(self) -> None:
        with self._lock:
            self.items.clear()
            self.faults.clear()
            self.received.clear()

    def _dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(raw_path)
        network, _, rest = parts.path.lstrip("/").partition("/")
        api = self.apis.get(network)
        if api is None:
            return Response.json({"error": f"no network {network!r} on the replay server"}, 404)
        request = Request(method, "/" + rest, parse_qsl(parts.query, keep_blank_values=True), headers, body)
        with self._lock:
            self.received[network].append(request)
            fault = self.faults[network].popleft() if self.faults[network] else None
            items = list(self.items[network])
        if fault is not None:
            if fault.delay_seconds:
                time.sleep(fault.delay_seconds)
            if not fault.passthrough:
                return Response(fault.status, dict(fault.headers), fault.body)
        return api.handle(request, items)

    def _upgrade(self, handler: BaseHTTPRequestHandler, headers: dict[str, str]) -> Response | None:
        """A WebSocket request: served by the network's ``websocket(request, items)`` (None once
        served), or the HTTP answer that refuses it (a queued fault, no such endpoint)."""
        parts = urlsplit(handler.path)
        network, _, rest = parts.path.lstrip("/").partition("/")
        api = self.apis.get(network)
        if api is None or not hasattr(api, "websocket"):
            return Response.json({"error": f"no WebSocket endpoint at {parts.path!r} on the replay server"}, 404)
        request = Request("GET", "/" + rest, parse_qsl(parts.query, keep_blank_values=True), headers, b"")
        with self._lock:
            self.received[network].append(request)
            fault = self.faults[network].popleft() if self.faults[network] else None
            items = list(self.items[network])
        if fault is not None:
            time.sleep(fault.delay_seconds)
            if not fault.passthrough:
                return Response(fault.status, dict(fault.headers), fault.body)

        def count(sent: int) -> None:
            api.stream_bytes += sent  # type: ignore[attr-defined]

        serve_websocket(handler.connection, handler.path, header_pairs(handler.headers),
                        lambda: api.websocket(request, items), count)  # type: ignore[attr-defined]
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The headers and the body go out as two writes: with Nagle's algorithm the body waited
            # for the client's delayed ACK (tens of ms a request on loopback).
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    if upgrade_requested(headers):
                        self.close_connection = True  # the socket is the WebSocket's (or refused)
                        upgraded = server._upgrade(self, headers)
                        if upgraded is None:
                            return
                        response = upgraded
                    else:
                        response = server._dispatch(self.command, self.path, headers, body)
                except Exception as err:  # an emulation bug must show, not hang the client
                    response = Response.json({"error": f"replay server: {err!r}"}, 599)
                try:
                    self.send_response(response.status)
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(response.body)))
                    self.end_headers()
                    self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
