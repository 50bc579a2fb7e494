"""Constructor arguments (llama-index's names and aliases, plus azoai's own) -> core settings.

llama-index's Azure classes name one thing several ways (``engine``, ``deployment_name``,
``deployment_id``, ``deployment``, ``azure_deployment``; ``azure_endpoint`` or ``api_base``).
This module folds the aliases into the core's single names and hands everything to
:meth:`azoai.config.settings.Settings.build`, which reads the config file and the environment and
validates the result. Nothing here knows how Azure works; it only renames.
"""

from __future__ import annotations

import json
import logging
import pickle
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_serializer

from azoai.config.auth_settings import secret_header
from azoai.config.deployments import DeploymentRecord
from azoai.config.routes import require_named_keys
from azoai.config.secrets import SealedSecret, keep, recall, seal, unseal
from azoai.config.settings import Settings
from azoai.copying import copy_model, field_names
from azoai.errors import ConfigError

if TYPE_CHECKING:
    import httpx

    from azoai.client import Client

__all__ = [
    "ARG_NAMES",
    "CORE_OPTIONS",
    "AzureConnection",
    "build_settings",
    "reject_unknown",
    "resolve_alias",
    "resolve_engine",
]

#: Fields whose values go into a pickle only encrypted (see azoai.config.secrets).
_SECRET_FIELDS = ("api_key", "azure_ad_token", "quota_store")
#: Credential objects never go into a pickle (one could carry a client secret or a token): they
#: stay in this process's memory (see azoai.config.secrets.keep).
_CREDENTIAL_FIELDS = ("credential", "azure_ad_token_provider", "azure_ad_async_token_provider")

log = logging.getLogger("llamaindex_azoai")

#: azoai's own constructor arguments, passed to ``Settings.build`` under the same name.
CORE_OPTIONS: tuple[str, ...] = (
    "resource_name",
    "custom_endpoint",
    "route",
    "auth_mode",
    "managed_identity_client_id",
    "scope",
    "model_version",
    "deployment_map",
    "deployments",
    "discovery",
    "retry",
    "connect_timeout",
    "stream_idle_timeout",
    "stream_timeout",
    "max_response_bytes",
    "max_event_bytes",
    "check_api_version",
    "auto_responses",
    "config_file",
    "env",
    "transport",
    "websocket",
    "routes",
    "quota_store",
    "telemetry",
)


#: The core's setting names (and value phrases) in error texts -> this package's arguments, so no
#: message names an argument the LlamaIndex classes lack (see azoai rename_error); the
#: deployment's argument is the class's own (engine, azure_deployment).
ARG_NAMES: Mapping[str, str] = {
    "endpoint": "azure_endpoint",
    "base_url": "api_base",
    "strict": "strict_params",
    "token_provider": "azure_ad_token_provider",
    "async_token_provider": "azure_ad_async_token_provider",
    "client_id": "managed_identity_client_id",
    "api='chat'": "use_responses_api=False",
    "api='responses'": "use_responses_api=True",
}


def resolve_alias(names: Mapping[str, Any], *, setting: str) -> Any:
    """The one value given under several alias names (``None`` when none is given).

    llama-index silently takes the first alias it finds; two *different* values are almost
    certainly a mistake, so they raise :class:`~azoai.errors.ConfigError` naming both."""
    given = {k: v for k, v in names.items() if v is not None}
    values = set()
    for v in given.values():
        values.add(v.get_secret_value() if isinstance(v, SecretStr) else v)
    if len(values) > 1:
        shown = ", ".join(f"{k}={v!r}" for k, v in given.items())
        raise ConfigError(
            f"conflicting values for {setting}: {shown}; pass only one of them", setting=setting
        )
    return next(iter(given.values()), None)


def resolve_engine(
    engine: str | None,
    *,
    deployment_name: str | None = None,
    deployment_id: str | None = None,
    deployment: str | None = None,
    azure_deployment: str | None = None,
) -> str | None:
    """The deployment under any of the names llama-index's LLM classes take for ``engine``."""
    name: str | None = resolve_alias(
        {
            "engine": engine,
            "deployment_name": deployment_name,
            "deployment_id": deployment_id,
            "deployment": deployment,
            "azure_deployment": azure_deployment,
        },
        setting="engine",
    )
    return name


