"""What the non-chat calls (:class:`azoai.completions.Completions`, :class:`azoai.images.Images`)
share: a :class:`~azoai.client.Client` underneath, so the same settings, the same pooled
connection and token cache, the same retry loop and typed errors as chat.

Build one from a client (``Images(client)``: the client stays the caller's to close) or from the
settings a client takes (``Images(endpoint=..., api_key=..., deployment=...)``: closed with the
service).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from azoai.client import Client
from azoai.config.endpoints import operation_url
from azoai.config.versions import ApiVersion
from azoai.io.exchange import HttpRequest, Reply
from azoai.pipeline.loop import arun, run
from azoai.pipeline.policy import DEFAULT_OPTIONS, Attempts, Call, CallOptions, attempts_for

if TYPE_CHECKING:
    import httpx

    from azoai.config.catalog import ModelInfo
    from azoai.config.deployments import Resolution
    from azoai.config.settings import Settings

__all__ = ["Service"]


class Service:
    """A client-backed service (see the module docstring)."""

    def __init__(
        self,
        client: Client | Settings | None = None,
        *,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        **settings_kwargs: Any,
    ) -> None:
        if isinstance(client, Client):
            if settings_kwargs or http_client is not None or http_async_client is not None:
                raise TypeError("pass either a Client or settings keyword arguments, not both")
            self.client = client
            self._owned = False
        else:
            self.client = Client(
                client,
                http_client=http_client,
                http_async_client=http_async_client,
                **settings_kwargs,
            )
            self._owned = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client.settings!r})"

    @property
    def settings(self) -> Settings:
        return self.client.settings

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the client this service built (a client passed in stays open)."""
        if self._owned:
            self.client.close()

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- building and sending --------------------------------------------------------------------

    def _target(self, model: str | None) -> tuple[Resolution, ModelInfo]:
        res = self.client.resolve(model)
        return res, self.client._model_for(res)

    async def _atarget(self, model: str | None) -> tuple[Resolution, ModelInfo]:
        if self.client.settings.discovery is not None and self.client._discovery_stale():
            import asyncio

            # listing deployments is blocking HTTP: off the event loop
            await asyncio.to_thread(self.client.known_deployments)
        return self._target(model)

    def _url(self, op: str, deployment: str, *, route: str, version: ApiVersion) -> str:
        return operation_url(self.settings.endpoint, op, deployment, route=route, version=version)

    def _policy(
        self,
        call: Call,
        options: CallOptions | None,
        route: str | None = None,
        version: ApiVersion | None = None,
    ) -> Attempts:
        """The client's retry policy for ``call``; its errors name the ``route`` and ``version``
        the call really went to (legacy completions from a v1 client go to the dated route)."""
        s = self.settings
        if (route is not None and route != s.route) or (
            version is not None and version != s.api_version
        ):
            s = s.replace(route=route or s.route, api_version=version or s.api_version)
        return attempts_for(
            s, call, options or DEFAULT_OPTIONS, self.client.connection.auth.on_unauthorized
        )

    def _send(
        self,
        call: Call,
        options: CallOptions | None,
        route: str | None = None,
        version: ApiVersion | None = None,
    ) -> Reply:
        """A JSON call through the client's request loop."""
        opts = options or DEFAULT_OPTIONS
        return self._send_request(call, self.client._request(call, opts), opts, route, version)

    async def _asend(
        self,
        call: Call,
        options: CallOptions | None,
        route: str | None = None,
        version: ApiVersion | None = None,
    ) -> Reply:
        opts = options or DEFAULT_OPTIONS
        return await self._asend_request(
            call, self.client._request(call, opts), opts, route, version
        )

    def _send_request(
        self,
        call: Call,
        req: HttpRequest,
        options: CallOptions | None,
        route: str | None = None,
        version: ApiVersion | None = None,
    ) -> Reply:
        """A prebuilt request (a multipart upload, say) through the same loop: retried, and its
        credentials refreshed after a 401, as every call is."""
        http = self.client._transport
        policy = self._policy(call, options, route, version)
        return run(policy, lambda: http.send(req))  # type: ignore[no-any-return]

    async def _asend_request(
        self,
        call: Call,
        req: HttpRequest,
        options: CallOptions | None,
        route: str | None = None,
        version: ApiVersion | None = None,
    ) -> Reply:
        http = self.client._transport
        policy = self._policy(call, options, route, version)
        return await arun(policy, lambda: http.asend(req))  # type: ignore[no-any-return]
