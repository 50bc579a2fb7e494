"""Azure Resource Manager reads for deployment discovery: one GET, one attempt.

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
    url: str
    headers: Mapping[str, str]


class ArmTransport:
    """GETs from ARM with one timeout for the whole request. An answer is ``Ok((status,
    json_or_None))`` unless its status is one a retry may fix."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def send(self, req: ArmGet) -> Outcome:
        _httpx.load()
        import httpx

        try:
            resp = httpx.get(
                req.url, headers=dict(req.headers), timeout=self.timeout, follow_redirects=False
            )
        except httpx.TimeoutException as exc:
            return Failed(
                TimeoutError(
                    f"timed out listing deployments ({type(exc).__name__}; discovery.timeout="
                    f"{self.timeout:g} s)",
                    fix="raise discovery.timeout, or check the network",
                )
            )
        except httpx.TransportError as exc:
            return Failed(
                APIConnectionError(f"listing deployments failed: {type(exc).__name__}: {exc}")
            )
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
