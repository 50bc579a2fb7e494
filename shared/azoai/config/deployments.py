"""Deployments: names versus models, the resolution order, static lists and discovery through ARM.

On Azure the name in a request is a *deployment* ("prod-chat"), not a model ("gpt-4o"). This module
decides which deployment a call uses and what real model is behind it, so that the model-family
rules (:mod:`azoai.config.versions`) key off the model, never off the deployment's name.

Resolution order for a requested name: an explicit ``deployment_map`` entry; a known deployment
(static list or discovered); the default deployment (when nothing was requested, when the known
list is authoritative and the name is not in it, or when a ``deployment_map`` is configured and
does not map the name: with a map, names in calls are model names, and an unmapped one goes to
the default deployment, as Amplifier documents its ``default_deployment``); otherwise the name
passes through as is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from azoai.config.catalog import ModelInfo, lookup_model
from azoai.config.endpoints import is_loopback_host
from azoai.errors import AzoaiError, ConfigError

__all__ = [
    "MODEL_ID_PREFIX",
    "DeploymentDiscovery",
    "DeploymentRecord",
    "DiscoverySettings",
    "Resolution",
    "check_deployment_name",
    "parse_model_id",
    "resolve_deployment",
]

log = logging.getLogger("azoai.deployments")

MODEL_ID_PREFIX = "azure-openai/"
DEFAULT_ARM_API_VERSION = "2024-10-01"


def parse_model_id(value: str, *, setting: str = "model") -> str:
    """Accept a plain deployment name or ``azure-openai/<deployment>``; return the deployment.

    Everything after the first ``/`` is kept, so deployment names with slashes survive.
    ``azure-openai/`` alone is an error, and so are ``.`` and ``..`` (see
    :func:`check_deployment_name`)."""
    v = value.strip()
    if v.startswith(MODEL_ID_PREFIX):
        name = v[len(MODEL_ID_PREFIX) :]
        if not name.strip():
            raise ConfigError(
                f"{setting}: expected format azure-openai/<deployment-name>, but got {value!r}",
                setting=setting,
            )
        return check_deployment_name(name, setting=setting)
    if not v:
        raise ConfigError(f"{setting} is empty; give a deployment name", setting=setting)
    return check_deployment_name(v, setting=setting)


def check_deployment_name(name: str, *, setting: str = "deployment") -> str:
    """Refuse the names ``.`` and ``..``: a URL path segment of dots is resolved away (httpx,
    like browsers, turns ``/deployments/../chat/completions`` into ``/chat/completions``), so
    the call would go to another path than the deployment's. Every other character is
    percent-encoded in a path, and no Azure deployment can have such a name."""
    if name in (".", ".."):
        raise ConfigError(
            f"{setting}: {name!r} is not a deployment name (a path segment of dots is resolved "
            "away, so the request would go to another URL)",
            setting=setting,
            fix="give the deployment's name as Azure shows it (azoai deployments lists them)",
        )
    return name


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """One deployment: its name and what stands behind it."""

    name: str
    model: str | None = None
    model_version: str | None = None
    format: str | None = None
    sku: str | None = None
    capacity: int | None = None
    state: str = "Succeeded"
    capabilities: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    rate_limits: tuple[Mapping[str, Any], ...] = ()

    @property
    def info(self) -> ModelInfo:
        """Catalogue info for the real model; for a model the catalogue does not know, the limits
        and APIs ARM lists in ``capabilities`` (discovery), else conservative defaults."""
        info = lookup_model(self.model)
        if info.known or not self.capabilities:
            return info
        return _from_capabilities(info, tuple(sorted(self.capabilities.items())))

    @property
    def kind(self) -> str:
        """``chat`` or ``embedding``: ARM capabilities first, the catalogue second."""
        caps = self.capabilities
        if caps.get("embeddings") == "true":
            return "embedding"
        if caps.get("chatCompletion") == "true" or caps.get("responses") == "true":
            return "chat"
        return self.info.kind

    @property
    def tokens_per_minute(self) -> int | None:
        """Standard SKUs count capacity in units of 1,000 tokens per minute."""
        return self.capacity * 1000 if self.capacity is not None else None

    @classmethod
    def coerce(cls, item: DeploymentRecord | Mapping[str, Any] | str) -> DeploymentRecord:
        if isinstance(item, DeploymentRecord):
            return item
        if isinstance(item, str):
            return cls(name=parse_model_id(item, setting="deployments"))
        if isinstance(item, Mapping):
            unknown = set(item) - {
                "name",
                "model",
                "model_version",
                "version",
                "format",
                "sku",
                "capacity",
            }
            if unknown:
                raise ConfigError(
                    f"unknown key(s) {', '.join(sorted(unknown))} in a deployments entry; use name, model, version, sku, capacity",
                    setting="deployments",
                )
            name = item.get("name")
            if not isinstance(name, str):
                raise ConfigError("each deployments entry needs a name", setting="deployments")
            capacity = item.get("capacity")
            if capacity is not None and (
                isinstance(capacity, bool) or not isinstance(capacity, int)
            ):
                raise ConfigError(
                    f"deployments[{name!r}].capacity must be an integer", setting="deployments"
                )
            return cls(
                name=parse_model_id(name, setting="deployments"),
                model=_opt_str(item.get("model")),
                model_version=_opt_str(item.get("model_version", item.get("version"))),
                format=_opt_str(item.get("format")),
                sku=_opt_str(item.get("sku")),
                capacity=capacity,
            )
        raise ConfigError(
            f"a deployments entry must be a name or a table, got {type(item).__name__}",
            setting="deployments",
        )

    @classmethod
    def from_arm(cls, item: Mapping[str, Any]) -> DeploymentRecord | None:
        """Parse one ARM ``deployments`` list item; ``None`` when it is malformed."""
        name = item.get("name")
        if not isinstance(name, str) or not name or name in (".", ".."):
            return None
        props = item.get("properties") if isinstance(item.get("properties"), Mapping) else {}
        assert isinstance(props, Mapping)
        model = props.get("model") if isinstance(props.get("model"), Mapping) else {}
        assert isinstance(model, Mapping)
        sku = item.get("sku") if isinstance(item.get("sku"), Mapping) else {}
        assert isinstance(sku, Mapping)
        caps_raw = props.get("capabilities")
        caps = (
            {str(k): str(v) for k, v in caps_raw.items()} if isinstance(caps_raw, Mapping) else {}
        )
        capacity = sku.get("capacity", props.get("currentCapacity"))
        limits = props.get("rateLimits")
        state = props.get("provisioningState")
        if props.get("deploymentState") == "Paused":
            state = "Paused"
        return cls(
            name=name,
            model=_opt_str(model.get("name")),
            model_version=_opt_str(model.get("version")),
            format=_opt_str(model.get("format")),
            sku=_opt_str(sku.get("name")),
            capacity=capacity
            if isinstance(capacity, int) and not isinstance(capacity, bool)
            else None,
            state=str(state) if state else "Unknown",
            capabilities=MappingProxyType(caps),
            rate_limits=tuple(x for x in limits if isinstance(x, Mapping))
            if isinstance(limits, list)
            else (),
        )


def _opt_str(v: Any) -> str | None:
    return str(v) if v is not None and str(v) != "" else None


def _count(caps: Mapping[str, str], key: str) -> int | None:
    raw = caps.get(key)
    try:
        value = int(str(raw))
    except ValueError:
        return None
    return value if value > 0 else None


@lru_cache(maxsize=256)
def _from_capabilities(info: ModelInfo, items: tuple[tuple[str, str], ...]) -> ModelInfo:
    """An unknown model's info from its ARM ``capabilities`` (string values, facts §3.3):
    ``maxContextToken`` / ``maxOutputToken`` for the limits, ``responses`` for the Responses API,
    ``jsonObjectResponse`` for JSON mode, ``embeddings`` for the kind. ``known`` stays ``False``:
    ARM lists no family rules (reasoning, tools), which are still learned from Azure's answers."""
    caps = dict(items)
    window = _count(caps, "maxContextToken")
    output = _count(caps, "maxOutputToken")
    changes: dict[str, Any] = {}
    if caps.get("embeddings") == "true":
        changes.update(kind="embedding", tools=False, parallel_tool_calls=False, max_output=0)
        changes.update(json_object=False)
        if window is not None:
            changes.update(context_window=window, max_input_tokens=window)
    else:
        if window is not None:
            changes["context_window"] = window
        if output is not None:
            changes["max_output"] = min(output, window or output)
        elif window is not None:
            changes["max_output"] = min(info.max_output, window)
        if "responses" in caps:
            changes["responses_api"] = caps["responses"] == "true"
        if "jsonObjectResponse" in caps:
            changes["json_object"] = caps["jsonObjectResponse"] == "true"
    return replace(info, **changes) if changes else info


