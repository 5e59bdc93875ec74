"""Security headers on every answer, the interactive docs' own policy, and CORS."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_ASSETS_PREFIX = "/docs-assets/"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

# Headers a browser may send and read across origins: the four key headers, and what we answer with.
CORS_ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-API-Key",
    "Ocp-Apim-Subscription-Key",
    "X-Request-ID",
)
CORS_EXPOSED_HEADERS = (
    "X-Request-ID",
    "Link",
    "X-Total-Count",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "X-Randomise-Seed",
    "X-Randomise-Strategy",
    "X-Unplaced-Count",
    "X-Unplaced-Users",
)


def docs_content_security_policy(html: str) -> str:
    """The policy of the Swagger UI page: its own scripts (the inline one by hash) and styles only.

    Swagger UI draws its icons from data: URLs and sets inline styles; it calls the API on this
    origin only. Nothing may frame it.
    """
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        "default-src 'none'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "base-uri 'none'; "
        "form-action 'none'; "
        "frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    """Adds the security headers to every answer.

    `nosniff`, no framing, no referrer; a Content-Security-Policy that lets an API answer do
    nothing in a browser (unless the answer set its own, as /docs does); `Cache-Control: no-store`
    unless the answer says otherwise (the docs' static assets do); HSTS only when configured.
    """

    def __init__(self, app: ASGIApp, *, hsts_max_age_seconds: int = 0) -> None:
        self.app = app
        self.always = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if hsts_max_age_seconds:
            self.always.append((b"strict-transport-security", f"max-age={hsts_max_age_seconds}".encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(DOCS_ASSETS_PREFIX)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), *self.always]
                names = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", API_CONTENT_SECURITY_POLICY.encode()))
                if b"cache-control" not in names and not cacheable:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_secured)


def cors_options(origins: list[str]) -> dict[str, Any]:
    """Starlette's CORSMiddleware arguments: keys travel in headers, never cookies, so no credentials."""
    return {
        "allow_origins": origins,
        "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "allow_headers": list(CORS_ALLOWED_HEADERS),
        "expose_headers": list(CORS_EXPOSED_HEADERS),
        "allow_credentials": False,
        "max_age": 600,
    }
