"""Limits on what goes in and out: a bound on request bodies (413 before a large body is read whole),
and security headers on every response (a strict Content-Security-Policy on the pages: scripts only
from this site, no framing, forms post only here)."""
from __future__ import annotations

import json


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Pure ASGI middleware: checks Content-Length, and counts streamed bytes when there is none."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        try:
            too_big = length is not None and int(length) > self.limit
        except ValueError:
            too_big = False
        if too_big:
            return await self._refuse(send)
        received, started = 0, False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def watched_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send):
        payload = json.dumps({"errors": [{
            "code": "too-large", "severity": "error", "message": f"the request is larger than {self.limit} bytes",
            "hint": "send one member's facts per request", "location": None, "related": [],
            "file": None, "line": None, "col": None, "excerpt": ""}]}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})


CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
           (b"x-frame-options", b"DENY")]


class SecurityHeaders:
    """Pure ASGI middleware: the headers on every response, the strict CSP on every page (the API docs at
    /docs included: their scripts are local files)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + HEADERS + [(b"content-security-policy", CSP.encode())]
                message = message | {"headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
