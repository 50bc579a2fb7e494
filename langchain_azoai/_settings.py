"""Constructor arguments of the LangChain classes -> :meth:`azoai.config.settings.Settings.build`.

LangChain users know langchain-openai's names (``azure_endpoint``, ``openai_api_version``,
``deployment_name``...); the core knows its own (``endpoint``, ``api_version``, ``deployment``).
This module is the one place that maps the first onto the second. It passes on only what the user
gave: the core reads the config file and the environment itself and owns every default and every
validation message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from azoai.config.auth_settings import secret_header
from azoai.config.routes import require_named_keys
from azoai.config.settings import Settings

if TYPE_CHECKING:
    from azoai.client import CallOptions

__all__ = [
    "CHAT_NAMES",
    "CLIENT_INPUTS",
    "CONNECTION_FIELDS",
    "EMBEDDINGS_NAMES",
    "FOUND_FIELDS",
    "build_settings",
    "call_options",
    "choose_api",
    "header_secrets",
    "headers_from_load",
    "make_client",
    "masked_headers",
    "masked_repr_args",
    "show_found",
    "split_timeout",
    "unfilled",
]

#: LangChain field name -> ``Settings.build`` keyword. Both classes use a subset of these.
CONNECTION_FIELDS: Mapping[str, str] = {
    "azure_endpoint": "endpoint",
    "openai_api_base": "base_url",
    "custom_endpoint": "custom_endpoint",
    "resource_name": "resource_name",
    "openai_api_version": "api_version",
    "openai_api_key": "api_key",
    "azure_ad_token": "azure_ad_token",
    "azure_ad_token_provider": "token_provider",
    "azure_ad_async_token_provider": "async_token_provider",
    "credential": "credential",
    "auth_mode": "auth_mode",
    "managed_identity_client_id": "managed_identity_client_id",
    "scope": "scope",
    "deployment_name": "deployment",
    "deployment": "deployment",
    "model_name": "model",
    "model": "model",
    "model_version": "model_version",
    "route": "route",
    "deployment_map": "deployment_map",
    "routes": "routes",
    "deployments": "deployments",
    "discovery": "discovery",
    "max_retries": "max_retries",
    "default_headers": "default_headers",
    "config_file": "config_file",
    "check_api_version": "check_api_version",
    "auto_responses": "auto_responses",
    "stream_idle_timeout": "stream_idle_timeout",
    "stream_timeout": "stream_timeout",
    "max_response_bytes": "max_response_bytes",
    "max_event_bytes": "max_event_bytes",
    "transport": "transport",
    "websocket": "websocket",
    "quota_store": "quota_store",
    "telemetry": "telemetry",
}

#: Besides its connection fields, what a model's settings and client are made from (the timeout,
#: its httpx clients or proxy, prebuilt settings): changing one means new settings.
CLIENT_INPUTS: tuple[str, ...] = (
    "request_timeout",
    "http_client",
    "http_async_client",
    "openai_proxy",
    "settings",
)

#: The core's setting names (and value phrases) in error texts -> this package's arguments, so
#: no message names an argument the LangChain classes lack (see azoai rename_error).
CHAT_NAMES: Mapping[str, str] = {
    "endpoint": "azure_endpoint",
    "deployment": "azure_deployment",
    "token_provider": "azure_ad_token_provider",
    "async_token_provider": "azure_ad_async_token_provider",
    "client_id": "managed_identity_client_id",
    "api='chat'": "use_responses_api=False",
    "api='responses'": "use_responses_api=True",
    # strict has no constructor argument here: only azoai.toml sets it
    "strict=False": "strict = false in azoai.toml",
    "strict=True": "strict = true in azoai.toml",
}
EMBEDDINGS_NAMES: Mapping[str, str] = {
    **CHAT_NAMES,
    "split_long_inputs=True": "check_embedding_ctx_length=True",
    "split_long_inputs=False": "check_embedding_ctx_length=False",
    "empty='zero'": "skip_empty=True",
    "batch_size": "chunk_size",
    "concurrency": "max_concurrency",
}

#: Field -> the core's name in ``Settings.found``: fields left unset show what the config file or
#: the environment gave (as langchain-openai's fields show AZURE_OPENAI_* values).
FOUND_FIELDS: Mapping[str, str] = {
    "azure_endpoint": "endpoint",
    "openai_api_version": "api_version",
    "openai_api_key": "api_key",
    "azure_ad_token": "azure_ad_token",
}


def choose_api(
    use_responses_api: bool | None,
    *,
    reasoning: Mapping[str, Any] | None = None,
    include: Any = None,
    use_previous_response_id: bool = False,
    output_version: str | None = None,
) -> str | None:
    """``"responses"``, ``"chat"`` or ``None`` (let the config file decide, default chat).

    As in langchain-openai, an explicit ``use_responses_api`` wins; left unset, options that only
    the Responses API has (a ``reasoning`` dict with a summary, ``include``, response chaining,
    ``output_version="responses/v1"``) select it."""
    if use_responses_api is not None:
        return "responses" if use_responses_api else "chat"
    if (
        reasoning is not None
        or include is not None
        or use_previous_response_id
        or output_version == "responses/v1"
    ):
        return "responses"
    return None


def split_timeout(timeout: Any) -> tuple[float | None, float | None]:
    """LangChain's ``timeout`` (seconds, a ``(connect, read)`` tuple, or an httpx ``Timeout``)
    -> ``(read, connect)`` seconds for the core."""
    if timeout is None:
        return None, None
    if isinstance(timeout, bool):
        raise ValueError(f"timeout must be a number of seconds, got {timeout!r}")
    if isinstance(timeout, int | float):
        return float(timeout), None
    if isinstance(timeout, tuple | list) and len(timeout) == 2:
        connect, read = timeout
        return (
            float(read) if read is not None else None,
            float(connect) if connect is not None else None,
        )
    read = getattr(timeout, "read", None)
    connect = getattr(timeout, "connect", None)
    if read is not None or connect is not None:  # httpx.Timeout
        return (
            float(read) if read is not None else None,
            float(connect) if connect is not None else None,
        )
    raise ValueError(
        f"timeout must be seconds, a (connect, read) tuple or an httpx.Timeout, got {timeout!r}"
    )


def build_settings(
    values: Mapping[str, Any],
    *,
    api: str | None = None,
    timeout: Any = None,
    settings: Settings | None = None,
    names: Mapping[str, str] = CHAT_NAMES,
) -> Settings:
    """Build the core settings from a LangChain object's field values.

    ``values`` maps field names (see :data:`CONNECTION_FIELDS`) to what the user passed; ``None``
    means "not given". A prebuilt ``settings`` object is used as it is, and combining it with
    connection arguments is an error (one source of truth). When no deployment is configured
    anywhere, ``model`` doubles as the deployment name, as it does in langchain-openai (through
    ``deployment_map`` when it maps the model, as a call naming the model would).

    The core builds in drop-in mode: what langchain-openai constructs with (any host, any
    api_version string) constructs here, and what it would only meet at the first call is raised
    there (see ``Settings.build``); error texts use ``names``."""
    given = {k: v for k, v in values.items() if v is not None and k in CONNECTION_FIELDS}
    if settings is not None:
        if not isinstance(settings, Settings):
            raise ValueError(
                f"settings must be an azoai.config.settings.Settings, got {type(settings).__name__}"
            )
        clash = sorted(k for k in given if k not in ("model_name", "model"))
        if clash or api is not None or timeout is not None:
            given_names = [*clash, *(["api"] if api else []), *(["timeout"] if timeout else [])]
            raise ValueError(
                "pass either settings= or connection arguments, not both (got "
                f"{', '.join(given_names)}); "
                "derive a variant with settings.replace(...)"
            )
        built = settings
    else:
        require_named_keys(given.get("routes"), owner="a LangChain model")
        kwargs: dict[str, Any] = {}
        for field, value in given.items():
            key = CONNECTION_FIELDS[field]
            if key in kwargs and kwargs[key] != value:
                raise ValueError(
                    f"{field} conflicts with another argument that sets the core's {key!r}"
                )
            kwargs[key] = value
        if api is not None:
            kwargs["api"] = api
        read, connect = split_timeout(timeout)
        if read is not None:
            kwargs["timeout"] = read
        if connect is not None:
            kwargs["connect_timeout"] = connect
        built = Settings.build(**kwargs, dropin=True, names=names)
    model = given.get("model_name", given.get("model"))
    if built.deployment is None and model:
        deployment = built.deployment_for(str(model))
        rule = "no deployment given" if deployment == model else "through deployment_map"
        built = built.replace(
            deployment=deployment,
            sources={**built.sources, "deployment": f"argument model ({rule})"},
        )
    return built


def show_found(model: Any, settings: Settings, fields: Mapping[str, str]) -> dict[str, Any]:
    """Fill ``model``'s connection fields the user left unset with what the config file or the
    environment gave (``Settings.found``; ``fields`` maps field -> core name), as
    langchain-openai's fields show ``AZURE_OPENAI_*`` values. Returns the values filled: they are
    not arguments, so a rebuild leaves them out (see :func:`unfilled`) and the core reads its
    sources again, knowing where each value comes from. A field filled before whose source is
    gone is cleared."""
    previous: Mapping[str, Any] = getattr(model, "_filled", None) or {}
    filled: dict[str, Any] = {}
    for name, key in fields.items():
        current = model.__dict__.get(name)
        if current is not None and not (name in previous and current == previous[name]):
            continue  # the user's argument
        value = settings.found.get(key)
        model.__dict__[name] = value  # not through setattr: not a field the user set
        if value is not None:
            filled[name] = value
    return filled


def unfilled(filled: Mapping[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (field -> value) with the fields :func:`show_found` filled, and still holding
    the filled value, as not given."""
    for name, value in filled.items():
        if name in values and values[name] == value:  # SecretStr compares its secret
            values[name] = None
    return values


