"""Azure Resource Manager requests: the reads of deployment discovery and the write that deploys a
fine-tuned model, one attempt each.

The listing's own rules (paging, hosts the token may go to, which records count) live in
:class:`azoai.config.deployments.DeploymentDiscovery`; retrying lives in the request loop
(:func:`azoai.pipeline.discovery.discovery_for`). Redirects are never followed: the management
token must not travel to another host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azoai.errors import APIConnectionError, TimeoutError
from azoai.io import _httpx
from azoai.io.transport import Failed, Ok, Outcome, Status

__all__ = ["ArmGet", "ArmTransport"]

#: Statuses worth another attempt; any other answer goes back to the listing as it is.
_RETRIED = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class ArmGet:
    """A request to ARM: a GET, or (``method``, ``body``) a write such as the ``PUT`` that
    creates a deployment; ``label`` says what it is for, in messages."""

    url: str
    headers: Mapping[str, str]
    method: str = "GET"
    body: bytes | None = None
    label: str = "listing deployments"


class ArmTransport:
    """GETs from ARM with one timeout for the whole request. An answer is ``Ok((status,
    json_or_None))`` unless its status is one a retry may fix."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def send(self, req: ArmGet) -> Outcome:
        _httpx.load()
        import httpx

        try:
            resp = httpx.request(
                req.method,
                req.url,
                headers=dict(req.headers),
                content=req.body,
                timeout=self.timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            return Failed(
                TimeoutError(
                    f"timed out {req.label} ({type(exc).__name__}; discovery.timeout="
                    f"{self.timeout:g} s)",
                    fix="raise discovery.timeout, or check the network",
                )
            )
        except httpx.TransportError as exc:
            return Failed(APIConnectionError(f"{req.label} failed: {type(exc).__name__}: {exc}"))
        if resp.status_code in _RETRIED:
            return Status(resp.status_code, resp.content, resp.headers, {})
        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        return Ok((resp.status_code, body), resp.headers)

    async def asend(self, req: ArmGet) -> Outcome:
        import asyncio

        # Discovery is sync (it runs in a worker thread from async calls).
        return await asyncio.to_thread(self.send, req)
