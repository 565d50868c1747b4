"""A WebSocket endpoint on the replay server: an emulation with ``websocket(request, items)``
answers an ``Upgrade: websocket`` request with the frames it plans (``StreamPlan``), sent through
the ``websockets`` library's sans-I/O server protocol (handshake, framing, permessage-deflate
when the client offers it, the closing handshake), never hand-written framing."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StreamPlan:
    """What one WebSocket connection gets: text frames, then either the live tip (the server
    waits, sending nothing more, until the client closes) or, with ``abort_after``, the TCP
    connection dropped after that many frames (no closing handshake)."""

    frames: list[str] = field(default_factory=list)
    abort_after: int | None = None
    hold_seconds: float = 30.0  # the most the live tip is held open for a client that never closes


def serve_websocket(sock: socket.socket, path: str, headers: list[tuple[str, str]], plan_for: Any,
                    count_bytes: Any) -> None:
    """Answer one upgrade request on ``sock``: the handshake, then ``plan_for()``'s frames;
    ``count_bytes(n)`` is told every byte written after the handshake (frames as on the wire)."""
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
    from websockets.frames import Opcode
    from websockets.http11 import Request as WSRequest
    from websockets.server import ServerProtocol

    protocol = ServerProtocol(extensions=[ServerPerMessageDeflateFactory()], max_size=1 << 20)
    # The request line and headers were read by http.server: given to the protocol again as bytes, so
    # its parser goes on to the frames after them.
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    protocol.receive_data(f"GET {path} HTTP/1.1\r\n{head}\r\n".encode("latin-1"))
    (request,) = [event for event in protocol.events_received() if isinstance(event, WSRequest)]
    response = protocol.accept(request)
    plan: StreamPlan = plan_for() if response.status_code == 101 else StreamPlan()  # before the 101: a slow server
    protocol.send_response(response)
    sock.sendall(b"".join(protocol.data_to_send()))
    if response.status_code != 101:
        return
    try:
        for sent, frame in enumerate(plan.frames):
            if plan.abort_after is not None and sent >= plan.abort_after:
                sock.shutdown(socket.SHUT_RDWR)
                return
            protocol.send_text(frame.encode())
            data = b"".join(protocol.data_to_send())
            count_bytes(len(data))
            sock.sendall(data)
        sock.settimeout(plan.hold_seconds)
        while True:  # the live tip: nothing more to send until the client closes
            chunk = sock.recv(65536)
            if not chunk:
                return
            protocol.receive_data(chunk)
            closing = any(event.opcode is Opcode.CLOSE for event in protocol.events_received())
            sock.sendall(b"".join(protocol.data_to_send()))  # the close answer, a pong
            if closing:
                return
    except (OSError, TimeoutError):
        return  # the client went away, or never closed


def upgrade_requested(headers: dict[str, str]) -> bool:
    return headers.get("upgrade", "").lower() == "websocket"


def header_pairs(message: Any) -> list[tuple[str, str]]:
    """The request's headers as (name, value) pairs, from ``http.server``'s message object."""
    return [(name, value) for name, value in message.items()]