def call_options(kwargs: Mapping[str, Any], *, return_filtered: bool = False) -> CallOptions | None:
    """The core's ``CallOptions`` for one call: ``max_retries`` and ``timeout`` given per call
    (request options in the openai SDK, never body parameters), ``return_filtered``; ``None``
    when there is nothing to override."""
    max_retries = kwargs.get("max_retries")
    timeout = kwargs.get("timeout")
    if max_retries is None and timeout is None and not return_filtered:
        return None  # nearly every call: nothing to read
    from azoai.client import CallOptions

    read, _ = split_timeout(timeout)
    if max_retries is None and read is None and not return_filtered:
        return None
    return CallOptions(max_retries=max_retries, timeout=read, return_filtered=return_filtered)


#: The secret id ``dumpd`` gives ``default_headers`` that carry a credential.
HEADERS_SECRET = "AZOAI_DEFAULT_HEADERS"


def header_secrets(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The ``lc_secrets`` entry for ``default_headers`` when one carries a credential (an APIM
    subscription key...): ``dumpd`` writes a secret marker for the whole mapping (langchain-core
    escapes markers below the top level, so one header cannot be a secret of its own), and
    ``load()`` reads it back from ``secrets_map`` (a mapping or JSON) or the environment variable
    ``AZOAI_DEFAULT_HEADERS`` (JSON); without either, the model has no default headers."""
    if any(secret_header(name) for name in headers or {}):
        return {"default_headers": HEADERS_SECRET}
    return {}


def masked_headers(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    """``headers`` for display (``repr``, ``model_dump``): a credential's value masked."""
    if headers is None:
        return None
    return {k: "**********" if secret_header(k) else v for k, v in headers.items()}


def masked_repr_args(args: Iterable[tuple[str | None, Any]]) -> Iterable[tuple[str | None, Any]]:
    """A model's ``__repr_args__`` with credential-bearing ``default_headers`` masked."""
    for name, value in args:
        if name == "default_headers" and isinstance(value, Mapping):
            value = masked_headers(value)
        yield name, value


def headers_from_load(values: Any) -> Any:
    """Constructor input with ``default_headers`` as ``load()`` may give them back (see
    :func:`header_secrets`): a JSON text (from the environment) read as the mapping it holds."""
    if isinstance(values, dict) and isinstance(values.get("default_headers"), str):
        try:
            headers = json.loads(values["default_headers"])
        except ValueError:
            raise ValueError(
                f"default_headers from {HEADERS_SECRET} must be a JSON object of header names "
                "to values"
            ) from None
        values = {**values, "default_headers": headers}
    return values


def make_client(settings: Any, http_client: Any, http_async_client: Any, proxy: str | None) -> Any:
    """The core client for a model: the user's httpx clients as given, or clients for
    ``openai_proxy`` (which langchain-openai reads and then ignores on Azure)."""
    from azoai.client import Client

    if proxy and http_client is None and http_async_client is None:
        import httpx

        http_client = httpx.Client(proxy=proxy)
        http_async_client = httpx.AsyncClient(proxy=proxy)
    return Client(settings, http_client=http_client, http_async_client=http_async_client)
