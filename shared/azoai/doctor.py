"""``azoai doctor`` and ``azoai deployments``: explain the configuration, then check it step by step.

The checks build :class:`~azoai.config.settings.Settings` exactly as the adapters do, so what doctor
says is what a LangChain or LlamaIndex model would do. Nothing here prints; the command line
renders the :class:`Report` (as text or JSON). No secret ever enters a report: credentials are
described by their source and a short fingerprint-free label, tokens by their scope and expiry.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from azoai.config.catalog import ModelInfo, lookup_model
from azoai.config.deployments import DeploymentRecord
from azoai.config.sources import API_VERSION_VARS, DEPLOYMENT_VARS, ENDPOINT_VARS
from azoai.config.versions import REASONING_UNSUPPORTED, Feature, supports
from azoai.errors import (
    ApiVersionError,
    AuthenticationError,
    AzoaiError,
    ConfigError,
    DeploymentNotFoundError,
    PermissionDeniedError,
    RateLimitError,
)

__all__ = [
    "DISCOVERY_HOW",
    "NOT_VERIFIED",
    "Check",
    "DeploymentRow",
    "Report",
    "config_fix",
    "deployment_rows",
    "family_rules",
    "run_doctor",
]


@dataclass(slots=True)
class Check:
    """One step: ``status`` is ``pass``, ``fail``, ``warn`` or ``skip``."""

    name: str
    status: str
    detail: str
    fix: str | None = None
    error: str | None = None  # the typed error's class name
    model: str | None = None  # the model Azure reported for a call check


#: The state of a deployment azoai only read from the configuration: nothing asked Azure about it.
NOT_VERIFIED = "configured, not verified"


@dataclass(slots=True)
class DeploymentRow:
    """One deployment. ``verified`` is true when Azure vouched for it: discovery listed it (its
    ``state`` is then ARM's), or a call to it answered; a deployment only read from the
    configuration is :data:`NOT_VERIFIED`, and its ``model`` is ``None`` unless configured."""

    name: str
    model: str | None
    model_version: str | None
    kind: str
    sku: str | None
    capacity: int | None
    state: str
    rules: list[str]
    verified: bool = False


@dataclass(slots=True)
class Report:
    config: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    deployments: list[DeploymentRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status in ("pass", "warn", "skip") for c in self.checks) and bool(self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "config": self.config,
            "checks": [asdict(c) for c in self.checks],
            "deployments": [asdict(d) for d in self.deployments],
        }


def family_rules(info: ModelInfo, api: str, version: Any) -> list[str]:
    """The parameter rules azoai applies to a model, in words."""
    if info.is_embedding:
        dims = "dimensions= accepted" if info.supports_dimensions else "dimensions= not accepted"
        return [f"embeddings: {info.embedding_dimensions or '?'} dimensions", dims]
    label = f"{info.family} family" if info.known else "model unknown (conservative defaults)"
    rules: list[str] = []
    if info.reasoning:
        rules.append(f"{label}: {', '.join(REASONING_UNSUPPORTED[:2])} and penalties dropped")
        rules.append(
            "max_tokens sent as "
            + ("max_output_tokens" if api == "responses" else "max_completion_tokens")
        )
        if info.reasoning_efforts:
            rules.append(f"reasoning_effort: {'/'.join(info.reasoning_efforts)}")
    else:
        rules.append(f"{label}: sampling parameters kept (temperature=0 included)")
    rules.append(f"context {info.context_window:,} tokens, output up to {info.max_output:,}")
    if not info.tools:
        rules.append("no tool calling")
    structured = (
        "json_schema"
        if (info.json_schema and supports(version, Feature.JSON_SCHEMA))
        else "tool calling"
    )
    rules.append(f"structured output via {structured}")
    return rules


def deployment_rows(
    client: Any, records: Sequence[DeploymentRecord], *, discovered: bool = False
) -> list[DeploymentRow]:
    """The rows for ``records``: ``discovered`` when ARM listed them (their state is ARM's);
    otherwise they are only configured, :data:`NOT_VERIFIED`."""
    s = client.settings
    rows = []
    for r in records:
        info = r.info if r.model else client._model_for(client.resolve(r.name))
        rows.append(
            DeploymentRow(
                name=r.name,
                model=r.model or (info.name if info.known else None),
                model_version=r.model_version,
                kind=r.kind if r.model or r.capabilities else info.kind,
                sku=r.sku,
                capacity=r.capacity,
                state=r.state if discovered else NOT_VERIFIED,
                rules=family_rules(info, s.api, s.api_version),
                verified=discovered,
            )
        )
    return rows


def _config(settings: Any) -> dict[str, Any]:
    s = settings
    auth = s.auth
    return {
        "endpoint": s.endpoint.base,
        "host_kind": s.endpoint.kind,
        "cloud": s.endpoint.cloud.name,
        "api": s.api,
        "route": s.route,
        "api_version": s.api_version.value,
        "auth_mode": auth.mode,
        "scope": auth.scope if auth.is_entra else None,
        "deployment": s.deployment,
        "model": s.model,
        "deployment_map": dict(s.deployment_map),
        "config_file": s.config_file,
        "sources": dict(s.sources),
    }


#: How to turn discovery on, for the CLI's notes and the doctor's discovery check.
DISCOVERY_HOW = (
    "to list the resource's real deployments, enable discovery: pass --subscription-id and "
    "--resource-group (the account comes from the endpoint, else --account), or set "
    "AZURE_SUBSCRIPTION_ID and AZURE_RESOURCE_GROUP and pass --discover (discovery = true in "
    "azoai.toml, or a [discovery] table); the identity needs Reader on the Azure OpenAI account"
)


def _fix_for(err: AzoaiError, settings: Any) -> str | None:
    if isinstance(err, AuthenticationError) and settings.auth.is_entra:
        return (
            f"the token was refused: check the identity has the 'Cognitive Services OpenAI User' role and the "
            f"scope is right (now {settings.auth.scope}; the newer one is https://ai.azure.com/.default)"
        )
    if isinstance(err, DeploymentNotFoundError):
        return (
            "the deployment does not exist on this resource: check the name; `azoai deployments "
            "--subscription-id S --resource-group G` lists the resource's real deployments "
            "(discovery); a model name needs [deployment_map] in azoai.toml"
        )
    if isinstance(err, RateLimitError) and err.quota_exhausted:
        return "the deployment's quota is used up for now: raise its TPM quota or route to another deployment"
    if isinstance(err, ApiVersionError):
        return err.fix
    if isinstance(err, PermissionDeniedError):
        return err.fix
    return err.fix


#: Core settings the command line has a flag for, with the environment variables and the config
#: file key that set them too: a fix names all the places, the one in use first.
_PLACES: dict[str, tuple[str | None, tuple[str, ...], str | None]] = {
    "endpoint": ("--endpoint", ENDPOINT_VARS, "endpoint"),
    "resource_name": ("--endpoint", (), "resource_name"),
    "api": ("--api", (), "api"),
    "route": ("--route", (), "route"),
    "api_version": ("--api-version", API_VERSION_VARS, "api_version"),
    "auth_mode": ("--auth-mode", (), "mode under [auth]"),
    "deployment": ("--deployment", DEPLOYMENT_VARS, "deployment"),
    "discovery.subscription_id": (
        "--subscription-id",
        ("AZURE_SUBSCRIPTION_ID",),
        "subscription_id under [discovery]",
    ),
    "discovery.resource_group": (
        "--resource-group",
        ("AZURE_RESOURCE_GROUP",),
        "resource_group under [discovery]",
    ),
    "discovery.account": ("--account", (), "account under [discovery]"),
    "discovery.arm_host": ("--arm-host", (), "arm_host under [discovery]"),
}
_EXAMPLES = {
    "endpoint": "https://<resource>.openai.azure.com",
    "api": "chat or responses",
    "route": "v1 or deployments",
    "api_version": "a dated version such as 2024-10-21, or v1",
    "auth_mode": "api_key, default_credential, managed_identity, azure_cli, ...",
    "deployment": "the deployment's name as the Azure portal shows it",
}
#: Settings whose error means "no usable credentials" (the CLI takes no key: keys do not belong
#: on a command line, where other users and the shell history see them).
_CREDENTIALS = frozenset(
    {"api_key", "credential", "azure_ad_token", "azure_ad_token_provider", "token"}
)
CREDENTIALS_FIX = (
    "set AZURE_OPENAI_API_KEY to the resource's key (or api_key under [auth] in the config "
    "file), or use Entra ID: set AZURE_USE_DEFAULT_CREDENTIAL=true or "
    "AZURE_USE_MANAGED_IDENTITY=true (or mode under [auth] in the config file)"
)


def config_fix(err: ConfigError, settings_kwargs: dict[str, Any] | None = None) -> str | None:
    """A fix for a configuration error that says exactly what to change, for the command line:
    the flag, environment variable or config-file key, the one that gave the bad value first
    (the error's own fix when it names no argument of a Python class)."""
    setting = err.setting or ""
    kwargs = settings_kwargs or {}
    if setting in _CREDENTIALS:
        return CREDENTIALS_FIX
    if setting == "config_file":
        return err.fix or (
            "pass --config with an existing TOML file, or leave it out (./azoai.toml is read "
            "when it exists)"
        )
    if setting == "AZOAI_CONFIG":
        return "point AZOAI_CONFIG at an existing TOML file, or unset it"
    if setting == "custom_endpoint":
        return (
            "check the --endpoint host (or AZURE_OPENAI_ENDPOINT); for a gateway or proxy in front "
            "of Azure OpenAI add custom_endpoint = true to the config file (--config FILE)"
        )
    if err.fix and not re.search(r"(?<![\w.\[-])[a-z_]+=", err.fix):
        return err.fix  # names no Python argument: it reads right on the command line too
    place = _PLACES.get(setting)
    if place is None:
        if setting.isupper():  # an environment variable
            return err.fix or f"set {setting} to a valid value, or unset it"
        where = _file_with(setting.split(".")[0], kwargs)
        target = f"{setting} in {where}" if where else f"{setting} in the config file"
        return err.fix or f"change {target}"
    flag, env_names, key = place
    example = _EXAMPLES.get(setting, "")
    # where the bad value came from (arguments win over the file, the file over the environment)
    now: str | None = None
    given = setting in kwargs or (setting == "resource_name" and "endpoint" in kwargs)
    path = None if given or not key else _file_with(key.split()[0], kwargs)
    env_now = next((n for n in env_names if os.environ.get(n)), None)
    ways = {
        "arg": f"pass {flag}" if flag else None,
        "file": f"set {key} in the config file" if key else None,
        "env": f"set {env_names[0]}" if env_names else None,
    }
    # with the source known, only a higher one can replace its value
    if given:
        now, ways = f"the {flag} argument", {}
    elif path:
        now, ways = f"{key} in {path}", {"arg": ways["arg"]}
    elif env_now:
        now, ways["env"] = env_now, None
    others = [w for w in (ways.get("arg"), ways.get("env"), ways.get("file")) if w]
    if now:
        head = f"change {now}" + (f" to {example}" if example else "")
        return head + (f" (or {', or '.join(others)})" if others else "")
    if others and example:
        others[0] += f" ({example})"
    return ", or ".join(others)


def _file_with(key: str, kwargs: dict[str, Any]) -> str | None:
    """The config file in use when it sets ``key`` (for naming where a bad value came from)."""
    from azoai.config.files import config_path, read_config

    try:
        path = config_path(kwargs.get("config_file"), os.environ)
        if path is None:
            return None
        data = read_config(path)
    except AzoaiError:
        return None
    return str(path) if key in data else None


def _undated(model: str) -> str:
    return re.sub(r"-\d{4}-\d{2}-\d{2}$", "", model)


def _call(client: Any, name: str, kind: str, settings: Any) -> Check:
    from azoai.client import CallOptions
    from azoai.wire import ChatRequest, Message

    try:
        if kind == "embedding":
            res = client.embed(["azoai doctor"], model=name, options=CallOptions(max_retries=1))
            c = Check(
                f"call {name}",
                "pass",
                f"embeddings: {len(res.vectors[0])} dimensions ({res.model or 'model not reported'})",
            )
            c.model = res.model
            return c
        reasoning = client.model_info(name).reasoning
        result = client.chat(
            ChatRequest(
                messages=[Message("user", "Reply with OK.")], max_tokens=16 if reasoning else 1
            ),
            model=name,
            options=CallOptions(max_retries=1, return_filtered=True),
        )
        region = result.headers.get("x-ms-region")
        c = Check(
            f"call {name}",
            "pass",
            f"chat: {result.model or 'model not reported'}"
            + (f" in {region}" if region else "")
            + f", finish {result.finish_reason}",
        )
        c.model = result.model
        return c
    except AzoaiError as err:
        return Check(
            f"call {name}",
            "fail",
            err.message,
            fix=_fix_for(err, settings),
            error=type(err).__name__,
        )


def run_doctor(
    *,
    settings_kwargs: dict[str, Any] | None = None,
    deployments: Sequence[str] = (),
    call: bool = True,
) -> Report:
    """Build settings as the adapters would, then check token, discovery and one minimal call
    per deployment. Never raises for a configuration problem: it becomes a failed check."""
    from azoai.client import Client
    from azoai.config.settings import Settings

    report = Report()
    try:
        settings = Settings.build(**(settings_kwargs or {}))
    except ConfigError as err:
        report.checks.append(
            Check(
                "configuration",
                "fail",
                err.message,
                fix=config_fix(err, settings_kwargs),
                error=type(err).__name__,
            )
        )
        return report
    report.config = _config(settings)
    report.checks.append(
        Check(
            "configuration",
            "pass",
            f"{settings.endpoint.base} ({settings.endpoint.kind}), {settings.api} on route {settings.route}, api-version {settings.api_version.value}, auth {settings.auth.mode}",
        )
    )
    client = Client(settings)
    try:
        # 1. credentials
        auth = settings.auth
        if auth.is_entra:
            try:
                tok = client.connection.auth.cache.get()  # type: ignore[attr-defined]
                left = tok.expires_on - time.time()
                report.checks.append(
                    Check(
                        "token",
                        "pass",
                        f"got a token for {auth.scope}, valid for {left / 60:.0f} more minutes",
                    )
                )
            except AzoaiError as err:
                report.checks.append(
                    Check("token", "fail", err.message, fix=err.fix, error=type(err).__name__)
                )
                return report
        elif auth.mode == "api_key":
            report.checks.append(
                Check(
                    "token",
                    "skip",
                    f"API key auth (from {settings.source_of('api_key')}): no token needed",
                )
            )
        # 2. deployments
        records: tuple[DeploymentRecord, ...]
        listed: set[str] = set()  # what discovery listed: Azure vouches for these
        if settings.discovery is not None:
            records = client.known_deployments()
            d = client._discovery
            if d is not None and d.last_error is not None:
                report.checks.append(
                    Check(
                        "discovery",
                        "fail",
                        f"listing deployments failed: {d.last_error}",
                        fix="grant the identity Reader on the Azure OpenAI account, or list deployments in the config",
                    )
                )
                records = settings.deployments
            else:
                all_records = d.all_records if d is not None else records
                report.checks.append(
                    Check(
                        "discovery",
                        "pass",
                        f"{len(records)} usable deployment(s) of {len(all_records)} listed",
                    )
                )
                records = tuple(all_records)
                listed = {r.name for r in records}
        else:
            records = settings.deployments
            report.checks.append(
                Check(
                    "discovery",
                    "skip",
                    "discovery is off: the configured deployments are shown as they are "
                    "configured, not verified",
                    fix=DISCOVERY_HOW,
                )
            )
        names = (
            list(deployments)
            or [r.name for r in records if r.state == "Succeeded"]
            or ([settings.deployment] if settings.deployment else [])
        )
        known = {r.name: r for r in records}
        for name in names:
            if name not in known:
                known[name] = DeploymentRecord(
                    name=name, model=settings.model if name == settings.deployment else None
                )
        report.deployments = [
            row
            for rec in [known[n] for n in names] + [r for r in records if r.name not in names]
            for row in deployment_rows(client, [rec], discovered=rec.name in listed)
        ]
        if not names:
            report.checks.append(
                Check(
                    "deployments",
                    "fail",
                    "no deployment to check",
                    fix="set deployment= (AZURE_OPENAI_DEPLOYMENT) or list deployments",
                )
            )
            return report
        # 3. one minimal call per deployment
        if not call:
            return report
        rows = {r.name: r for r in report.deployments}
        for name in names:
            rec = known[name]
            kind = rec.kind if (rec.model or rec.capabilities) else client.model_info(name).kind
            check = _call(client, name, kind, settings)
            if (
                check.status == "fail"
                and check.error == "BadRequestError"
                and kind == "chat"
                and "operation does not work" in check.detail
            ):
                check = _call(
                    client, name, "embedding", settings
                )  # an embedding deployment we did not know about
                kind = "embedding"
            report.checks.append(check)
            reported = check.model
            row = rows.get(name)
            if row is not None and not row.verified:
                if check.status == "pass":
                    row.state, row.verified = "answered a call", True
                elif check.error == "DeploymentNotFoundError":
                    row.state = "not found"
            if row is not None and reported and not rec.model:
                # Azure told us the real model: show its rules, and say how to make them apply up front.
                info = lookup_model(reported)
                row.model, row.kind = reported, info.kind if info.known else kind
                row.rules = family_rules(info, settings.api, settings.api_version)
                if info.known and not info.is_embedding:
                    report.checks.append(
                        Check(
                            f"model {name}",
                            "warn",
                            f"azoai did not know the model behind '{name}' until Azure reported {reported}",
                            fix=f"set model='{_undated(reported)}' (or list it in deployments / enable discovery) so the {info.family} rules apply from the first call",
                        )
                    )
        report.checks.extend(_route_checks(client, settings))
        return report
    finally:
        client.close()


def _route_checks(client: Any, settings: Any) -> list[Check]:
    """One minimal call through every target of every route, each with its own endpoint and
    credentials, so a failover target that would fail is found before it is needed."""
    from azoai.pipeline.routing import Router

    checks: list[Check] = []
    for name, spec in settings.routes.items():
        try:
            router = Router(client, name, spec, client._target)
        except ConfigError as err:
            checks.append(
                Check(
                    f"route {name}",
                    "fail",
                    err.message,
                    fix=config_fix(err),
                    error=type(err).__name__,
                )
            )
            continue
        try:
            for slot in router.slots:
                check = _call(slot.client, slot.deployment, "chat", slot.client.settings)
                check.name = f"route {name} -> {slot.name}"
                checks.append(check)
        finally:
            for slot in router.slots:
                if slot.client is not client:
                    slot.client.close()
    return checks