@dataclass(frozen=True, slots=True)
class Resolution:
    """Which deployment a call uses, why (``rule``), and the record behind it when known."""

    deployment: str
    rule: str
    record: DeploymentRecord | None = None


def resolve_deployment(
    requested: str | None,
    *,
    default: str | None,
    deployment_map: Mapping[str, str],
    known: Sequence[DeploymentRecord] = (),
) -> Resolution:
    """Pick the deployment for a call (see the module docstring for the order)."""
    by_name = {r.name: r for r in known}
    name = parse_model_id(requested, setting="model") if requested is not None else None
    if name is not None:
        if name in deployment_map:
            target = deployment_map[name]
            res = Resolution(target, f"deployment_map[{name!r}]", by_name.get(target))
        elif name in by_name:
            res = Resolution(name, "known deployment", by_name[name])
        elif default is not None and (by_name or deployment_map):
            why = "is not a known deployment" if by_name else "is not in deployment_map"
            res = Resolution(default, f"default deployment ({name!r} {why})", by_name.get(default))
        else:
            res = Resolution(name, "pass-through", None)
    elif default is not None:
        res = Resolution(default, "default deployment", by_name.get(default))
    else:
        raise ConfigError(
            "no deployment given: pass deployment=, set AZURE_OPENAI_DEPLOYMENT, or name one "
            "per call",
            setting="deployment",
        )
    log.debug("azoai: deployment %r chosen by rule: %s", res.deployment, res.rule)
    return res


