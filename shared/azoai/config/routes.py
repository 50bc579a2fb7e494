"""Route specs: several deployments or regions behind one name (see :mod:`azoai.pipeline.routing`
for how a call moves between them). Parsing and validating ``routes`` from arguments and the
config file is configuration: pure, and used by :mod:`azoai.config.settings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from pydantic import SecretStr

from azoai.config.secrets import credential
from azoai.errors import ConfigError

__all__ = [
    "RouteSpec",
    "RouteTarget",
    "fallback_settings",
    "parse_routes",
    "require_named_keys",
]


@dataclass(frozen=True, slots=True, eq=False)
class RouteTarget:
    """One place a routed call can go: a deployment, optionally on another resource (with its
    own endpoint and, for API-key auth, its own key); or, with ``base_url``, a non-Azure
    OpenAI-compatible API (``https://api.openai.com/v1``) as the route's last fallback, called
    with its own key as ``Authorization: Bearer`` and ``model`` as the model name."""

    deployment: str
    endpoint: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    weight: float = 1.0
    name: str | None = None
    base_url: str | None = None

    @property
    def is_fallback(self) -> bool:
        """An OpenAI-compatible API, used only after every Azure target."""
        return self.base_url is not None

    def __repr__(self) -> str:
        key = ", api_key=SecretStr('**********')" if self.api_key is not None else ""
        where = f"base_url={self.base_url!r}" if self.base_url else f"endpoint={self.endpoint!r}"
        return f"RouteTarget(deployment={self.deployment!r}, {where}, weight={self.weight}{key})"


@dataclass(frozen=True, slots=True)
class RouteSpec:
    strategy: Literal["failover", "weighted"]
    targets: tuple[RouteTarget, ...]
    cooldown: float = 10.0


_TARGET_KEYS = {
    "deployment",
    "endpoint",
    "api_key",
    "api_key_env",
    "model",
    "weight",
    "name",
    "base_url",
}


def parse_routes(raw: Any, env: Mapping[str, str]) -> dict[str, RouteSpec]:
    """Validate ``routes`` from arguments or a TOML file. ``api_key_env`` names an environment
    variable holding a target's key, so keys need not be written into files."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError("routes must map route names to route tables", setting="routes")
    out: dict[str, RouteSpec] = {}
    for name, spec in raw.items():
        where = f"routes.{name}"
        if isinstance(spec, RouteSpec):
            out[str(name)] = spec
            continue
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where} must be a table with strategy and targets", setting=where)
        unknown = sorted(set(spec) - {"strategy", "targets", "cooldown"})
        if unknown:
            raise ConfigError(
                f"unknown key(s) {', '.join(unknown)} in {where}; use strategy, targets, cooldown",
                setting=where,
            )
        strategy = spec.get("strategy", "failover")
        if strategy not in ("failover", "weighted"):
            raise ConfigError(
                f"{where}.strategy {strategy!r} is not valid; use 'failover' or 'weighted'",
                setting=f"{where}.strategy",
            )
        cooldown = spec.get("cooldown", 10.0)
        # chained comparisons are false for nan: a nan cooldown would disable a target for good
        if (
            isinstance(cooldown, bool)
            or not isinstance(cooldown, int | float)
            or not (0 <= cooldown <= 10_000_000)
        ):
            raise ConfigError(
                f"{where}.cooldown must be a finite number of seconds >= 0, got {cooldown!r}",
                setting=f"{where}.cooldown",
            )
        targets_raw = spec.get("targets")
        if not isinstance(targets_raw, Sequence) or isinstance(targets_raw, str) or not targets_raw:
            raise ConfigError(
                f"{where}.targets must be a non-empty list", setting=f"{where}.targets"
            )
        targets = []
        for i, t in enumerate(targets_raw):
            targets.append(_target(t, f"{where}.targets[{i}]", env))
        for i, t in enumerate(targets[:-1]):
            if t.is_fallback:
                raise ConfigError(
                    f"{where}.targets[{i}] is an OpenAI-compatible endpoint (base_url), which can "
                    "only be the last target: the fallback after every Azure deployment",
                    setting=f"{where}.targets",
                )
        out[str(name)] = RouteSpec(strategy, tuple(targets), float(cooldown))
    return out


def require_named_keys(routes: Mapping[str, Any] | None, *, owner: str) -> None:
    """Refuse route targets that give ``api_key`` inline: ``owner`` (a LangChain or LlamaIndex
    model) keeps its arguments and serializes them (``dumpd``, ``to_dict``, pickles for worker
    processes, ``repr``), so a target names the environment variable holding its key with
    ``api_key_env`` instead."""
    for name, spec in (routes or {}).items():
        targets = spec.get("targets") if isinstance(spec, Mapping) else None
        if not isinstance(targets, Sequence) or isinstance(targets, str):
            continue  # parse_routes reports the shape
        for i, target in enumerate(targets):
            if isinstance(target, Mapping) and target.get("api_key") is not None:
                raise ConfigError(
                    f"routes.{name}.targets[{i}] gives api_key inline; {owner} keeps and "
                    "serializes its arguments, so name the environment variable that holds the "
                    "key with api_key_env instead",
                    setting=f"routes.{name}.targets[{i}].api_key_env",
                )


