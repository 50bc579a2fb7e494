"""The connection the LlamaIndex service objects share (the speech-to-text reader, the
text-to-speech and image tool specs): the LLM's argument names (``engine`` and its aliases,
``azure_endpoint``, ``api_key``...), or ``client=`` an existing core client."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from azoai.client import Client
from llamaindex_azoai._settings import build_settings, resolve_engine

if TYPE_CHECKING:
    import httpx

__all__ = ["ServiceConnection"]


class ServiceConnection:
    """A mixin: :meth:`_connect` builds the core client from the constructor's connection
    arguments (or adopts ``client=``); :attr:`client`, :meth:`close` and :meth:`aclose`."""

    _client: Client
    _owned: bool
    _deployment: str | None

    def _connect(
        self,
        *,
        engine: str | None,
        model: str | None,
        azure_endpoint: str | None,
        api_base: str | None,
        api_key: Any,
        api_version: str | None,
        azure_ad_token_provider: Callable[..., Any] | None,
        use_azure_ad: bool,
        deployment_name: str | None,
        deployment: str | None,
        azure_deployment: str | None,
        max_retries: int | None,
        timeout: float | None,
        client: Client | None,
        http_client: httpx.Client | None,
        async_http_client: httpx.AsyncClient | None,
        core_options: dict[str, Any],
    ) -> None:
        """The deployment (``engine`` or an alias) is sent with each call (``self._deployment``),
        so with ``client=`` it still picks the deployment (``None``: the client's default)."""
        name = resolve_engine(
            engine,
            deployment_name=deployment_name,
            deployment=deployment,
            azure_deployment=azure_deployment,
        )
        self._deployment = name
        if client is not None:
            self._client, self._owned = client, False
            return
        settings = build_settings(
            azure_endpoint=azure_endpoint,
            api_base=api_base,
            api_key=api_key,
            api_version=api_version,
            use_azure_ad=use_azure_ad,
            azure_ad_token_provider=azure_ad_token_provider,
            deployment=name or model,
            model=model,
            max_retries=max_retries,
            timeout=timeout,
            core_options=core_options,
        )
        self._client = Client(
            settings, http_client=http_client, http_async_client=async_http_client
        )
        self._owned = True

    @property
    def client(self) -> Client:
        return self._client

    def close(self) -> None:
        """Close the client this object built (a ``client=`` passed in stays open)."""
        if self._owned:
            self._client.close()

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()
