"""What the browser is told to defend: the Host check against DNS rebinding, and the headers
every response carries (no sniffing, a content policy of this origin only, no framing).

Both are plain ASGI middleware, as ``CountRequests`` is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The editor and the API docs load scripts and styles only from their own files (no inline
# code); data: images are the favicon and Swagger UI's icons.
CONTENT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CONTENT_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """Adds ``HEADERS`` to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                missing = [(n, v) for n, v in HEADERS if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *missing]}
            await send(message)

        await self.app(scope, receive, sending)


class HostCheck:
    """Answers only requests whose Host header names an allowed host: a page on another
    site whose DNS name is rebound to this address sends its own name, and gets a 400.

    ``allowed``: names and addresses (IPv6 without brackets), ``*.example.com`` for its
    subdomains, or ``*`` for any host.
    """

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        hosts = {_bare(h) for h in allowed}
        self.any = "*" in hosts
        self.suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))
        self.hosts = frozenset(h for h in hosts if not h.startswith("*"))

    def allows(self, header: str | None) -> bool:
        if self.any:
            return True
        if not header:
            return False
        if header.startswith("["):  # [IPv6]:port
            host, bracket, _ = header[1:].partition("]")
            if not bracket:
                return False
        else:
            host = header.partition(":")[0]
        host = _bare(host)
        return host in self.hosts or (bool(self.suffixes) and host.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.allows(Headers(scope=scope).get("host")):
            await self.app(scope, receive, send)  # (the service has no websockets)
            return
        # The header is not repeated: it is the client's input.
        body = json.dumps(
            {
                "detail": "this server does not answer for that Host header "
                "(the setting serve.allowed_hosts lists the hosts it does)",
                "errors": [],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _bare(host: str) -> str:
    """A host as compared: lower case, no brackets around IPv6, no final dot."""
    return host.strip().lower().removeprefix("[").removesuffix("]").removesuffix(".")
