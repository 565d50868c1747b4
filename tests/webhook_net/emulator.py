"""Hook Net's API on the replay server: ``GET /comments`` lists the items added."""

from __future__ import annotations

from typing import Any

from offline.replay.server import Request, Response


class HookNetAPI:
    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        if request.path != "/comments":
            return Response.json({"error": "not found"}, 404)
        return Response.json({"data": items})