def _target(t: Any, where: str, env: Mapping[str, str]) -> RouteTarget:
    if isinstance(t, RouteTarget):
        return t
    if isinstance(t, str):
        from azoai.config.deployments import check_deployment_name

        return RouteTarget(deployment=check_deployment_name(t, setting=where))
    if not isinstance(t, Mapping):
        raise ConfigError(f"{where} must be a deployment name or a table", setting=where)
    unknown = sorted(set(t) - _TARGET_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)} in {where}; use {', '.join(sorted(_TARGET_KEYS))}",
            setting=where,
        )
    base_url = t.get("base_url")
    if base_url is not None:
        _check_fallback(t, where)
    dep = t.get("deployment") if base_url is None else t.get("deployment") or t.get("model")
    if not isinstance(dep, str) or not dep.strip():
        raise ConfigError(f"{where} needs a deployment", setting=where)
    if base_url is None:
        from azoai.config.deployments import check_deployment_name

        check_deployment_name(dep, setting=f"{where}.deployment")
    weight = t.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight < 1e300:
        raise ConfigError(
            f"{where}.weight must be a positive number (and finite), got {weight!r}",
            setting=f"{where}.weight",
        )
    key: SecretStr | None = None
    if t.get("api_key") is not None:
        raw_key = t["api_key"]
        key = credential(
            raw_key if isinstance(raw_key, SecretStr) else str(raw_key), setting=f"{where}.api_key"
        )
    elif t.get("api_key_env") is not None:
        var = str(t["api_key_env"])
        if not env.get(var):
            raise ConfigError(
                f"{where}.api_key_env names {var}, which is not set", setting=f"{where}.api_key_env"
            )
        key = credential(env[var], setting=f"{where}.api_key_env", source=f"env {var}")
    for field_name in ("endpoint", "model", "name"):
        if t.get(field_name) is not None and not isinstance(t.get(field_name), str):
            raise ConfigError(
                f"{where}.{field_name} must be a string", setting=f"{where}.{field_name}"
            )
    if t.get("endpoint") is not None:
        from azoai.config.endpoints import parse_endpoint

        # the URL's shape and host now; whether a non-Azure host is allowed (custom_endpoint)
        # is the model's setting, checked when the route is first used
        parse_endpoint(t["endpoint"], custom_endpoint=True, setting=f"{where}.endpoint")
    return RouteTarget(
        deployment=dep,
        endpoint=t.get("endpoint"),
        api_key=key,
        model=t.get("model"),
        weight=float(weight),
        name=t.get("name"),
        base_url=base_url,
    )


def _check_fallback(t: Mapping[str, Any], where: str) -> None:
    """What an OpenAI-compatible target needs: a model name and its own key (an Entra token or
    the Azure resource's key is never sent to a non-Azure host)."""
    from azoai.config.endpoints import parse_compatible_base

    if not isinstance(t["base_url"], str):
        raise ConfigError(f"{where}.base_url must be a string", setting=f"{where}.base_url")
    parse_compatible_base(t["base_url"], setting=f"{where}.base_url")
    if t.get("endpoint") is not None:
        raise ConfigError(
            f"{where} has both base_url (an OpenAI-compatible API) and endpoint (an Azure "
            "resource); keep one",
            setting=where,
        )
    if not isinstance(t.get("model"), str) or not t["model"].strip():
        raise ConfigError(
            f"{where} (base_url) needs model: the model name that API serves, e.g. 'gpt-4o'",
            setting=f"{where}.model",
        )
    if t.get("api_key") is None and t.get("api_key_env") is None:
        raise ConfigError(
            f"{where} (base_url) needs its own key: api_key_env naming the variable that holds "
            "it (e.g. OPENAI_API_KEY)",
            setting=f"{where}.api_key_env",
        )


def fallback_settings(t: RouteTarget, route: str) -> dict[str, Any]:
    """Settings for an OpenAI-compatible target: its base URL on the v1 dialect with no
    api-version and no Azure deployment discovery. Its own key replaces the caller's credentials
    as for any target with a key (the connection sends it as ``Authorization: Bearer``). The
    model's ``default_headers`` are dropped: they were set for Azure (an APIM
    ``Ocp-Apim-Subscription-Key``, a tenant header) and must not reach a third party."""
    from azoai.config.endpoints import parse_compatible_base
    from azoai.config.versions import ApiVersion

    if t.base_url is None or t.api_key is None:
        raise ConfigError(
            f"route {route!r}: the OpenAI-compatible target {t.base_url!r} needs its own api_key",
            setting=f"routes.{route}",
        )
    return {
        "endpoint": parse_compatible_base(t.base_url, setting=f"routes.{route}.base_url"),
        "route": "v1",
        "api_version": ApiVersion("v1", "v1"),
        "deployment_map": {},
        "deployments": (),
        "discovery": None,
        "transport": "http",
        "default_headers": MappingProxyType({}),
    }