# --- discovery ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class DiscoverySettings:
    """Where and how to list deployments through Azure Resource Manager."""

    subscription_id: str
    resource_group: str
    account: str
    arm_host: str = "https://management.azure.com"
    api_version: str = DEFAULT_ARM_API_VERSION
    scope: str = "https://management.azure.com/.default"
    ttl: float = 300.0
    timeout: float = 10.0
    credential: Any = None

    def __post_init__(self) -> None:
        # the management token goes to arm_host: https only (http only on loopback, for tests)
        if not _token_safe(self.arm_host):
            raise ConfigError(
                f"discovery.arm_host {self.arm_host!r} must be an https URL (http is accepted "
                "only on a loopback host)",
                setting="discovery.arm_host",
            )

    def __repr__(self) -> str:
        return (
            f"DiscoverySettings(subscription_id={self.subscription_id!r}, resource_group={self.resource_group!r}, "
            f"account={self.account!r}, arm_host={self.arm_host!r})"
        )

    @property
    def list_url(self) -> str:
        return (
            f"{self.arm_host.rstrip('/')}/subscriptions/{self.subscription_id}/resourceGroups/"
            f"{self.resource_group}/providers/Microsoft.CognitiveServices/accounts/{self.account}/"
            f"deployments?api-version={self.api_version}"
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DiscoverySettings:
        allowed = {
            "subscription_id",
            "resource_group",
            "account",
            "arm_host",
            "api_version",
            "scope",
            "ttl",
            "timeout",
            "credential",
        }
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ConfigError(
                f"unknown discovery setting(s): {', '.join(unknown)}",
                setting=f"discovery.{unknown[0]}",
            )
        missing = [n for n in ("subscription_id", "resource_group", "account") if not values.get(n)]
        if missing:
            raise ConfigError(
                "deployment discovery is incomplete; missing: "
                + ", ".join(missing)
                + " (subscription_id from AZURE_SUBSCRIPTION_ID, resource_group from AZURE_RESOURCE_GROUP, account from the endpoint's resource name)",
                setting=f"discovery.{missing[0]}",
            )
        arm = str(values.get("arm_host", "https://management.azure.com")).rstrip("/")
        for key in ("ttl", "timeout"):
            v = values.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or v < 0):
                raise ConfigError(
                    f"discovery.{key} must be a number of seconds >= 0", setting=f"discovery.{key}"
                )
        return cls(
            subscription_id=str(values["subscription_id"]),
            resource_group=str(values["resource_group"]),
            account=str(values["account"]),
            arm_host=arm,
            api_version=str(values.get("api_version", DEFAULT_ARM_API_VERSION)),
            scope=str(values.get("scope", "https://management.azure.com/.default")),
            ttl=float(values.get("ttl", 300.0)),
            timeout=float(values.get("timeout", 10.0)),
            credential=values.get("credential"),
        )