def reject_unknown(owner: str, kwargs: Mapping[str, Any], fields: Iterable[str]) -> None:
    """A ``TypeError`` naming the constructor's keyword arguments that are none of the LLM
    class's fields (``owner``): request parameters belong in ``additional_kwargs``."""
    unknown = sorted(set(kwargs) - set(fields))
    if unknown:
        raise TypeError(
            f"{owner} got unexpected argument(s): {', '.join(unknown)}; "
            "extra request parameters go in additional_kwargs"
        )


def build_settings(
    *,
    endpoint: str | None = None,
    azure_endpoint: str | None = None,
    api_base: str | None = None,
    api_key: str | SecretStr | None = None,
    api_version: str | None = None,
    use_azure_ad: bool = False,
    azure_ad_token_provider: Callable[..., Any] | None = None,
    azure_ad_async_token_provider: Callable[..., Any] | None = None,
    azure_ad_token: str | SecretStr | None = None,
    credential: Any = None,
    deployment: str | None = None,
    model: str | None = None,
    api: str | None = None,
    max_retries: int | None = None,
    timeout: float | None = None,
    strict_params: bool | None = None,
    default_headers: Mapping[str, str] | None = None,
    core_options: Mapping[str, Any] | None = None,
    names: Mapping[str, str] = ARG_NAMES,
) -> Settings:
    """Map the adapter's constructor arguments onto :meth:`Settings.build`.

    * ``endpoint`` / ``azure_endpoint`` are the resource URL; ``api_base`` (llama-index's
      "base URL, useful for proxies", the openai SDK's ``base_url``) is used when neither is
      given, as llama-index does: a gateway's URL, or the openai SDK's base URL naming a
      deployment (the core takes the deployment from it).
    * The core builds in drop-in mode, as llama-index constructs: any ``https`` host, any
      api_version string; what it would only meet at the first call (an endpoint or api_version
      that is not one, no credentials at all) is raised there (see ``Settings.build``). Error
      texts use ``names``.
    * ``use_azure_ad=True`` without a token provider, token or credential means
      ``DefaultAzureCredential`` through the core (bearer tokens, cached and refreshed), never a
      one-shot token sent as a key.
    * Only what the caller gave is passed on; the core fills the rest from its config file and
      the environment and records where each value came from.
    """
    opts: dict[str, Any] = dict(core_options or {})
    unknown = sorted(set(opts) - set(CORE_OPTIONS))
    if unknown:
        raise TypeError(f"unknown azoai option(s): {', '.join(unknown)}")
    url = resolve_alias(
        {"endpoint": endpoint, "azure_endpoint": azure_endpoint}, setting="endpoint"
    )
    if use_azure_ad and not (
        azure_ad_token_provider
        or azure_ad_async_token_provider
        or azure_ad_token
        or credential
        or opts.get("auth_mode")
    ):
        opts["auth_mode"] = "default_credential"
    kwargs: dict[str, Any] = {
        "endpoint": url,
        "base_url": api_base if url is None else None,
        "api_key": api_key,
        "api_version": api_version,
        "token_provider": azure_ad_token_provider,
        "async_token_provider": azure_ad_async_token_provider,
        "azure_ad_token": azure_ad_token,
        "credential": credential,
        "deployment": deployment,
        "model": model,
        "api": api,
        "max_retries": max_retries,
        "timeout": timeout,
        "strict": strict_params,
        "default_headers": dict(default_headers) if default_headers else None,
        **opts,
    }
    return Settings.build(
        **{k: v for k, v in kwargs.items() if v is not None},
        dropin=True,
        defer_credentials=True,
        names=names,
    )


