"""The emulator's own request and result types, independent of the ASGI framework.

Handlers take a :class:`Call` and return a :class:`HttpResult` or a :class:`StreamResult`;
``app.py`` is the only module that speaks starlette. Errors are raised as :class:`ApiError`
carrying Azure's body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "REDACTED",
    "ApiError",
    "Call",
    "HttpResult",
    "RequestRecord",
    "StreamResult",
    "redact_headers",
    "redact_query",
    "ws_frame",
]

REDACTED = "***"
#: Request headers whose values are secrets; the request log stores ``***`` instead.
SECRET_HEADERS = frozenset(
    {"api-key", "authorization", "x-identity-header", "ocp-apim-subscription-key", "cookie"}
)


#: Query parameters whose values are secrets (a key some clients put in a WebSocket URL).
SECRET_QUERY = frozenset({"api-key", "api_key", "subscription-key"})


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k in SECRET_HEADERS else v) for k, v in headers.items()}


def redact_query(query: dict[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_QUERY else v) for k, v in query.items()}


def ws_frame(data: Any) -> bytes:
    """One WebSocket text frame's payload: the event as compact JSON."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(slots=True)
class RequestRecord:
    """One request as the emulator saw it, for tests to assert on.

    ``headers`` has lower-case names and secret values (``api-key``, ``authorization``, the
    identity header) replaced by ``***``; ``body`` is the parsed JSON body or ``None``;
    ``deployment`` is the deployment the request addressed (path or body ``model``), once known;
    ``status`` is the HTTP status answered (``None`` while a response is being prepared).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    time: float
    deployment: str | None = None
    status: int | None = None

    @property
    def api_version(self) -> str | None:
        return self.query.get("api-version")

    @property
    def url(self) -> str:
        """Path and query, e.g. ``/openai/deployments/chat/chat/completions?api-version=2024-10-21``."""
        return f"{self.path}?{urlencode(self.query)}" if self.query else self.path


@dataclass(slots=True)
class Call:
    """A request being handled. ``headers`` hold raw values (never logged; see ``record``)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw_body: bytes
    base_url: str
    record: RequestRecord


@dataclass(slots=True)
class HttpResult:
    """A complete response. ``drop`` means: answer nothing and close the connection."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


@dataclass(slots=True)
class StreamResult:
    """A ``text/event-stream`` response: ``events`` are complete SSE frames sent in order, with
    ``delay`` seconds before each; ``cut_after`` closes the connection after that many frames."""

    events: list[bytes]
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cut_after: int | None = None
    status: int = 200


class ApiError(Exception):
    """An error response in Azure's shape."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}: {json.dumps(body)[:200]}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def result(self) -> HttpResult:
        return HttpResult(self.status, self.body, dict(self.headers))