class DeploymentDiscovery:
    """Lists deployments through ARM, following ``nextLink``, keeping only ``Succeeded`` ones,
    cached for ``ttl`` seconds. A failure logs a warning and returns ``fallback`` (the static
    list); it never raises into a chat call.

    ``get_token`` returns a bearer token for the ARM scope; ``http_get(url, headers)`` returns
    ``(status, json_body)``: the HTTP is the io layer's, retried by the request loop
    (:func:`azoai.pipeline.discovery.arm_get`), and injected so the rule is tested without a
    network.
    """

    def __init__(
        self,
        settings: DiscoverySettings,
        *,
        get_token: Callable[[], str],
        http_get: Callable[[str, Mapping[str, str]], tuple[int, Any]],
        fallback: Sequence[DeploymentRecord] = (),
    ) -> None:
        self.settings = settings
        self._get_token = get_token
        self._http_get = http_get
        self.fallback = tuple(fallback)
        self._lock = threading.Lock()
        self._cached: tuple[DeploymentRecord, ...] | None = None
        self._cached_at = 0.0
        self.list_calls = 0
        self.last_error: Exception | None = None
        #: Every deployment seen in the last listing, whatever its state (for doctor's table).
        self.all_records: tuple[DeploymentRecord, ...] = ()
        self._said: set[tuple[str, str]] = set()  # (deployment, model) warned about

    def deployments(self, *, refresh: bool = False) -> tuple[DeploymentRecord, ...]:
        with self._lock:
            now = time.monotonic()
            if (
                not refresh
                and self._cached is not None
                and now - self._cached_at < self.settings.ttl
            ):
                return self._cached
            try:
                records = self._list()
            except Exception as exc:  # discovery must never break a call
                self.last_error = exc
                log.warning(
                    "azoai: deployment discovery failed (%s); using the static configuration (%d deployment(s))",
                    exc,
                    len(self.fallback),
                )
                return self._cached if self._cached is not None else self.fallback
            self.last_error = None
            self._cached = records
            self._cached_at = now
            self._say_unknown(records)
            return records

    def _say_unknown(self, records: Sequence[DeploymentRecord]) -> None:
        """Once per deployment: a discovered model the catalogue does not know runs on ARM's
        capabilities, its other rules learned from Azure's answers."""
        for rec in records:
            if not rec.model or rec.info.known or (rec.name, rec.model) in self._said:
                continue
            self._said.add((rec.name, rec.model))
            info = rec.info
            log.warning(
                "azoai: deployment %r runs model %r (version %s), which azoai's catalogue does "
                "not know: using the limits ARM lists for it (context window %d, output %d, "
                "Responses API %s); its parameter rules are learned from Azure's answers, once "
                "per deployment (a newer azoai may know the family)",
                rec.name,
                rec.model,
                rec.model_version or "unknown",
                info.context_window,
                info.max_output,
                "yes" if info.responses_api else "not listed",
            )

    def _list(self) -> tuple[DeploymentRecord, ...]:
        arm = urlsplit(self.settings.arm_host)
        allowed_host = (arm.netloc or "").lower()
        allowed_scheme = arm.scheme.lower()
        url: str | None = self.settings.list_url
        token = self._get_token()
        if not token:
            raise AzoaiError("no token for the management API")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        seen: list[DeploymentRecord] = []
        pages = 0
        while url:
            parts = urlsplit(url)
            if (parts.netloc or "").lower() != allowed_host:
                raise AzoaiError(
                    f"refusing to follow nextLink to another host ({parts.netloc}); the token is only for {allowed_host}"
                )
            if parts.scheme.lower() != allowed_scheme or not _token_safe(url):
                # http:// on the ARM host would send the management token in clear
                raise AzoaiError(
                    f"refusing to follow a nextLink that leaves {allowed_scheme}:// for "
                    f"{parts.scheme}:// on {parts.netloc}; the management token goes over https only",
                    fix="check what rewrites ARM's nextLink URLs (a proxy or gateway in between)",
                )
            pages += 1
            if pages > 1000:
                raise AzoaiError("deployment listing did not end after 1000 pages")
            self.list_calls += 1
            status, body = self._http_get(url, headers)
            if status != 200:
                message = (
                    body.get("error", {}).get("message")
                    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping)
                    else None
                )
                raise AzoaiError(
                    f"listing deployments returned HTTP {status}{': ' + str(message) if message else ''}",
                    status_code=status,
                )
            if not isinstance(body, Mapping) or not isinstance(body.get("value"), list):
                raise AzoaiError(
                    "listing deployments returned an unexpected body (no 'value' list)"
                )
            for item in body["value"]:
                if isinstance(item, Mapping):
                    rec = DeploymentRecord.from_arm(item)
                    if rec is not None:
                        seen.append(rec)
            link = body.get("nextLink")
            url = link if isinstance(link, str) and link else None
        self.all_records = tuple(seen)
        return tuple(r for r in seen if r.state == "Succeeded")


def _token_safe(url: str) -> bool:
    """Whether a bearer token may travel to ``url``: https, or http to a loopback host."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme == "https" or (scheme == "http" and is_loopback_host(parts.hostname or ""))