_RECORD_KEYS = ("name", "model", "model_version", "format", "sku", "capacity")


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a core option (records and settings objects become dicts;
    credentials inside them are left out)."""
    import dataclasses

    if isinstance(value, DeploymentRecord):
        return {k: getattr(value, k) for k in _RECORD_KEYS if getattr(value, k) is not None}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "credential" and getattr(value, f.name) is not None
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class AzureConnection(BaseModel):
    """Where and how to reach Azure OpenAI: the fields both adapter classes share.

    Secrets and credential objects are excluded from ``to_dict()``/``to_json()`` (and so from
    LlamaIndex's instrumentation payloads); the key is a :class:`SecretStr` from the start.
    """

    # llama-index's names
    azure_endpoint: str | None = Field(
        default=None, description="The resource URL (else AZURE_OPENAI_ENDPOINT or azoai.toml)."
    )
    api_base: str | None = Field(
        default=None, description="A proxy or gateway URL in front of the resource."
    )
    api_key: SecretStr | None = Field(
        default=None, exclude=True, description="API key (else AZURE_OPENAI_API_KEY)."
    )
    api_version: str | None = Field(
        default=None, description="api_version; azoai picks a current one when unset."
    )
    use_azure_ad: bool = Field(
        default=False,
        description="Entra ID: the token provider, token or credential given, else DefaultAzureCredential.",
    )
    azure_ad_token_provider: Callable[..., Any] | None = Field(
        default=None, exclude=True, description="A callable returning an Entra ID token."
    )
    azure_ad_async_token_provider: Callable[..., Any] | None = Field(
        default=None, exclude=True, description="An async callable returning an Entra ID token."
    )
    azure_ad_token: SecretStr | None = Field(
        default=None, exclude=True, description="A static Entra ID token."
    )
    credential: Any = Field(
        default=None, exclude=True, description="An azure-identity credential (sync or async)."
    )
    max_retries: int | None = Field(
        default=None, description="Retries of the core's one retry layer."
    )
    timeout: float | None = Field(default=None, description="Seconds to wait for a response.")
    default_headers: dict[str, str] | None = Field(
        default=None, description="Headers sent with every request."
    )
    reuse_client: bool = Field(
        default=True, description="Keep one client (and its pooled connection) for all calls."
    )
    # azoai's own
    endpoint: str | None = Field(default=None, description="The resource URL (azoai's name).")
    resource_name: str | None = None
    custom_endpoint: bool | None = None
    route: str | None = Field(default=None, description="'v1' or 'deployments'.")
    auth_mode: str | None = None
    managed_identity_client_id: str | None = None
    scope: str | None = None
    model_version: str | None = None
    deployment_map: dict[str, str] | None = None
    deployments: list[Any] | None = None
    discovery: Any = None
    connect_timeout: float | None = None
    stream_idle_timeout: float | None = None
    stream_timeout: float | None = None
    max_response_bytes: int | None = None
    max_event_bytes: int | None = None
    check_api_version: bool | None = None
    auto_responses: bool | None = Field(
        default=None,
        description="Send a call only the Responses API serves (function tools with reasoning on "
        "gpt-5.2 and later, documents) there transparently (default true); false keeps Chat "
        "Completions and such a call raises ResponsesRequiredError.",
    )
    transport: str | None = Field(
        default=None,
        description="'http' (default) or 'websocket' (Responses API over one socket; see the README).",
    )
    websocket: dict[str, Any] | None = Field(
        default=None,
        description="WebSocket options: close_on_finish, key_auth, chain, max_age, max_idle.",
    )
    telemetry: bool | None = Field(
        default=None,
        description="OpenTelemetry GenAI spans and metrics for each call (default true when "
        "opentelemetry-api is installed); false (or AZOAI_TELEMETRY=0) turns them off.",
    )
    strict_params: bool | None = Field(
        default=None,
        description="Raise on parameters the model or api_version rejects instead of dropping them.",
    )
    config_file: str | None = None
    routes: dict[str, Any] | None = Field(
        default=None,
        description="Routes across deployments and regions (see the README); a target's key is "
        "named by api_key_env, never given inline.",
    )
    retry: Any = Field(default=None, exclude=True)
    quota_store: SecretStr | None = Field(
        default=None,
        exclude=True,
        description="A Redis URL (else AZOAI_QUOTA_STORE): the deployment's TPM/RPM buckets and "
        "routes' cool-downs are kept there, shared by every process that names it (a fleet of "
        "workers, IngestionPipeline num_workers, on one quota).",
    )
    # Every value is a SecretStr from the start: env= stands in for the process environment, so
    # any variable in it may be a key (routes name theirs freely with api_key_env).
    env: dict[str, SecretStr] | None = Field(
        default=None,
        exclude=True,
        description="Variables read instead of os.environ (values kept as secrets).",
    )

    #: The class's own fields (besides these) the core settings are built from: see model_copy.
    _settings_fields: ClassVar[frozenset[str]] = frozenset()

    _settings: Settings | None = PrivateAttr(default=None)
    _client: Client | None = PrivateAttr(default=None)
    _http_client: httpx.Client | None = PrivateAttr(default=None)
    _async_http_client: httpx.AsyncClient | None = PrivateAttr(default=None)
    _unpickle_error: ConfigError | None = PrivateAttr(default=None)

    @field_serializer("deployments", "discovery")
    def _serialize_core_objects(self, value: Any) -> Any:
        return _plain(value)

    @field_serializer("default_headers")
    def _serialize_headers(self, value: dict[str, str] | None) -> dict[str, str] | None:
        # A header carrying a credential (an APIM subscription key...) stays out of
        # to_dict()/to_json(), as api_key does.
        return None if value is None else {k: v for k, v in value.items() if not secret_header(k)}

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            if name == "default_headers" and isinstance(value, Mapping):
                value = {k: "**********" if secret_header(k) else v for k, v in value.items()}
            yield name, value

    def _core_options(self) -> dict[str, Any]:
        opts = {k: getattr(self, k) for k in CORE_OPTIONS if getattr(self, k) is not None}
        if self.env is not None:
            opts["env"] = {k: v.get_secret_value() for k, v in self.env.items()}
        return opts

    def _build_settings(
        self, *, deployment: str | None, model: str | None, api: str | None = None
    ) -> Settings:
        # Credential objects are registered now, not at pickling time, so worker processes
        # forked before the model is pickled (ProcessPoolExecutor) find them (see __getstate__).
        for key in _CREDENTIAL_FIELDS:
            keep(getattr(self, key), owner=self)
        require_named_keys(self.routes, owner="a LlamaIndex model")
        deployment_arg = "engine" if "engine" in type(self).model_fields else "azure_deployment"
        return build_settings(
            endpoint=self.endpoint,
            azure_endpoint=self.azure_endpoint,
            api_base=self.api_base,
            api_key=self.api_key,
            api_version=self.api_version,
            use_azure_ad=self.use_azure_ad,
            azure_ad_token_provider=self.azure_ad_token_provider,
            azure_ad_async_token_provider=self.azure_ad_async_token_provider,
            azure_ad_token=self.azure_ad_token,
            credential=self.credential,
            deployment=deployment,
            model=model,
            api=api,
            max_retries=self.max_retries,
            timeout=self.timeout,
            strict_params=self.strict_params,
            default_headers=self.default_headers,
            core_options=self._core_options(),
            names={**ARG_NAMES, "deployment": deployment_arg},
        )

    @abstractmethod
    def _settings_from_fields(self) -> Settings:
        """The core settings from this object's fields (each class names its deployment field,
        and the LLM its API); rebuilt by :meth:`model_copy` when one of them changes."""

    def _init_connection(
        self,
        http_client: httpx.Client | None,
        async_http_client: httpx.AsyncClient | None,
        http_async_client: httpx.AsyncClient | None,
    ) -> None:
        """The constructor's last step: the httpx clients given (``http_async_client`` is the
        openai SDK's name for ``async_http_client``) and the settings built from the fields."""
        self._http_client = http_client
        self._async_http_client = async_http_client or http_async_client
        self._settings = self._settings_from_fields()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (see :meth:`__deepcopy__`); an ``update`` of a connection field (the
        deployment, endpoint, credentials, timeouts...) gives the copy settings built from its
        new fields."""
        copied = copy_model(self, update, deep=deep)
        names = field_names(type(self), update or {})
        if not (self._settings_fields | AzureConnection.model_fields.keys()).isdisjoint(names):
            copied._settings = copied._settings_from_fields()
        return copied

    @property
    def settings(self) -> Settings:
        """The core settings this object was built with (``azoai doctor`` shows the same)."""
        if self._unpickle_error is not None:
            raise self._unpickle_error
        assert self._settings is not None
        return self._settings

    def _new_client(self) -> Client:
        from azoai.client import Client

        return Client(
            self.settings,
            http_client=self._http_client,
            http_async_client=self._async_http_client,
        )

    @property
    def client(self) -> Client:
        """The azoai client calls go through (one per object unless ``reuse_client=False``)."""
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _call_client(self) -> tuple[Client, bool]:
        """The client for one call, and whether the caller must close it afterwards."""
        if self.reuse_client:
            return self.client, False
        return self._new_client(), True

    def close(self) -> None:
        """Release the pooled connection (idempotent)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def __copy__(self) -> Self:
        copied = super().__copy__()
        copied._client = None  # its own client: closing either never closes the other's
        return copied

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """The fields and their lists and dicts are copied; credentials, token providers, HTTP
        clients, the callback manager and the core settings are shared, and the copy gets its
        own client (see :mod:`azoai.copying`)."""
        from azoai.copying import deep_copy_model

        copied = deep_copy_model(self, memo)
        copied._client = None
        return copied

    def websocket_session(self) -> Any:
        """A long-lived WebSocket session (``transport="websocket"``): inside ``with`` or
        ``async with`` every call of this object shares one socket and each turn sends only its
        new items, chained to the previous response. Wrap a whole agent run with it."""
        return self.client.websocket_session()

    def __getstate__(self) -> dict[str, Any]:
        # Copies made for other processes (IngestionPipeline(num_workers=...)) rebuild their
        # client from the fields. Keys, tokens and env= travel encrypted with this process
        # tree's key (readable only by multiprocessing's workers of this tree, see
        # azoai.config.secrets); credential objects do not travel at all; other values that cannot be
        # pickled are left out with a warning instead of being deleted from this object, which
        # is what llama-index's BaseComponent.__getstate__ would do.
        state = dict(BaseModel.__getstate__(self))
        fields: dict[str, Any] = {}
        for key, value in state["__dict__"].items():
            if key in _SECRET_FIELDS:
                fields[key] = seal(value)
                continue
            if key == "default_headers" and value:
                # a credential in a header travels sealed, like api_key
                fields[key] = {
                    k: seal(SecretStr(v)) if secret_header(k) else v for k, v in value.items()
                }
                continue
            if key == "env" and value is not None:
                # One sealed blob: neither the values nor the names are readable in the pickle.
                plain = {k: v.get_secret_value() for k, v in value.items()}
                sealed = seal(SecretStr(json.dumps(plain)))
                # Without encryption: an empty env, so the copy never reads its own environment
                # in place of what the caller chose.
                fields[key] = sealed if sealed is not None else {}
                continue
            if key in _CREDENTIAL_FIELDS:
                # Kept in this process's memory: this process and forked workers get it back;
                # a spawned worker authenticates from its environment.
                fields[key] = keep(value, owner=self)
                continue
            try:
                pickle.dumps(value)
            except Exception:
                log.warning(
                    "llamaindex_azoai: %s cannot be pickled; a copy made in another process "
                    "is built without it",
                    key,
                )
                continue
            fields[key] = value
        state["__dict__"] = fields
        state["__pydantic_private__"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        fields = dict(state["__dict__"])
        for key in _SECRET_FIELDS:
            if key in fields:
                fields[key] = unseal(fields[key])
        if fields.get("default_headers"):
            headers: dict[str, str] = {}
            for k, v in fields["default_headers"].items():
                opened = unseal(v) if isinstance(v, SealedSecret) or v is None else v
                if isinstance(opened, SecretStr):
                    headers[k] = opened.get_secret_value()
                elif isinstance(opened, str):
                    headers[k] = opened
                # unreadable here (another process tree): the header is left out
            fields["default_headers"] = headers
        for key in _CREDENTIAL_FIELDS:
            if key in fields:
                fields[key] = recall(fields[key])
        env_lost = False
        if isinstance(fields.get("env"), SealedSecret):
            opened = unseal(fields["env"])
            # Unreadable here (another process tree): an empty env, never this process's
            # os.environ in place of what the caller chose.
            env_lost = opened is None
            fields["env"] = json.loads(opened.get_secret_value()) if opened is not None else {}
        try:
            self.__init__(**fields)  # type: ignore[misc]  # as llama-index's BaseComponent does
        except ConfigError as err:
            # Never raise while unpickling: a worker process that dies here hangs the pool.
            # The copy exists and its first call raises this error instead.
            private = {
                name: attr.get_default() for name, attr in self.__private_attributes__.items()
            }
            private["_unpickle_error"] = ConfigError(
                f"a copy of this model made for another process could not be built: {err.message}",
                setting=err.setting,
                fix="keys, tokens and env= reach only worker processes that multiprocessing "
                "starts from this process tree"
                + (
                    "; pass env= values to workers another way"
                    if env_lost
                    else "; give workers credentials through their environment "
                    "(AZURE_OPENAI_API_KEY) or use managed identity / DefaultAzureCredential via "
                    "AZURE_USE_* variables"
                ),
            )
            BaseModel.__setstate__(
                self, {**state, "__dict__": fields, "__pydantic_private__": private}
            )
