"""What the LangChain classes share about their connection: the service objects' fields (the
audio tools and parser, the image tool: langchain-openai's argument names, turned into a core
client on first use), and the models' core client and copies (chat, completion, embeddings)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from azoai.client import Client
from azoai.copying import copy_model, deep_copy_model, field_names
from langchain_azoai._settings import build_settings, make_client

__all__ = ["ModelConnection", "ServiceConnection"]


class ModelConnection:
    """The core client of a LangChain model (a mixin): built from its ``settings`` on first use,
    closed with it, never shared with a copy; ``model_copy`` builds new settings when the update
    changes a field in ``_input_fields``."""

    #: Fields the core settings or the client are made from: changing one means new settings.
    _input_fields: ClassVar[frozenset[str]]

    if TYPE_CHECKING:  # fields of the class this is mixed into
        settings: Any
        http_client: Any
        http_async_client: Any
        openai_proxy: str | None
        _client: Client | None
        _settings_given: bool

        def _setup(self) -> None: ...

    @property
    def client(self) -> Client:
        """The :class:`azoai.client.Client` this model (and any view of it, such as
        ``bind_tools``'s) uses; built on first use."""
        client = self._client  # read once: a private attribute is a slow lookup on a model
        if client is None:
            if self.settings is None:  # built with model_validate(), which skips __init__
                self._setup()
            client = self._client = make_client(
                self.settings, self.http_client, self.http_async_client, self.openai_proxy
            )
        return client

    def close(self) -> None:
        """Release this model's share of the pooled connection (idempotent)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def __copy__(self) -> Self:
        return self._as_copy(super().__copy__())  # type: ignore[misc]

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """The fields and their lists and dicts are copied; credentials, token providers, HTTP
        clients, callback handlers, caches and the core settings are shared (see
        :mod:`azoai.copying`)."""
        return self._as_copy(deep_copy_model(self, memo))  # type: ignore[type-var]

    def _as_copy(self, copied: Self) -> Self:
        copied._client = None  # its own client: closing either never closes the other's
        return copied

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (see :meth:`__deepcopy__`); an ``update`` of a connection field (deployment,
        endpoint, credentials, timeouts...) gives the copy settings built from its new fields."""
        copied = copy_model(self, update, deep=deep)  # type: ignore[type-var]
        names = field_names(type(self), update or {})  # type: ignore[arg-type]
        if not self._input_fields.isdisjoint(names):
            if not copied._settings_given and "settings" not in names:
                copied.__dict__["settings"] = None
            copied._setup()
        return copied


class ServiceConnection(BaseModel):
    """The connection arguments both classes take (langchain-openai's names), or ``client=``
    (with ``azure_deployment`` naming the deployment, or the client's default)."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    azure_endpoint: str | None = None
    deployment_name: str | None = Field(default=None, alias="azure_deployment")
    openai_api_version: str | None = Field(default=None, alias="api_version")
    openai_api_key: SecretStr | None = Field(default=None, alias="api_key")
    azure_ad_token: SecretStr | None = None
    azure_ad_token_provider: Callable[[], str] | None = Field(default=None, exclude=True)
    azure_ad_async_token_provider: Callable[[], Awaitable[str]] | None = Field(
        default=None, exclude=True
    )
    model_name: str | None = Field(default=None, alias="model")
    """The model behind the deployment (``whisper``, ``tts-hd``, ``gpt-image-1``): its rules apply."""
    request_timeout: Any = Field(default=None, alias="timeout")
    max_retries: int | None = None
    default_headers: dict[str, str] | None = None
    http_client: Any = Field(default=None, exclude=True)
    http_async_client: Any = Field(default=None, exclude=True)
    credential: Any = Field(default=None, exclude=True)
    auth_mode: str | None = None
    route: Literal["v1", "deployments"] | None = None
    config_file: str | None = None
    check_api_version: bool | None = None
    settings: Any = Field(default=None, exclude=True)
    client: Client | None = Field(default=None, exclude=True)

    _client: Client | None = PrivateAttr(default=None)

    def _core(self) -> Client:
        """The core client: the ``client=`` passed in, else one built from these fields (once)."""
        if self.client is not None:
            return self.client
        if self._client is None:
            settings = build_settings(
                {
                    "azure_endpoint": self.azure_endpoint,
                    "openai_api_version": self.openai_api_version,
                    "openai_api_key": self.openai_api_key,
                    "azure_ad_token": self.azure_ad_token,
                    "azure_ad_token_provider": self.azure_ad_token_provider,
                    "azure_ad_async_token_provider": self.azure_ad_async_token_provider,
                    "credential": self.credential,
                    "auth_mode": self.auth_mode,
                    "deployment_name": self.deployment_name,
                    "model_name": self.model_name,
                    "route": self.route,
                    "max_retries": self.max_retries,
                    "default_headers": self.default_headers,
                    "config_file": self.config_file,
                    "check_api_version": self.check_api_version,
                },
                timeout=self.request_timeout,
                settings=self.settings,
            )
            self._client = make_client(settings, self.http_client, self.http_async_client, None)
        return self._client

    def close(self) -> None:
        """Close the client this object built (a ``client=`` passed in stays open)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
