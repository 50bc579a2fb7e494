"""One frozen settings object that every adapter builds from its own arguments.

Sources, highest first: explicit arguments, a TOML config file (``config_file=``, else the path in
``AZOAI_CONFIG``, else ``./azoai.toml`` when it exists), environment variables, defaults. Where each
value came from is recorded in :attr:`Settings.sources` (``azoai doctor`` prints it). Every
configuration error is raised here, as :class:`~azoai.errors.ConfigError` naming the setting.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, TypeVar, cast

from pydantic import SecretStr

from azoai.config.auth_settings import (
    AUTH_MODES,
    ENTRA_MODES,
    AuthMode,
    AuthSettings,
    found_credentials,
    resolve_auth,
)
from azoai.config.deployments import (
    DeploymentRecord,
    DiscoverySettings,
    parse_model_id,
    resolve_deployment,
)
from azoai.config.dropin import Deferred, DropinSources, outside, rename_error
from azoai.config.endpoints import Endpoint
from azoai.config.files import RETRY_KEYS, config_path, read_config
from azoai.config.policies import (
    MAX_SECONDS,
    MIB,
    KeyAuth,
    Limits,
    RetryPolicy,
    Timeouts,
    Transport,
    WebSocketOptions,
    number_table,
    parse_bool,
    parse_seconds,
)
from azoai.config.quota import parse_quota_store
from azoai.config.routes import RouteSpec, parse_routes
from azoai.config.secrets import header_problem
from azoai.config.sources import (
    API_VERSION_VARS,
    CAPTURE_CONTENT_VAR,
    DEPLOYMENT_VARS,
    ENV_VARS,
    TELEMETRY_VAR,
    capture_content,
)
from azoai.config.versions import Api, ApiVersion, Route, resolve_route
from azoai.errors import ConfigError

# The policies, the environment table and the auth settings live in their own modules
# (policies, sources, auth_settings, files); this module stays the one import path for them.
__all__ = [
    "AUTH_MODES",
    "ENTRA_MODES",
    "ENV_VARS",
    "MAX_SECONDS",
    "MIB",
    "AuthMode",
    "AuthSettings",
    "Deferred",
    "KeyAuth",
    "Limits",
    "RetryPolicy",
    "Settings",
    "Timeouts",
    "Transport",
    "WebSocketOptions",
    "parse_bool",
    "rename_error",
]

log = logging.getLogger("azoai.settings")

_E = TypeVar("_E", bound=ConfigError)


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
    #: Chat Completions clients: send a call only the Responses API serves (function tools with
    #: reasoning on gpt-5.2 and later, file parts) there, transparently. False keeps every call
    #: on Chat Completions, and such a call is a ResponsesRequiredError.
    auto_responses: bool = True
    default_headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    config_file: str | None = None
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    routes: Mapping[str, RouteSpec] = field(default_factory=lambda: MappingProxyType({}))
    transport: Transport = "http"
    websocket: WebSocketOptions = field(default_factory=WebSocketOptions)
    #: OpenTelemetry GenAI spans and metrics through the global providers, when opentelemetry-api
    #: is installed (see :mod:`azoai.pipeline.telemetry`); ``AZOAI_TELEMETRY=0`` turns it off.
    telemetry: bool = True
    #: Message content on spans: only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
    #: opts in, as the GenAI conventions say (never by default).
    telemetry_content: bool = False
    #: A Redis URL (``AZOAI_QUOTA_STORE``): the pacer's buckets and the routes' cool-downs live
    #: there, shared by every process that names it (a fleet of workers on one quota).
    quota_store: SecretStr | None = None
    #: The caller's argument names for core settings, used in error texts (see
    #: :func:`rename_error`); an adapter passes its own, so no message names an argument its
    #: class lacks.
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Drop-in mode only: configuration errors langchain-openai and llama-index meet only at the
    #: first call (an endpoint or api_version that is not one), raised then by :meth:`check`.
    #: The settings they concern hold placeholders meanwhile (never sent: the check comes first).
    deferred: tuple[Deferred, ...] = ()
    #: What the config file or the environment gave for the settings the adapters show in their
    #: fields (``endpoint``, ``api_version``, ``api_key``, ``azure_ad_token``, ``deployment``),
    #: as given (a URL without query or credentials; keys and tokens as ``SecretStr``). A value
    #: the core did not use (a dated OPENAI_API_VERSION a Responses client ignores) is absent.
    found: Mapping[str, str | SecretStr] = field(default_factory=lambda: MappingProxyType({}))

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

    def check(self) -> None:
        """Raise the first deferred configuration error (a fresh copy each time, so every
        call's traceback is its own); nothing when none was deferred. The client calls this
        before anything is prepared or sent."""
        if self.deferred:
            raise copy.copy(self.deferred[0].error)

    def named(self, err: _E) -> _E:
        """``err`` with the caller's argument names (see :attr:`names`)."""
        return rename_error(err, self.names)

    def deployment_for(self, model: str) -> str:
        """The deployment a call naming ``model`` goes to when no default deployment exists:
        ``deployment_map``, then a listed deployment, then ``model`` itself. The adapters use it
        where a model stands in for the deployment, so the constructor and a call agree."""
        return resolve_deployment(
            model, default=None, deployment_map=self.deployment_map, known=self.deployments
        ).deployment

    @classmethod
    def build(
        cls,
        *,
        endpoint: str | None = None,
        base_url: str | None = None,
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
        auto_responses: bool | None = None,
        default_headers: Mapping[str, str] | None = None,
        routes: Mapping[str, Any] | None = None,
        transport: str | None = None,
        websocket: WebSocketOptions | Mapping[str, Any] | None = None,
        telemetry: bool | None = None,
        quota_store: str | SecretStr | None = None,
        config_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        dropin: bool = False,
        defer_credentials: bool = False,
        names: Mapping[str, str] | None = None,
    ) -> Settings:
        """Build settings from arguments, then the config file, then the environment.

        ``env`` replaces ``os.environ`` (tests, or a user who wants no environment at all:
        ``env={}``). ``config_file=False``-like behaviour: pass ``config_file=""`` to skip files.

        ``base_url`` is the openai SDK's Azure base URL, as langchain-openai's ``base_url`` and
        llama-index's ``api_base`` take it: ``https://<host>/openai/deployments/<d>`` gives the
        endpoint and the deployment, any other URL is the endpoint.

        The adapters build in *drop-in* mode (``dropin=True``), constructing whatever
        langchain-openai and llama-index construct: an unset ``custom_endpoint`` means auto
        (see :func:`~azoai.config.endpoints.parse_endpoint`), and an endpoint or api_version
        those packages take at construction and fail on at the first call (not a URL, http to a
        non-loopback host, not an api-version, an api_version without the Responses API) is
        recorded in :attr:`Settings.deferred` and raised by the client's first call, still
        before anything is sent. ``defer_credentials`` defers "no credentials" the same way
        (llama-index checks the key only when it calls). :class:`~azoai.client.Client` itself
        builds strictly: every error here, at construction. ``names`` maps core settings to the
        caller's argument names (see :func:`rename_error`).
        """
        environ = os.environ if env is None else env
        args = {
            k: v
            for k, v in {
                "endpoint": endpoint,
                "base_url": base_url,
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
                "auto_responses": auto_responses,
                "default_headers": default_headers,
                "routes": routes,
                "transport": transport,
                "websocket": websocket,
                "quota_store": quota_store,
                "telemetry": telemetry,
            }.items()
            if v is not None
        }
        renames = MappingProxyType(dict(names or {}))
        try:
            path = config_path(config_file, environ)
            file_values = read_config(path) if path else {}
            builder = _Builder(args, file_values, environ, str(path) if path else None)
            builder.dropin, builder.defer_credentials, builder.names = (
                dropin,
                defer_credentials,
                renames,
            )
            return builder.build(
                retry=retry,
                max_retries=max_retries,
                timeout=timeout,
                connect_timeout=connect_timeout,
                stream_idle_timeout=stream_idle_timeout,
                stream_timeout=stream_timeout,
                max_response_bytes=max_response_bytes,
                max_event_bytes=max_event_bytes,
            )
        except ConfigError as err:
            rename_error(err, renames)
            raise


# --- the builder --------------------------------------------------------------------------------


class _Builder(DropinSources):
    """Resolves each setting from the three sources and validates the combination."""

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
        self.deferred: list[Deferred] = []
        self.found: dict[str, str | SecretStr] = {}
        self.url_deployment: str | None = None
        endpoint = self._endpoint()
        api = self.pick_str("api") or "chat"
        if api not in ("chat", "responses"):
            raise ConfigError(
                f"api {api!r} is not valid; use 'chat' (Chat Completions) or 'responses'",
                setting="api",
            )
        route = self.pick_str("route")
        version_raw = self.pick_str("api_version", API_VERSION_VARS)
        version_src = self.sources.get("api_version")
        transport = self._transport(api, endpoint)
        try:
            route_r, version = resolve_route(
                api,
                route,
                version_raw,
                version_source=version_src,
                project=endpoint.project,
                transport=transport["transport"],
            )
        except ConfigError as err:
            # Drop-in: langchain-openai and llama-index pass any api_version string on and meet
            # Azure's refusal at the first call; so does this, naming the fix. Meanwhile the
            # route is what no api_version gives (a placeholder: the first call raises first).
            if not (self.dropin and err.setting == "api_version" and version_raw is not None):
                raise
            self.defer("api_version", err)
            route_r, version = resolve_route(
                api, route, None, project=endpoint.project, transport=transport["transport"]
            )
            used = True  # shown as given; the first call raises
        else:
            used = version_raw is not None and version.value == version_raw.strip()
            if version_raw is None:
                self.sources["api_version"] = "default"
            elif not used:  # a dated version from the environment
                self.sources["api_version"] = f"default ({version_src} {version_raw!r} not used)"
        if used and version_raw is not None and outside(version_src):
            self.found["api_version"] = version_raw.strip()
        if route is None:
            self.sources["route"] = "derived from api and api_version"

        if self.url_deployment is not None and "deployment" not in self.args:
            self.args["deployment"] = self.url_deployment
        deployment = self.pick_str("deployment", DEPLOYMENT_VARS)
        if self.url_deployment is not None:
            if deployment != self.url_deployment:
                raise ConfigError(
                    f"{self.arg('base_url')} names deployment {self.url_deployment!r} but "
                    f"{self.arg('deployment')} is {deployment!r}; give the deployment once",
                    setting=self.arg("deployment"),
                )
            self.sources["deployment"] = f"argument {self.arg('base_url')}"
        if deployment is not None:
            deployment = parse_model_id(str(deployment), setting="deployment")
            if outside(self.sources.get("deployment")):
                self.found["deployment"] = deployment
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

        # Drop-in: no credentials is an error at the first call where the original constructs
        # without them: llama-index (it checks the key when it calls), and langchain-openai
        # with OPENAI_API_KEY set (it falls back to it; azoai refuses it by design, then).
        defer_missing = self.defer_credentials or (
            self.dropin and bool((self.env.get("OPENAI_API_KEY") or "").strip())
        )
        auth = resolve_auth(
            self,
            endpoint,
            on_missing=(lambda err: self.defer("api_key", err)) if defer_missing else None,
        )
        self.found.update(found_credentials(self))
        strict = self.pick("strict")
        check = self.pick("check_api_version")
        auto_responses = self.pick("auto_responses")
        quota_store = parse_quota_store(
            self.pick("quota_store", ("AZOAI_QUOTA_STORE",)), self.sources.get("quota_store")
        )
        telemetry_raw = self.pick("telemetry", (TELEMETRY_VAR,))
        telemetry = (
            parse_bool(telemetry_raw, setting="telemetry") if telemetry_raw is not None else True
        )
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
                    f"default_headers must not carry credentials ({h!r}); use "
                    f"{self.arg('api_key')}, {self.arg('azure_ad_token')} or "
                    f"{self.arg('credential')}",
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
            auto_responses=parse_bool(auto_responses, setting="auto_responses")
            if auto_responses is not None
            else True,
            default_headers=MappingProxyType(dict(headers)),
            config_file=self.path,
            sources=MappingProxyType(dict(self.sources)),
            routes=MappingProxyType(parse_routes(self.pick("routes"), self.env)),
            quota_store=quota_store,
            **transport,
            telemetry=telemetry,
            telemetry_content=self._telemetry_content(),
            names=self.names,
            deferred=tuple(self.deferred),
            found=MappingProxyType(dict(self.found)),
        )

    def _telemetry_content(self) -> bool:
        content = capture_content(self.env.get(CAPTURE_CONTENT_VAR))
        if content:
            self.sources["telemetry_content"] = f"env {CAPTURE_CONTENT_VAR}"
        return content

    def _transport(self, api: str, endpoint: Endpoint) -> dict[str, Any]:
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
        if transport == "websocket" and endpoint.project is not None:
            # Azure documents the socket on the resource's /openai/v1/responses only
            raise ConfigError(
                f"transport='websocket' is not available on a Foundry project endpoint (project "
                f"{endpoint.project!r}); give the account endpoint {endpoint.account_base} "
                "(its /openai/v1/responses serves the WebSocket), or use transport='http'",
                setting="transport",
            )
        return {
            "transport": transport,
            "websocket": WebSocketOptions.coerce(self.pick("websocket")),
        }

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
            unknown = sorted(set(retry) - RETRY_KEYS)
            if unknown:
                raise ConfigError(
                    f"unknown retry setting(s) {', '.join(map(repr, unknown))}; "
                    f"known: {', '.join(sorted(RETRY_KEYS))}",
                    setting="retry",
                )
            retry = RetryPolicy(**number_table(retry, "retry"))
        base = retry or RetryPolicy(**number_table(self.file.get("retry") or {}, "retry"))
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
            base = Timeouts(**number_table(self.file.get("timeout") or {}, "timeout"))
            if self.file.get("timeout"):
                self.sources["timeout"] = f"file {self.path}"
            if timeout is not None:
                base = replace(base, read=parse_seconds(timeout, "timeout"))
                self.sources["timeout.read"] = "argument"
        if connect is not None:
            base = replace(base, connect=parse_seconds(connect, "connect_timeout"))
        if idle is not None:
            base = replace(base, stream_idle=parse_seconds(idle, "stream_idle_timeout"))
        if whole_stream is not None:
            base = replace(base, stream=parse_seconds(whole_stream, "stream_timeout"))
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
