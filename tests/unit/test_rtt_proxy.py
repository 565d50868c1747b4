"""bench.rtt_proxy adds its delay once per HTTP request on a keep-alive connection, not per
packet, and passes requests and responses through unchanged (a local HTTP server, no AWS)."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.rtt_proxy import DelayProxy


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore uses it
    disable_nagle_algorithm = True  # no 40 ms wait for a delayed ACK between headers and body

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[::-1])

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    # a short poll interval: shutdown() waits for it (0.5 s by default)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield httpd.server_address[:2]  # type: ignore[misc]
    httpd.shutdown()
    httpd.server_close()


def post(connection: http.client.HTTPConnection, body: bytes) -> bytes:
    connection.request("POST", "/", body=body, headers={"Content-Length": str(len(body))})
    return connection.getresponse().read()


def timed_requests(server: tuple[str, int], delay_s: float) -> tuple[float, list[bytes], int]:
    """Ten small requests and one of 2 MB (many packets) on one keep-alive connection through a proxy."""
    with DelayProxy(server, delay_s) as proxy:
        host, port = proxy.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        started = time.perf_counter()
        answers = [post(connection, f"request {n}".encode()) for n in range(10)]
        big = bytes(range(256)) * 8192
        answers.append(b"big ok" if post(connection, big) == big[::-1] else b"big changed")
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed, answers, proxy.requests


def test_each_request_waits_the_delay_once(server: tuple[str, int]) -> None:
    _, answers, requests = timed_requests(server, 0.0)
    delayed, delayed_answers, delayed_requests = timed_requests(server, 0.1)
    assert answers == delayed_answers == [f"request {n}".encode()[::-1] for n in range(10)] + [b"big ok"]
    assert requests == delayed_requests == 11  # the 2 MB request (dozens of 64 KB reads) waited once
    assert delayed >= 11 * 0.1  # the waits are in turn on one connection
    assert delayed < 11 * 0.1 + 2.5  # a wait per read would add 0.1 s for each of the 2 MB's 32+ reads
