"""A TCP proxy on 127.0.0.1 that adds a fixed delay to each HTTP request, not to each packet.

It does not parse HTTP: on a keep-alive connection a client (botocore: no pipelining) sends a
request, then waits for the whole response before the next one, so the first bytes from the
client after the server last spoke (or the first on a connection) begin a new request. Those
wait ``delay_s`` before going on; the rest of the request and the response pass at once. A
request/response round trip through it thus takes ``delay_s`` longer, as it would with an
in-region network round trip of that length.

    with DelayProxy(("127.0.0.1", 8000), 0.005) as proxy:
        boto3.client("dynamodb", endpoint_url=proxy.url)
"""

from __future__ import annotations

import socket
import threading
import time

CHUNK = 65536


class DelayProxy:
    def __init__(self, upstream: tuple[str, int], delay_s: float) -> None:
        self.upstream = upstream
        self.delay_s = delay_s
        self.requests = 0  # requests delayed (first bytes of each request)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> DelayProxy:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._acceptor.join(timeout=5)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, server]
            turn = {"server_spoke": True}  # the connection's first bytes begin a request
            threading.Thread(target=self._pump, args=(client, server, turn, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, turn, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, turn: dict[str, bool], requests: bool) -> None:
        try:
            while data := source.recv(CHUNK):
                if requests and turn["server_spoke"]:
                    turn["server_spoke"] = False
                    with self._lock:
                        self.requests += 1
                    time.sleep(self.delay_s)
                elif not requests:
                    turn["server_spoke"] = True
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
