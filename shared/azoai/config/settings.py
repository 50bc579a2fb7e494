"""One frozen settings object that every adapter builds from its own arguments.

Sources, highest first: explicit arguments, a TOML config file (``config_file=``, else the path in
``AZOAI_CONFIG``, else ``./azoai.toml`` when it exists), environment variables, defaults. Where each
value came from is recorded in :attr:`Settings.sources` (``azoai doctor`` prints it). Every
configuration error is raised here, as :class:`~azoai.errors.ConfigError` naming the setting.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import tomllib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from pydantic import SecretStr

from azoai.config.deployments import (
    DeploymentRecord,
    DiscoverySettings,
    parse_model_id,
)
from azoai.config.endpoints import Endpoint, endpoint_from_resource_name, parse_endpoint
from azoai.config.routes import RouteSpec, parse_routes
from azoai.config.secrets import credential, header_problem
from azoai.config.versions import Api, ApiVersion, Route, resolve_route
from azoai.errors import ConfigError

__all__ = [
    "ENV_VARS",
    "AuthMode",
    "AuthSettings",
    "Limits",
    "RetryPolicy",
    "Settings",
    "Timeouts",
    "Transport",
    "WebSocketOptions",
    "parse_bool",
]

log = logging.getLogger("azoai.settings")

AuthMode = Literal[
    "api_key",
    "token",
    "token_provider",
    "credential",
    "managed_identity",
    "default_credential",
    "workload_identity",
    "client_secret",
    "azure_cli",
    "none",
]
AUTH_MODES: tuple[str, ...] = AuthMode.__args__  # type: ignore[attr-defined]
ENTRA_MODES = frozenset(AUTH_MODES) - {"api_key", "none"}

#: Every environment variable azoai reads, with what it sets. The README's table is tested
#: against this mapping, so the two cannot drift.
ENV_VARS: Mapping[str, str] = MappingProxyType(
    {
        "AZURE_OPENAI_ENDPOINT": "endpoint, e.g. https://<resource>.openai.azure.com",
        "AZURE_OPENAI_BASE_URL": "alias of AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY": "API key (sent as the api-key header)",
        "AZURE_OPENAI_KEY": "alias of AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_AD_TOKEN": "a static Entra ID access token",
        "AZURE_OPENAI_API_VERSION": "api_version",
        "OPENAI_API_VERSION": "api_version, when AZURE_OPENAI_API_VERSION is unset (LangChain's name)",
        "AZURE_OPENAI_DEPLOYMENT": "default deployment",
        "AZURE_OPENAI_DEFAULT_DEPLOYMENT": "alias of AZURE_OPENAI_DEPLOYMENT",
        "AZURE_USE_MANAGED_IDENTITY": "true: authenticate with ManagedIdentityCredential",
        "AZURE_USE_DEFAULT_CREDENTIAL": "true: authenticate with DefaultAzureCredential",
        "AZURE_MANAGED_IDENTITY_CLIENT_ID": "client id of a user-assigned managed identity",
        "AZURE_TENANT_ID": "tenant for workload identity or a service principal (azure-identity)",
        "AZURE_CLIENT_ID": "client id for workload identity or a service principal (azure-identity)",
        "AZURE_CLIENT_SECRET": "service principal secret, with auth_mode='client_secret' (azure-identity)",
        "AZURE_FEDERATED_TOKEN_FILE": "workload identity token file; with AZURE_CLIENT_ID and AZURE_TENANT_ID selects workload identity",
        "AZURE_AUTHORITY_HOST": "Entra authority for sovereign clouds (azure-identity)",
        "AZURE_SUBSCRIPTION_ID": "subscription for deployment discovery (when discovery is on)",
        "AZURE_RESOURCE_GROUP": "resource group for deployment discovery (when discovery is on)",
        "AZOAI_CONFIG": "path of the azoai TOML config file",
    }
)

_TRUE = frozenset({"true", "1", "yes", "on", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "off", "n", "f", ""})


def parse_bool(value: object, *, setting: str) -> bool:
    """``true/1/yes/on`` are true; ``false/0/no/off`` and the empty string are false; anything
    else is a :class:`ConfigError` (never silently true)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
    raise ConfigError(
        f"{setting} must be a boolean (true/false, 1/0, yes/no, on/off), got {value!r}",
        setting=setting,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The core's one retry layer (the SDK's own retries are off).

    Retries connection errors and 408/429/500/502/503/504 with exponential backoff and jitter,
    honouring ``retry-after-ms`` / ``x-ms-retry-after-ms`` / ``retry-after``. A server wait longer
    than ``max_retry_after`` (quota exhaustion says 86400 s) fails at once with ``retry_after`` set.
    """

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 20.0
    jitter: float = 0.2
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ConfigError(
                f"max_retries must be an integer >= 0, got {self.max_retries!r}",
                setting="max_retries",
            )
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            _seconds(getattr(self, name), f"retry.{name}", zero_ok=True)
        if (
            isinstance(self.jitter, bool)
            or not isinstance(self.jitter, int | float)
            or not 0 <= self.jitter <= 1
        ):
            raise ConfigError(
                f"retry.jitter must be a number between 0 and 1, got {self.jitter!r}",
                setting="retry.jitter",
            )


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds, each a deadline for one attempt (a retry gets a fresh one).

    ``read`` (the ``timeout`` argument) bounds a whole non-streamed attempt, from connecting to
    the last byte of the body, however slowly the bytes come; ``connect`` the connection and TLS
    handshake within it. A stream is bounded by ``stream`` (``stream_timeout``) from connecting
    to its last event, and by ``stream_idle`` (``stream_idle_timeout``) between two events
    (SSE keep-alive comments do not count as events)."""

    connect: float = 10.0
    read: float = 120.0
    stream_idle: float = 60.0
    stream: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "stream_idle", "stream"):
            _seconds(getattr(self, name), f"timeout.{name}")


MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bytes. ``response_bytes`` (``max_response_bytes``) bounds a non-streamed response body,
    counted after decompression; ``event_bytes`` (``max_event_bytes``) one stream event (its
    lines together). The defaults hold the largest answers Azure gives: 2048 embeddings of 3072
    dimensions are about 34 MB as base64 (what azoai asks for) and 2048 x 1536 about 75 MB as
    JSON floats (older api-versions); a Responses ``response.completed`` event repeats the whole
    response."""

    response_bytes: int = 128 * MIB
    event_bytes: int = 16 * MIB

    def __post_init__(self) -> None:
        for name, arg in (
            ("response_bytes", "max_response_bytes"),
            ("event_bytes", "max_event_bytes"),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
                raise ConfigError(
                    f"{arg} (limits.{name}) must be a whole number of bytes >= 1024, got {value!r}",
                    setting=arg,
                )


Transport = Literal["http", "websocket"]
KeyAuth = Literal["header", "bearer", "query"]


@dataclass(frozen=True, slots=True)
class WebSocketOptions:
    """How the Responses API's WebSocket transport (``transport="websocket"``) behaves; see
    :mod:`azoai.io.websocket`.

    ``close_on_finish`` closes a call's socket when its response finished (the default); with
    ``False`` sockets stay open for the next call, so continuations hit the connection-local
    cache (or use :meth:`azoai.client.Client.websocket_session`). ``key_auth`` says where an API
    key goes on the handshake: the ``api-key`` header (default), ``Authorization: Bearer``
    (Microsoft's sample) or, only if a proxy needs it, the URL query (keys in URLs end up in
    logs). ``chain`` sends only the new input items with ``previous_response_id`` when a request
    extends the socket's latest response. ``max_age`` (seconds) retires sockets before Azure's
    60-minute limit; ``max_idle`` caps the idle sockets kept open per pool.
    """

    close_on_finish: bool = True
    key_auth: KeyAuth = "header"
    chain: bool = True
    max_age: float = 3300.0
    max_idle: int = 4

    def __post_init__(self) -> None:
        if self.key_auth not in ("header", "bearer", "query"):
            raise ConfigError(
                f"websocket key_auth {self.key_auth!r} is not valid; use 'header' (the api-key "
                "header), 'bearer' (Authorization: Bearer <key>) or 'query'",
                setting="websocket.key_auth",
            )
        _seconds(self.max_age, "websocket.max_age")
        if isinstance(self.max_idle, bool) or not isinstance(self.max_idle, int):
            raise ConfigError("websocket max_idle must be an integer", setting="websocket.max_idle")
        if self.max_idle < 0:
            raise ConfigError("websocket max_idle must be >= 0", setting="websocket.max_idle")

    @classmethod
    def coerce(cls, raw: Any) -> WebSocketOptions:
        """From ``None``, an instance, or a mapping (arguments or a ``[websocket]`` table)."""
        if raw is None:
            return cls()
        if isinstance(raw, WebSocketOptions):
            return raw
        if not isinstance(raw, Mapping):
            raise ConfigError(
                "websocket must be a table of WebSocket options "
                "(close_on_finish, key_auth, chain, max_age, max_idle)",
                setting="websocket",
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(
                f"unknown websocket option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                setting=f"websocket.{unknown[0]}",
            )
        values = dict(raw)
        for flag in ("close_on_finish", "chain"):
            if flag in values:
                values[flag] = parse_bool(values[flag], setting=f"websocket.{flag}")
        return cls(**values)


@dataclass(frozen=True, slots=True, eq=False)
class AuthSettings:
    """The chosen way to authenticate, and its inputs. Secrets are :class:`SecretStr`."""

    mode: AuthMode
    scope: str
    api_key: SecretStr | None = None
    token: SecretStr | None = None
    token_provider: Callable[[], str] | None = None
    async_token_provider: Callable[[], Awaitable[str]] | None = None
    credential: Any = None
    client_id: str | None = None
    tenant_id: str | None = None
    client_secret: SecretStr | None = None

    @property
    def is_entra(self) -> bool:
        return self.mode in ENTRA_MODES

    def __repr__(self) -> str:
        bits = [f"mode={self.mode!r}", f"scope={self.scope!r}"]
        if self.client_id:
            bits.append(f"client_id={self.client_id!r}")
        if self.api_key is not None:
            bits.append("api_key=SecretStr('**********')")
        if self.token is not None:
            bits.append("token=SecretStr('**********')")
        return f"AuthSettings({', '.join(bits)})"


@dataclass(frozen=True, slots=True, eq=False)
class Settings:
    """Everything the core needs to talk to one Azure OpenAI resource. Build with
    :meth:`Settings.build`; derive variants with :meth:`Settings.replace`."""

    endpoint: Endpoint
    api: Api
    route: Route
    api_version: ApiVersion
    auth: AuthSettings
    deployment: str | None = None
    model: str | None = None
    model_version: str | None = None
    deployment_map: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    deployments: tuple[DeploymentRecord, ...] = ()
    discovery: DiscoverySettings | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    strict: bool = False
    check_api_version: bool = True
    default_headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    config_file: str | None = None
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    routes: Mapping[str, RouteSpec] = field(default_factory=lambda: MappingProxyType({}))
    transport: Transport = "http"
    websocket: WebSocketOptions = field(default_factory=WebSocketOptions)

    def __repr__(self) -> str:
        return (
            f"Settings(endpoint={self.endpoint.base!r}, api={self.api!r}, route={self.route!r}, "
            f"api_version={self.api_version.value!r}, auth={self.auth!r}, deployment={self.deployment!r}, "
            f"model={self.model!r})"
        )

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def source_of(self, name: str) -> str:
        return self.sources.get(name, "default")

    @classmethod
    def build(
        cls,
        *,
        endpoint: str | None = None,
        resource_name: str | None = None,
        custom_endpoint: bool | None = None,
        api: str | None = None,
        route: str | None = None,
        api_version: str | None = None,
        api_key: str | SecretStr | None = None,
        azure_ad_token: str | SecretStr | None = None,
        token_provider: Callable[[], str] | Callable[[], Awaitable[str]] | None = None,
        async_token_provider: Callable[[], Awaitable[str]] | None = None,
        credential: Any = None,
        auth_mode: str | None = None,
        managed_identity_client_id: str | None = None,
        scope: str | None = None,
        deployment: str | None = None,
        model: str | None = None,
        model_version: str | None = None,
        deployment_map: Mapping[str, str] | None = None,
        deployments: Sequence[DeploymentRecord | Mapping[str, Any] | str] | None = None,
        discovery: bool | Mapping[str, Any] | DiscoverySettings | None = None,
        retry: RetryPolicy | Mapping[str, Any] | None = None,
        max_retries: int | None = None,
        timeout: float | Timeouts | None = None,
        connect_timeout: float | None = None,
        stream_idle_timeout: float | None = None,
        stream_timeout: float | None = None,
        max_response_bytes: int | None = None,
        max_event_bytes: int | None = None,
        strict: bool | None = None,
        check_api_version: bool | None = None,
        default_headers: Mapping[str, str] | None = None,
        routes: Mapping[str, Any] | None = None,
        transport: str | None = None,
        websocket: WebSocketOptions | Mapping[str, Any] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Settings:
        """Build settings from arguments, then the config file, then the environment.

        ``env`` replaces ``os.environ`` (tests, or a user who wants no environment at all:
        ``env={}``). ``config_file=False``-like behaviour: pass ``config_file=""`` to skip files.
        """
        environ = os.environ if env is None else env
        args = {
            k: v
            for k, v in {
                "endpoint": endpoint,
                "resource_name": resource_name,
                "custom_endpoint": custom_endpoint,
                "api": api,
                "route": route,
                "api_version": api_version,
                "api_key": api_key,
                "token": azure_ad_token,
                "token_provider": token_provider,
                "async_token_provider": async_token_provider,
                "credential": credential,
                "auth_mode": auth_mode,
                "client_id": managed_identity_client_id,
                "scope": scope,
                "deployment": deployment,
                "model": model,
                "model_version": model_version,
                "deployment_map": deployment_map,
                "deployments": deployments,
                "discovery": discovery,
                "strict": strict,
                "check_api_version": check_api_version,
                "default_headers": default_headers,
                "routes": routes,
                "transport": transport,
                "websocket": websocket,
            }.items()
            if v is not None
        }
        path = _config_path(config_file, environ)
        file_values = _read_config(path) if path else {}
        return _Builder(args, file_values, environ, str(path) if path else None).build(
            retry=retry,
            max_retries=max_retries,
            timeout=timeout,
            connect_timeout=connect_timeout,
            stream_idle_timeout=stream_idle_timeout,
            stream_timeout=stream_timeout,
            max_response_bytes=max_response_bytes,
            max_event_bytes=max_event_bytes,
        )


# --- config file --------------------------------------------------------------------------------

_FILE_TOP_KEYS = {
    "endpoint", "resource_name", "custom_endpoint", "api", "route", "api_version", "deployment",
    "model", "model_version", "strict", "check_api_version", "default_headers",
    "auth", "deployment_map", "deployments", "discovery", "retry", "timeout", "routes",
    "transport", "websocket", "limits",
}  # fmt: skip
_FILE_AUTH_KEYS = {"mode", "api_key", "token", "client_id", "tenant_id", "client_secret", "scope"}
_FILE_RETRY_KEYS = {f.name for f in fields(RetryPolicy)}
_FILE_TIMEOUT_KEYS = {f.name for f in fields(Timeouts)}
_FILE_LIMIT_KEYS = {f.name for f in fields(Limits)}


def _config_path(
    config_file: str | os.PathLike[str] | None, environ: Mapping[str, str]
) -> Path | None:
    if config_file is not None:
        if str(config_file) == "":
            return None
        p = Path(config_file)
        if not p.is_file():
            raise ConfigError(f"config_file {str(p)!r} does not exist", setting="config_file")
        return p
    from_env = environ.get("AZOAI_CONFIG")
    if from_env:
        p = Path(from_env)
        if not p.is_file():
            raise ConfigError(
                f"AZOAI_CONFIG points to {from_env!r}, which does not exist", setting="AZOAI_CONFIG"
            )
        return p
    local = Path("azoai.toml")
    return local if local.is_file() else None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read config file {str(path)!r}: {exc}", setting="config_file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {str(path)!r} is not valid TOML: {exc}", setting="config_file"
        ) from None
    if "azoai" in data and isinstance(data["azoai"], dict) and len(data) == 1:
        data = data["azoai"]
    _check_keys(data, _FILE_TOP_KEYS, str(path), "")
    for section, allowed in (
        ("auth", _FILE_AUTH_KEYS),
        ("retry", _FILE_RETRY_KEYS),
        ("timeout", _FILE_TIMEOUT_KEYS),
        ("limits", _FILE_LIMIT_KEYS),
    ):
        if section in data:
            if not isinstance(data[section], dict):
                raise ConfigError(f"[{section}] in {str(path)!r} must be a table", setting=section)
            _check_keys(data[section], allowed, str(path), f"{section}.")
            if section != "auth":
                _typed(data[section], section)
    return data


def _check_keys(data: Mapping[str, Any], allowed: set[str], path: str, prefix: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)} in config file {path!r}; "
            f"known keys: {', '.join(sorted(prefix + k for k in allowed))}",
            setting=prefix + unknown[0],
        )


# --- the builder --------------------------------------------------------------------------------


class _Builder:
    """Resolves each setting from the three sources and validates the combination."""

    def __init__(
        self, args: dict[str, Any], file: dict[str, Any], env: Mapping[str, str], path: str | None
    ):
        self.args = args
        self.file = file
        self.file_auth: dict[str, Any] = dict(file.get("auth") or {})
        self.env = env
        self.path = path
        self.sources: dict[str, str] = {}

    def pick_str(self, name: str, env_names: Sequence[str] = ()) -> str | None:
        """Like :meth:`pick`, for settings that must be strings (a TOML file can hold anything)."""
        value = self.pick(name, env_names)
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"{name} must be a string, got {type(value).__name__} ({self.sources.get(name)})",
                setting=name,
            )
        return value

    # one value from the first source that has it
    def pick(
        self,
        name: str,
        env_names: Sequence[str] = (),
        *,
        file_key: str | None = None,
        section: dict[str, Any] | None = None,
    ) -> Any:
        if name in self.args:
            self.sources[name] = "argument"
            return self.args[name]
        src = self.file if section is None else section
        key = file_key or name
        if key in src:
            self.sources[name] = f"file {self.path}"
            return src[key]
        for env_name in env_names:
            value = self.env.get(env_name)
            if value is not None and value.strip() != "":
                self.sources[name] = f"env {env_name}"
                return value.strip()
        return None

    def build(
        self,
        *,
        retry: RetryPolicy | Mapping[str, Any] | None,
        max_retries: int | None,
        timeout: float | Timeouts | None,
        connect_timeout: float | None,
        stream_idle_timeout: float | None,
        stream_timeout: float | None = None,
        max_response_bytes: int | None = None,
        max_event_bytes: int | None = None,
    ) -> Settings:
        endpoint = self._endpoint()
        api = self.pick_str("api") or "chat"
        if api not in ("chat", "responses"):
            raise ConfigError(
                f"api {api!r} is not valid; use 'chat' (Chat Completions) or 'responses'",
                setting="api",
            )
        route = self.pick_str("route")
        version_raw = self.pick_str(
            "api_version", ("AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION")
        )
        version_src = self.sources.get("api_version")
        route_r, version = resolve_route(api, route, version_raw, version_source=version_src)
        if version_raw is None:
            self.sources["api_version"] = "default"
        if route is None:
            self.sources["route"] = "derived from api and api_version"

        deployment = self.pick_str(
            "deployment", ("AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_DEFAULT_DEPLOYMENT")
        )
        if deployment is not None:
            deployment = parse_model_id(str(deployment), setting="deployment")
        model = self.pick_str("model")
        model_version = self.pick_str("model_version")
        dmap = self._deployment_map()
        static = self._deployments()
        discovery = self._discovery(endpoint)
        if static and discovery is not None:
            log.warning(
                "azoai: both a static deployments list and discovery are configured; using the static list and skipping discovery"
            )
            discovery = None

        auth = self._auth(endpoint)
        strict = self.pick("strict")
        check = self.pick("check_api_version")
        headers = self.pick("default_headers") or {}
        if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise ConfigError(
                "default_headers must map header names to string values", setting="default_headers"
            )
        for h in headers:
            if h.lower() in ("api-key", "authorization"):
                raise ConfigError(
                    f"default_headers must not carry credentials ({h!r}); use api_key, azure_ad_token or credential",
                    setting="default_headers",
                )
            # An APIM subscription key may ride here: a bad character must fail now, without
            # the value, not later inside httpx with the value in the message.
            problem = header_problem(headers[h])
            if problem is not None:
                raise ConfigError(
                    f"default_headers[{h!r}] {problem}", setting=f"default_headers[{h!r}]"
                )

        return Settings(
            endpoint=endpoint,
            api=cast(Api, api),
            route=route_r,
            api_version=version,
            auth=auth,
            deployment=deployment,
            model=str(model) if model is not None else None,
            model_version=str(model_version) if model_version is not None else None,
            deployment_map=MappingProxyType(dmap),
            deployments=static,
            discovery=discovery,
            retry=self._retry(retry, max_retries),
            timeout=self._timeouts(timeout, connect_timeout, stream_idle_timeout, stream_timeout),
            limits=self._limits(max_response_bytes, max_event_bytes),
            strict=parse_bool(strict, setting="strict") if strict is not None else False,
            check_api_version=parse_bool(check, setting="check_api_version")
            if check is not None
            else True,
            default_headers=MappingProxyType(dict(headers)),
            config_file=self.path,
            sources=MappingProxyType(dict(self.sources)),
            routes=MappingProxyType(parse_routes(self.pick("routes"), self.env)),
            **self._transport(api),
        )

    def _transport(self, api: str) -> dict[str, Any]:
        transport = self.pick_str("transport") or "http"
        if transport not in ("http", "websocket"):
            raise ConfigError(
                f"transport {transport!r} is not valid; use 'http' or 'websocket'",
                setting="transport",
            )
        if transport == "websocket" and api != "responses":
            raise ConfigError(
                "transport='websocket' works only with the Responses API (on the v1 route); "
                "set api='responses' (use_responses_api=True in the adapters), or use "
                "transport='http'",
                setting="transport",
            )
        return {
            "transport": transport,
            "websocket": WebSocketOptions.coerce(self.pick("websocket")),
        }

    def _endpoint(self) -> Endpoint:
        custom_raw = self.pick("custom_endpoint")
        custom = (
            parse_bool(custom_raw, setting="custom_endpoint") if custom_raw is not None else False
        )
        # endpoint and resource_name are one setting: the higher source wins between them too.
        if "endpoint" in self.args or (
            "resource_name" not in self.args and "endpoint" in self.file
        ):
            raw = self.pick_str("endpoint")
        elif "resource_name" in self.args or "resource_name" in self.file:
            name = self.pick_str("resource_name")
            raw = endpoint_from_resource_name(str(name))
            self.sources["endpoint"] = (
                self.sources.pop("resource_name", "argument") + " (resource_name)"
            )
        else:
            raw = self.pick_str("endpoint", ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_BASE_URL"))
        if raw is None:
            raise ConfigError(
                "no endpoint: pass endpoint='https://<resource>.openai.azure.com' (or resource_name=...), "
                "set AZURE_OPENAI_ENDPOINT, or put endpoint in azoai.toml",
                setting="endpoint",
            )
        return parse_endpoint(str(raw), custom_endpoint=custom)

    def _deployment_map(self) -> dict[str, str]:
        raw = self.pick("deployment_map")
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            raise ConfigError(
                "deployment_map must map model names to deployment names", setting="deployment_map"
            )
        out: dict[str, str] = {}
        for k, v in raw.items():
            if not isinstance(k, str) or not isinstance(v, str) or not k.strip() or not v.strip():
                raise ConfigError(
                    f"deployment_map entries must be non-empty strings, got {k!r}: {v!r}",
                    setting="deployment_map",
                )
            out[k] = parse_model_id(v, setting=f"deployment_map[{k!r}]")
        return out

    def _deployments(self) -> tuple[DeploymentRecord, ...]:
        raw = self.pick("deployments")
        if raw is None:
            return ()
        if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
            raise ConfigError(
                "deployments must be a list of deployment names or records", setting="deployments"
            )
        out = []
        seen = set()
        for item in raw:
            rec = DeploymentRecord.coerce(item)
            if rec.name in seen:
                raise ConfigError(
                    f"deployment {rec.name!r} is listed twice in deployments", setting="deployments"
                )
            seen.add(rec.name)
            out.append(rec)
        return tuple(out)

    def _discovery(self, endpoint: Endpoint) -> DiscoverySettings | None:
        raw = self.pick("discovery")
        if raw is None or raw is False:
            return None
        if isinstance(raw, DiscoverySettings):
            return raw
        if raw is True:
            raw = {}
        if isinstance(raw, str):
            return (
                None
                if not parse_bool(raw, setting="discovery")
                else self._discovery_from({}, endpoint)
            )
        if not isinstance(raw, Mapping):
            raise ConfigError(
                "discovery must be true/false or a table of discovery settings", setting="discovery"
            )
        return self._discovery_from(raw, endpoint)

    def _discovery_from(self, raw: Mapping[str, Any], endpoint: Endpoint) -> DiscoverySettings:
        values = dict(raw)
        if "subscription_id" not in values and self.env.get("AZURE_SUBSCRIPTION_ID"):
            values["subscription_id"] = self.env["AZURE_SUBSCRIPTION_ID"]
        if "resource_group" not in values and self.env.get("AZURE_RESOURCE_GROUP"):
            values["resource_group"] = self.env["AZURE_RESOURCE_GROUP"]
        if "account" not in values and endpoint.resource_name:
            values["account"] = endpoint.resource_name
        values.setdefault("arm_host", endpoint.cloud.arm_host)
        values.setdefault("scope", endpoint.cloud.arm_scope)
        return DiscoverySettings.from_mapping(values)

    def _retry(
        self, retry: RetryPolicy | Mapping[str, Any] | None, max_retries: int | None
    ) -> RetryPolicy:
        if retry is not None and not isinstance(retry, RetryPolicy):
            # the same table as the config file's [retry], given as an argument
            if not isinstance(retry, Mapping):
                raise ConfigError(
                    f"retry must be a RetryPolicy or a mapping, got {type(retry).__name__}",
                    setting="retry",
                )
            unknown = sorted(set(retry) - _FILE_RETRY_KEYS)
            if unknown:
                raise ConfigError(
                    f"unknown retry setting(s) {', '.join(map(repr, unknown))}; "
                    f"known: {', '.join(sorted(_FILE_RETRY_KEYS))}",
                    setting="retry",
                )
            retry = RetryPolicy(**_typed(retry, "retry"))
        base = retry or RetryPolicy(**_typed(self.file.get("retry") or {}, "retry"))
        if retry is not None:
            self.sources["retry"] = "argument"
        elif self.file.get("retry"):
            self.sources["retry"] = f"file {self.path}"
        if max_retries is not None:
            if not isinstance(max_retries, int) or isinstance(max_retries, bool):
                raise ConfigError(
                    f"max_retries must be an integer, got {max_retries!r}", setting="max_retries"
                )
            self.sources["retry.max_retries"] = "argument"
            base = replace(base, max_retries=max_retries)
        return base

    def _timeouts(
        self,
        timeout: float | Timeouts | None,
        connect: float | None,
        idle: float | None,
        whole_stream: float | None = None,
    ) -> Timeouts:
        if isinstance(timeout, Timeouts):
            base = timeout
            self.sources["timeout"] = "argument"
        else:
            base = Timeouts(**_typed(self.file.get("timeout") or {}, "timeout"))
            if self.file.get("timeout"):
                self.sources["timeout"] = f"file {self.path}"
            if timeout is not None:
                base = replace(base, read=_seconds(timeout, "timeout"))
                self.sources["timeout.read"] = "argument"
        if connect is not None:
            base = replace(base, connect=_seconds(connect, "connect_timeout"))
        if idle is not None:
            base = replace(base, stream_idle=_seconds(idle, "stream_idle_timeout"))
        if whole_stream is not None:
            base = replace(base, stream=_seconds(whole_stream, "stream_timeout"))
        return base

    def _limits(self, response_bytes: int | None, event_bytes: int | None) -> Limits:
        raw = dict(self.file.get("limits") or {})
        if raw:
            self.sources["limits"] = f"file {self.path}"
        for name, value in (("response_bytes", response_bytes), ("event_bytes", event_bytes)):
            if value is not None:
                raw[name] = value
                self.sources[f"limits.{name}"] = "argument"
        return Limits(**raw)

    # -- auth ------------------------------------------------------------------------------------

    def _auth(self, endpoint: Endpoint) -> AuthSettings:
        fa = self.file_auth
        explicit = self.pick("auth_mode", file_key="mode", section=fa)
        scope = self.pick("scope", file_key="scope", section=fa) or endpoint.cloud.scope
        if "scope" not in self.sources:
            self.sources["scope"] = f"default for {endpoint.cloud.name}"
        client_id = self.pick(
            "client_id", ("AZURE_MANAGED_IDENTITY_CLIENT_ID",), file_key="client_id", section=fa
        )

        # What each source level offers, highest first.
        levels: list[tuple[str, dict[str, Any]]] = []
        arg_level: dict[str, Any] = {
            k: self.args[k]
            for k in ("api_key", "token", "token_provider", "async_token_provider", "credential")
            if k in self.args
        }
        levels.append(("argument", arg_level))
        levels.append((f"file {self.path}", {k: fa[k] for k in ("api_key", "token") if k in fa}))
        env_level: dict[str, Any] = {}
        env_names: dict[str, str] = {}
        for name, key in (
            ("AZURE_OPENAI_API_KEY", "api_key"),
            ("AZURE_OPENAI_KEY", "api_key"),
            ("AZURE_OPENAI_AD_TOKEN", "token"),
        ):
            value = self.env.get(name)
            if value and value.strip() and key not in env_level:
                env_level[key] = value
                env_names[key] = name
        if parse_bool(
            self.env.get("AZURE_USE_MANAGED_IDENTITY", ""), setting="AZURE_USE_MANAGED_IDENTITY"
        ):
            env_level["managed_identity"] = True
        if parse_bool(
            self.env.get("AZURE_USE_DEFAULT_CREDENTIAL", ""), setting="AZURE_USE_DEFAULT_CREDENTIAL"
        ):
            env_level["default_credential"] = True
        if all(
            self.env.get(n)
            for n in ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID")
        ):
            env_level["workload_identity"] = True
        levels.append(("env", env_level))

        def first(key: str) -> tuple[Any, str | None]:
            for where, offered in levels:
                if key in offered:
                    return offered[key], (f"env {env_names[key]}" if where == "env" else where)
            return None, None

        mode: str | None
        if explicit is not None:
            mode = str(explicit)
            if mode not in AUTH_MODES:
                raise ConfigError(
                    f"auth_mode {mode!r} is not valid; use one of {', '.join(AUTH_MODES)}",
                    setting="auth_mode",
                )
            self.sources["auth_mode"] = self.sources.get("auth_mode", "argument")
        else:
            mode = None
            for where, offered in levels:
                if not offered:
                    continue
                mode = _mode_from(offered)
                if "api_key" in offered and mode != "api_key":
                    log.warning(
                        "azoai: both an API key and Entra ID credentials are given (%s); using Entra ID (%s) and ignoring the key",
                        where,
                        mode,
                    )
                self.sources["auth_mode"] = f"inferred from {where}"
                break
            if mode is None:
                raise ConfigError(
                    "no credentials for Azure OpenAI: pass api_key (or set AZURE_OPENAI_API_KEY), "
                    "azure_ad_token_provider / credential (e.g. DefaultAzureCredential()), or set "
                    "AZURE_USE_DEFAULT_CREDENTIAL=true or AZURE_USE_MANAGED_IDENTITY=true",
                    setting="api_key",
                )

        if mode in ENTRA_MODES and not endpoint.supports_entra:
            raise ConfigError(
                f"Entra ID authentication needs a custom-subdomain endpoint (https://<resource>.openai.azure.com); "
                f"the regional endpoint {endpoint.host} accepts only API keys",
                setting="endpoint",
            )

        out: dict[str, Any] = {
            "mode": mode,
            "scope": str(scope),
            "client_id": str(client_id) if client_id else None,
        }
        if mode == "api_key":
            key, key_src = first("api_key")
            if key is None:
                raise ConfigError(
                    "auth_mode 'api_key' needs api_key (or AZURE_OPENAI_API_KEY)", setting="api_key"
                )
            out["api_key"] = _secret(key, "api_key", key_src)
            self.sources["api_key"] = str(key_src)
        elif mode == "token":
            token, token_src = first("token")
            if token is None:
                raise ConfigError(
                    "auth_mode 'token' needs azure_ad_token (or AZURE_OPENAI_AD_TOKEN)",
                    setting="azure_ad_token",
                )
            out["token"] = _secret(token, "azure_ad_token", token_src)
            self.sources["azure_ad_token"] = str(token_src)
        elif mode == "token_provider":
            sync_p, _ = first("token_provider")
            async_p, _ = first("async_token_provider")
            if sync_p is not None and _is_async_callable(sync_p):
                sync_p, async_p = None, async_p or sync_p
            if sync_p is None and async_p is None:
                raise ConfigError(
                    "auth_mode 'token_provider' needs azure_ad_token_provider",
                    setting="azure_ad_token_provider",
                )
            for p, name in (
                (sync_p, "azure_ad_token_provider"),
                (async_p, "azure_ad_async_token_provider"),
            ):
                if p is not None and not callable(p):
                    raise ConfigError(
                        f"{name} must be callable (it returns a token string)", setting=name
                    )
            if async_p is not None and not _is_async_callable(async_p):
                raise ConfigError(
                    "azure_ad_async_token_provider must be an async function returning a token string",
                    setting="azure_ad_async_token_provider",
                )
            out["token_provider"] = sync_p
            out["async_token_provider"] = async_p
        elif mode == "credential":
            cred, _ = first("credential")
            if cred is None:
                raise ConfigError(
                    "auth_mode 'credential' needs credential=<azure-identity credential>",
                    setting="credential",
                )
            if not callable(getattr(cred, "get_token", None)):
                raise ConfigError(
                    f"credential must be an azure-identity credential (with get_token), got {type(cred).__name__}; "
                    "for an API key use api_key=",
                    setting="credential",
                )
            out["credential"] = cred
        elif mode == "client_secret":
            tenant = self.pick("tenant_id", ("AZURE_TENANT_ID",), file_key="tenant_id", section=fa)
            cid = client_id or self.pick("client_id", ("AZURE_CLIENT_ID",))
            secret = self.pick(
                "client_secret", ("AZURE_CLIENT_SECRET",), file_key="client_secret", section=fa
            )
            missing = [
                n
                for n, v in (
                    ("tenant_id (AZURE_TENANT_ID)", tenant),
                    ("client_id (AZURE_CLIENT_ID)", cid),
                    ("client_secret (AZURE_CLIENT_SECRET)", secret),
                )
                if not v
            ]
            if missing:
                raise ConfigError(
                    f"auth_mode 'client_secret' is missing: {', '.join(missing)}",
                    setting=missing[0].split(" ")[0],
                )
            out.update(
                tenant_id=str(tenant),
                client_id=str(cid),
                client_secret=_secret(
                    secret, "client_secret", self.sources.get("client_secret"), header=False
                ),
            )
        elif mode == "workload_identity":
            missing = [
                n for n in ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID") if not self.env.get(n)
            ]
            if not (client_id or self.env.get("AZURE_CLIENT_ID")):
                missing.append("AZURE_CLIENT_ID")
            if missing:
                raise ConfigError(
                    f"auth_mode 'workload_identity' needs {', '.join(missing)} in the environment",
                    setting=missing[0],
                )
            out["client_id"] = client_id or self.env.get("AZURE_CLIENT_ID")
            out["tenant_id"] = self.env.get("AZURE_TENANT_ID")
        return AuthSettings(**out)


def _mode_from(offered: Mapping[str, Any]) -> str:
    """Within one source level: Entra forms beat a key; a static token beats a provider, which
    beats a credential object, which beats the environment flags."""
    for key, mode in (
        ("token", "token"),
        ("token_provider", "token_provider"),
        ("async_token_provider", "token_provider"),
        ("credential", "credential"),
        ("managed_identity", "managed_identity"),
        ("default_credential", "default_credential"),
        ("workload_identity", "workload_identity"),
    ):
        if key in offered:
            return mode
    return "api_key"


def _is_async_callable(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


def _secret(value: Any, setting: str, source: str | None, *, header: bool = True) -> SecretStr:
    """A credential as it enters (see :func:`azoai.config.secrets.credential`): stripped, and refused
    without echoing it when a header could not carry it."""
    if not isinstance(value, str | SecretStr):
        raise ConfigError(f"{setting} must be a string", setting=setting)
    return credential(value, setting=setting, source=source, header=header)


#: The longest wait any setting may ask for (about 115 days): larger values overflow the
#: platform's timers (``socket.settimeout(1e10)`` raises ``OverflowError``).
MAX_SECONDS = 10_000_000.0


def _seconds(value: Any, setting: str, *, zero_ok: bool = False) -> float:
    """A finite number of seconds, > 0 (>= 0 with ``zero_ok``) and at most ``MAX_SECONDS``; a
    ``nan`` would compare false against every bound and disable what it configures."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{setting} must be a number of seconds, got {value!r}", setting=setting)
    low_ok = value >= 0 if zero_ok else value > 0
    if not math.isfinite(value) or not low_ok or value > MAX_SECONDS:
        low = ">= 0" if zero_ok else "> 0"
        raise ConfigError(
            f"{setting} must be {low} seconds (a finite number, at most {MAX_SECONDS:,.0f}), "
            f"got {value!r}",
            setting=setting,
        )
    return float(value)


def _typed(values: Mapping[str, Any], section: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ConfigError(
                f"{section}.{k} must be a number, got {v!r}", setting=f"{section}.{k}"
            )
        if not math.isfinite(v):  # TOML has nan and inf
            raise ConfigError(
                f"{section}.{k} must be a finite number, got {v!r}", setting=f"{section}.{k}"
            )
        out[k] = v
    return out
