"""Constructor arguments of the LangChain classes -> :meth:`azoai.config.settings.Settings.build`.

LangChain users know langchain-openai's names (``azure_endpoint``, ``openai_api_version``,
``deployment_name``...); the core knows its own (``endpoint``, ``api_version``, ``deployment``).
This module is the one place that maps the first onto the second. It passes on only what the user
gave: the core reads the config file and the environment itself and owns every default and every
validation message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azoai.config.routes import require_named_keys
from azoai.config.settings import Settings

__all__ = ["CONNECTION_FIELDS", "build_settings", "choose_api", "make_client", "split_timeout"]

#: LangChain field name -> ``Settings.build`` keyword. Both classes use a subset of these.
CONNECTION_FIELDS: Mapping[str, str] = {
    "azure_endpoint": "endpoint",
    "openai_api_base": "endpoint",
    "resource_name": "resource_name",
    "openai_api_version": "api_version",
    "openai_api_key": "api_key",
    "azure_ad_token": "azure_ad_token",
    "azure_ad_token_provider": "token_provider",
    "azure_ad_async_token_provider": "async_token_provider",
    "credential": "credential",
    "auth_mode": "auth_mode",
    "managed_identity_client_id": "managed_identity_client_id",
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
) -> Settings:
    """Build the core settings from a LangChain object's field values.

    ``values`` maps field names (see :data:`CONNECTION_FIELDS`) to what the user passed; ``None``
    means "not given". A prebuilt ``settings`` object is used as it is, and combining it with
    connection arguments is an error (one source of truth). When no deployment is configured
    anywhere, ``model`` doubles as the deployment name, as it does in langchain-openai."""
    given = {k: v for k, v in values.items() if v is not None and k in CONNECTION_FIELDS}
    if settings is not None:
        if not isinstance(settings, Settings):
            raise ValueError(
                f"settings must be an azoai.config.settings.Settings, got {type(settings).__name__}"
            )
        clash = sorted(k for k in given if k not in ("model_name", "model"))
        if clash or api is not None or timeout is not None:
            names = [*clash, *(["api"] if api else []), *(["timeout"] if timeout else [])]
            raise ValueError(
                f"pass either settings= or connection arguments, not both (got {', '.join(names)}); "
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
        built = Settings.build(**kwargs)
    model = given.get("model_name", given.get("model"))
    if built.deployment is None and model:
        built = built.replace(
            deployment=str(model),
            sources={**built.sources, "deployment": "argument model (no deployment given)"},
        )
    return built


def make_client(settings: Any, http_client: Any, http_async_client: Any, proxy: str | None) -> Any:
    """The core client for a model: the user's httpx clients as given, or clients for
    ``openai_proxy`` (which langchain-openai reads and then ignores on Azure)."""
    from azoai.client import Client

    if proxy and http_client is None and http_async_client is None:
        import httpx

        http_client = httpx.Client(proxy=proxy)
        http_async_client = httpx.AsyncClient(proxy=proxy)
    return Client(settings, http_client=http_client, http_async_client=http_async_client)
